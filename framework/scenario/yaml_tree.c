#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "spec.h"
#include "yaml_tree.h"

#define MAX_FILE (1u << 20)

/* Appends one "FILE:LINE:COL: message" line. */
static void add_msg(yt *t, size_t line, size_t col, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void add_msg(yt *t, size_t line, size_t col, const char *fmt, va_list ap)
{
    t->errors++;
    char text[1024];
    vsnprintf(text, sizeof(text), fmt, ap);
    size_t need = strlen(t->file) + strlen(text) + 48;
    if (t->len + need > t->cap) {
        size_t cap = (t->len + need) * 2;
        char *m = realloc(t->msgs, cap);
        if (!m) return; /* counted still: the load fails, with fewer words */
        t->msgs = m;
        t->cap = cap;
    }
    t->len += (size_t)snprintf(t->msgs + t->len, t->cap - t->len, "%s:%zu:%zu: %s\n", t->file, line,
                               col, text);
}

static int load_fail(yt *t, int rc, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int load_fail(yt *t, int rc, size_t line, size_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_msg(t, line, col, fmt, ap);
    va_end(ap);
    return rc;
}

/* The event pass before the load. libyaml's scanner costs O(depth) per token (it walks
 * its flow levels), so a file of [[[[... takes minutes to load: no scenario nests deeper
 * than a dozen levels, so stop at the first event that goes too deep, before the cost
 * grows. In JSON mode it also refuses what YAML accepts and JSON does not (the control
 * channel speaks JSON; the document API no longer shows anchors, tags or quoting).
 * Syntax errors are left to the load, which reports them. */
#define MAX_DEPTH 64
typedef struct scan {
    yt *t;
    const char *buf;
    size_t n;
    bool json;
    size_t ci, bi; /* a character index and its byte offset (marks count characters) */
    int depth;
    bool map[MAX_DEPTH + 2], key[MAX_DEPTH + 2]; /* per level: a mapping, at a key */
} scan;

static size_t byte_at(scan *s, size_t ci)
{
    for (; s->ci < ci && s->bi < s->n; s->ci++) {
        unsigned char c = (unsigned char)s->buf[s->bi];
        s->bi += c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    }
    return s->bi < s->n ? s->bi : s->n;
}

static int scan_fail(scan *s, const yaml_mark_t *m, const char *what)
{
    return load_fail(s->t, -EINVAL, m->line + 1, m->column + 1, "not JSON: %s", what);
}

/* true, false, null, or a number as JSON writes it (no 0x, no +, no .5, no 1_000) */
static bool json_literal(const char *v)
{
    if (!strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "null")) return true;
    const char *p = v + (*v == '-');
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (isdigit((unsigned char)*p)) p++;
    else
        return false;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p)) return false;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p == 'e' || *p == 'E') {
        p += p[1] == '+' || p[1] == '-' ? 2 : 1;
        if (!isdigit((unsigned char)*p)) return false;
        while (isdigit((unsigned char)*p)) p++;
    }
    return !*p;
}

