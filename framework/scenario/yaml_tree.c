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

/* libyaml's scanner costs O(depth) per token (it walks its flow levels), so a file of
 * [[[[... takes minutes to load. No scenario nests deeper than a dozen levels: read
 * the events first and stop at the first one that goes too deep, before the cost
 * grows. Syntax errors are left to the load, which reports them. */
#define MAX_DEPTH 64
static int check_depth(yt *t, const char *buf, size_t n)
{
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, n);
    int depth = 0, rc = 0;
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) break;
        yaml_event_type_t type = e.type;
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > MAX_DEPTH)
                rc = load_fail(t, -EINVAL, e.start_mark.line + 1, e.start_mark.column + 1,
                               "nested deeper than %d levels", MAX_DEPTH);
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&e);
        if (rc || type == YAML_STREAM_END_EVENT) break;
    }
    yaml_parser_delete(&p);
    return rc;
}

int yt_load(yt *t, const char *path)
{
    memset(t, 0, sizeof(*t));
    t->file = path;
    FILE *f = fopen(path, "rb");
    if (!f) return load_fail(t, -errno, 1, 1, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) || st.st_size > MAX_FILE) {
        fclose(f);
        return load_fail(t, -EFBIG, 1, 1, "file is larger than %u bytes", MAX_FILE);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf) return load_fail(t, -ENOMEM, 1, 1, "out of memory");
    for (size_t i = 0, line = 1, col = 1; i < n; i++, col++) {
        if (buf[i] == '\n') line++, col = 0;
        if (buf[i] == 0) {
            free(buf);
            return load_fail(t, -EINVAL, line, col, "binary data (NUL byte) in a scenario file");
        }
    }
    int drc = check_depth(t, buf, n);
    if (drc) {
        free(buf);
        return drc;
    }
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, n);
    int ok = yaml_parser_load(&p, &t->doc);
    if (!ok) {
        load_fail(t, -EINVAL, p.problem_mark.line + 1, p.problem_mark.column + 1,
                  "YAML syntax error: %s%s%s", p.problem ? p.problem : "?", p.context ? " " : "",
                  p.context ? p.context : "");
        yaml_parser_delete(&p);
        free(buf);
        return -EINVAL;
    }
    yaml_parser_delete(&p);
    free(buf);
    if (!yaml_document_get_root_node(&t->doc)) {
        yaml_document_delete(&t->doc);
        return load_fail(t, -EINVAL, 1, 1, "empty scenario file");
    }
    return 0;
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
