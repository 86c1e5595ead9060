/* A trace file read back (the JSON lines of docs/scenario-format.md, "The trace"), for the
 * run report and the reaction analysis: every command and TMR as a compact record, names
 * (devices, ops, rules, sense keys) interned once. Lines without "device" (the header,
 * not_kept) are skipped; the header's kernel is kept. */
#ifndef TH_REPORT_TRACE_READ_H
#define TH_REPORT_TRACE_READ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RP_IDS 16 /* a TMR's ids kept (the rest are counted) */

typedef struct rp_entry {
    double t;     /* seconds, as it left */
    double start; /* as it arrived: t - lat_us, or t when the trace has no latency */
    uint64_t lba, len, data_in, buffer;
    uint32_t seq;                   /* its line's order among the entries */
    uint16_t device, op, rule, key; /* indexes into rp_trace.names (0: none) */
    uint16_t id;
    uint8_t opcode, status, asc, ascq;
    bool is_tmr, has_lba, has_lat, has_sense, has_rule, aborted;
    char unit; /* 'b' blocks, 'B' bytes, 'c' count, 0 none */
    /* A TMR: op names its type (ABORT_TASK), ids the commands it named. */
    uint8_t n_ids;
    uint16_t ids[RP_IDS];
    uint8_t cdb_len;
    uint8_t cdb[16]; /* the first 16 bytes */
} rp_entry;

typedef struct rp_trace {
    rp_entry *e;
    size_t n, cap;
    char **names; /* names[0] is "" */
    size_t n_names, cap_names;
    uint16_t *hash; /* name lookup: indexes into names, open addressing */
    size_t hash_cap;
    char kernel[128];  /* the header's kernel_release ("" without a header) */
    char version[32];  /* the header's tcmu_harness_version */
    uint64_t not_kept; /* entries a dump said were no longer kept */
    bool has_header;
} rp_trace;

void rp_trace_init(rp_trace *t);
void rp_trace_free(rp_trace *t);
#define RP_LINE_MAX (1u << 20) /* a trace's lines are a few hundred bytes */
/* Reads a whole file; 0, or -errno / -EINVAL with "PATH:LINE: why" in err. Entries are
 * kept in file order (the order they left). */
int rp_trace_load(rp_trace *t, const char *path, char *err, size_t cap);
/* One line (without its newline); 0, 1 when it holds no entry (the header), or -EINVAL
 * with why in err. */
int rp_trace_add_line(rp_trace *t, const char *line, size_t len, char *err, size_t cap);
const char *rp_name(const rp_trace *t, uint16_t i);
/* The index of name, interned (0 for ""); -ENOMEM, or -E2BIG past 65535 names. */
int rp_intern(rp_trace *t, const char *name, size_t len);

/* A run's result as `run` leaves it beside the trace (DIR/<stem>.run.json): what the
 * report's header and the suite page need; the page's script reads the rest (the steps). */
#define RP_TEXT_MAX (1u << 20) /* a message or a diff is cut here */
typedef struct rp_run {
    char name[256];
    char file[1024];
    bool passed, has_result;
    double seconds;
    int n_steps;
    char *message;   /* malloc'd, or NULL */
    char golden[16]; /* "same", "differs", "recorded", "missing", or "" */
    char golden_file[1024];
    char *golden_diff; /* malloc'd, or NULL */
} rp_run;
/* 0, or -EINVAL with "column N: why" in err (r is then empty). */
int rp_run_parse(rp_run *r, const char *text, size_t len, char *err, size_t cap);
void rp_run_free(rp_run *r);

#endif