/* A node (scalar or collection start) at the current level. */
static int scan_node(scan *s, const yaml_event_t *e, const yaml_char_t *anchor,
                     const yaml_char_t *tag)
{
    if (anchor) return scan_fail(s, &e->start_mark, "anchors (&name) are YAML, not JSON");
    if (tag) return scan_fail(s, &e->start_mark, "tags (!tag) are YAML, not JSON");
    if (e->type == YAML_SCALAR_EVENT) {
        bool quoted = e->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        if (s->map[s->depth] && s->key[s->depth] && !quoted)
            return scan_fail(s, &e->start_mark, "a key is a string in double quotes");
        if (!quoted && e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            return scan_fail(s, &e->start_mark, "a string goes in double quotes");
        if (!quoted && !json_literal((const char *)e->data.scalar.value))
            return scan_fail(s, &e->start_mark,
                             "a value is a string in double quotes, a number, true, false or "
                             "null");
        return 0;
    }
    if (s->map[s->depth] && s->key[s->depth])
        return scan_fail(s, &e->start_mark, "a key is a string in double quotes");
    bool flow = e->type == YAML_MAPPING_START_EVENT
                    ? e->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
                    : e->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
    char open = e->type == YAML_MAPPING_START_EVENT ? '{' : '[';
    if (!flow || s->buf[byte_at(s, e->start_mark.index)] != open)
        return scan_fail(s, &e->start_mark,
                         open == '{' ? "an object is written {\"key\": value, ...}"
                                     : "an array is written [value, ...]");
    return 0;
}

static int scan_event(scan *s, const yaml_event_t *e)
{
    int rc = 0;
    switch (e->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (s->json && !e->data.document_start.implicit)
            rc = scan_fail(s, &e->start_mark, "'---' and directives are YAML, not JSON");
        break;
    case YAML_DOCUMENT_END_EVENT:
        if (s->json && !e->data.document_end.implicit)
            rc = scan_fail(s, &e->start_mark, "'...' is YAML, not JSON");
        break;
    case YAML_ALIAS_EVENT:
        if (s->json) rc = scan_fail(s, &e->start_mark, "aliases (*name) are YAML, not JSON");
        break;
    case YAML_SCALAR_EVENT:
        if (strlen((const char *)e->data.scalar.value) != e->data.scalar.length)
            return load_fail(s->t, -EINVAL, e->start_mark.line + 1, e->start_mark.column + 1,
                             "a string with a NUL character in it");
        if (s->json) rc = scan_node(s, e, e->data.scalar.anchor, e->data.scalar.tag);
        s->key[s->depth] = !s->key[s->depth];
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (s->depth >= MAX_DEPTH)
            return load_fail(s->t, -EINVAL, e->start_mark.line + 1, e->start_mark.column + 1,
                             "nested deeper than %d levels", MAX_DEPTH);
        if (s->json)
            rc = e->type == YAML_MAPPING_START_EVENT
                     ? scan_node(s, e, e->data.mapping_start.anchor, e->data.mapping_start.tag)
                     : scan_node(s, e, e->data.sequence_start.anchor, e->data.sequence_start.tag);
        s->depth++;
        s->map[s->depth] = e->type == YAML_MAPPING_START_EVENT;
        s->key[s->depth] = true;
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (s->depth > 0) s->depth--;
        s->key[s->depth] = !s->key[s->depth];
        /* A comment or more text after the outermost value: JSON has neither. */
        if (s->json && !s->depth)
            for (size_t b = byte_at(s, e->end_mark.index); b < s->n; b++)
                if (!strchr(" \t\r\n", s->buf[b]))
                    return scan_fail(s, &e->end_mark, "text after the end of the value");
        break;
    default:
        break;
    }
    return rc;
}

static int scan_events(yt *t, const char *buf, size_t n, bool json)
{
    scan s = {.t = t, .buf = buf, .n = n, .json = json};
    s.key[0] = true;
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, n);
    int rc = 0;
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) break;
        yaml_event_type_t type = e.type;
        rc = scan_event(&s, &e);
        yaml_event_delete(&e);
        if (rc || type == YAML_STREAM_END_EVENT) break;
    }
    yaml_parser_delete(&p);
    return rc;
}

/* libyaml says "invalid leading UTF-8 octet"; say where, in the words of the input. */
static int check_text(yt *t, const char *buf, size_t n, const char *what)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < n; col++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == 0) return load_fail(t, -EINVAL, line, col, "binary data (NUL byte) in %s", what);
        if (c == '\n') line++, col = 0;
        size_t len = c < 0x80                ? 1
                     : c >= 0xc2 && c < 0xe0 ? 2
                     : c >= 0xe0 && c < 0xf0 ? 3
                     : c >= 0xf0 && c < 0xf5 ? 4
                                             : 0;
        bool ok = len && i + len <= n;
        for (size_t k = 1; ok && k < len; k++) ok = ((unsigned char)buf[i + k] & 0xc0) == 0x80;
        if (!ok) return load_fail(t, -EILSEQ, line, col, "not UTF-8 (byte 0x%02x) in %s", c, what);
        i += len;
    }
    return 0;
}

/* JSON's strings and commas, where YAML's flow syntax is wider: YAML's escapes (\x41, \e,
 * \N, \U...), raw tabs in strings and trailing commas parse, but the control channel
 * echoes an id as sent, so what it takes must be JSON text. After the event pass, so the
 * quotes are JSON's; a malformed escape is left to the load, which reports it. */
