#ifndef TH_CLI_H
#define TH_CLI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include "../report/golden.h"

int cmd_vm(int argc, char **argv);
int cmd_kernel(int argc, char **argv);
int cmd_with_kernel(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_cleanup(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_report(int argc, char **argv);

struct scenario;
/* sc_load, printing its errors on stderr; frees what it loaded on failure. 0 or -errno. */
int cli_load_scenario(const char *path, struct scenario *sc);
/* Runs o->argv in a throwaway VM with progress and errors on stderr; returns the exit
 * status to report (the command's, 124 timeout, 125 guest failure). */
struct th_vm_opts;
int cli_vm_run(const struct th_vm_opts *o);
/* Loads the target modules for native mode; false (after saying why) on failure. */
bool cli_native_prepare(void);

/* A scenario file's stem: its name without the directory and the .yaml (or .yml) suffix;
 * DIR/<stem>.jsonl, .kmsg, .run.json and .golden are named by it. */
void cli_stem(const char *path, char *out, size_t cap);

/* run --record-golden DIR / --compare-golden DIR (at most one of them). */
typedef struct cli_golden {
    const char *record_dir, *compare_dir;
    rp_match mode;
    unsigned tolerance;
} cli_golden;
typedef struct cli_golden_result {
    char file[PATH_MAX]; /* DIR/<stem>.golden ("" without either option) */
    const char *mode;    /* "multiset" or "sequence" */
    const char *result;  /* "same", "differs", "recorded", "not-recorded", "missing", "error" */
    bool failed;         /* the scenario fails for it */
    char message[2048];  /* one line: what happened, the first differences */
    char *diff;          /* the whole diff (bounded), when it differs */
} cli_golden_result;
/* Records or compares the golden trace of the scenario whose trace is at tpath (passed:
 * whether the scenario itself passed; only a passing run is recorded). */
void cli_golden_after(const cli_golden *o, const char *scenario, const char *stem,
                      const char *tpath, bool passed, cli_golden_result *r);
void cli_golden_result_clear(cli_golden_result *r);

/* DIR/<stem>.run.json beside the trace DIR/<stem>.jsonl: the scenario's result and steps
 * (and the golden comparison's, g NULL without one), for `report`. 0 or -errno (said on
 * stderr). */
struct sc_result;
int cli_write_run_json(const char *trace_path, const struct scenario *sc, const char *file,
                       const struct sc_result *res, const cli_golden_result *g);
/* The initiator's reactions in the trace at trace_path, one line each (at most max, each
 * after indent), malloc'd; NULL without memory. */
char *cli_reactions_text(const char *trace_path, size_t max, const char *indent);

/* Option values (args.c). Each says what is wrong on stderr, naming the command and the
 * option, and returns CLI_USAGE; 0 if good. */
/* A decimal whole number from lo to hi (no sign, suffix, blanks, 0x or exponent). */
int cli_parse_uint(const char *cmd, const char *opt, const char *text, long long lo, long long hi,
                   long long *out);
/* An option that takes one value given again (prev: its earlier value, NULL if none). */
int cli_once(const char *cmd, const char *opt, const void *prev);
typedef enum {
    CLI_PATH_FILE, /* exists, readable, not a directory */
    CLI_PATH_DIR,  /* an existing directory */
    CLI_PATH_OUT,  /* to be written: not a directory, in an existing directory */
} cli_path_kind;
int cli_check_path(const char *cmd, const char *opt, const char *path, cli_path_kind kind);

/* Exit code for usage errors. */
#define CLI_USAGE 2

#endif
