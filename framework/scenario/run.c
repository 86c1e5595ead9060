/* Running a scenario: devices with their response tables, steps, trace expectations.
 * Devices are torn down whatever happens in the steps. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "run_internal.h"

double sc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void sc_fail(sc_result *res, const char *fmt, ...)
{
    if (!res->passed) return; /* the first failure is the one reported */
    res->passed = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

static bool line_has(const char *line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool line_has(const char *line, const char *fmt, ...)
{
    char want[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    return strstr(line, want) != NULL;
}

static bool entry_matches(const sc_trace_expect *e, const char *line)
{
    if (e->device[0] && !line_has(line, "\"device\":\"%s\"", e->device)) return false;
    if (e->op[0] && !line_has(line, "\"op\":\"%s\"", e->op)) return false;
    if (e->tmr[0] && !line_has(line, "\"tmr\":\"%s\"", e->tmr)) return false;
    if (!e->tmr[0] && strstr(line, "\"tmr\":")) return false;
    if (e->lba_set && !line_has(line, "\"lba\":%llu,", (unsigned long long)e->lba)) return false;
    if (e->status >= 0 && !line_has(line, "\"status\":%d,", e->status)) return false;
    if (e->rule[0] && !line_has(line, "\"rule\":\"%s\"", e->rule)) return false;
    return true;
}

static void check_trace(const scenario *sc, const char *path, sc_result *res)
{
    long first[SC_MAX]; /* line number of each expectation's first entry, -1 none */
    for (int i = 0; i < sc->n_expects; i++) {
        const sc_trace_expect *e = &sc->expects[i];
        FILE *f = fopen(path, "r");
        char line[2048];
        long count = 0, no = 0;
        first[i] = -1;
        while (f && fgets(line, sizeof(line), f)) {
            no++;
            if (!entry_matches(e, line)) continue;
            if (!count) first[i] = no;
            count++;
        }
        if (f) fclose(f);
        bool ok = (e->count < 0 || count == e->count) && (e->min < 0 || count >= e->min) &&
                  (e->max < 0 || count <= e->max);
        if (!ok) {
            sc_fail(res,
                    "expect_trace (line %d): %ld matching entries for device=%s op=%s tmr=%s, "
                    "expected count=%ld min=%ld max=%ld (trace: %s)\n--- last trace lines\n",
                    e->line, count, e->device, e->op, e->tmr, e->count, e->min, e->max, path);
            sc_trace_tail(path, e->device[0] ? e->device : "", res->message, sizeof(res->message),
                          8);
        } else if (e->after &&
                   (first[i] < 0 || first[e->after - 1] < 0 || first[i] < first[e->after - 1])) {
            sc_fail(res,
                    "expect_trace (line %d): its first entry (trace line %ld) does not come after "
                    "that of expectation %d (trace line %ld) (trace: %s)",
                    e->line, first[i], e->after, first[e->after - 1], path);
        }
    }
}

/* The scenario's harness instance: its devices' configfs names and WWNs. */
static th_ctx *new_ctx(sc_result *res)
{
    th_ctx *ctx = NULL;
    if (th_ctx_new(&ctx)) sc_fail(res, "TCMU_HARNESS_INSTANCE must be 1 to 8 hex digits or unset");
    return ctx;
}

int sc_run(const scenario *sc, const char *trace_path, sc_result *res, FILE *log,
           volatile const int *stop)
{
    memset(res, 0, sizeof(*res));
    res->passed = true;
    th_ctx *ctx = new_ctx(res);
    if (!ctx) return -1;
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
    FILE *trace = fopen(path, "w");
    if (!trace) {
        sc_fail(res, "cannot write the trace %s: %s", path, strerror(errno));
        th_ctx_free(ctx);
        return -1;
    }
    live l[SC_MAX];
    memset(l, 0, sizeof(l));
    int opened = sc_open_all(sc, l, trace, t0, ctx, res);
    sc_settle_and_arm(sc, l, opened, res);
    sc_bgs bgs;
    sc_bgs_init(&bgs);
    for (int i = 0; i < sc->n_steps && res->passed && !(stop && *stop); i++) {
        const sc_step *s = &sc->steps[i];
        bool on_device =
            s->kind != SC_RUN && s->kind != SC_SLEEP && s->kind != SC_WAIT && s->kind != SC_KILL;
        live *d = on_device
                      ? sc_live_find(l, opened, s->kind == SC_ADD_RULE ? s->rule.device : s->device)
                      : NULL;
        if (on_device && !d) {
            /* validate rejects this; a model built another way must not crash the run */
            sc_fail(res, "step %d (line %d): no device named '%s'", i + 1, s->line,
                    s->kind == SC_ADD_RULE ? s->rule.device : s->device);
            break;
        }
        switch (s->kind) {
        case SC_RUN:
            if (s->bg[0]) {
                sc_bg_start(&bgs, s, i, l, opened, res, log);
                break;
            }
            sc_run_command(s, i, l, opened, res, log, stop);
            if (!res->passed) {
                size_t len = strlen(res->message);
                snprintf(res->message + len, sizeof(res->message) - len, "--- last trace lines\n");
                for (int k = 0; k < opened; k++)
                    sc_trace_tail(path, l[k].cfg->name, res->message, sizeof(res->message), 5);
            }
            break;
        case SC_SET_CAPACITY:
            if (!d->disk) {
                sc_fail(res, "step %d (line %d): set_capacity: %s is not a disk", i + 1, s->line,
                        s->device);
            } else if (th_disk_set_blocks(d->disk, s->size / d->cfg->block_size)) {
                sc_fail(res,
                        "step %d (line %d): set_capacity %llu is larger than the device's backing",
                        i + 1, s->line, (unsigned long long)s->size);
            } else {
                th_sense ua = th_sense_make(TH_KEY_UNIT_ATTENTION, TH_ASC_CAPACITY_CHANGED);
                th_rules_queue_ua(d->rules, &ua);
            }
            break;
        case SC_OFFLINE: {
            th_rule off;
            th_rule_init(&off);
            snprintf(off.name, sizeof(off.name), "offline");
            off.action.pass = false;
            off.action.sense_set = true;
            off.action.sense = th_sense_make(TH_KEY_NOT_READY, 0x0400);
            th_rules_add(d->rules, &off, 0);
            break;
        }
        case SC_ONLINE: {
            th_rules_remove(d->rules, "offline");
            th_sense ua = th_sense_make(TH_KEY_UNIT_ATTENTION, TH_ASC_NOT_READY_TO_READY);
            th_rules_queue_ua(d->rules, &ua);
            break;
        }
        case SC_ADD_RULE:
            th_rules_add(d->rules, &s->rule.rule, -1);
            break;
        case SC_REMOVE_RULE:
            if (th_rules_remove(d->rules, s->name))
                sc_fail(res, "step %d (line %d): device %s has no rule '%s'", i + 1, s->line,
                        s->device, s->name);
            break;
        case SC_QUEUE_UA:
            th_rules_queue_ua(d->rules, &s->ua);
            break;
        case SC_SET_STATE:
            th_rules_set_state(d->rules, s->name);
            break;
        case SC_LOAD:
        case SC_UNLOAD:
            if (!d->tape)
                sc_fail(res, "step %d (line %d): %s is not a tape", i + 1, s->line, s->device);
            else
                th_tape_set_loaded(d->tape, s->kind == SC_LOAD);
            break;
        case SC_SLEEP:
            usleep((useconds_t)s->sleep_ms * 1000);
            break;
        case SC_WAIT:
            sc_bg_wait(&bgs, sc, i, res, log, stop);
            break;
        case SC_KILL:
            sc_bg_kill(&bgs, sc, i, log);
            break;
        case SC_WAIT_TRACE:
            sc_fail(res, "step %d (line %d): wait_trace needs the memory trace (not merged yet)",
                    i + 1, s->line);
            break;
        }
    }
    /* Background commands go before the devices: what they still do to them stops first. */
    sc_bgs_finish(&bgs, sc, res, log, stop && *stop);
    sc_close_all(l, opened, ctx, res);
    sc_bgs_free(&bgs, sc, res);
    fclose(trace);
    if (stop && *stop) sc_fail(res, "interrupted; devices were torn down");
    if (res->passed) check_trace(sc, path, res);
    if (!trace_path && res->passed) unlink(tmp); /* a failed run keeps its trace */
    th_ctx_free(ctx);
    res->seconds = sc_now() - t0;
    return res->passed ? 0 : 1;
}

static void json_field(FILE *out, const char *key, const char *v, bool first)
{
    fprintf(out, "%s\"%s\":", first ? "" : ",", key);
    if (!v) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\') fputc('\\', out);
        fputc(*v, out);
    }
    fputc('"', out);
}

int sc_serve(const scenario *sc, const char *trace_path, FILE *out, const void *sigset,
             sc_result *res)
{
    memset(res, 0, sizeof(*res));
    res->passed = true;
    th_ctx *ctx = new_ctx(res);
    if (!ctx) return 1;
    FILE *trace = fopen(trace_path ? trace_path : "/dev/null", "w");
    if (!trace) {
        sc_fail(res, "cannot write %s: %s", trace_path, strerror(errno));
        th_ctx_free(ctx);
        return 1;
    }
    live l[SC_MAX];
    memset(l, 0, sizeof(l));
    int opened = sc_open_all(sc, l, trace, sc_now(), ctx, res);
    if (res->passed) sc_settle_and_arm(sc, l, opened, res);
    if (res->passed) {
        for (int i = 0; i < opened; i++) {
            fputc('{', out);
            json_field(out, "name", l[i].cfg->name, true);
            json_field(out, "type", l[i].cfg->type, false);
            static const char *const keys[] = {"sd",      "sg",        "st",  "nst",
                                               "address", "backstore", "wwn", "iscsi"};
            for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
                json_field(out, keys[k], sc_live_field(&l[i], keys[k]), false);
            fprintf(out, ",\"size\":%s,\"block_size\":%s}\n", l[i].size, l[i].bs);
        }
        fflush(out);
        int sig;
        sigwait((const sigset_t *)sigset, &sig);
    }
    sc_close_all(l, opened, ctx, res);
    fclose(trace);
    th_ctx_free(ctx);
    return res->passed ? 0 : 1;
}
