/* Scenario files: devices, rules, steps and trace expectations, from YAML. */
#ifndef TH_SCENARIO_H
#define TH_SCENARIO_H
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "th/rules.h"
#include "kmsg.h"
#include "th/tape.h"

/* An initiator's IQN: the kernel's TRANSPORT_IQN_LEN (224) with its terminating NUL. */
#define SC_IQN_MAX 223

typedef struct sc_device {
    char name[65];
    char type[8]; /* disk */
    uint64_t size;
    uint32_t block_size;
    char backing[512]; /* memory | file:PATH */
    char vendor[9], product[17], revision[5], serial[33];
    uint64_t wwn; /* wwn: pinned; 0: th_device_wwn_for(ctx, name) */
    int workers;
    int lun, hba, spin; /* LUN (loopback or iSCSI), configfs HBA, polls before sleeping */
    char target[32];    /* a loopback target to share ("naa.X"); "": the device's own */
    bool external;      /* no loopback export (export: iscsi implies it) */
    /* tapes */
    uint64_t early_warning;
    uint64_t second_partition;
    bool iscsi; /* export: iscsi (instead of loopback) */
    char iqn[224], portal[64];
    char chap_user[128], chap_password[128];
    char **initiators; /* ACLs (n_initiators, malloc'd, the device's); none: demo mode */
    int n_initiators, cap_initiators;
    bool write_protect, unloaded;
    char image[512];
    struct sc_media {
        bool filemark;
        uint32_t len; /* a record of len pattern bytes, or len filemarks */
        char *text;   /* a record with this text */
    } * media;        /* n_media of them (cap_media allocated); the texts are the device's */
    int n_media, cap_media;
} sc_device;

typedef struct sc_rule {
    char device[65];
    th_rule rule; /* rule.match.ranges (lba_file) is the parser's, freed by sc_free */
} sc_rule;

typedef enum {
    SC_RUN,
    SC_ADD_RULE,
    SC_REMOVE_RULE,
    SC_QUEUE_UA,
    SC_SET_STATE,
    SC_SET_CAPACITY,
    SC_OFFLINE,
    SC_ONLINE,
    SC_LOAD,
    SC_UNLOAD,
    SC_SLEEP,
    SC_WAIT,      /* wait for a background command, then check its expect */
    SC_KILL,      /* a signal to a background command's process group */
    SC_WAIT_TRACE /* block until the trace shows entries */
} sc_kind;

/* Where a wait_trace starts counting. */
typedef enum {
    SC_SINCE_PREVIOUS, /* after the last entry the previous wait_trace counted (else: start) */
    SC_SINCE_STEP,     /* entries from the moment the step begins */
    SC_SINCE_START,    /* entries since the rules were armed */
} sc_since;

typedef struct sc_trace_expect {
    int line;
    char device[65];
    char op[40];  /* name, "" any */
    char tmr[24]; /* a TMR type instead of a command */
    bool lba_set;
    uint64_t lba;
    int status; /* -1 any */
    char rule[64];
    long count, min, max; /* -1 unset */
    int after;            /* 1-based index of an earlier expectation whose first entry
                             must come before this one's; 0 none */
} sc_trace_expect;

typedef struct sc_step {
    sc_kind kind;
    int line;
    char *run; /* SC_RUN */
    bool expect_exit_set;
    int expect_exit;
    char *expect_stdout; /* extended regex */
    char *expect_stderr;
    int timeout_s;
    sc_rule rule; /* SC_ADD_RULE */
    int position; /* SC_ADD_RULE: the rule's index once added (0: first); -1: last */
    char device[65];
    char name[64]; /* SC_REMOVE_RULE, SC_SET_STATE */
    th_sense ua;   /* SC_QUEUE_UA */
    int sleep_ms;
    uint64_t size; /* SC_SET_CAPACITY */
    /* SC_RUN: started in the background under this name ("" none); SC_WAIT, SC_KILL: the
     * background step named, and bg_step its index */
    char bg[64];
    int bg_step;
    bool may_outlive;      /* a background SC_RUN: may still run at the end (killed, no failure) */
    int signal;            /* SC_KILL: SIGTERM unless given */
    sc_trace_expect wait;  /* SC_WAIT_TRACE: the filter, count */
    double wait_timeout_s; /* SC_WAIT_TRACE: seconds (fractions allowed) */
    sc_since wait_since;   /* SC_WAIT_TRACE */
} sc_step;

typedef enum sc_golden_match {
    SC_GOLDEN_UNSET,
    SC_GOLDEN_MULTISET,
    SC_GOLDEN_SEQUENCE,
} sc_golden_match;

