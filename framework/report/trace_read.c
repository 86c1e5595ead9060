/* Trace lines back into records: a small JSON reader for the flat objects the trace
 * writes (one nested "sense" object, one "ids" array, a "header"). It accepts any valid
 * JSON value where it skips a key, so a trace of a newer harness with more keys still
 * reads; what it does not accept is said with the line's column. */
#include "trace_read.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lex {
    const char *p, *end, *start;
    char *err;
    size_t cap;
    int depth;
} lex;

static int fail(lex *x, const char *why)
{
    snprintf(x->err, x->cap, "column %zu: %s", (size_t)(x->p - x->start) + 1, why);
    return -EINVAL;
}

static void ws(lex *x)
{
    while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' || *x->p == '\r' || *x->p == '\n'))
        x->p++;
}

static bool eat(lex *x, char c)
{
    ws(x);
    if (x->p < x->end && *x->p == c) {
        x->p++;
        return true;
    }
    return false;
}

/* A string into out (cut at cap-1, escapes decoded; \u beyond ASCII becomes '?': names in
 * a trace are identifiers, and a cut name still reads). */
static int str(lex *x, char *out, size_t cap, size_t *len)
{
    ws(x);
    if (x->p >= x->end || *x->p != '"') return fail(x, "a string was expected");
    x->p++;
    size_t n = 0;
    while (x->p < x->end && *x->p != '"') {
        char c = *x->p++;
        if ((unsigned char)c < 0x20) return fail(x, "a control character in a string");
        if (c == '\\') {
            if (x->p >= x->end) break;
            char e = *x->p++;
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *k = strchr(from, e);
            if (e == 'u') {
                if (x->end - x->p < 4) return fail(x, "a cut \\u escape");
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    char h = *x->p++;
                    int d = h >= '0' && h <= '9'   ? h - '0'
                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                   : -1;
                    if (d < 0) return fail(x, "a bad \\u escape");
                    v = v * 16 + (unsigned)d;
                }
                c = v && v < 0x80 ? (char)v : '?'; /* a NUL would cut the name */
            } else if (e && k) {
                c = to[k - from];
            } else {
                return fail(x, "a bad escape in a string");
            }
        }
        if (out && n + 1 < cap) out[n] = c;
        n++;
    }
    if (x->p >= x->end) return fail(x, "a string is not closed");
    x->p++;
    if (out && cap) out[n < cap ? n : cap - 1] = '\0';
    if (len) *len = n < cap ? n : (cap ? cap - 1 : 0);
    return 0;
}

static int num(lex *x, double *d, uint64_t *u, bool *is_uint)
{
    ws(x);
    const char *s = x->p;
    /* *x->p first: strchr finds a NUL byte too (the string's terminator) */
    while (x->p < x->end && *x->p && strchr("+-0123456789.eE", *x->p)) x->p++;
    if (x->p == s || x->p - s > 40) return fail(x, "a number was expected");
    char buf[48];
    memcpy(buf, s, (size_t)(x->p - s));
    buf[x->p - s] = '\0';
    char *e;
    *d = strtod(buf, &e);
    if (*e) return fail(x, "a bad number");
    *is_uint = buf[0] != '-' && !strpbrk(buf, ".eE");
    if (*is_uint) {
        errno = 0;
        *u = strtoull(buf, &e, 10);
        if (errno) return fail(x, "a number out of range");
    }
    return 0;
}

static int skip(lex *x);

static int skip_container(lex *x, char close, bool keyed)
{
    if (++x->depth > 32) return fail(x, "nested too deeply");
    if (eat(x, close)) return x->depth--, 0;
    do {
        if (keyed) {
            int rc = str(x, NULL, 0, NULL);
            if (rc) return rc;
            if (!eat(x, ':')) return fail(x, "':' was expected");
        }
        int rc = skip(x);
        if (rc) return rc;
    } while (eat(x, ','));
    if (!eat(x, close)) return fail(x, close == '}' ? "'}' was expected" : "']' was expected");
    x->depth--;
    return 0;
}

static int skip(lex *x)
{
    ws(x);
    if (x->p >= x->end) return fail(x, "a value was expected");
    char c = *x->p;
    if (c == '"') return str(x, NULL, 0, NULL);
    if (c == '{') return x->p++, skip_container(x, '}', true);
    if (c == '[') return x->p++, skip_container(x, ']', false);
    for (const char *w = "true\0false\0null\0"; *w; w += strlen(w) + 1)
        if ((size_t)(x->end - x->p) >= strlen(w) && !memcmp(x->p, w, strlen(w))) {
            x->p += strlen(w);
            return 0;
        }
    double d;
    uint64_t u;
    bool ui;
    return num(x, &d, &u, &ui);
}

