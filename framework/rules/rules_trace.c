/* The trace: every command (as it left) and every TMR handed to a sink as a structured
 * entry; the JSON line is the formatter's, for whoever writes one. */
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
        .in_ns = th_cmd_arrived_ns(cmd),
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

/* Appending into a bounded buffer, counting what would not fit (snprintf's contract).
 * By hand, not a vsnprintf per field: the writer thread formats every entry, and on a
 * guest's two vCPUs its time is the initiator's. */
typedef struct out {
    char *buf;
    size_t cap, len;
} out;

static void put_n(out *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len - 1; /* the terminator's byte */
        memcpy(o->buf + o->len, s, n < room ? n : room);
        o->buf[o->len + (n < room ? n : room)] = '\0';
    }
    o->len += n;
}

#define put_lit(o, s) put_n((o), (s), sizeof(s) - 1)

static void put_s(out *o, const char *s)
{
    put_n(o, s, strlen(s));
}

static void put_u(out *o, unsigned long long v)
{
    char d[24];
    size_t i = sizeof(d);
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_n(o, d + i, sizeof(d) - i);
}

static void put_hex2(out *o, uint8_t b, const char *digits)
{
    char h[2] = {digits[b >> 4], digits[b & 15]};
    put_n(o, h, 2);
}

/* A JSON string; names are plain identifiers in practice, escaped so the line stays
 * JSON whatever a scenario or request named things. */
static void put_str(out *o, const char *s)
{
    put_lit(o, "\"");
    for (const char *p = s;; p++) {
        const char *run = p;
        while (*p && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) p++;
        put_n(o, run, (size_t)(p - run));
        if (!*p) break;
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put_n(o, e, 2);
        } else {
            put_lit(o, "\\u00");
            put_hex2(o, c, "0123456789abcdef");
        }
    }
    put_lit(o, "\"");
}

static const char *tf(bool b)
{
    return b ? "true" : "false";
}

static void put_cmd(out *o, const th_trace_entry *e)
{
    put_lit(o, ",\"id\":");
    put_u(o, e->id);
    put_lit(o, ",\"op\":");
    if (e->op_name) {
        put_str(o, e->op_name);
    } else {
        put_lit(o, "\"0x");
        put_hex2(o, e->op, "0123456789ABCDEF");
        put_lit(o, "\"");
    }
    put_lit(o, ",\"cdb\":\"");
    for (size_t i = 0; i < e->cdb_len && i < 32; i++) put_hex2(o, e->cdb[i], "0123456789abcdef");
    put_lit(o, "\"");
    if (e->has_lba) put_lit(o, ",\"lba\":"), put_u(o, e->lba);
    /* A tape's READ(6) counts blocks when FIXED is set and bytes when it is not. */
    if (e->unit == TH_XFER_BLOCKS) put_lit(o, ",\"blocks\":"), put_u(o, e->blocks);
    if (e->unit == TH_XFER_BYTES) put_lit(o, ",\"bytes\":"), put_u(o, e->blocks);
    /* A SPACE's count of objects, unsigned: the cdb shows its direction and CODE. */
    if (e->unit == TH_XFER_COUNT) put_lit(o, ",\"count\":"), put_u(o, e->blocks);
    put_lit(o, ",\"status\":");
    put_u(o, e->status);
    put_lit(o, ",\"sense\":");
    if (e->sense_ok) {
        const th_sense *s = &e->decoded;
        put_lit(o, "{\"key\":\"");
        put_s(o, th_sense_key_name(s->key));
        put_lit(o, "\",\"asc\":");
        put_u(o, s->asc);
        put_lit(o, ",\"ascq\":");
        put_u(o, s->ascq);
        put_lit(o, ",\"info\":");
        if (s->info_valid)
            put_u(o, s->info);
        else
            put_lit(o, "null");
        put_lit(o, ",\"fm\":");
        put_s(o, tf(s->filemark));
        put_lit(o, ",\"eom\":");
        put_s(o, tf(s->eom));
        put_lit(o, ",\"ili\":");
        put_s(o, tf(s->ili));
        put_lit(o, "}");
    } else {
        put_lit(o, "null");
    }
    put_lit(o, ",\"data_in\":");
    put_u(o, e->data_in);
    put_lit(o, ",\"buffer\":");
    put_u(o, e->buffer);
    put_lit(o, ",\"rule\":");
    if (e->rule_name) {
        put_str(o, e->rule_name);
    } else if (e->rule_id >= 0) {
        put_u(o, (unsigned)e->rule_id);
    } else {
        put_lit(o, "null");
    }
    put_lit(o, ",\"aborted\":");
    put_s(o, tf(e->aborted));
    /* How long the harness held it (a delay or hang rule's time included); the initiator
     * saw that plus the kernel's part. */
    if (e->in_ns && e->t_ns >= e->in_ns)
        put_lit(o, ",\"lat_us\":"), put_u(o, (e->t_ns - e->in_ns) / 1000);
    put_lit(o, "}\n");
}

size_t th_trace_entry_json(const th_trace_entry *e, double t0, char *buf, size_t cap)
{
    out o = {buf, cap, 0};
    if (cap) buf[0] = '\0';
    char t[48]; /* the one printf: %.6f's rounding of the double is the format's */
    int tn = snprintf(t, sizeof(t), "{\"t\":%.6f,\"device\":", (double)e->t_ns / 1e9 - t0);
    put_n(&o, t, tn > 0 ? ((size_t)tn < sizeof(t) ? (size_t)tn : sizeof(t) - 1) : 0);
    put_str(&o, e->device ? e->device : "");
    if (!e->is_tmr) {
        put_cmd(&o, e);
        return o.len;
    }
    put_lit(&o, ",\"tmr\":\"");
    put_s(&o, th_tmr_name(e->tmr_type));
    put_lit(&o, "\",\"ids\":[");
    for (uint32_t i = 0; i < e->n_ids; i++) {
        if (i) put_lit(&o, ",");
        put_u(&o, e->ids[i]);
    }
    put_lit(&o, "]");
    if (e->ids_total > e->n_ids) put_lit(&o, ",\"ids_total\":"), put_u(&o, e->ids_total);
    put_lit(&o, "}\n");
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