static int check_json_text(yt *t, const char *buf, size_t n)
{
    size_t line = 1, col = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        col += (c & 0xc0) != 0x80;
        if (in_str && c < 0x20)
            return load_fail(t, -EINVAL, line, col,
                             "not JSON: a control character (0x%02x) in a string (write it "
                             "as an escape: \\t, \\u0009)",
                             c);
        if (c == '\n') line++, col = 0;
        if (!in_str) {
            size_t k = i + 1;
            if (c == ',')
                while (k < n && strchr(" \t\r\n", buf[k])) k++;
            if (c == ',' && k < n && (buf[k] == '}' || buf[k] == ']'))
                return load_fail(t, -EINVAL, line, col, "not JSON: a comma before '%c'", buf[k]);
            in_str = c == '"';
            continue;
        }
        if (c == '"') in_str = false;
        if (c != '\\') continue;
        unsigned char e = i + 1 < n ? (unsigned char)buf[i + 1] : 0;
        if (e == 'u') {
            char hex[5] = {0};
            for (int k = 0; k < 4; k++)
                if (i + 2 + (size_t)k >= n || !isxdigit((unsigned char)buf[i + 2 + k]))
                    return 0; /* the load says what is wrong with it */
            memcpy(hex, buf + i + 2, 4);
            unsigned long v = strtoul(hex, NULL, 16);
            if (v >= 0xd800 && v <= 0xdfff)
                return load_fail(t, -EINVAL, line, col,
                                 "\\u%.4s: a UTF-16 surrogate escape; send characters beyond "
                                 "U+FFFF as UTF-8 (Python: json.dumps(..., ensure_ascii=False))",
                                 hex);
            i += 5, col += 5;
        } else if (e && strchr("\"\\/bfnrt", e)) {
            i++, col++;
        } else if (e > 0x20 && e < 0x7f) {
            return load_fail(t, -EINVAL, line, col,
                             "not JSON: the escape \\%c (JSON has \\\" \\\\ \\/ \\b \\f "
                             "\\n \\r \\t \\uXXXX)",
                             e);
        } else {
            return load_fail(t, -EINVAL, line, col,
                             "not JSON: a backslash that starts no JSON escape");
        }
    }
    return 0;
}

int yt_load_buffer(yt *t, const char *name, const char *buf, size_t n, bool json)
{
    memset(t, 0, sizeof(*t));
    t->file = name;
    const char *what = json ? "a request" : "a scenario file";
    if (n > MAX_FILE)
        return load_fail(t, -EFBIG, 1, 1, "%s is larger than %u bytes", json ? "a request" : "file",
                         MAX_FILE);
    int rc = check_text(t, buf, n, what);
    if (!rc) rc = scan_events(t, buf, n, json);
    if (!rc && json) rc = check_json_text(t, buf, n);
    if (rc) return rc;
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, n);
    if (!yaml_parser_load(&p, &t->doc)) {
        size_t line = p.problem_mark.line + 1, col = p.problem_mark.column + 1;
        if (json && line > 1 && !memchr(buf, '\n', n)) { /* the end of a one-line request */
            line = 1, col = 1;
            for (size_t i = 0; i < n; i++) col += ((unsigned char)buf[i] & 0xc0) != 0x80;
        }
        load_fail(t, -EINVAL, line, col, "%s syntax error: %s%s%s", json ? "JSON" : "YAML",
                  p.problem ? p.problem : "?", p.context ? " " : "", p.context ? p.context : "");
        yaml_parser_delete(&p);
        return -EINVAL;
    }
    yaml_parser_delete(&p);
    if (!yaml_document_get_root_node(&t->doc)) {
        yaml_document_delete(&t->doc);
        return load_fail(t, -EINVAL, 1, 1, json ? "empty request" : "empty scenario file");
    }
    return 0;
}