static int boolean(lex *x, bool *b)
{
    ws(x);
    if (x->end - x->p >= 4 && !memcmp(x->p, "true", 4)) return x->p += 4, *b = true, 0;
    if (x->end - x->p >= 5 && !memcmp(x->p, "false", 5)) return x->p += 5, *b = false, 0;
    return fail(x, "true or false was expected");
}

static bool null(lex *x)
{
    ws(x);
    if (x->end - x->p >= 4 && !memcmp(x->p, "null", 4)) return x->p += 4, true;
    return false;
}

static int uint_val(lex *x, uint64_t *u)
{
    double d;
    bool ui;
    int rc = num(x, &d, u, &ui);
    if (!rc && !ui) return fail(x, "a whole number was expected");
    return rc;
}

void rp_trace_init(rp_trace *t)
{
    memset(t, 0, sizeof(*t));
}

void rp_trace_free(rp_trace *t)
{
    for (size_t i = 0; i < t->n_names; i++) free(t->names[i]);
    free(t->names);
    free(t->hash);
    free(t->e);
    rp_trace_init(t);
}

const char *rp_name(const rp_trace *t, uint16_t i)
{
    return i < t->n_names ? t->names[i] : "";
}

static uint32_t name_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* The hash holds name indexes (0: empty; names[0], "", is never in it). */
static int rehash(rp_trace *t, size_t cap)
{
    uint16_t *h = calloc(cap, sizeof(*h));
    if (!h) return -ENOMEM;
    for (size_t i = 1; i < t->n_names; i++) {
        size_t k = name_hash(t->names[i], strlen(t->names[i])) & (cap - 1);
        while (h[k]) k = (k + 1) & (cap - 1);
        h[k] = (uint16_t)i;
    }
    free(t->hash);
    t->hash = h;
    t->hash_cap = cap;
    return 0;
}

int rp_intern(rp_trace *t, const char *name, size_t len)
{
    if (!t->n_names) { /* names[0] is "" */
        t->names = calloc(16, sizeof(char *));
        if (!t->names || !(t->names[0] = strdup(""))) return -ENOMEM;
        t->n_names = 1;
        t->cap_names = 16;
    }
    if (!len) return 0;
    /* A hostile trace may hold 65535 names: looked up by hash, not by a scan. */
    if (!t->hash && rehash(t, 64)) return -ENOMEM;
    size_t k = name_hash(name, len) & (t->hash_cap - 1);
    for (; t->hash[k]; k = (k + 1) & (t->hash_cap - 1)) {
        const char *n = t->names[t->hash[k]];
        if (!strncmp(n, name, len) && !n[len]) return t->hash[k];
    }
    if (t->n_names > 65535) return -E2BIG;
    if (t->n_names == t->cap_names) {
        char **nn = realloc(t->names, 2 * t->cap_names * sizeof(char *));
        if (!nn) return -ENOMEM;
        t->names = nn;
        t->cap_names *= 2;
    }
    char *s = malloc(len + 1);
    if (!s) return -ENOMEM;
    memcpy(s, name, len);
    s[len] = '\0';
    t->names[t->n_names] = s;
    t->hash[k] = (uint16_t)t->n_names;
    int idx = (int)t->n_names++;
    /* at most half full (65536 names fit a table of 131072) */
    if (2 * t->n_names > t->hash_cap && rehash(t, 2 * t->hash_cap)) return -ENOMEM;
    return idx;
}

static int name_val(lex *x, rp_trace *t, uint16_t *idx)
{
    char buf[128];
    size_t n;
    int rc = str(x, buf, sizeof(buf), &n);
    if (rc) return rc;
    int i = rp_intern(t, buf, n);
    if (i < 0) return fail(x, i == -E2BIG ? "more than 65535 names" : "out of memory");
    *idx = (uint16_t)i;
    return 0;
}

static int hexbyte(char h)
{
    return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
}

