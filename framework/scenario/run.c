/* Running a scenario: devices with their response tables, steps, trace expectations.
 * Devices are torn down whatever happens in the steps. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "request.h"
#include "run_internal.h"
#include "trace.h"

void sc_fail(sc_result *res, const char *fmt, ...)
{
    if (!res->passed) return; /* the first failure is the one reported */
    res->passed = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

/* The counts came from the trace's tallies, as entries merged (all of them, kept or not). */
static void check_trace(const scenario *sc, sc_trace *t, const long *counts, const uint64_t *firsts,
                        const char *path, sc_result *res)
{
    long *first = sc->n_expects ? malloc((size_t)sc->n_expects * sizeof(*first)) : NULL;
    if (sc->n_expects && !first) {
        sc_fail(res, "expect_trace: out of memory for %d expectations", sc->n_expects);
        return;
    }
    for (int i = 0; i < sc->n_expects; i++) {
        const sc_trace_expect *e = &sc->expects[i];
        long count = counts[i];
        first[i] = firsts[i] == UINT64_MAX ? -1 : (long)firsts[i];
        bool ok = (e->count < 0 || count == e->count) && (e->min < 0 || count >= e->min) &&
                  (e->max < 0 || count <= e->max);
        if (!ok) {
            sc_fail(res,
                    "expect_trace (line %d): %ld matching entries for device=%s op=%s tmr=%s, "
                    "expected count=%ld min=%ld max=%ld (trace: %s)\n--- last trace lines\n",
                    e->line, count, e->device, e->op, e->tmr, e->count, e->min, e->max, path);
            sc_trace_tail(t, e->device, res->message, sizeof(res->message), 8);
        } else if (e->after &&
                   (first[i] < 0 || first[e->after - 1] < 0 || first[i] < first[e->after - 1])) {
            sc_fail(res,
                    "expect_trace (line %d): its first entry (trace entry %ld) does not come "
                    "after that of expectation %d (trace entry %ld) (trace: %s)",
                    e->line, first[i], e->after, first[e->after - 1], path);
        }
    }
    free(first);
}

void sc_open_scenario(sc_session *s, const scenario *sc, sc_result *res)
{
    char err[600];
    if (sc_session_add_devices(s, sc->devices, sc->n_devices, err, sizeof(err))) {
        sc_fail(res, "%s", err);
        return;
    }
    sc_session_settle(s, 0.3, 10);
    for (int k = 0; k < sc->n_rules && res->passed; k++) {
        sc_step arm = {.kind = SC_ADD_RULE, .rule = sc->rules[k], .position = -1};
        if (sc_session_act(s, &arm, err, sizeof(err))) sc_fail(res, "rule %d: %s", k + 1, err);
    }
}

/* The last trace lines of every device, after a step's failure. */
static void add_trace_tails(const sc_steps *st, sc_result *res)
{
    size_t len = strlen(res->message);
    snprintf(res->message + len, sizeof(res->message) - len, "--- last trace lines\n");
    for (int k = 0; k < st->sc->n_devices; k++)
        sc_trace_tail(sc_session_trace(st->ses), st->sc->devices[k].name, res->message,
                      sizeof(res->message), 5);
}

/* The step's record for the report (nothing when there is no memory for it: the run
 * itself does not depend on it). */
static void record_step(sc_result *res, const sc_step *s, double start, double end)
{
    if (!res->steps) return;
    sc_step_rec *r = &res->steps[res->n_steps++];
    r->line = s->line;
    r->start = start;
    r->end = end;
    r->failed = !res->passed;
    if (s->kind == SC_RUN) {
        if (snprintf(r->what, sizeof(r->what), "%s%s", s->bg[0] ? "background: " : "", s->run) >=
            (int)sizeof(r->what))
            memcpy(r->what + sizeof(r->what) - 4, "...", 4); /* cut, and says so */
    } else if (s->kind == SC_WAIT || s->kind == SC_KILL)
        snprintf(r->what, sizeof(r->what), "%s %s", sc_step_key(s->kind), s->bg);
    else if (s->kind == SC_SLEEP)
        snprintf(r->what, sizeof(r->what), "sleep_ms %d", s->sleep_ms);
    else if (s->kind == SC_ADD_RULE)
        snprintf(r->what, sizeof(r->what), "add_rule %s on %s", s->rule.rule.name, s->rule.device);
    else
        snprintf(r->what, sizeof(r->what), "%s %s%s%s", sc_step_key(s->kind), s->device,
                 s->name[0] ? " " : "", s->name);
    r->output = res->output; /* what its command printed, if it ran one */
    res->output = NULL;
}

/* One step; a failure goes to res. */
static void run_step(sc_steps *st, int i, sc_result *res)
{
    const sc_step *s = &st->sc->steps[i];
    char err[600];
    switch (s->kind) {
    case SC_RUN:
        if (s->bg[0]) {
            sc_bg_start(&st->bgs, s, i, st->sc->dir, st->ses, res, st->log);
            break;
        }
        sc_run_command(s, i, st->sc->dir, st->ses, res, st->log, st->stop);
        if (!res->passed) add_trace_tails(st, res);
        break;
    case SC_SLEEP:
        usleep((useconds_t)s->sleep_ms * 1000);
        break;
    case SC_WAIT:
        sc_bg_wait(&st->bgs, st->sc, i, res, st->log, st->stop);
        if (!res->passed) add_trace_tails(st, res);
        break;
    case SC_KILL:
        sc_bg_kill(&st->bgs, st->sc, i, st->log);
        break;
    case SC_WAIT_TRACE:
        sc_wait_trace(st, i, res);
        break;
    default: /* a fault action: the session's, as a control request's would be */
        if (sc_session_act(st->ses, s, err, sizeof(err)))
            sc_fail(res, "step %d (line %d): %s", i + 1, s->line, err);
        break;
    }
}