int yt_load(yt *t, const char *path)
{
    memset(t, 0, sizeof(*t));
    t->file = path;
    FILE *f = fopen(path, "rb");
    if (!f) return load_fail(t, -errno, 1, 1, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) || S_ISDIR(st.st_mode)) {
        fclose(f); /* fopen takes a directory, and reading it gave "empty scenario file" */
        return load_fail(t, -EISDIR, 1, 1, "is a directory (a scenario file was expected)");
    }
    if (st.st_size > MAX_FILE) {
        fclose(f);
        return load_fail(t, -EFBIG, 1, 1, "file is larger than %u bytes", MAX_FILE);
    }
    /* Read to the end, not st_size bytes: a pipe (validate <(generate)) has size 0. One
     * byte more than the limit tells a file that grew or a pipe that is too long. */
    char *buf = malloc((size_t)MAX_FILE + 2);
    size_t n = 0, r;
    while (buf && n <= MAX_FILE && (r = fread(buf + n, 1, (size_t)MAX_FILE + 1 - n, f)) > 0) n += r;
    bool failed = buf && ferror(f);
    int e = errno;
    fclose(f);
    if (!buf) return load_fail(t, -ENOMEM, 1, 1, "out of memory");
    if (failed || n > MAX_FILE) {
        free(buf);
        if (failed) return load_fail(t, -e, 1, 1, "cannot read: %s", strerror(e));
        return load_fail(t, -EFBIG, 1, 1, "file is larger than %u bytes", MAX_FILE);
    }
    int rc = yt_load_buffer(t, path, buf, n, false);
    free(buf);
    return rc;
}

void yt_free(yt *t)
{
    yaml_document_delete(&t->doc);
}
yaml_node_t *yt_root(yt *t)
{
    return yaml_document_get_root_node(&t->doc);
}

void yt_error(yt *t, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_msg(t, n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1, fmt, ap);
    va_end(ap);
}

static const char *shape_name(yaml_node_type_t type)
{
    return type == YAML_MAPPING_NODE ? "mapping" : type == YAML_SEQUENCE_NODE ? "list" : "value";
}

static const yt_key *key_lookup(const yt_keys *keys, const char *name)
{
    for (size_t i = 0; i < keys->n; i++)
        if (!strcmp(keys->keys[i].name, name)) return &keys->keys[i];
    return NULL;
}

static bool shape_ok(yt *t, const yt_key *key, yaml_node_t *v)
{
    static const yaml_node_type_t want[] = {[YT_TEXT] = YAML_SCALAR_NODE,
                                            [YT_TYPED] = YAML_SCALAR_NODE,
                                            [YT_LIST] = YAML_SEQUENCE_NODE,
                                            [YT_MAP] = YAML_MAPPING_NODE};
    if (v && v->type == want[key->shape]) return true;
    if (want[key->shape] == YAML_SCALAR_NODE)
        yt_error(t, v, "%s: expected a single value, not a %s", key->name,
                 v ? shape_name(v->type) : "nothing");
    else
        yt_error(t, v, "%s must be a %s, not a %s (like %s: %s)", key->name,
                 shape_name(want[key->shape]), v ? shape_name(v->type) : "nothing", key->name,
                 key->example);
    return false;
}

bool yt_map(yt *t, yaml_node_t *n, const yt_keys *keys, yt_pair_fn fn, void *arg)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        yt_error(t, n, "%s must be a mapping", keys->what);
        return false;
    }
    /* Each key's first occurrence, by its index in the table: linear in the pairs, so a
     * file of many keys costs no more than reading it. */
    yaml_node_t *first[YT_MAX_KEYS] = {0};
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&t->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&t->doc, p->value);
        if (!k || k->type != YAML_SCALAR_NODE) {
            yt_error(t, k, "keys of %s must be plain words", keys->what);
            continue;
        }
        const char *name = (const char *)k->data.scalar.value;
        const yt_key *key = key_lookup(keys, name);
        size_t i = key ? (size_t)(key - keys->keys) : 0;
        if (!key || i >= YT_MAX_KEYS) {
            yt_error(t, k, "unknown key '%s' in %s", name, keys->what);
        } else if (first[i]) {
            /* Each key fills its field once; a second one would overwrite or append. */
            yt_error(t, k, "key '%s' repeated in %s (first at line %zu)", name, keys->what,
                     first[i]->start_mark.line + 1);
        } else {
            first[i] = k;
            if (shape_ok(t, key, v)) fn(t, name, k, v, arg);
        }
    }
    return true;
}

