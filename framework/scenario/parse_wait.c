/* The trace filter of a wait_trace step and of a wait request: one key table and one
 * handler, so the YAML step and the control request cannot drift apart. Each adds only
 * where it starts counting (the step: since previous|step|start; the request: after N). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "parse_internal.h"
#include "request.h"
#include "th/tmr.h"

const yt_key sc_wait_filter_keys[] = {SC_WAIT_FILTER_KEYS};
const size_t sc_n_wait_filter_keys = sizeof(sc_wait_filter_keys) / sizeof(sc_wait_filter_keys[0]);

/* op: a name or a number (40, "0x28", "READ_10"), kept as the name the trace writes
 * ("READ_10", or "0xC1" for one without a name); checked here against every device type,
 * and again by the device's own type once the whole mapping (so `device`) is read:
 * 0x01 is REWIND on a tape, REZERO_UNIT on a disk. */
bool sc_parse_trace_op(yt *t, yaml_node_t *v, char *op, size_t cap)
{
    int code, sa;
    char err[160], name[64];
    op[0] = 0;
    if (!yt_copy(t, v, name, sizeof(name))) return false;
    if (!sc_op_for(0, name, &code, &sa, op, cap, err, sizeof(err))) return true;
    yt_error(t, v, "%s", err);
    op[0] = 0;
    return false;
}

void sc_op_by_device(yt *t, const scenario *sc, yaml_node_t *op_node, sc_trace_expect *e)
{
    const sc_device *d = op_node && sc && e->device[0] ? sc_find_device(sc, e->device) : NULL;
    const char *s = d ? yt_str(t, op_node) : NULL;
    int op, sa;
    char err[160];
    if (s && sc_op_for(sc_device_on(d), s, &op, &sa, e->op, sizeof(e->op), err, sizeof(err)))
        yt_error(t, op_node, "%s (device %s is a %s)", err, d->name, d->type);
}

/* tmr: a type by name, kept as the trace writes it. */
void sc_parse_trace_tmr(yt *t, yaml_node_t *v, char *tmr, size_t cap)
{
    const char *s = yt_str(t, v);
    int type = s ? th_tmr_from_name(s) : -1;
    if (s && type < 0)
        yt_error(t, v, "'%.40s' is not a TMR type (like ABORT_TASK, LUN_RESET)", s);
    else if (s)
        snprintf(tmr, cap, "%s", th_tmr_name((uint8_t)type));
}

/* A TMR entry matches only when op, lba, status and rule are unset (trace.c): tmr with
 * any of them could never match, so it is refused where the second of them is read. */
static bool tmr_conflict(const sc_trace_expect *e)
{
    return e->tmr[0] && (e->op[0] || e->lba_set || e->status >= 0 || e->rule[0]);
}

static bool filter_pair(yt *t, const scenario *sc, const char *key, yaml_node_t *v,
                        sc_trace_expect *e, double *timeout_s, yaml_node_t **op_node);

bool sc_wait_filter_pair(yt *t, const scenario *sc, const char *key, yaml_node_t *v,
                         sc_trace_expect *e, double *timeout_s, yaml_node_t **op_node)
{
    bool was = tmr_conflict(e);
    if (!filter_pair(t, sc, key, v, e, timeout_s, op_node)) return false;
    if (!was && tmr_conflict(e))
        yt_error(t, v,
                 "%s: tmr matches TMR entries only, which have no op, lba, status or rule; "
                 "a filter with both can never match",
                 key);
    return true;
}

static bool filter_pair(yt *t, const scenario *sc, const char *key, yaml_node_t *v,
                        sc_trace_expect *e, double *timeout_s, yaml_node_t **op_node)
{
    long long n;
    int st;
    if (!strcmp(key, "device")) {
        if (yt_copy(t, v, e->device, sizeof(e->device)) && !sc_find_device(sc, e->device))
            yt_error(t, v, "no device named '%s'", e->device);
    } else if (!strcmp(key, "op")) {
        if (sc_parse_trace_op(t, v, e->op, sizeof(e->op))) *op_node = v;
    } else if (!strcmp(key, "tmr")) {
        sc_parse_trace_tmr(t, v, e->tmr, sizeof(e->tmr));
    } else if (!strcmp(key, "lba")) {
        e->lba_set = yt_u64(t, v, &e->lba);
    } else if (!strcmp(key, "status")) {
        if (sc_parse_status(t, v, &st)) e->status = st;
    } else if (!strcmp(key, "rule")) {
        yt_copy(t, v, e->rule, sizeof(e->rule));
    } else if (!strcmp(key, "count")) {
        if (yt_int(t, v, 1, INT32_MAX, &n)) e->count = (long)n;
    } else if (!strcmp(key, "timeout")) {
        const char *s = yt_str(t, v);
        char *end;
        double d = s ? strtod(s, &end) : 0;
        if (s && (!*s || *end || !(d >= 0 && d <= SC_WAIT_TIMEOUT_MAX)))
            yt_error(t, v,
                     "timeout: '%.40s' is not a number of seconds from 0 to %d (fractions "
                     "allowed, like 0.5)",
                     s, SC_WAIT_TIMEOUT_MAX);
        else if (s)
            *timeout_s = d == 0 ? 0 : d; /* -0 is 0, never echoed "-0 s" */
    } else {
        return false;
    }
    return true;
}

void sc_trace_expect_filter(const sc_trace_expect *e, sc_trace_filter *f)
{
    sc_trace_filter_init(f);
    snprintf(f->device, sizeof(f->device), "%s", e->device);
    snprintf(f->op, sizeof(f->op), "%s", e->op);
    snprintf(f->tmr, sizeof(f->tmr), "%s", e->tmr);
    snprintf(f->rule, sizeof(f->rule), "%s", e->rule);
    f->status = e->status;
    f->lba_set = e->lba_set;
    f->lba = e->lba;
}
