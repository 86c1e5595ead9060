/* Shell commands of steps: {dev.field} substituted, each in its own process group with its
 * output in temporary files, started and finished separately (a `run:` step does both at
 * once, a background step in between other steps), its exit status and output checked. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "run_internal.h"
#include "sc_regex.h"

#define OUTPUT_MAX (1u << 20) /* bytes of a command's output the regexes see (its end) */
#define SHOWN_MAX  1500       /* bytes of each stream a failure message shows (its end) */
#define POLL_US    20000

/* {dev.field} -> the value, shell-quoted; errors name the bad reference. */
static char *substitute(const char *cmd, sc_session *ses, char *err, size_t errcap)
{
    size_t cap = strlen(cmd) * 2 + 256, len = 0;
    char *out = malloc(cap);
    for (const char *p = cmd; out && *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        const char *dot = close ? memchr(p, '.', (size_t)(close - p)) : NULL;
        const char *val = NULL;
        char buf[1024];
        if (dot) {
            char dev[80], f[40];
            snprintf(dev, sizeof(dev), "%.*s", (int)(dot - p - 1), p + 1);
            snprintf(f, sizeof(f), "%.*s", (int)(close - dot - 1), dot + 1);
            int rc = sc_session_field(ses, dev, f, buf, sizeof(buf));
            if (rc == -ENODATA || rc == -ENOSPC) {
                snprintf(err, errcap, "{%s.%s}: device %s has no %s", dev, f, dev, f);
                free(out);
                return NULL;
            }
            if (!rc) val = buf;
        }
        if (!val) {
            out[len++] = *p++;
        } else {
            size_t need = len + strlen(val) * 4 + 3;
            if (need >= cap) out = realloc(out, cap = need * 2);
            out[len++] = '\'';
            for (const char *v = val; *v; v++) {
                if (*v == '\'') {
                    memcpy(out + len, "'\\''", 4);
                    len += 4;
                } else {
                    out[len++] = *v;
                }
            }
            out[len++] = '\'';
            p = close + 1;
        }
        if (len + 8 >= cap) out = realloc(out, cap *= 2);
    }
    if (out) out[len] = 0;
    return out;
}

char *sc_command_text(const sc_step *s, sc_session *ses, char *err, size_t cap)
{
    return substitute(s->run, ses, err, cap);
}

void sc_log(FILE *log, const char *fmt, ...)
{
    if (!log) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(log, fmt, ap);
    va_end(ap);
    fflush(log); /* progress shows as it happens, through a pipe too */
}

/* The last `max` bytes of a file (a long-running command's verdict is at its end). */
static char *slurp(int fd, size_t max)
{
    struct stat st;
    off_t size = fd >= 0 && !fstat(fd, &st) ? st.st_size : 0;
    size_t n = (size_t)size < max ? (size_t)size : max;
    char *buf = malloc(n + 1);
    if (!buf) return NULL;
    ssize_t got = n ? pread(fd, buf, n, size - (off_t)n) : 0;
    buf[got > 0 ? got : 0] = 0;
    return buf;
}

static bool regex_ok(const char *re, const char *text, char *err, size_t cap)
{
    regex_t r;
    if (sc_regex_compile(&r, re, REG_NOSUB | REG_NEWLINE, err, cap)) return false;
    int rc = regexec(&r, text, 0, NULL, 0);
    regfree(&r);
    return rc == 0;
}

