/* wait_trace steps: block until the session's trace shows entries, so that the next step
 * acts at a precise point of the initiator's traffic. */
#include <errno.h>
#include <string.h>
#include "request.h"
#include "run_internal.h"
#include "trace.h"

#define SLICE_MS 200 /* the stop flag is set by a signal handler, which cannot wake a waiter */

static const char *const since_words[] = {[SC_SINCE_PREVIOUS] = "the previous wait_trace",
                                          [SC_SINCE_STEP] = "this step",
                                          [SC_SINCE_START] = "the start"};

/* What the filter asks for, for messages: "device=d0 op=READ_10 status=0". */
static void describe(const sc_trace_expect *e, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "device=%s", e->device);
    if (e->op[0] && n < cap) n += (size_t)snprintf(out + n, cap - n, " op=%s", e->op);
    if (e->tmr[0] && n < cap) n += (size_t)snprintf(out + n, cap - n, " tmr=%s", e->tmr);
    if (e->lba_set && n < cap)
        n += (size_t)snprintf(out + n, cap - n, " lba=%llu", (unsigned long long)e->lba);
    if (e->status >= 0 && n < cap) n += (size_t)snprintf(out + n, cap - n, " status=%d", e->status);
    if (e->rule[0] && n < cap) snprintf(out + n, cap - n, " rule=%s", e->rule);
}

void sc_wait_trace(sc_steps *st, int idx, sc_result *res)
{
    const sc_step *s = &st->sc->steps[idx];
    sc_trace *t = sc_session_trace(st->ses);
    uint64_t from = s->wait_since == SC_SINCE_STEP    ? sc_trace_cursor(t)
                    : s->wait_since == SC_SINCE_START ? st->origin
                                                      : st->wait_next;
    sc_trace_filter f;
    sc_trace_expect_filter(&s->wait, &f);
    char what[300];
    describe(&s->wait, what, sizeof(what));
    sc_log(st->log, "  step %d: wait_trace %s count=%ld\n", idx + 1, what, s->wait.count);
    /* In slices, continuing where the last one stopped, so that an interrupt is seen. */
    double end = sc_now() + s->wait_timeout_s;
    long total = 0;
    uint64_t pos = from;
    int rc;
    for (;;) {
        long m = 0;
        uint64_t next = pos;
        double left = end - sc_now();
        int ms = left <= 0 ? 0 : left * 1000 < SLICE_MS ? (int)(left * 1000 + 0.5) : SLICE_MS;
        rc = sc_trace_wait(t, &f, pos, s->wait.count - total, ms, st->stop, &m, &next);
        total += m;
        pos = next;
        if (rc != -ETIMEDOUT || sc_now() >= end) break;
    }
    if (!rc) {
        st->wait_next = pos;
        return;
    }
    if (rc == -EINTR) return; /* the run reports the interrupt */
    if (rc == -ERANGE) {
        char why[300];
        sc_trace_range_msg(t, pos, why, sizeof(why));
        sc_fail(res, "step %d (line %d) wait_trace: %s", idx + 1, s->line, why);
        return;
    }
    sc_fail(res,
            "step %d (line %d) wait_trace: %ld of %ld matching entries for %s in %g s (counting "
            "from %s, trace entry %llu)\n--- last trace lines\n",
            idx + 1, s->line, total, s->wait.count, what, s->wait_timeout_s,
            since_words[s->wait_since], (unsigned long long)from);
    sc_trace_tail(t, s->wait.device, res->message, sizeof(res->message), 8);
}
