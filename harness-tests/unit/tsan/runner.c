/* Runs the threaded suites built against the Criterion shim: each test in its own
 * child, as Criterion does; --filter takes a glob over suite/name (extglob allowed). */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "criterion/criterion.h"

static struct shim_test *tests;
static struct shim_suite *suites;

void shim_register_test(struct shim_test *t)
{
    t->next = tests;
    tests = t;
}

void shim_register_suite(struct shim_suite *s)
{
    s->next = suites;
    suites = s;
}

void shim_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    if (fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        fputs("  ", stderr);
        vfprintf(stderr, fmt, ap);
        fputs("\n", stderr);
        va_end(ap);
    }
    fflush(stderr);
    _exit(1);
}

static const struct shim_suite *suite_of(const char *name)
{
    for (const struct shim_suite *s = suites; s; s = s->next)
        if (!strcmp(s->name, name)) return s;
    return NULL;
}

static int run(const struct shim_test *t)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (!pid) {
        alarm(120);
        const struct shim_suite *s = suite_of(t->suite);
        if (s && s->init) s->init();
        t->fn();
        if (s && s->fini) s->fini();
        fflush(NULL);
        _exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0) return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *filter = "*";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            filter = argv[++i];
        else if (!strncmp(argv[i], "--filter=", 9))
            filter = argv[i] + 9;
    }
    int passed = 0, failed = 0;
    for (const struct shim_test *t = tests; t; t = t->next) {
        char full[256];
        snprintf(full, sizeof(full), "%s/%s", t->suite, t->name);
        if (fnmatch(filter, full, FNM_EXTMATCH)) continue;
        int rc = run(t);
        printf("[%s] %s\n", rc ? "FAIL" : "PASS", full);
        rc ? failed++ : passed++;
    }
    printf("[====] Tested: %d | Passing: %d | Failing: %d\n", passed + failed, passed, failed);
    return failed ? 1 : 0;
}
