/* libyaml's document API with positions, and the error reporting scenario parsing uses.
 * Errors are collected as "FILE:LINE:COL: message" lines in t->msgs, never printed. */
#ifndef TH_YAML_TREE_H
#define TH_YAML_TREE_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <yaml.h>

typedef struct yt {
    yaml_document_t doc;
    const char *file;
    char *msgs; /* the error lines, malloc'd; NULL none */
    size_t len, cap;
    int errors;
} yt;

/* What a key's value must look like; the mapping walk checks it before the key's handler. */
typedef enum {
    YT_TEXT,  /* a scalar, free text (a name, a command) */
    YT_TYPED, /* a scalar with a syntax (number, size, bool, enumeration) */
    YT_LIST,
    YT_MAP,
} yt_shape;

typedef struct yt_key {
    const char *name;
    yt_shape shape;
    const char *example; /* a valid value in flow style (documentation and tests) */
} yt_key;

#define YT_MAX_KEYS 64 /* per table */
/* The keys a mapping accepts; `what` names the mapping in messages ("a device"). */
typedef struct yt_keys {
    const char *what;
    const yt_key *keys;
    size_t n;
} yt_keys;
#define YT_KEYS(what, arr)                                                                         \
    {                                                                                              \
        what, arr, sizeof(arr) / sizeof(arr[0])                                                    \
    }

/* 0, or a negative errno with the reason in t->msgs (the document is then unusable). */
int yt_load(yt *t, const char *path);
/* The same from memory; name stands for the file in messages ("request"). json: refuse
 * what YAML has and JSON has not (anchors, aliases, tags, unquoted strings and keys,
 * block style, comments), for the control channel's request lines. */
int yt_load_buffer(yt *t, const char *name, const char *buf, size_t n, bool json);
/* Frees the document; t->msgs stays (the caller takes or frees it). */
void yt_free(yt *t);
yaml_node_t *yt_root(yt *t);
void yt_error(yt *t, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Iterates a mapping: calls fn(key, value) for each pair whose key is in keys, given once,
 * with a value of the key's shape; anything else is reported and skipped. */
typedef void (*yt_pair_fn)(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg);
bool yt_map(yt *t, yaml_node_t *n, const yt_keys *keys, yt_pair_fn fn, void *arg);
/* For a handler's fall-through: a key in the table it does not handle (a parser bug). */
void yt_unhandled(yt *t, yaml_node_t *k, const yt_keys *keys);
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