typedef struct scenario {
    char file[512];
    /* The file's directory, absolute: $TH_SCENARIO_DIR of its commands, so a scenario
     * finds the tools next to it from any working directory ("": unknown). */
    char dir[PATH_MAX];
    char name[256];
    /* The lists grow as the file (or a control request, or serve's --device) needs: only
     * memory bounds them (sc_*_add; sc_free releases them). */
    sc_device *devices;
    int n_devices, cap_devices;
    sc_rule *rules;
    int n_rules, cap_rules;
    sc_step *steps;
    int n_steps, cap_steps;
    sc_trace_expect *expects;
    int n_expects, cap_expects;
    struct sc_name_index *by_name; /* the devices by name, a cache (model.c) */
    char *errors;                  /* sc_errors */
    /* Kernel-log verdicts (kmsg.h): allow_kmsg excuses built-in splat patterns (run
     * --allow-kmsg adds its baseline here), each expect_kmsg must match a line of the span,
     * no line may match a forbid_kmsg. */
    sc_kmsg_list kmsg_allow, kmsg_expect, kmsg_forbid;
    /* golden: how run --compare-golden compares this scenario's initiator with its golden
     * trace (docs/scenario-format.md, "Golden traces"), unless run's options say. */
    sc_golden_match golden_match;
    int golden_tolerance; /* -1: not given */
} scenario;

/* A switch in the environment (TCMU_HARNESS_TIMING, TCMU_HARNESS_FORCE_VM): unset or
 * empty is off; 1/true/yes/on and 0/false/no/off; anything else -EINVAL, with the
 * variable named in err (off in *on). */
int sc_env_flag(const char *name, bool *on, char *err, size_t cap);

/* Parses. 0, or a negative errno (-EINVAL: the file is not a valid scenario) with
 * "FILE:LINE:COL: message" lines in sc_errors(sc). Call sc_free either way. */
int sc_load(const char *path, scenario *sc);
/* The same from memory (len bytes of text, the same 1 MiB cap): name stands for the file
 * in messages, dir is where rule files (lba_file) are looked for. */
int sc_load_text(const char *name, const char *dir, const char *text, size_t len, scenario *sc);
/* The errors of the last sc_load, one per line ("" none). */
const char *sc_errors(const scenario *sc);
void sc_free(scenario *sc);
/* One more item at the end of a list, zeroed and counted in n_*; NULL when out of memory
 * (the list is as it was). A pointer into a list holds only until the next add. */
sc_device *sc_devices_add(scenario *sc);
/* The first device of that name (NULL: none); sc_devices_find: its index among the first
 * upto devices, or -1. A hash index kept beside the list (a cache: filled as devices are
 * appended, their names set), so that a file of 60,000 devices checks its names in
 * linear time; every front end (YAML, requests, serve --device) checks names with it. */
const sc_device *sc_find_device(const scenario *sc, const char *name);
int sc_devices_find(const scenario *sc, const char *name, int upto);
sc_rule *sc_rules_add(scenario *sc);
sc_step *sc_steps_add(scenario *sc);
sc_trace_expect *sc_expects_add(scenario *sc);
/* Appends a media record to a device (its text, if any, is the device's from here), an
 * initiator (a copy of iqn). 0, or -ENOMEM. */
int sc_device_media_add(sc_device *d, const struct sc_media *m);
int sc_device_initiator_add(sc_device *d, const char *iqn);
/* The lists and what their items own (sc_free: also the errors and the kmsg lists), so
 * that a model built without sc_load (serve's --device, a session's snapshot) is
 * released the same way. */
void sc_model_free(scenario *sc);
/* Turns the rule of a device into a th_rule-ready handler chain name lookup. */
int sc_op_from_name(const char *name, int *op, int *sa);
const char *sc_op_name(uint8_t op, uint16_t sa);
/* Resolves an opcode name or number for a device of type `on` (SC_ON_DISK, SC_ON_TAPE;
 * 0: unknown, disk names first), with the name the trace writes for it in canon (may be
 * NULL). A name of the other type's table is an error naming the type and the device's
 * own name for that number. 0, or -1 with a message in err. */
int sc_op_for(unsigned on, const char *name, int *op, int *sa, char *canon, size_t ccap, char *err,
              size_t ecap);

/* One step as it ran, for the run report: its times on the trace's clock (seconds since
 * the trace began, as the trace's "t"), what it was and what its command printed. */
typedef struct sc_step_rec {
    int line;
    double start, end;
    bool failed;
    char what[256];
    char *output; /* a command's stdout then stderr, the last SC_STEP_OUTPUT bytes; or NULL */
} sc_step_rec;
#define SC_STEP_OUTPUT 4096

typedef struct sc_result {
    bool passed;
    double seconds;
    char message[8192];
    char *kmsg;         /* the kernel log of the run's span, rendered (malloc'd; sc_result_clear) */
    sc_step_rec *steps; /* the steps that ran (malloc'd; sc_result_clear) */
    int n_steps;
    char *output;     /* the last command's output on its way into its step's record */
    bool keep_output; /* sc_run's: keep each command's output for its step's record */
} sc_result;
/* The step key of a kind ("run", "add_rule", ...). */
const char *sc_step_key(sc_kind kind);
void sc_result_clear(sc_result *res);

/* The tape parameters of a declaration (what sc_tape_new builds from). */
void sc_tape_config(const sc_device *c, uint64_t wwn, th_tape_config *out);
/* The tape a device declaration describes. */
int sc_tape_new(const sc_device *c, uint64_t wwn, th_tape **out, char *err, size_t cap);
/* Runs a scenario on the real kernel (this process must be able to create devices).
 * trace_path: where the JSON-lines trace goes (NULL: a temporary file). 0, or 1 with
 * the first failure in res->message. */
int sc_run(const scenario *sc, const char *trace_path, sc_result *res, FILE *log,
           volatile const int *stop);

#endif
