/* Running scenarios across files: the shared helpers of run and serve. */
#ifndef TH_SCENARIO_RUN_INTERNAL_H
#define TH_SCENARIO_RUN_INTERNAL_H
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>
#include "scenario.h"
#include "session.h"

double sc_now(void);
/* Whether a run's stop flag (set by a signal handler or another thread) is up. */
static inline bool sc_stopped(volatile const int *stop)
{
    return stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE);
}
/* Records the first failure of a run. */
void sc_fail(sc_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A `run:` step: the command with {dev.field} substituted, its exit and output checked. */
void sc_run_command(const sc_step *s, int idx, const char *dir, sc_session *ses, sc_result *res,
                    FILE *log, volatile const int *stop);
/* A line of progress on log (NULL: none), flushed. */
void sc_log(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The command of a run step with {dev.field} substituted (malloc'd), or NULL with err. */
char *sc_command_text(const sc_step *s, sc_session *ses, char *err, size_t cap);

#define SC_TERM_GRACE_S 3.0 /* SIGTERM, then this long before SIGKILL */
#define SC_KILL_WAIT_S  5.0 /* how long a SIGKILLed group may take to go */

/* A shell command in its own process group, its output in (unlinked) temporary files. */
typedef struct sc_proc {
    pid_t pid; /* 0: not started */
    int ofd, efd;
    char *cmd;
    bool reaped;
    int code; /* once reaped: the exit status, or 128 + the signal that ended it */
    double started;
} sc_proc;
/* Starts /bin/sh -c cmd (p owns cmd from here, whatever happens) with $TH_SCENARIO_DIR set
 * to dir (NULL or "": left as it is); 0 or -errno with err. */
int sc_proc_start(sc_proc *p, char *cmd, const char *dir, char *err, size_t cap);
/* Reaps without blocking; true once it has exited (and its group's leftovers are killed). */
bool sc_proc_poll(sc_proc *p);
/* Until it exits (true), the deadline passes or *stop is set (false). */
bool sc_proc_wait(sc_proc *p, double deadline, volatile const int *stop);
/* A signal to its process group (nothing once it is reaped). */
void sc_proc_signal(sc_proc *p, int sig);
/* SIGTERM, grace_s, SIGKILL; true if it was reaped. */
bool sc_proc_stop(sc_proc *p, double grace_s);
/* The step's expect against its outcome, or why_given instead; the message starts with
 * context (what was waiting for it). */
void sc_proc_check(const sc_step *s, int idx, const sc_proc *p, const char *context,
                   const char *why_given, sc_result *res);
/* Closes and frees (a still running command is killed first). */
void sc_proc_free(sc_proc *p);

/* The background commands of one run, by the index of the step that started them: n
 * slots, grown by sc_bg_start up to the step that starts one (a scenario's steps are not
 * bounded; only those up to its last background take room). */
typedef struct sc_bgs {
    sc_proc *procs;
    bool *collected; /* a wait (or the end) has checked it */
    bool *left;      /* sc_bgs_finish: still running at the end */
    int n;
} sc_bgs;
void sc_bgs_init(sc_bgs *b);
/* Steps: a background run, wait, kill. */
void sc_bg_start(sc_bgs *b, const sc_step *s, int idx, const char *dir, sc_session *ses,
                 sc_result *res, FILE *log);
void sc_bg_wait(sc_bgs *b, const scenario *sc, int idx, sc_result *res, FILE *log,
                volatile const int *stop);
void sc_bg_kill(sc_bgs *b, const scenario *sc, int idx, FILE *log);
/* The end of a run (passed, failed or interrupted), before the devices go: every command
 * still running is stopped (SIGTERM, then SIGKILL), which fails the run unless its step
 * says may_outlive; one that ended by itself and was not waited for gets its expect
 * checked. Whatever a hung device keeps from dying is reaped by sc_bgs_free, after the
 * teardown released its commands. */
void sc_bgs_finish(sc_bgs *b, const scenario *sc, sc_result *res, FILE *log, bool interrupted);
void sc_bgs_free(sc_bgs *b, const scenario *sc, sc_result *res);

/* What the steps of one run share. */
typedef struct sc_steps {
    sc_session *ses;
    const scenario *sc;
    const char *trace_path; /* the JSON lines' file (failure messages name it) */
    FILE *log;
    volatile const int *stop;
    sc_bgs bgs;
    uint64_t origin;    /* the trace's cursor once the scenario's rules were armed */
    uint64_t wait_next; /* where a wait_trace with since: previous starts counting */
} sc_steps;
/* A wait_trace step. */
void sc_wait_trace(sc_steps *st, int idx, sc_result *res);

/* Brings up a scenario's devices on s, waits for the kernel's probing to end, then puts
 * the scenario's rules in (so that counts start with the scenario's own traffic). */
void sc_open_scenario(sc_session *s, const scenario *sc, sc_result *res);

#endif