/* Without --trace no file is written while the scenario runs: expectations are counted in
 * memory, failure messages quote the kept entries, and a failed run leaves them in a
 * temporary file (named in its message). */
int sc_run(const scenario *sc, const char *trace_path, sc_result *res, FILE *log,
           volatile const int *stop)
{
    memset(res, 0, sizeof(*res));
    res->passed = true;
    double t0 = sc_now();
    char tmp[] = "/tmp/th-trace-XXXXXX";
    char path[1024];
    if (trace_path) {
        snprintf(path, sizeof(path), "%s", trace_path);
    } else {
        int fd = mkstemp(tmp);
        if (fd >= 0) close(fd);
        snprintf(path, sizeof(path), "%s", tmp);
    }
    sc_session_opts o = {.trace_path = trace_path ? path : NULL, .kernel = true};
    sc_session *ses;
    char err[600];
    size_t n_exp = (size_t)sc->n_expects;
    long *counts = calloc(n_exp + 1, sizeof(*counts));
    uint64_t *firsts = calloc(n_exp + 1, sizeof(*firsts));
    sc_trace_filter *fs = calloc(n_exp + 1, sizeof(*fs));
    if (!counts || !firsts || !fs) {
        sc_fail(res, "out of memory");
    } else if (sc_session_new(&o, &ses, err, sizeof(err))) {
        sc_fail(res, "%s", err);
    }
    if (!res->passed) {
        free(counts), free(firsts), free(fs);
        if (!trace_path) unlink(tmp);
        return 1;
    }
    sc_trace *tr = sc_session_trace(ses);
    sc_trace_hold(tr); /* for the checks after the session (and its devices) are gone */
    for (size_t i = 0; i < n_exp; i++) sc_trace_expect_filter(&sc->expects[i], &fs[i]);
    if (sc_trace_tally(tr, fs, n_exp, counts, firsts)) sc_fail(res, "trace: out of memory");
    sc_kmsg_span kspan; /* from before the devices come up to after they are gone */
    sc_kmsg_begin(&kspan, NULL, res);
    sc_open_scenario(ses, sc, res);
    sc_steps st = {.ses = ses, .sc = sc, .trace_path = path, .log = log, .stop = stop};
    sc_bgs_init(&st.bgs);
    st.origin = st.wait_next = sc_trace_cursor(tr);
    res->steps = calloc((size_t)sc->n_steps + 1, sizeof(*res->steps));
    res->keep_output = res->steps != NULL;
    for (int i = 0; i < sc->n_steps && res->passed && !sc_stopped(stop); i++) {
        double start = sc_now() - sc_trace_t0(tr);
        run_step(&st, i, res);
        record_step(res, &sc->steps[i], start, sc_now() - sc_trace_t0(tr));
    }
    /* Background commands go before the devices: what they still do to them stops first;
     * what a hung command keeps from dying is reaped once the teardown released it. */
    sc_bgs_finish(&st.bgs, sc, res, log, sc_stopped(stop));
    if (sc_session_close(ses, err, sizeof(err))) sc_fail(res, "%s", err);
    sc_bgs_free(&st.bgs, sc, res);
    if (sc_stopped(stop)) sc_fail(res, "interrupted; devices were torn down");
    if (res->passed) check_trace(sc, tr, counts, firsts, path, res);
    sc_kmsg_end(&kspan, sc, res);
    if (!trace_path && !res->passed && sc_trace_dump(tr, path, err, sizeof(err)))
        sc_log(log, "  %s\n", err);
    if (!trace_path && res->passed) unlink(tmp); /* a failed run keeps its trace */
    sc_trace_free(tr);
    free(counts), free(firsts), free(fs);
    res->seconds = sc_now() - t0;
    return res->passed ? 0 : 1;
}

int sc_serve_open(const scenario *sc, const sc_session_opts *o, FILE *out, sc_session **out_s,
                  sc_result *res)
{
    memset(res, 0, sizeof(*res));
    res->passed = true;
    sc_session *ses;
    char err[600];
    if (sc_session_new(o, &ses, err, sizeof(err))) {
        sc_fail(res, "%s", err);
        return 1;
    }
    sc_open_scenario(ses, sc, res);
    char line[4096];
    for (int i = 0; i < sc->n_devices && res->passed; i++) {
        if (sc_session_device_json(ses, sc->devices[i].name, line, sizeof(line)))
            sc_fail(res, "device %s: its JSON line does not fit", sc->devices[i].name);
        else
            fprintf(out, "%s\n", line);
    }
    fflush(out);
    if (!res->passed) {
        sc_session_close(ses, err, sizeof(err));
        return 1;
    }
    *out_s = ses;
    return 0;
}
