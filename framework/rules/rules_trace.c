/* The trace: every command (as it left) and every TMR handed to a sink as a structured
 * entry; the JSON line is the formatter's, for whoever writes one. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rules_internal.h"
#include "rules_trace.h"

void th_rules_set_trace_sink(th_rules *r, th_trace_fn fn, void *arg)
{
    pthread_mutex_lock(&r->trace_lock);
    r->trace_fn = fn;
    r->trace_arg = arg;
    r->trace_file = NULL;
    atomic_store_explicit(&r->tracing, fn != NULL, memory_order_relaxed);
    pthread_mutex_unlock(&r->trace_lock);
}

void *th_rules_trace_sink_arg(th_rules *r, th_trace_fn fn)
{
    pthread_mutex_lock(&r->trace_lock);
    void *arg = r->trace_fn == fn ? r->trace_arg : NULL;
    pthread_mutex_unlock(&r->trace_lock);
    return arg;
}

const char *th_rules_device(const th_rules *r)
{
    return r->device;
}

/* The built-in sink: called with trace_lock held, so trace_file and t0 are stable. */
static void file_sink(void *arg, const th_trace_entry *e)
{
    th_rules *r = arg;
    char line[1024];
    size_t n = th_trace_entry_json(e, r->t0, line, sizeof(line));
    char *big = NULL;
    if (n >= sizeof(line)) { /* a TMR naming many commands */
        big = malloc(n + 1);
        if (big)
            th_trace_entry_json(e, r->t0, big, n + 1);
        else
            n = th_trace_entry_json_fit(e, r->t0, line, sizeof(line));
    }
    fwrite(big ? big : line, 1, n, r->trace_file);
    fflush(r->trace_file);
    free(big);
}

void th_rules_set_trace(th_rules *r, FILE *f, double t0)
{
    pthread_mutex_lock(&r->trace_lock);
    r->trace_fn = f ? file_sink : NULL;
    r->trace_arg = r;
    r->trace_file = f;
    r->t0 = t0;
    atomic_store_explicit(&r->tracing, f != NULL, memory_order_relaxed);
    pthread_mutex_unlock(&r->trace_lock);
}

static void emit(th_rules *r, const th_trace_entry *e)
{
    pthread_mutex_lock(&r->trace_lock);
    if (r->trace_fn) r->trace_fn(r->trace_arg, e);
    pthread_mutex_unlock(&r->trace_lock);
}

void th_rules_trace_cmd(th_cmd *cmd, void *arg)
{
    th_rules *r = arg;
    if (!atomic_load_explicit(&r->tracing, memory_order_relaxed)) return;
    const uint8_t *cdb = th_cmd_cdb(cmd);
    th_trace_entry e = {
        .t_ns = th_now_ns(),
        .device = r->device,
        .id = th_cmd_id(cmd),
        .op = cdb[0],
        .sa = th_cmd_service_action(cmd),
        .cdb = cdb,
        .cdb_len = th_cmd_cdb_len(cmd),
        .status = th_cmd_get_status(cmd),
        .data_in = th_cmd_get_data_in_len(cmd),
        .buffer = th_cmd_data_out_len(cmd),
        .rule_id = th_cmd_rule(cmd),
        .aborted = th_cmd_is_aborted(cmd),
    };
    e.op_name = r->op_name ? r->op_name(e.op, e.sa) : NULL;
    th_cdb_info in;
    th_cdb_decode(r->kind, e.cdb, e.cdb_len, &in);
    e.has_lba = in.has_lba;
    e.lba = in.lba;
    e.blocks = in.xfer_len;
    e.unit = in.unit;
    e.sense = th_cmd_get_sense(cmd, &e.sense_len);
    e.sense_ok = e.sense && !th_sense_decode(e.sense, e.sense_len, &e.decoded);
    /* The name is copied: another thread may grow (move) the names table meanwhile. */
    char rule[sizeof(((th_rule *)0)->name)];
    if (e.rule_id == -2) {
        e.rule_name = "unit_attention";
    } else if (e.rule_id >= 0) {
        pthread_mutex_lock(&r->lock);
        snprintf(rule, sizeof(rule), "%s", th_rules_name_locked(r, e.rule_id));
        pthread_mutex_unlock(&r->lock);
        if (rule[0]) e.rule_name = rule;
    }
    emit(r, &e);
}

void th_rules_trace_tmr(th_rules *r, uint8_t type, const uint16_t *ids, uint32_t n)
{
    if (!atomic_load_explicit(&r->tracing, memory_order_relaxed)) return;
    th_trace_entry e = {
        .t_ns = th_now_ns(),
        .device = r->device,
        .is_tmr = true,
        .rule_id = -1,
        .tmr_type = type,
        .ids = ids,
        .n_ids = n,
        .ids_total = n,
    };
    emit(r, &e);
}