int sc_proc_start(sc_proc *p, char *cmd, const char *dir, char *err, size_t cap)
{
    memset(p, 0, sizeof(*p));
    p->cmd = cmd;
    p->ofd = p->efd = -1;
    char outp[] = "/tmp/th-step-out-XXXXXX", errp[] = "/tmp/th-step-err-XXXXXX";
    p->ofd = mkostemp(outp, O_CLOEXEC);
    p->efd = mkostemp(errp, O_CLOEXEC);
    if (p->ofd >= 0) unlink(outp);
    if (p->efd >= 0) unlink(errp);
    if (p->ofd < 0 || p->efd < 0) {
        snprintf(err, cap, "cannot create a file for its output in /tmp: %s", strerror(errno));
        return -errno;
    }
    p->started = sc_now();
    /* Until the child has default handlers, a signal for it must not run the harness's
     * (a kill step can come right after the start); and it must not inherit a mask (serve
     * blocks the signals it sigwaits for). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        snprintf(err, cap, "fork: %s", strerror(e));
        return -e;
    }
    if (pid == 0) {
        for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* Its own group: kill() reaches whatever the command starts, and a terminal's
         * Ctrl-C goes to the harness, which then ends the group itself. */
        setpgid(0, 0);
        dup2(p->ofd, 1);
        dup2(p->efd, 2);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        if (dir && *dir) setenv("TH_SCENARIO_DIR", dir, 1); /* the child's own copy */
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* both sides: whichever runs first, the group exists before a kill */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    p->pid = pid;
    return 0;
}

/* Whether a process of group pgid is still alive (not a zombie, which is gone but for
 * its reaper, and a reparented one's reaper is not us). */
static bool group_alive(pid_t pgid)
{
    if (kill(-pgid, 0) && errno == ESRCH) return false;
    DIR *d = opendir("/proc");
    bool alive = false;
    for (struct dirent *e; d && !alive && (e = readdir(d));) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (fd >= 0) close(fd);
        if (n <= 0) continue;
        buf[n] = 0;
        char state;
        int ppid, pgrp;
        const char *end = strrchr(buf, ')'); /* the command name may hold anything */
        if (end && sscanf(end + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
            state != 'Z' && state != 'X')
            alive = true;
    }
    if (d) closedir(d);
    return alive;
}

bool sc_proc_poll(sc_proc *p)
{
    if (!p->pid || p->reaped) return p->reaped;
    int st = 0;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) return false;
    p->reaped = true;
    p->code = r < 0 ? 127 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    /* What the command left running in its group goes with it (the group's id cannot be
     * reused while a member lives, so this reaches only the command's own processes), and
     * is gone when this returns, unless the kernel holds it (I/O to a hung device). */
    kill(-p->pid, SIGKILL);
    for (double end = sc_now() + SC_KILL_WAIT_S; group_alive(p->pid) && sc_now() < end;)
        usleep(5000);
    return true;
}

bool sc_proc_wait(sc_proc *p, double deadline, volatile const int *stop)
{
    while (!sc_proc_poll(p)) {
        if (sc_now() >= deadline || sc_stopped(stop)) return false;
        usleep(POLL_US);
    }
    return true;
}

void sc_proc_signal(sc_proc *p, int sig)
{
    if (p->pid && !p->reaped) kill(-p->pid, sig);
}

bool sc_proc_stop(sc_proc *p, double grace_s)
{
    sc_proc_signal(p, SIGTERM);
    if (sc_proc_wait(p, sc_now() + grace_s, NULL)) return true;
    sc_proc_signal(p, SIGKILL);
    return sc_proc_wait(p, sc_now() + SC_KILL_WAIT_S, NULL);
}

/* The end of what the command printed, for its step's record in the report. */
static void keep_output(sc_result *res, const char *out, const char *errt)
{
    if (!res->keep_output) return; /* only a run records its steps */
    size_t ol = out ? strlen(out) : 0, el = errt ? strlen(errt) : 0;
    char *k = malloc(SC_STEP_OUTPUT + 1);
    if (!k) return;
    size_t n = 0;
    const char *parts[2] = {out, errt};
    size_t lens[2] = {ol, el};
    /* stderr's end matters most (a tool's error): its share first, then stdout's end */
    size_t eshare = el < SC_STEP_OUTPUT / 2 ? el : SC_STEP_OUTPUT / 2;
    size_t oshare = ol < SC_STEP_OUTPUT - eshare ? ol : SC_STEP_OUTPUT - eshare;
    size_t shares[2] = {oshare, eshare};
    for (int i = 0; i < 2; i++) {
        if (!shares[i]) continue;
        memcpy(k + n, parts[i] + lens[i] - shares[i], shares[i]);
        n += shares[i];
    }
    k[n] = '\0';
    free(res->output);
    res->output = k;
}

