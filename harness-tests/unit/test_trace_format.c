/* The trace's JSON line as the writer thread formats it (by hand) is byte for byte the
 * line the printf-based formatter made before it: a reference copy of that one here, and
 * entries with every field drawn at random (names with quotes and control characters,
 * sense or none, TMRs with many ids), and buffers of every size for the truncation and
 * length contract. */
#include <stdarg.h>
#include <stdlib.h>
#include "helpers.h"

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

static size_t ref_json(const th_trace_entry *e, double t0, char *buf, size_t cap)
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

static uint64_t rnd_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void rnd_name(char *s, size_t cap)
{
    static const char chars[] = "abcXYZ_09-.\"\\\x01\x1f ~";
    size_t n = rnd() % (cap - 1);
    for (size_t i = 0; i < n; i++) s[i] = chars[rnd() % (sizeof(chars) - 1)];
    s[n] = '\0';
}

static void rnd_entry(th_trace_entry *e, char *dev, char *op, char *rule, uint8_t *cdb,
                      uint16_t *ids)
{
    memset(e, 0, sizeof(*e));
    e->t_ns = rnd() % 4000000000000ull;
    rnd_name(dev, 20);
    e->device = rnd() % 8 ? dev : NULL;
    e->is_tmr = rnd() % 5 == 0;
    if (e->is_tmr) {
        e->tmr_type = (uint8_t)(rnd() % 8);
        e->n_ids = (uint32_t)(rnd() % 40);
        for (uint32_t i = 0; i < e->n_ids; i++) ids[i] = (uint16_t)rnd();
        e->ids = ids;
        e->ids_total = e->n_ids + (uint32_t)(rnd() % 2 ? 0 : rnd() % 100);
        return;
    }
    e->id = (uint16_t)rnd();
    e->op = (uint8_t)rnd();
    rnd_name(op, 40);
    e->op_name = rnd() % 3 ? op : NULL;
    e->cdb_len = rnd() % 34;
    for (size_t i = 0; i < 32; i++) cdb[i] = (uint8_t)rnd();
    e->cdb = cdb;
    e->has_lba = rnd() % 2;
    e->lba = rnd() >> (rnd() % 64);
    e->blocks = (uint32_t)rnd();
    e->unit = (th_xfer_unit)(rnd() % 4);
    e->status = (uint8_t)rnd();
    e->sense_ok = rnd() % 2;
    e->decoded.key = (uint8_t)(rnd() % 16);
    e->decoded.asc = (uint8_t)rnd();
    e->decoded.ascq = (uint8_t)rnd();
    e->decoded.info_valid = rnd() % 2;
    e->decoded.info = rnd();
    e->decoded.filemark = rnd() % 2;
    e->decoded.eom = rnd() % 2;
    e->decoded.ili = rnd() % 2;
    e->data_in = (size_t)(rnd() >> (rnd() % 64));
    e->buffer = (size_t)(rnd() >> (rnd() % 64));
    e->rule_id = (int)(rnd() % 7) - 2;
    rnd_name(rule, 64);
    e->rule_name = rnd() % 2 ? rule : NULL;
    e->aborted = rnd() % 2;
}

Test(trace_format, the_line_is_the_printf_formatters_byte_for_byte)
{
    char dev[20], op[40], rule[64], want[2048], got[2048];
    uint8_t cdb[32];
    uint16_t ids[40];
    for (int i = 0; i < 20000; i++) {
        th_trace_entry e;
        rnd_entry(&e, dev, op, rule, cdb, ids);
        double t0 = (double)(rnd() % 2000000) / 1000.0;
        size_t wn = ref_json(&e, t0, want, sizeof(want));
        size_t gn = th_trace_entry_json(&e, t0, got, sizeof(got));
        cr_assert_eq(gn, wn, "entry %d: %s", i, want);
        cr_assert_str_eq(got, want, "entry %d", i);
        /* Cut short: the same length needed, the same truncated text. */
        size_t cap = (size_t)(rnd() % (wn + 2));
        char a[2048], b[2048];
        memset(a, 'A', sizeof(a));
        memset(b, 'A', sizeof(b));
        cr_assert_eq(th_trace_entry_json(&e, t0, b, cap), ref_json(&e, t0, a, cap));
        cr_assert_eq(memcmp(a, b, sizeof(a)), 0, "entry %d at cap %zu", i, cap);
    }
}