void yt_unhandled(yt *t, yaml_node_t *k, const yt_keys *keys)
{
    yt_error(t, k, "unknown key '%s' in %s", (const char *)k->data.scalar.value, keys->what);
}

const char *yt_str(yt *t, yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE) {
        yt_error(t, n, "expected a single value, not a %s",
                 n && n->type == YAML_MAPPING_NODE ? "mapping" : "list");
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

bool yt_copy(yt *t, yaml_node_t *n, char *dst, size_t cap)
{
    const char *s = yt_str(t, n);
    if (!s) return false;
    if (strlen(s) >= cap) {
        yt_error(t, n, "'%.40s' is longer than %zu characters", s, cap - 1);
        return false;
    }
    strcpy(dst, s);
    return true;
}

bool yt_int(yt *t, yaml_node_t *n, long long lo, long long hi, long long *out)
{
    const char *s = yt_str(t, n);
    if (!s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (!*s || *end || errno) {
        yt_error(t, n, "'%.40s' is not an integer", s);
        return false;
    }
    if (v < lo || v > hi) {
        yt_error(t, n, "%lld is out of range (%lld to %lld)", v, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

bool yt_u64(yt *t, yaml_node_t *n, uint64_t *out)
{
    const char *s = yt_str(t, n);
    if (!s) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    /* strtoull skips blanks and takes a sign: " -5" would be 2^64 - 5. */
    if (!isdigit((unsigned char)*s) || *end || errno) {
        yt_error(t, n, "'%.40s' is not a non-negative integer", s);
        return false;
    }
    *out = v;
    return true;
}

bool yt_bool(yt *t, yaml_node_t *n, bool *out)
{
    const char *s = yt_str(t, n);
    if (!s) return false;
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
        *out = false;
    else {
        yt_error(t, n, "'%.40s' is not true or false", s);
        return false;
    }
    return true;
}

bool yt_double(yt *t, yaml_node_t *n, double lo, double hi, double *out)
{
    const char *s = yt_str(t, n);
    if (!s) return false;
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || v < lo || v > hi || v != v) {
        yt_error(t, n, "'%.40s' is not a number from %g to %g", s, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

bool yt_size(yt *t, yaml_node_t *n, uint64_t *out)
{
    const char *s = yt_str(t, n);
    if (!s) return false;
    if (sc_parse_size(s, out)) return true;
    yt_error(t, n, "'%.40s' is not a size (like 4096, 64MiB, 1G)", s);
    return false;
}

bool yt_range(yt *t, yaml_node_t *n, uint64_t *lo, uint64_t *hi)
{
    const char *s = yt_str(t, n);
    if (!s) return false;
    char *end;
    errno = 0;
    unsigned long long a = strtoull(s, &end, 0), b = a;
    bool upper_ok = true;
    if (*end == '-') {
        upper_ok = isdigit((unsigned char)end[1]); /* "10--1" is no range */
        b = strtoull(end + 1, &end, 0);
    }
    if (!isdigit((unsigned char)*s) || !upper_ok || *end || errno || b < a) {
        yt_error(t, n, "'%.40s' is not a number or a range like 100-107", s);
        return false;
    }
    *lo = a;
    *hi = b;
    return true;
}

int yt_len(yaml_node_t *seq)
{
    return seq && seq->type == YAML_SEQUENCE_NODE
               ? (int)(seq->data.sequence.items.top - seq->data.sequence.items.start)
               : -1;
}

yaml_node_t *yt_item(yt *t, yaml_node_t *seq, int i)
{
    return yaml_document_get_node(&t->doc, seq->data.sequence.items.start[i]);
}

bool yt_single(yt *t, yaml_node_t *n, yaml_node_t **k, yaml_node_t **v, const char *what)
{
    if (!n || n->type != YAML_MAPPING_NODE ||
        n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1) {
        yt_error(t, n, "%s", what);
        return false;
    }
    *k = yaml_document_get_node(&t->doc, n->data.mapping.pairs.start->key);
    *v = yaml_document_get_node(&t->doc, n->data.mapping.pairs.start->value);
    return *k != NULL && *v != NULL;
}
