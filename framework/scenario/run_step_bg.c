/* Background commands: `run` with `background: NAME` starts one and the steps go on while
 * it runs; `wait: NAME` collects it and checks its expect, `kill: NAME` signals its process
 * group. At the end of a run nothing is left behind: what still runs is stopped (and that
 * is a failure unless the step says may_outlive), and everything is reaped. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "run_internal.h"

void sc_bgs_init(sc_bgs *b)
{
    memset(b, 0, sizeof(*b));
}

/* Slots up to step idx (new ones: not started, no files). */
static int bgs_reserve(sc_bgs *b, int idx)
{
    if (idx < b->n) return 0;
    int n = idx + 1;
    sc_proc *p = realloc(b->procs, (size_t)n * sizeof(*p));
    if (p) b->procs = p;
    bool *c = p ? realloc(b->collected, (size_t)n * sizeof(*c)) : NULL;
    if (c) b->collected = c;
    bool *l = c ? realloc(b->left, (size_t)n * sizeof(*l)) : NULL;
    if (!l) return -ENOMEM;
    b->left = l;
    for (int i = b->n; i < n; i++) {
        memset(&b->procs[i], 0, sizeof(b->procs[i]));
        b->procs[i].ofd = b->procs[i].efd = -1;
        b->collected[i] = b->left[i] = false;
    }
    b->n = n;
    return 0;
}

void sc_bg_start(sc_bgs *b, const sc_step *s, int idx, const char *dir, sc_session *ses,
                 sc_result *res, FILE *log)
{
    char err[256] = "";
    char *cmd = sc_command_text(s, ses, err, sizeof(err));
    if (!cmd) {
        sc_fail(res, "step %d (line %d): %s", idx + 1, s->line, err);
        return;
    }
    if (bgs_reserve(b, idx)) {
        sc_fail(res, "step %d (line %d): out of memory for background '%s'", idx + 1, s->line,
                s->bg);
        free(cmd);
        return;
    }
    sc_log(log, "  step %d: %s (background '%s')\n", idx + 1, cmd, s->bg);
    if (sc_proc_start(&b->procs[idx], cmd, dir, err, sizeof(err)))
        sc_fail(res, "step %d (line %d) `%s` (background '%s'): %s", idx + 1, s->line,
                b->procs[idx].cmd, s->bg, err);
}

void sc_bg_wait(sc_bgs *b, const scenario *sc, int idx, sc_result *res, FILE *log,
                volatile const int *stop)
{
    const sc_step *s = &sc->steps[idx];
    int k = s->bg_step;
    sc_proc *p = k >= 0 && k < idx && k < b->n ? &b->procs[k] : NULL;
    if (!p || !p->pid || b->collected[k]) { /* the parser rejects these; a built model may not */
        sc_fail(res, "step %d (line %d): wait: background '%s' is not running", idx + 1, s->line,
                s->bg);
        return;
    }
    const sc_step *bs = &sc->steps[k];
    sc_log(log, "  step %d: wait for '%s'\n", idx + 1, s->bg);
    char context[96], why[160] = "";
    snprintf(context, sizeof(context), "step %d (line %d) wait: ", idx + 1, s->line);
    if (!sc_proc_wait(p, sc_now() + bs->timeout_s, stop)) {
        if (sc_stopped(stop)) return; /* sc_bgs_finish stops it; the run reports the interrupt */
        snprintf(why, sizeof(why),
                 "still running after the wait's %d s (its expect's timeout); killed",
                 bs->timeout_s);
        if (!sc_proc_stop(p, SC_TERM_GRACE_S))
            snprintf(why + strlen(why), sizeof(why) - strlen(why),
                     "; it did not exit after SIGKILL");
    }
    b->collected[k] = true;
    sc_proc_check(bs, k, p, context, why[0] ? why : NULL, res);
}

void sc_bg_kill(sc_bgs *b, const scenario *sc, int idx, FILE *log)
{
    const sc_step *s = &sc->steps[idx];
    int k = s->bg_step;
    sc_proc *p = k >= 0 && k < idx && k < b->n ? &b->procs[k] : NULL;
    if (!p || !p->pid) return;
    /* One that already ended is no failure: the signal was a "stop if still going". */
    bool gone = sc_proc_poll(p);
    sc_log(log, "  step %d: kill -%d '%s'%s\n", idx + 1, s->signal, s->bg,
           gone ? " (it had already exited)" : "");
    if (!gone) sc_proc_signal(p, s->signal);
}

/* The background commands not collected yet that are still running, signalled with sig. */
static int signal_running(sc_bgs *b, int n, int sig)
{
    int running = 0;
    for (int i = 0; i < n; i++)
        if (b->procs[i].pid && !b->collected[i] && !sc_proc_poll(&b->procs[i])) {
            sc_proc_signal(&b->procs[i], sig);
            running++;
        }
    return running;
}

static void wait_running(sc_bgs *b, int n, double seconds)
{
    for (double end = sc_now() + seconds; sc_now() < end; usleep(20000)) {
        bool any = false;
        for (int i = 0; i < n; i++)
            if (b->procs[i].pid && !b->collected[i] && !sc_proc_poll(&b->procs[i])) any = true;
        if (!any) return;
    }
}

void sc_bgs_finish(sc_bgs *b, const scenario *sc, sc_result *res, FILE *log, bool interrupted)
{
    int n = b->n;
    bool *left = b->left;
    /* Those that ended by themselves first: their expect applies as at a wait. */
    for (int i = 0; i < n; i++) {
        sc_proc *p = &b->procs[i];
        left[i] = false;
        if (!p->pid || b->collected[i]) continue;
        if (sc_proc_poll(p)) {
            b->collected[i] = true;
            sc_proc_check(&sc->steps[i], i, p, "at the end of the scenario: ", NULL, res);
        } else {
            left[i] = true;
        }
    }
    if (signal_running(b, n, SIGTERM)) {
        wait_running(b, n, SC_TERM_GRACE_S);
        if (signal_running(b, n, SIGKILL)) wait_running(b, n, SC_KILL_WAIT_S);
    }
    for (int i = 0; i < n; i++) {
        if (!left[i]) continue;
        const sc_step *s = &sc->steps[i];
        b->collected[i] = true;
        sc_log(log, "  background '%s' (step %d) was still running at the end: stopped\n", s->bg,
               i + 1);
        if (!s->may_outlive && !interrupted)
            sc_proc_check(s, i, &b->procs[i], NULL,
                          "still running at the end of the scenario (stopped: SIGTERM, then "
                          "SIGKILL); `may_outlive: true` on the step allows that",
                          res);
    }
}

void sc_bgs_free(sc_bgs *b, const scenario *sc, sc_result *res)
{
    for (int i = 0; i < b->n; i++) {
        sc_proc *p = &b->procs[i];
        if (p->pid && !sc_proc_wait(p, sc_now() + SC_KILL_WAIT_S, NULL))
            sc_fail(res, "step %d (line %d) `%s`: pid %d did not exit after SIGKILL", i + 1,
                    sc->steps[i].line, p->cmd, (int)p->pid);
        sc_proc_free(p);
    }
    free(b->procs);
    free(b->collected);
    free(b->left);
    memset(b, 0, sizeof(*b));
}