static int sense_obj(lex *x, rp_trace *t, rp_entry *e)
{
    if (null(x)) return 0;
    if (!eat(x, '{')) return fail(x, "sense: an object or null was expected");
    e->has_sense = true;
    if (eat(x, '}')) return 0;
    do {
        char k[16];
        int rc = str(x, k, sizeof(k), NULL);
        if (rc) return rc;
        if (!eat(x, ':')) return fail(x, "':' was expected");
        uint64_t u = 0;
        if (!strcmp(k, "key"))
            rc = name_val(x, t, &e->key);
        else if (!strcmp(k, "asc") && !(rc = uint_val(x, &u)))
            e->asc = (uint8_t)u;
        else if (!strcmp(k, "ascq") && !(rc = uint_val(x, &u)))
            e->ascq = (uint8_t)u;
        else if (strcmp(k, "asc") && strcmp(k, "ascq"))
            rc = skip(x);
        if (rc) return rc;
    } while (eat(x, ','));
    return eat(x, '}') ? 0 : fail(x, "'}' was expected");
}

static int ids_arr(lex *x, rp_entry *e)
{
    if (!eat(x, '[')) return fail(x, "ids: an array was expected");
    if (eat(x, ']')) return 0;
    do {
        uint64_t u;
        int rc = uint_val(x, &u);
        if (rc) return rc;
        if (e->n_ids < RP_IDS) e->ids[e->n_ids++] = (uint16_t)u;
    } while (eat(x, ','));
    return eat(x, ']') ? 0 : fail(x, "']' was expected");
}

static int header_obj(lex *x, rp_trace *t)
{
    if (!eat(x, '{')) return skip(x);
    if (eat(x, '}')) return 0;
    do {
        char k[32];
        int rc = str(x, k, sizeof(k), NULL);
        if (rc) return rc;
        if (!eat(x, ':')) return fail(x, "':' was expected");
        if (!strcmp(k, "kernel_release"))
            rc = str(x, t->kernel, sizeof(t->kernel), NULL);
        else if (!strcmp(k, "tcmu_harness_version"))
            rc = str(x, t->version, sizeof(t->version), NULL);
        else
            rc = skip(x);
        if (rc) return rc;
    } while (eat(x, ','));
    return eat(x, '}') ? 0 : fail(x, "'}' was expected");
}

/* One key of an entry's object. */
static int entry_key(lex *x, rp_trace *t, rp_entry *e, const char *k, bool *has_device, double *lat)
{
    uint64_t u = 0;
    double d;
    bool ui;
    int rc;
    if (!strcmp(k, "t")) return num(x, &e->t, &u, &ui);
    if (!strcmp(k, "device")) return *has_device = true, name_val(x, t, &e->device);
    if (!strcmp(k, "op")) return name_val(x, t, &e->op);
    if (!strcmp(k, "tmr")) return e->is_tmr = true, name_val(x, t, &e->op);
    if (!strcmp(k, "ids")) return ids_arr(x, e);
    if (!strcmp(k, "sense")) return sense_obj(x, t, e);
    if (!strcmp(k, "aborted")) return boolean(x, &e->aborted);
    if (!strcmp(k, "rule")) {
        if (null(x)) return 0;
        ws(x);
        e->has_rule = true;
        if (x->p < x->end && *x->p == '"') return name_val(x, t, &e->rule);
        /* an unnamed rule, by its id: "#3" */
        if ((rc = uint_val(x, &u))) return rc;
        char b[24];
        int n = snprintf(b, sizeof(b), "#%llu", (unsigned long long)u);
        int i = rp_intern(t, b, (size_t)n);
        if (i < 0) return fail(x, "out of memory");
        e->rule = (uint16_t)i;
        return 0;
    }
    if (!strcmp(k, "cdb")) {
        char hex[80];
        size_t n;
        if ((rc = str(x, hex, sizeof(hex), &n))) return rc;
        for (size_t i = 0; i + 1 < n && e->cdb_len < sizeof(e->cdb); i += 2) {
            int h = hexbyte(hex[i]), l = hexbyte(hex[i + 1]);
            if (h < 0 || l < 0) return fail(x, "cdb: hex digits were expected");
            e->cdb[e->cdb_len++] = (uint8_t)(h * 16 + l);
        }
        if (e->cdb_len) e->opcode = e->cdb[0];
        return 0;
    }
    static const char *const ukeys[] = {"id",     "lba",     "blocks", "bytes", "count",
                                        "status", "data_in", "buffer", "lat_us"};
    for (size_t i = 0; i < sizeof(ukeys) / sizeof(ukeys[0]); i++) {
        if (strcmp(k, ukeys[i])) continue;
        if ((rc = uint_val(x, &u))) return rc;
        switch (i) {
        case 0:
            e->id = (uint16_t)u;
            break;
        case 1:
            e->lba = u, e->has_lba = true;
            break;
        case 2:
            e->len = u, e->unit = 'b';
            break;
        case 3:
            e->len = u, e->unit = 'B';
            break;
        case 4:
            e->len = u, e->unit = 'c';
            break;
        case 5:
            e->status = (uint8_t)u;
            break;
        case 6:
            e->data_in = u;
            break;
        case 7:
            e->buffer = u;
            break;
        default:
            *lat = (double)u / 1e6, e->has_lat = true;
        }
        return 0;
    }
    (void)d;
    return skip(x);
}

