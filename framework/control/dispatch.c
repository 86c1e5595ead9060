/* Requests onto the session: each parsed by the scenario parser, then one session or
 * trace call. A request that fails to parse reaches no session call, so it changes
 * nothing. */
#include <errno.h>
#include <unistd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "control_internal.h"
#include "th/version.h"

#define WAIT_SLICE_MS 100 /* how soon a wait sees its client hang up or the server stop */
#define DEVICE_JSON   4096

typedef int (*req_fn)(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap);

static int device_object(sc_session *s, const char *name, ctl_json *res, char *err, size_t cap)
{
    char buf[DEVICE_JSON];
    int rc = sc_session_device_json(s, name, buf, sizeof(buf));
    if (rc < 0) return ctl_fail(err, cap, rc, "device %s: %s", name, strerror(-rc));
    ctl_json_raw(res, buf);
    return 0;
}

static int r_version(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    (void)rq, (void)err, (void)cap;
    char inst[16];
    snprintf(inst, sizeof(inst), "%08x", th_ctx_instance(sc_session_ctx(c->srv->s)));
    ctl_json_key(res, "protocol");
    ctl_json_int(res, CTL_PROTOCOL);
    ctl_json_key(res, "version");
    ctl_json_str(res, th_version()); /* one version per binary: project(VERSION) */
    ctl_json_key(res, "instance");
    ctl_json_str(res, inst);
    /* so a client that started serve knows it reached that process, not another serve
     * holding the path (whose socket answers while its own serve exits on PATH.lock) */
    ctl_json_key(res, "pid");
    ctl_json_int(res, (long)getpid());
    return 0;
}

/* Where the trace is: the index the next entry gets. Entries from it on are the future,
 * so after=next (trace, wait) sees only what happens from now. */
static int r_cursor(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    (void)rq;
    sc_trace *t = sc_session_trace(c->srv->s);
    if (!t) return ctl_fail(err, cap, -ENOTSUP, "cursor: this session keeps no trace");
    ctl_json_key(res, "next");
    ctl_json_u64(res, sc_trace_cursor(t));
    return 0;
}

/* An after beyond the cursor names entries that do not exist yet: a typo or a cursor of
 * another server, which would otherwise read nothing (trace) or sit out its timeout
 * (wait), so it is refused. */
static int after_beyond(sc_trace *t, const sc_request *rq, char *err, size_t cap)
{
    uint64_t now = sc_trace_cursor(t);
    if (!rq->after_set || rq->after <= now) return 0;
    return ctl_fail(err, cap, -EINVAL,
                    "%s: after %llu is beyond the trace's cursor %llu (entries from the cursor "
                    "on are still to come; the cursor request gives it)",
                    rq->op, (unsigned long long)rq->after, (unsigned long long)now);
}

static int r_devices(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    (void)rq;
    /* A snapshot of the names: devices added meanwhile come after it, as if just after. */
    char(*own)[65] = NULL;
    int n = 0;
    for (int room = 64;; room = n) {
        char(*more)[65] = realloc(own, (size_t)room * sizeof(*own));
        if (!more) {
            free(own);
            return ctl_fail(err, cap, -ENOMEM, "devices: out of memory for %d names", room);
        }
        own = more;
        if ((n = sc_session_names(c->srv->s, own, room)) <= room) break;
    }
    ctl_json_key(res, "devices");
    ctl_json_open(res, '[');
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        rc = device_object(c->srv->s, own[i], res, err, cap);
        if (rc == -ENOENT) rc = 0; /* removed meanwhile: not serving any more */
    }
    ctl_json_close(res, ']');
    free(own);
    return rc;
}

static int r_add_device(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    int rc = sc_session_add_device(c->srv->s, &rq->device, err, cap);
    if (rc) return rc;
    ctl_json_key(res, "device");
    return device_object(c->srv->s, rq->device.name, res, err, cap);
}

static int r_remove_device(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    (void)res;
    return sc_session_remove_device(c->srv->s, rq->name, err, cap);
}

static int r_action(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    th_rule *rule = &rq->step.rule.rule;
    if (rq->step.kind == SC_ADD_RULE && !rule->name[0]) /* a name to remove it by */
        snprintf(rule->name, sizeof(rule->name), "rule-%u",
                 __atomic_add_fetch(&c->srv->unnamed, 1, __ATOMIC_RELAXED));
    int rc = sc_session_act(c->srv->s, &rq->step, err, cap);
    if (!rc && rq->step.kind == SC_ADD_RULE) {
        ctl_json_key(res, "rule");
        ctl_json_str(res, rq->step.rule.rule.name);
    }
    return rc;
}

