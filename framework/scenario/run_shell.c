/* `run:` steps: the shell command with {dev.field} substituted, run with a timeout, its
 * exit status and output checked. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "run_internal.h"

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

static char *slurp(int fd, size_t max)
{
    char *buf = malloc(max + 1);
    ssize_t n = pread(fd, buf, max, 0);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

static bool regex_ok(const char *re, const char *text, char *err, size_t cap)
{
    regex_t r;
    int rc = regcomp(&r, re, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
    if (rc) {
        snprintf(err, cap, "bad regex '%s'", re);
        return false;
    }
    rc = regexec(&r, text, 0, NULL, 0);
    regfree(&r);
    return rc == 0;
}

/* The last lines of the trace that name a device (for failure messages). */
void sc_trace_tail(const char *path, const char *device, char *out, size_t cap, int max)
{
    char lines[10][1024];
    int n = 0;
    char line[1024], want[100];
    snprintf(want, sizeof(want), "\"device\":\"%s\"", device);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (strstr(line, want)) snprintf(lines[n++ % max], sizeof(lines[0]), "%s", line);
    if (f) fclose(f);
    size_t len = strlen(out);
    for (int i = n > max ? n - max : 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s", lines[i % max]);
}

void sc_run_command(const sc_step *s, int idx, sc_session *ses, sc_result *res, FILE *log,
                    volatile const int *stop)
{
    char err[256] = "";
    char *cmd = substitute(s->run, ses, err, sizeof(err));
    if (!cmd) {
        sc_fail(res, "step %d (line %d): %s", idx + 1, s->line, err);
        return;
    }
    if (log) fprintf(log, "  step %d: %s\n", idx + 1, cmd);
    char outp[] = "/tmp/th-step-out-XXXXXX", errp[] = "/tmp/th-step-err-XXXXXX";
    int ofd = mkstemp(outp), efd = mkstemp(errp);
    unlink(outp);
    unlink(errp);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    double deadline = sc_now() + s->timeout_s;
    int st = 0;
    bool timed_out = false;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (sc_now() > deadline || (stop && *stop)) {
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            timed_out = true;
            break;
        }
        usleep(20000);
    }
    kill(-pid, SIGKILL); /* whatever it left running */
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    char *out = slurp(ofd, 4096), *errt = slurp(efd, 4096);
    close(ofd);
    close(efd);
    int want = s->expect_exit_set ? s->expect_exit : 0;
    char why[512] = "";
    if (stop && *stop)
        snprintf(why, sizeof(why), "interrupted");
    else if (timed_out)
        snprintf(why, sizeof(why), "timed out after %d s (killed)", s->timeout_s);
    else if (code != want)
        snprintf(why, sizeof(why), "exit status %d, expected %d", code, want);
    else if (s->expect_stdout && !regex_ok(s->expect_stdout, out, err, sizeof(err)))
        snprintf(why, sizeof(why), "stdout does not match /%s/%s", s->expect_stdout, err);
    else if (s->expect_stderr && !regex_ok(s->expect_stderr, errt, err, sizeof(err)))
        snprintf(why, sizeof(why), "stderr does not match /%s/%s", s->expect_stderr, err);
    if (why[0])
        sc_fail(res, "step %d (line %d) `%s`: %s\n--- stdout\n%s--- stderr\n%s", idx + 1, s->line,
                cmd, why, out, errt);
    free(out);
    free(errt);
    free(cmd);
}