int rp_trace_add_line(rp_trace *t, const char *line, size_t len, char *err, size_t cap)
{
    lex x = {.p = line, .end = line + len, .start = line, .err = err, .cap = cap};
    ws(&x);
    if (x.p == x.end) return 1; /* a blank line */
    if (!t->n_names && rp_intern(t, "", 0) < 0) return fail(&x, "out of memory");
    if (!eat(&x, '{')) return fail(&x, "a JSON object was expected");
    rp_entry e = {0};
    bool has_device = false, other = false;
    double lat = 0;
    if (!eat(&x, '}')) {
        do {
            char k[32];
            int rc = str(&x, k, sizeof(k), NULL);
            if (rc) return rc;
            if (!eat(&x, ':')) return fail(&x, "':' was expected");
            if (!strcmp(k, "header")) {
                rc = header_obj(&x, t), other = true, t->has_header = true;
            } else if (!strcmp(k, "not_kept")) {
                other = true;
                if (eat(&x, '{')) {
                    char k2[16];
                    uint64_t u = 0;
                    if ((rc = str(&x, k2, sizeof(k2), NULL))) return rc;
                    if (!eat(&x, ':')) return fail(&x, "':' was expected");
                    if ((rc = uint_val(&x, &u))) return rc;
                    t->not_kept += u;
                    if (!eat(&x, '}')) return fail(&x, "'}' was expected");
                } else {
                    rc = skip(&x);
                }
            } else {
                rc = entry_key(&x, t, &e, k, &has_device, &lat);
            }
            if (rc) return rc;
        } while (eat(&x, ','));
        if (!eat(&x, '}')) return fail(&x, "',' or '}' was expected");
    }
    ws(&x);
    if (x.p != x.end) return fail(&x, "text after the object");
    if (!has_device || other) return 1;
    e.start = e.t - lat;
    if (t->n == t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 1024;
        rp_entry *ne = realloc(t->e, nc * sizeof(*ne));
        if (!ne) return fail(&x, "out of memory");
        t->e = ne;
        t->cap = nc;
    }
    e.seq = (uint32_t)t->n;
    t->e[t->n++] = e;
    return 0;
}

/* One line into *buf (no newline; NUL bytes kept, for the parser to refuse): its length,
 * -1 at the end, -2 past RP_LINE_MAX (/dev/zero is one endless line), -3 out of memory. */
static long read_line(FILE *f, char **buf, size_t *cap)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(f)) != EOF && c != '\n') {
        if (n >= RP_LINE_MAX) return -2; /* the bound itself (doubling took up to twice it) */
        if (n + 1 >= *cap) {
            size_t nc = *cap ? 2 * *cap : 4096;
            if (nc > RP_LINE_MAX + 1) nc = RP_LINE_MAX + 1;
            char *nb = realloc(*buf, nc);
            if (!nb) return -3;
            *buf = nb, *cap = nc;
        }
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && !n) return -1;
    return (long)n;
}

