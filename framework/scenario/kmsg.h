/* Kernel-log verdicts: the records the kernel logged during a span (a scenario, or between
 * a control client's kmsg_mark and kmsg_check), read from /dev/kmsg, and whether they show
 * a splat (a built-in pattern: WARNING:, BUG:, Oops, lockdep, KASAN, ...) that no allow
 * regex excuses, a forbidden line, or lack an expected one. As in blktests, the text is what
 * counts, so lines user space writes to /dev/kmsg count too. */
#ifndef TH_SCENARIO_KMSG_H
#define TH_SCENARIO_KMSG_H
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_KMSG_PATH "/dev/kmsg"

/* A compiled POSIX extended regex with where it came from (line 0: not from a file). */
typedef struct sc_kmsg_re {
    char *src;
    regex_t re;
    int line;
} sc_kmsg_re;

/* A growable list of them (the scenario's allow_kmsg, expect_kmsg, forbid_kmsg). */
typedef struct sc_kmsg_list {
    sc_kmsg_re *re;
    int n, cap;
} sc_kmsg_list;

/* Compiles src into the list. 0, -EINVAL with regerror's reason in err, -ENOMEM. */
int sc_kmsg_list_add(sc_kmsg_list *l, const char *src, int line, char *err, size_t cap);
void sc_kmsg_list_free(sc_kmsg_list *l);
/* A baseline file: one regex per line, blank lines and # comments ignored. 0, or -errno
 * with "FILE:LINE: message" (or "FILE: why") in err; the list keeps what it had before. */
int sc_kmsg_list_load(sc_kmsg_list *l, const char *path, char *err, size_t cap);

/* The built-in splat patterns, one table: an extended regex and what a match is. */
typedef struct sc_kmsg_splat {
    const char *re;
    const char *what;
    bool follower; /* part of a report another pattern begins (Call Trace:) */
} sc_kmsg_splat;
extern const sc_kmsg_splat sc_kmsg_splats[];
extern const size_t sc_kmsg_n_splats;
/* The index in sc_kmsg_splats of the first pattern text matches, -1 none (-2: the table
 * does not compile). */
int sc_kmsg_splat_match(const char *text);

/* A mark: the sequence number of the first record after it. Reads the whole buffer to find
 * the last record (lseek(SEEK_END) gives no number, and a number can be handed to a control
 * client). path: SC_KMSG_PATH, or a file of records (tests). 0, or -errno with why in err. */
int sc_kmsg_mark(const char *path, uint64_t *mark, char *err, size_t cap);

/* The records since a mark, as lines: a message with \x0a in it is one line per part. */
typedef struct sc_kmsg_line {
    uint64_t seq;
    uint64_t ts_us; /* the record's timestamp, microseconds since boot */
    bool note;      /* a line of ours (records lost), not the kernel's: never judged */
    char *text;     /* the message; escapes other than \x0a \x09 \x5c kept as \xNN */
} sc_kmsg_line;
typedef struct sc_kmsg_log {
    sc_kmsg_line *lines;
    size_t n, cap;
} sc_kmsg_log;

/* Reads the records with seq >= mark until the end of the log (EAGAIN, or EOF for a file).
 * Records overwritten before they were read (EPIPE, a gap in the numbers) are a note line
 * in the log, and reading goes on. 0, or -errno with why in err (log then empty). */
int sc_kmsg_collect(const char *path, uint64_t mark, sc_kmsg_log *log, char *err, size_t cap);
/* Parses records ("PRI,SEQ,TS,FLAGS;MESSAGE\n", continuation lines " KEY=VALUE\n") from a
 * buffer into log, keeping those with seq >= mark; *next_seq tracks the expected number
 * (gaps become notes; UINT64_MAX: no record yet). 0 or -ENOMEM. */
int sc_kmsg_parse(const char *buf, size_t len, uint64_t mark, uint64_t *next_seq, sc_kmsg_log *log);
void sc_kmsg_log_free(sc_kmsg_log *log);
/* One line as dmesg shows it: "[   12.345678] message" (a note: "-- message"). */
int sc_kmsg_format_line(const sc_kmsg_line *l, char *buf, size_t cap);
/* The whole log, one line each, in a malloc'd string ("" when empty); NULL on ENOMEM. */
char *sc_kmsg_render(const sc_kmsg_log *log);

/* The messages of a verdict, each quoting the line it is about. */
typedef struct sc_kmsg_failures {
    char **msg;
    int n, cap;
} sc_kmsg_failures;
/* Judges log: a line matching a splat pattern and no allow regex fails (follower lines of
 * a report already judged are not judged again); a line matching a forbid regex fails
 * (allow does not excuse it); an expect regex no line matches fails. Returns how many
 * failures (-ENOMEM), their messages in *out (sc_kmsg_failures_free). */
int sc_kmsg_verdict(const sc_kmsg_log *log, const sc_kmsg_re *allow, int n_allow,
                    const sc_kmsg_re *expect, int n_expect, const sc_kmsg_re *forbid, int n_forbid,
                    sc_kmsg_failures *out);
void sc_kmsg_failures_free(sc_kmsg_failures *f);

/* A scenario's span (sc_run): the mark before its devices come up, the verdict after they
 * are torn down. */
struct scenario;
struct sc_result;
typedef struct sc_kmsg_span {
    const char *path;
    bool marked;
    uint64_t mark;
} sc_kmsg_span;
/* Marks path (NULL: SC_KMSG_PATH); if the log cannot be read, the run fails (res) saying
 * so. */
void sc_kmsg_begin(sc_kmsg_span *sp, const char *path, struct sc_result *res);
/* Collects, judges with the scenario's lists, puts the rendered log in res->kmsg, and fails
 * the run (or, already failed, adds to its message) quoting the offending lines. */
void sc_kmsg_end(sc_kmsg_span *sp, const struct scenario *sc, struct sc_result *res);

#endif
