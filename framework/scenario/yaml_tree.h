/* libyaml's document API with positions, and the error reporting scenario parsing uses. */
#ifndef TH_YAML_TREE_H
#define TH_YAML_TREE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <yaml.h>

typedef struct yt {
    yaml_document_t doc;
    const char *file;
    FILE *err;
    int errors;
} yt;

int yt_load(yt *t, const char *path, FILE *err);
void yt_free(yt *t);
yaml_node_t *yt_root(yt *t);
void yt_error(yt *t, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Iterates a mapping: calls fn(key, value) for each pair. */
typedef void (*yt_pair_fn)(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg);
bool yt_map(yt *t, yaml_node_t *n, yt_pair_fn fn, void *arg, const char *what);
/* Scalars: return false (and report) on a wrong type or range. */
const char *yt_str(yt *t, yaml_node_t *n);
bool yt_copy(yt *t, yaml_node_t *n, char *dst, size_t cap);
bool yt_int(yt *t, yaml_node_t *n, long long lo, long long hi, long long *out);
bool yt_u64(yt *t, yaml_node_t *n, uint64_t *out);
bool yt_bool(yt *t, yaml_node_t *n, bool *out);
bool yt_double(yt *t, yaml_node_t *n, double lo, double hi, double *out);
bool yt_size(yt *t, yaml_node_t *n, uint64_t *out); /* 64MiB, 4096 */
/* "100-107" or "100" */
bool yt_range(yt *t, yaml_node_t *n, uint64_t *lo, uint64_t *hi);
yaml_node_t *yt_item(yt *t, yaml_node_t *seq, int i);
/* A mapping of exactly one pair ("short: { blocks: 4 }"); reports `what` otherwise. */
bool yt_single(yt *t, yaml_node_t *n, yaml_node_t **k, yaml_node_t **v, const char *what);
int yt_len(yaml_node_t *seq);

#endif