static int r_list_rules(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    char *json = NULL;
    int rc = sc_session_rules_json(c->srv->s, rq->name, &json, err, cap);
    if (!rc) {
        ctl_json_key(res, "rules");
        ctl_json_raw(res, json);
    }
    free(json);
    return rc;
}

/* Entries as the trace gives them (JSON lines) into an array. */
static void entries(ctl_json *res, const char *lines)
{
    ctl_json_key(res, "entries");
    ctl_json_open(res, '[');
    for (const char *p = lines; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n) ctl_json_rawn(res, p, n);
        p += n + (nl != NULL);
    }
    ctl_json_close(res, ']');
}

static int r_trace(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    sc_trace *t = sc_session_trace(c->srv->s);
    if (!t) return ctl_fail(err, cap, -ENOTSUP, "trace: this session keeps no trace");
    int rc = after_beyond(t, rq, err, cap);
    if (rc) return rc;
    char *lines = NULL;
    uint64_t next = 0;
    rc = sc_trace_read(t, rq->after, (size_t)rq->max, &lines, &next);
    if (rc == -ERANGE) {
        char why[256];
        sc_trace_range_msg(t, rq->after, why, sizeof(why));
        return ctl_fail(err, cap, rc, "trace: %s", why);
    }
    if (rc < 0) return ctl_fail(err, cap, rc, "trace: %s", strerror(-rc));
    entries(res, lines);
    free(lines);
    ctl_json_key(res, "next");
    ctl_json_u64(res, next);
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The client closed its end (POLLHUP): nobody is left to answer. A half-close (only
 * POLLRDHUP: it sent its last request) still reads the response. */
static bool hung_up(int fd)
{
    struct pollfd p = {fd, POLLRDHUP, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

/* In slices, so a client that hangs up or a server that stops ends the wait soon. */
static int r_wait(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    sc_trace *t = sc_session_trace(c->srv->s);
    if (!t) return ctl_fail(err, cap, -ENOTSUP, "wait: this session keeps no trace");
    int rc = after_beyond(t, rq, err, cap);
    if (rc) return rc;
    uint64_t from = rq->after_set ? rq->after : sc_trace_cursor(t);
    long matched = 0;
    long long deadline = now_ms() + rq->timeout_ms;
    __atomic_add_fetch(&c->srv->waiting, 1, __ATOMIC_RELEASE);
    for (;;) {
        long long left = deadline - now_ms();
        int slice = left < 0 ? 0 : left < WAIT_SLICE_MS ? (int)left : WAIT_SLICE_MS;
        long m = 0;
        uint64_t next = from;
        rc = sc_trace_wait(t, &rq->filter, from, rq->count - matched, slice, NULL, &m, &next);
        matched += m;
        if (next > from) from = next;
        if (rc != -ETIMEDOUT) break;
        if (ctl_stopping(c->srv)) {
            rc = ctl_fail(err, cap, -ESHUTDOWN, "wait: the server is stopping");
            break;
        }
        if (hung_up(c->fd)) {
            rc = -ECONNRESET; /* no one to answer */
            break;
        }
        if (left <= 0) {
            rc = ctl_fail(err, cap, -ETIMEDOUT, "wait: %ld of %ld matching entries within %g s",
                          matched, rq->count, rq->timeout_s);
            break;
        }
    }
    __atomic_sub_fetch(&c->srv->waiting, 1, __ATOMIC_RELEASE);
    if (rc == -ECONNRESET) return rc;
    if (rc == -ERANGE) {
        char why[256];
        sc_trace_range_msg(t, from, why, sizeof(why));
        ctl_fail(err, cap, rc, "wait: %s", why);
    } else if (rc < 0 && rc != -ETIMEDOUT && rc != -ESHUTDOWN)
        ctl_fail(err, cap, rc, "wait: %s", strerror(-rc));
    ctl_json_key(res, "matched");
    ctl_json_int(res, matched);
    ctl_json_key(res, "next");
    ctl_json_u64(res, from);
    return rc;
}

static int r_stats(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    (void)rq;
    char *json = NULL;
    int rc = sc_session_stats_json(c->srv->s, &json);
    if (rc < 0) return ctl_fail(err, cap, rc, "stats: %s", strerror(-rc));
    ctl_json_key(res, "devices");
    ctl_json_raw(res, json);
    free(json);
    return 0;
}

static const char *kmsg_path(const ctl_client *c)
{
    return c->srv->o.kmsg_path ? c->srv->o.kmsg_path : SC_KMSG_PATH;
}

static int r_kmsg_mark(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    (void)rq;
    uint64_t mark;
    int rc = sc_kmsg_mark(kmsg_path(c), &mark, err, cap);
    if (rc) return rc;
    ctl_json_key(res, "mark");
    ctl_json_u64(res, mark);
    return 0;
}

/* The verdict of docs/scenario-format.md "kernel log" on the lines since the mark. A
 * failed verdict is a result, not an error: ok, with passed false and the failures. */
static int r_kmsg_check(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    sc_kmsg_log log;
    int rc = sc_kmsg_collect(kmsg_path(c), rq->since, &log, err, cap);
    if (rc) return rc;
    sc_kmsg_failures f = {0};
    int n = sc_kmsg_verdict(&log, rq->allow.re, rq->allow.n, rq->expect.re, rq->expect.n,
                            rq->forbid.re, rq->forbid.n, &f);
    if (n < 0) {
        sc_kmsg_log_free(&log);
        return ctl_fail(err, cap, n, "kmsg_check: out of memory");
    }
    ctl_json_key(res, "passed");
    ctl_json_bool(res, n == 0);
    ctl_json_key(res, "failures");
    ctl_json_open(res, '[');
    for (int i = 0; i < f.n; i++) ctl_json_str(res, f.msg[i]);
    ctl_json_close(res, ']');
    ctl_json_key(res, "log");
    ctl_json_open(res, '[');
    for (size_t i = 0; i < log.n; i++) {
        char line[1200];
        int len = sc_kmsg_format_line(&log.lines[i], line, sizeof(line));
        ctl_json_strn(res, line,
                      len < 0                      ? 0
                      : (size_t)len < sizeof(line) ? (size_t)len
                                                   : sizeof(line) - 1);
    }
    ctl_json_close(res, ']');
    sc_kmsg_failures_free(&f);
    sc_kmsg_log_free(&log);
    return 0;
}

static int r_shutdown(ctl_client *c, sc_request *rq, ctl_json *res, char *err, size_t cap)
{
    (void)rq, (void)res;
    if (!c->srv->o.on_shutdown)
        return ctl_fail(err, cap, -ENOTSUP, "shutdown: this server cannot be shut down remotely");
    c->shutdown_after = true; /* once the response is out */
    return 0;
}

static const req_fn handlers[] = {
    [SC_REQ_VERSION] = r_version,
    [SC_REQ_CURSOR] = r_cursor,
    [SC_REQ_DEVICES] = r_devices,
    [SC_REQ_ADD_DEVICE] = r_add_device,
    [SC_REQ_REMOVE_DEVICE] = r_remove_device,
    [SC_REQ_ACTION] = r_action,
    [SC_REQ_LIST_RULES] = r_list_rules,
    [SC_REQ_TRACE] = r_trace,
    [SC_REQ_WAIT] = r_wait,
    [SC_REQ_STATS] = r_stats,
    [SC_REQ_SHUTDOWN] = r_shutdown,
    [SC_REQ_KMSG_MARK] = r_kmsg_mark,
    [SC_REQ_KMSG_CHECK] = r_kmsg_check,
};

static scenario *client_model(void *arg)
{
    ctl_client *c = arg;
    return sc_session_model(c->srv->s, c->model) ? NULL : c->model;
}

/* {"ok":B,"id":ID[,"error":MSG] + the results' members (res is an object). */
static void envelope(ctl_json *out, bool ok, const char *id, const char *msg, const ctl_json *res)
{
    ctl_json_open(out, '{');
    ctl_json_key(out, "ok");
    ctl_json_bool(out, ok);
    ctl_json_key(out, "id");
    ctl_json_raw(out, id && *id ? id : "null");
    if (msg) {
        ctl_json_key(out, "error");
        ctl_json_str(out, msg);
    }
    if (res && res->len > 2) ctl_json_rawn(out, res->buf + 1, res->len - 2);
    ctl_json_close(out, '}');
}

void ctl_error_response(ctl_json *out, const char *id, const char *msg)
{
    envelope(out, false, id, msg, NULL);
}

void ctl_dispatch(ctl_client *c, const char *line, size_t len, ctl_json *out)
{
    sc_request *rq = malloc(sizeof(*rq));
    char err[4096];
    if (!rq) {
        ctl_error_response(out, NULL, "out of memory");
        return;
    }
    int rc = sc_request_parse(line, len, client_model, c, rq, err, sizeof(err));
    if (rc) {
        ctl_error_response(out, rq->id, err);
    } else {
        ctl_json res;
        ctl_json_init(&res);
        ctl_json_open(&res, '{');
        err[0] = 0;
        rc = handlers[rq->kind](c, rq, &res, err, sizeof(err));
        ctl_json_close(&res, '}');
        if (res.oom) {
            ctl_error_response(out, rq->id, "out of memory writing the response");
        } else {
            if (rc && !err[0]) snprintf(err, sizeof(err), "%s: %s", rq->op, strerror(-rc));
            envelope(out, !rc, rq->id, rc ? err : NULL, &res);
        }
        ctl_json_free(&res);
    }
    sc_request_free(rq);
    free(rq);
}