int rp_trace_load(rp_trace *t, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, cap, "%s: %s", path, strerror(e));
        return -e;
    }
    char *line = NULL;
    size_t lcap = 0;
    long n, no = 0;
    int rc = 0;
    char why[200];
    while ((n = read_line(f, &line, &lcap)) >= 0) {
        no++;
        while (n && line[n - 1] == '\r') n--;
        int r = rp_trace_add_line(t, line, (size_t)n, why, sizeof(why));
        if (r < 0) {
            snprintf(err, cap, "%s:%ld: %s", path, no, why);
            rc = r;
            break;
        }
    }
    if (!rc && n == -2) {
        snprintf(err, cap, "%s:%ld: a line longer than %u bytes: not a trace", path, no + 1,
                 RP_LINE_MAX);
        rc = -EINVAL;
    } else if (!rc && n == -3) {
        snprintf(err, cap, "%s:%ld: out of memory", path, no + 1);
        rc = -ENOMEM;
    } else if (!rc && ferror(f)) {
        snprintf(err, cap, "%s: %s", path, strerror(errno));
        rc = -EIO;
    } else if (!rc && !t->n && !t->has_header && !t->not_kept) {
        /* run and serve always write the header line: an empty file, /dev/null or
         * another kind of JSON is no trace, not one without faults */
        snprintf(err, cap, "%s: not a trace: no header line and no entries", path);
        rc = -EINVAL;
    }
    free(line);
    fclose(f);
    return rc;
}

/* A string of any length (run.json's message, a golden diff): malloc'd, cut at max bytes. */
static int str_dup(lex *x, char **out, size_t max)
{
    size_t room = (size_t)(x->end - x->p) + 1;
    if (room > max + 1) room = max + 1;
    char *b = malloc(room);
    if (!b) return fail(x, "out of memory");
    int rc = str(x, b, room, NULL);
    if (rc) {
        free(b);
        return rc;
    }
    free(*out);
    *out = b;
    return 0;
}

static int golden_obj(lex *x, rp_run *r)
{
    if (null(x)) return 0;
    if (!eat(x, '{')) return fail(x, "golden: an object was expected");
    if (eat(x, '}')) return 0;
    do {
        char k[16];
        int rc = str(x, k, sizeof(k), NULL);
        if (rc) return rc;
        if (!eat(x, ':')) return fail(x, "':' was expected");
        if (!strcmp(k, "result"))
            rc = str(x, r->golden, sizeof(r->golden), NULL);
        else if (!strcmp(k, "file"))
            rc = str(x, r->golden_file, sizeof(r->golden_file), NULL);
        else if (!strcmp(k, "diff"))
            rc = str_dup(x, &r->golden_diff, RP_TEXT_MAX);
        else
            rc = skip(x);
        if (rc) return rc;
    } while (eat(x, ','));
    return eat(x, '}') ? 0 : fail(x, "'}' was expected");
}

void rp_run_free(rp_run *r)
{
    free(r->message);
    free(r->golden_diff);
    memset(r, 0, sizeof(*r));
}

int rp_run_parse(rp_run *r, const char *text, size_t len, char *err, size_t cap)
{
    memset(r, 0, sizeof(*r));
    lex x = {.p = text, .end = text + len, .start = text, .err = err, .cap = cap};
    int rc = 0;
    if (!eat(&x, '{')) return fail(&x, "a JSON object was expected");
    if (!eat(&x, '}')) {
        do {
            char k[32];
            if ((rc = str(&x, k, sizeof(k), NULL))) goto out;
            if (!eat(&x, ':')) {
                rc = fail(&x, "':' was expected");
                goto out;
            }
            if (!strcmp(k, "name")) {
                rc = str(&x, r->name, sizeof(r->name), NULL);
            } else if (!strcmp(k, "file")) {
                rc = str(&x, r->file, sizeof(r->file), NULL);
            } else if (!strcmp(k, "passed")) {
                rc = boolean(&x, &r->passed);
                r->has_result = !rc;
            } else if (!strcmp(k, "seconds")) {
                uint64_t u;
                bool ui;
                rc = num(&x, &r->seconds, &u, &ui);
            } else if (!strcmp(k, "message")) {
                rc = str_dup(&x, &r->message, RP_TEXT_MAX);
            } else if (!strcmp(k, "golden")) {
                rc = golden_obj(&x, r);
            } else if (!strcmp(k, "steps") && eat(&x, '[')) {
                /* counted here; the page's script shows them */
                if (!eat(&x, ']')) {
                    do {
                        if ((rc = skip(&x))) goto out;
                        r->n_steps++;
                    } while (eat(&x, ','));
                    if (!eat(&x, ']')) rc = fail(&x, "']' was expected");
                }
            } else {
                rc = skip(&x);
            }
            if (rc) goto out;
        } while (eat(&x, ','));
        if (!eat(&x, '}')) {
            rc = fail(&x, "',' or '}' was expected");
            goto out;
        }
    }
    ws(&x);
    if (x.p != x.end) rc = fail(&x, "text after the object");
out:
    if (rc) rp_run_free(r);
    return rc;
}