/* Appending into a bounded buffer, counting what would not fit (snprintf's contract). */
typedef struct out {
    char *buf;
    size_t cap, len;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->len < o->cap ? o->buf + o->len : NULL,
                      o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0) o->len += (size_t)n;
}

/* A JSON string; names are plain identifiers in practice, escaped so the line stays
 * JSON whatever a scenario or request named things. */
static void put_str(out *o, const char *s)
{
    bool plain = true;
    for (const char *p = s; *p && plain; p++)
        plain = *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20;
    if (plain) {
        put(o, "\"%s\"", s);
        return;
    }
    put(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c < 0x20)
            put(o, "\\u%04x", c);
        else
            put(o, "%c", c);
    }
    put(o, "\"");
}

static const char *tf(bool b)
{
    return b ? "true" : "false";
}

static void put_cmd(out *o, const th_trace_entry *e)
{
    put(o, ",\"id\":%u,\"op\":", e->id);
    if (e->op_name)
        put_str(o, e->op_name);
    else
        put(o, "\"0x%02X\"", e->op);
    put(o, ",\"cdb\":\"");
    for (size_t i = 0; i < e->cdb_len && i < 32; i++) put(o, "%02x", e->cdb[i]);
    put(o, "\"");
    if (e->has_lba) put(o, ",\"lba\":%llu", (unsigned long long)e->lba);
    /* A tape's READ(6) counts blocks when FIXED is set and bytes when it is not. */
    if (e->unit == TH_XFER_BLOCKS) put(o, ",\"blocks\":%u", e->blocks);
    if (e->unit == TH_XFER_BYTES) put(o, ",\"bytes\":%u", e->blocks);
    /* A SPACE's count of objects, unsigned: the cdb shows its direction and CODE. */
    if (e->unit == TH_XFER_COUNT) put(o, ",\"count\":%u", e->blocks);
    put(o, ",\"status\":%u,\"sense\":", e->status);
    if (e->sense_ok) {
        const th_sense *s = &e->decoded;
        put(o, "{\"key\":\"%s\",\"asc\":%u,\"ascq\":%u,\"info\":", th_sense_key_name(s->key),
            s->asc, s->ascq);
        if (s->info_valid)
            put(o, "%llu", (unsigned long long)s->info);
        else
            put(o, "null");
        put(o, ",\"fm\":%s,\"eom\":%s,\"ili\":%s}", tf(s->filemark), tf(s->eom), tf(s->ili));
    } else {
        put(o, "null");
    }
    put(o, ",\"data_in\":%zu,\"buffer\":%zu,\"rule\":", e->data_in, e->buffer);
    if (e->rule_name)
        put_str(o, e->rule_name);
    else if (e->rule_id >= 0)
        put(o, "%d", e->rule_id);
    else
        put(o, "null");
    put(o, ",\"aborted\":%s}\n", tf(e->aborted));
}

size_t th_trace_entry_json(const th_trace_entry *e, double t0, char *buf, size_t cap)
{
    out o = {buf, cap, 0};
    if (cap) buf[0] = '\0';
    put(&o, "{\"t\":%.6f,\"device\":", (double)e->t_ns / 1e9 - t0);
    put_str(&o, e->device ? e->device : "");
    if (!e->is_tmr) {
        put_cmd(&o, e);
        return o.len;
    }
    put(&o, ",\"tmr\":\"%s\",\"ids\":[", th_tmr_name(e->tmr_type));
    for (uint32_t i = 0; i < e->n_ids; i++) put(&o, "%s%u", i ? "," : "", e->ids[i]);
    put(&o, "]");
    if (e->ids_total > e->n_ids) put(&o, ",\"ids_total\":%u", e->ids_total);
    put(&o, "}\n");
    return o.len;
}

size_t th_trace_entry_json_fit(const th_trace_entry *e, double t0, char *buf, size_t cap)
{
    size_t n = th_trace_entry_json(e, t0, buf, cap);
    if (n < cap) return n;
    if (cap < 2) return 0;
    th_trace_entry s = *e;
    if (s.is_tmr) {
        if (s.ids_total < s.n_ids) s.ids_total = s.n_ids;
        while (n >= cap && s.n_ids) {
            s.n_ids /= 2;
            n = th_trace_entry_json(&s, t0, buf, cap);
        }
    } else {
        s.op_name = NULL; /* names are the only long parts of a command's line */
        n = th_trace_entry_json(&s, t0, buf, cap);
        if (n >= cap) {
            s.rule_name = NULL;
            n = th_trace_entry_json(&s, t0, buf, cap);
        }
    }
    if (n >= cap) { /* a device name longer than a line: cut, but still one line */
        buf[cap - 2] = '\n';
        n = cap - 1;
    }
    return n;
}