void sc_proc_check(const sc_step *s, int idx, const sc_proc *p, const char *context,
                   const char *why_given, sc_result *res)
{
    char *out = slurp(p->ofd, OUTPUT_MAX), *errt = slurp(p->efd, OUTPUT_MAX);
    keep_output(res, out, errt);
    int want = s->expect_exit_set ? s->expect_exit : 0;
    char why[512] = "", err[256] = "";
    if (why_given)
        snprintf(why, sizeof(why), "%s", why_given);
    else if (p->code != want)
        snprintf(why, sizeof(why), "exit status %d, expected %d", p->code, want);
    else if (s->expect_stdout && !regex_ok(s->expect_stdout, out ? out : "", err, sizeof(err)))
        snprintf(why, sizeof(why), "stdout does not match /%s/%s", s->expect_stdout, err);
    else if (s->expect_stderr && !regex_ok(s->expect_stderr, errt ? errt : "", err, sizeof(err)))
        snprintf(why, sizeof(why), "stderr does not match /%s/%s", s->expect_stderr, err);
    if (why[0]) {
        const char *o = out ? out : "", *e = errt ? errt : "";
        size_t ol = strlen(o), el = strlen(e);
        sc_fail(res, "%sstep %d (line %d) `%s`%s%s%s: %s\n--- stdout%s\n%s--- stderr%s\n%s",
                context ? context : "", idx + 1, s->line, p->cmd, s->bg[0] ? " (background '" : "",
                s->bg, s->bg[0] ? "')" : "", why, ol > SHOWN_MAX ? " (its end)" : "",
                o + (ol > SHOWN_MAX ? ol - SHOWN_MAX : 0), el > SHOWN_MAX ? " (its end)" : "",
                e + (el > SHOWN_MAX ? el - SHOWN_MAX : 0));
    }
    free(out);
    free(errt);
}

void sc_proc_free(sc_proc *p)
{
    if (p->pid && !p->reaped) { /* a last resort: every path stops its commands first */
        sc_proc_signal(p, SIGKILL);
        sc_proc_wait(p, sc_now() + SC_KILL_WAIT_S, NULL);
    }
    if (p->ofd >= 0) close(p->ofd);
    if (p->efd >= 0) close(p->efd);
    free(p->cmd);
    memset(p, 0, sizeof(*p));
    p->ofd = p->efd = -1;
}

void sc_run_command(const sc_step *s, int idx, const char *dir, sc_session *ses, sc_result *res,
                    FILE *log, volatile const int *stop)
{
    char err[256] = "";
    char *cmd = sc_command_text(s, ses, err, sizeof(err));
    if (!cmd) {
        sc_fail(res, "step %d (line %d): %s", idx + 1, s->line, err);
        return;
    }
    sc_log(log, "  step %d: %s\n", idx + 1, cmd);
    sc_proc p;
    if (sc_proc_start(&p, cmd, dir, err, sizeof(err))) {
        sc_fail(res, "step %d (line %d) `%s`: %s", idx + 1, s->line, cmd, err);
        sc_proc_free(&p);
        return;
    }
    char why[128] = "";
    if (!sc_proc_wait(&p, p.started + s->timeout_s, stop)) {
        if (sc_stopped(stop))
            snprintf(why, sizeof(why), "interrupted");
        else
            snprintf(why, sizeof(why), "timed out after %d s (killed)", s->timeout_s);
        if (!sc_proc_stop(&p, SC_TERM_GRACE_S))
            snprintf(why + strlen(why), sizeof(why) - strlen(why),
                     "; it did not exit after SIGKILL");
    }
    sc_proc_check(s, idx, &p, NULL, why[0] ? why : NULL, res);
    sc_proc_free(&p);
}
