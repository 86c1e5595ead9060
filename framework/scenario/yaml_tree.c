#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "yaml_tree.h"

#define MAX_FILE (1u << 20)

int yt_load(yt *t, const char *path, FILE *err)
{
    memset(t, 0, sizeof(*t));
    t->file = path;
    t->err = err;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(err, "%s:1:1: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) || st.st_size > MAX_FILE) {
        fprintf(err, "%s:1:1: file is larger than %u bytes\n", path, MAX_FILE);
        fclose(f);
        return -1;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf) return -1;
    for (size_t i = 0, line = 1, col = 1; i < n; i++, col++) {
        if (buf[i] == '\n') line++, col = 0;
        if (buf[i] == 0) {
            fprintf(err, "%s:%zu:%zu: binary data (NUL byte) in a scenario file\n", path, line,
                    col);
            free(buf);
            return -1;
        }
    }
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, n);
    int ok = yaml_parser_load(&p, &t->doc);
    if (!ok) {
        fprintf(err, "%s:%zu:%zu: YAML syntax error: %s%s%s\n", path, p.problem_mark.line + 1,
                p.problem_mark.column + 1, p.problem ? p.problem : "?", p.context ? " " : "",
                p.context ? p.context : "");
        yaml_parser_delete(&p);
        free(buf);
        return -1;
    }
    yaml_parser_delete(&p);
    free(buf);
    if (!yaml_document_get_root_node(&t->doc)) {
        fprintf(err, "%s:1:1: empty scenario file\n", path);
        yaml_document_delete(&t->doc);
        return -1;
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
    fprintf(t->err, "%s:%zu:%zu: ", t->file, n ? n->start_mark.line + 1 : 1,
            n ? n->start_mark.column + 1 : 1);
    vfprintf(t->err, fmt, ap);
    fputc('\n', t->err);
    va_end(ap);
    t->errors++;
}

bool yt_map(yt *t, yaml_node_t *n, yt_pair_fn fn, void *arg, const char *what)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        yt_error(t, n, "%s must be a mapping", what);
        return false;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&t->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&t->doc, p->value);
        if (!k || k->type != YAML_SCALAR_NODE) {
            yt_error(t, k, "keys of %s must be plain words", what);
            continue;
        }
        fn(t, (const char *)k->data.scalar.value, k, v, arg);
    }
    return true;
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
    if (!*s || *end || errno || *s == '-') {
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
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    static const struct {
        const char *u;
        int shift;
    } units[] = {{"", 0},     {"B", 0},  {"K", 10},   {"KiB", 10}, {"M", 20},
                 {"MiB", 20}, {"G", 30}, {"GiB", 30}, {"T", 40},   {"TiB", 40}};
    if (isdigit((unsigned char)*s) && !errno)
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (!strcmp(end, units[i].u) && v <= (UINT64_MAX >> units[i].shift)) {
                *out = (uint64_t)v << units[i].shift;
                return true;
            }
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
    if (*end == '-') b = strtoull(end + 1, &end, 0);
    if (!isdigit((unsigned char)*s) || *end || errno || b < a) {
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
