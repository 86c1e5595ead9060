/* Golden traces: what the initiator sent during a scenario, normalised so that two runs
 * (two kernels, two versions of an initiator) compare: no times, no command ids; per
 * device its commands in the order they arrived, one line each (op, the CDB fields that
 * matter, the answer, the rule), consecutive identical lines collapsed as "xN" (retries),
 * TMRs naming the line they aborted by position; then one line per reaction episode
 * (reaction.h). docs/scenario-format.md, "Golden traces", is the format and what a
 * difference is; these functions are its definition. */
#ifndef TH_REPORT_GOLDEN_H
#define TH_REPORT_GOLDEN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "trace_read.h"

/* Bounds for a file read back from disk (hostile input): the longest line the writer
 * can make is below 1,400 bytes (escaped names of 127 bytes, 16 CDB bytes). */
#define RP_GOLDEN_LINE_MAX  4096
#define RP_GOLDEN_LINES_MAX 262144
#define RP_GOLDEN_COUNT_MAX 1000000000ull
#define RP_GOLDEN_FILE_MAX  (64u << 20) /* bytes of a file (lines of long names reach it) */
/* The diff text: at most this many lines, then "... N more differences". */
#define RP_GOLDEN_DIFF_LINES 200

typedef enum rp_match {
    RP_MATCH_MULTISET, /* the same lines with the same counts, in any order (the default) */
    RP_MATCH_SEQUENCE, /* the same lines in the same order */
} rp_match;

typedef struct rp_gline {
    char *text;       /* the line without its " xN" */
    uint64_t count;   /* N of " xN", 1 without */
    bool reaction;    /* in the reactions section */
    uint32_t var_off; /* a number in text compared loosely (var_len 0: none): a TMR's */
    uint32_t var_len; /* "@N" position (multiset mode ignores it), a reaction's attempts */
    uint64_t var;     /* (within the tolerance) */
    uint32_t line_no; /* in its file (0 when made from a trace) */
} rp_gline;

typedef struct rp_golden {
    rp_gline *l;
    size_t n, cap;
} rp_golden;

void rp_golden_init(rp_golden *g);
void rp_golden_free(rp_golden *g);

/* The golden text of a trace (malloc'd into *text): a header comment (harness version and
 * kernel from the trace's header, informational), "commands", the command lines,
 * "reactions", the reaction lines. 0, -ENOMEM, or -E2BIG (with why in err) past
 * RP_GOLDEN_LINES_MAX lines or RP_GOLDEN_FILE_MAX bytes (what its reader refuses). */
int rp_golden_text(const rp_trace *t, char **text, char *err, size_t cap);
/* Golden text back into lines; name is the file's, for "NAME:LINE: why" in err. Bounded
 * (line length, line count, counts), any bytes accepted as input. 0 or -EINVAL/-ENOMEM. */
int rp_golden_parse(rp_golden *g, const char *name, const char *buf, size_t len, char *err,
                    size_t cap);
/* A file: at most RP_GOLDEN_FILE_MAX bytes. 0 or -errno. */
int rp_golden_load(rp_golden *g, const char *path, char *err, size_t cap);

/* "multiset" or "sequence" into *m; false for anything else. */
bool rp_match_from_name(const char *name, rp_match *m);
const char *rp_match_name(rp_match m);

/* want (the golden file) against got (this run): 0 the same, 1 different with a unified-style
 * diff in *diff (malloc'd, at most RP_GOLDEN_DIFF_LINES lines), -ENOMEM. A count differs
 * when |N - M| > tolerance, a reaction's attempts likewise. want_name heads the diff. */
int rp_golden_compare(const rp_golden *want, const rp_golden *got, rp_match mode,
                      unsigned tolerance, const char *want_name, char **diff);

#endif
