/* Kernel-log verdicts: reading /dev/kmsg since a mark, rendering it, judging it. */
#include "kmsg.h"
#include "lines.h"
#include "sc_regex.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "scenario.h"

/* Word-bounded where a bare substring would also hit DEBUG:, NOWARNING: or Oopsy. */
#define WORD "(^|[^[:alnum:]_])"

/* Most specific first: the first pattern a line matches names what it is. */
const sc_kmsg_splat sc_kmsg_splats[] = {
    {WORD "KASAN:", "a KASAN report (memory error)", false},
    {WORD "KFENCE:", "a KFENCE report (memory error)", false},
    {WORD "UBSAN:", "a UBSAN report (undefined behaviour)", false},
    {"possible (circular|recursive) locking|inconsistent lock state|irq lock inversion "
     "dependency|-safe -> [A-Z]+-unsafe lock order|bad unlock balance detected|held lock "
     "freed|lock held when returning to user space|suspicious RCU usage|trying to register "
     "non-static key|DEBUG_LOCKS_WARN_ON\\(",
     "a lockdep report", false},
    {"kernel BUG at", "a BUG_ON (kernel BUG at)", false},
    /* the kernel's ("general protection fault: 0000 [#1]", ", probably for ..."), not a user
     * program's (traps: prog[123] general protection fault ip:...) */
    {"general protection fault[,:]", "a general protection fault", false},
    {WORD "Oops([^[:alnum:]_]|$)", "an oops", false},
    {"blocked for more than", "a hung task (blocked for more than)", false},
    {"INFO: [[:alnum:]_]+ (detected (expedited )?stalls on CPU|self-detected stall on CPU)",
     "an RCU stall", false},
    {"Watchdog detected hard LOCKUP", "a hard lockup", false},
    {WORD "BUG:", "a kernel BUG (BUG:)", false},
    {WORD "WARNING:", "a kernel warning (WARNING:)", false},
    {"Call [Tt]race:", "a stack trace (Call Trace:)", true},
};
const size_t sc_kmsg_n_splats = sizeof(sc_kmsg_splats) / sizeof(sc_kmsg_splats[0]);

/* A report's stack traces come within this many lines of its first line; its first one
 * can come later (a lockdep report prints the whole dependency chain before it), but not
 * after the report's end marker or this many lines. */
#define REPORT_LINES       100
#define REPORT_FIRST_TRACE 1000

/* The table compiled; false if a pattern does not compile (a bug the unit tests catch). */
static bool splats_compile(regex_t *re)
{
    for (size_t i = 0; i < sc_kmsg_n_splats; i++)
        if (regcomp(&re[i], sc_kmsg_splats[i].re, REG_EXTENDED | REG_NOSUB)) {
            while (i--) regfree(&re[i]);
            return false;
        }
    return true;
}

static void splats_free(regex_t *re)
{
    for (size_t i = 0; i < sc_kmsg_n_splats; i++) regfree(&re[i]);
}

static int splat_of(const regex_t *re, const char *text)
{
    for (size_t i = 0; i < sc_kmsg_n_splats; i++)
        if (!regexec(&re[i], text, 0, NULL, 0)) return (int)i;
    return -1;
}

int sc_kmsg_splat_match(const char *text)
{
    regex_t re[sizeof(sc_kmsg_splats) / sizeof(sc_kmsg_splats[0])];
    if (!splats_compile(re)) return -2;
    int k = splat_of(re, text);
    splats_free(re);
    return k;
}

int sc_kmsg_list_add(sc_kmsg_list *l, const char *src, int line, char *err, size_t cap)
{
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 8;
        sc_kmsg_re *g = realloc(l->re, (size_t)nc * sizeof(*g));
        if (!g) return -ENOMEM;
        l->re = g;
        l->cap = nc;
    }
    if (!*src) { /* matches every line: an allow_kmsg of it would excuse every splat */
        snprintf(err, cap, "an empty regex matches every kernel log line; write '.*' if meant");
        return -EINVAL;
    }
    sc_kmsg_re *r = &l->re[l->n];
    int rc = sc_regex_compile(&r->re, src, REG_NOSUB, err, cap);
    if (rc) return rc;
    if (!(r->src = strdup(src))) {
        regfree(&r->re);
        return -ENOMEM;
    }
    r->line = line;
    l->n++;
    return 0;
}

void sc_kmsg_list_free(sc_kmsg_list *l)
{
    for (int i = 0; i < l->n; i++) {
        regfree(&l->re[i].re);
        free(l->re[i].src);
    }
    free(l->re);
    memset(l, 0, sizeof(*l));
}

#define KMSG_LINE_MAX 65536

int sc_kmsg_list_load(sc_kmsg_list *l, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, cap, "%s: %s", path, strerror(e));
        return -e;
    }
    int n0 = l->n, no = 0, rc = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while (!rc && (len = sc_getline_max(&line, &lcap, f, KMSG_LINE_MAX)) >= 0) {
        no++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        const char *s = line + strspn(line, " \t");
        if (!*s || *s == '#') continue;
        char why[300];
        rc = sc_kmsg_list_add(l, line, no, why, sizeof(why));
        if (rc) snprintf(err, cap, "%s:%d: %s", path, no, rc == -ENOMEM ? "out of memory" : why);
    }
    /* getline's end and its failure look alike: a directory (EISDIR) read as an empty
     * baseline, silently. */
    if (!rc && len < -1) { /* /dev/zero: one endless line */
        rc = len == -2 ? -EINVAL : -ENOMEM;
        snprintf(err, cap, "%s:%d: %s", path, no + 1,
                 len == -2 ? "a line longer than 65536 bytes (one regex a line)" : "out of memory");
    }
    if (!rc && ferror(f)) {
        rc = -(errno ? errno : EIO);
        snprintf(err, cap, "%s: %s", path,
                 rc == -EISDIR ? "is a directory (a file of regexes was expected)" : strerror(-rc));
    }
    free(line);
    fclose(f);
    if (rc) /* the list as it was */
        while (l->n > n0) {
            l->n--;
            regfree(&l->re[l->n].re);
            free(l->re[l->n].src);
        }
    return rc;
}

/* ---- records ---- */

static int add_line(sc_kmsg_log *log, uint64_t seq, uint64_t ts, bool note, const char *text,
                    size_t len)
{
    if (log->n == log->cap) {
        size_t nc = log->cap ? log->cap * 2 : 64;
        sc_kmsg_line *g = realloc(log->lines, nc * sizeof(*g));
        if (!g) return -ENOMEM;
        log->lines = g;
        log->cap = nc;
    }
    char *t = strndup(text, len);
    if (!t) return -ENOMEM;
    log->lines[log->n++] = (sc_kmsg_line){seq, ts, note, t};
    return 0;
}

static int add_note(sc_kmsg_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_note(sc_kmsg_log *log, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return add_line(log, UINT64_MAX, 0, true, text,
                    n < (int)sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

static int hexdigit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The message of one record into lines: \x0a splits, \x09 and \x5c become their bytes,
 * other escapes stay as the kernel wrote them (the log stays printable ASCII). */
static int add_message(sc_kmsg_log *log, uint64_t seq, uint64_t ts, const char *m, size_t len)
{
    char *out = malloc(len + 1);
    if (!out) return -ENOMEM;
    size_t o = 0;
    int rc = 0;
    for (size_t i = 0; i < len && !rc; i++) {
        int hi, lo;
        if (m[i] == '\\' && i + 3 < len && m[i + 1] == 'x' && (hi = hexdigit(m[i + 2])) >= 0 &&
            (lo = hexdigit(m[i + 3])) >= 0) {
            int c = hi << 4 | lo;
            if (c == '\n') {
                rc = add_line(log, seq, ts, false, out, o);
                o = 0;
                i += 3;
                continue;
            }
            if (c == '\t' || c == '\\') {
                out[o++] = (char)c;
                i += 3;
                continue;
            }
        }
        out[o++] = m[i];
    }
    if (!rc) rc = add_line(log, seq, ts, false, out, o);
    free(out);
    return rc;
}

static bool parse_u64(const char **p, const char *end, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    while (s < end && *s >= '0' && *s <= '9') x = x * 10 + (uint64_t)(*s++ - '0');
    if (s == *p) return false;
    *v = x;
    *p = s;
    return true;
}

/* One record line; continuation lines (" KEY=VALUE", the record's dictionary) are skipped. */
static int parse_record(const char *l, size_t len, uint64_t mark, uint64_t *next, sc_kmsg_log *log)
{
    if (!len || l[0] == ' ') return 0;
    const char *end = l + len, *p = l, *semi = memchr(l, ';', len);
    uint64_t pri, seq, ts;
    if (!semi || !parse_u64(&p, semi, &pri) || *p++ != ',' || !parse_u64(&p, semi, &seq) ||
        *p++ != ',' || !parse_u64(&p, semi, &ts) || *p != ',')
        /* the record only: l is not NUL-terminated (the next record, or the buffer's end) */
        return log ? add_note(log, "tcmu-harness: a kernel log record it cannot parse: %.*s",
                              (int)(len < 80 ? len : 80), l)
                   : 0;
    uint64_t expected = *next == UINT64_MAX || *next < mark ? mark : *next;
    *next = seq + 1;
    if (!log || seq < mark) return 0;
    if (seq > expected) {
        int rc = add_note(log,
                          "tcmu-harness: %llu kernel log records (seq %llu to %llu) were "
                          "overwritten before they were read",
                          (unsigned long long)(seq - expected), (unsigned long long)expected,
                          (unsigned long long)(seq - 1));
        if (rc) return rc;
    }
    return add_message(log, seq, ts, semi + 1, (size_t)(end - semi - 1));
}

int sc_kmsg_parse(const char *buf, size_t len, uint64_t mark, uint64_t *next_seq, sc_kmsg_log *log)
{
    while (len) {
        const char *nl = memchr(buf, '\n', len);
        size_t n = nl ? (size_t)(nl - buf) : len;
        int rc = parse_record(buf, n, mark, next_seq, log);
        if (rc) return rc;
        buf += n + (nl != NULL);
        len -= n + (nl != NULL);
    }
    return 0;
}

/* /dev/kmsg gives one whole record per read (and EINVAL for a buffer smaller than one);
 * a file gives any chunk, so what follows the last newline waits for the next read. */
static int read_log(const char *path, uint64_t mark, uint64_t *next, sc_kmsg_log *log, char *err,
                    size_t cap)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, cap, "cannot read the kernel log %s: %s%s", path, strerror(e),
                 e == EPERM || e == EACCES ? " (it needs root or CAP_SYSLOG)" : "");
        return -e;
    }
    enum { BUF = 64 * 1024 };
    char *buf = malloc(BUF);
    size_t have = 0;
    int rc = buf ? 0 : -ENOMEM, pipes = 0;
    while (!rc) {
        ssize_t n = read(fd, buf + have, BUF - have);
        if (n < 0 && errno == EINTR) continue;
        /* Overwritten under us: the next read gives the oldest record left (the gap in
         * the numbers is noted). */
        if (n < 0 && errno == EPIPE && ++pipes < 1000) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n < 0) {
            rc = -errno;
            snprintf(err, cap, "cannot read the kernel log %s: %s", path, strerror(errno));
            break;
        }
        if (!n) break;
        have += (size_t)n;
        size_t whole = have;
        while (whole && buf[whole - 1] != '\n') whole--;
        if (!whole && have == BUF) whole = have; /* a line longer than the buffer */
        rc = sc_kmsg_parse(buf, whole, mark, next, log);
        memmove(buf, buf + whole, have - whole);
        have -= whole;
    }
    if (!rc && have) rc = sc_kmsg_parse(buf, have, mark, next, log);
    if (rc == -ENOMEM) snprintf(err, cap, "out of memory reading the kernel log");
    free(buf);
    close(fd);
    return rc;
}

int sc_kmsg_mark(const char *path, uint64_t *mark, char *err, size_t cap)
{
    uint64_t next = UINT64_MAX;
    int rc = read_log(path, 0, &next, NULL, err, cap);
    if (!rc) *mark = next == UINT64_MAX ? 0 : next;
    return rc;
}

int sc_kmsg_collect(const char *path, uint64_t mark, sc_kmsg_log *log, char *err, size_t cap)
{
    memset(log, 0, sizeof(*log));
    uint64_t next = UINT64_MAX;
    int rc = read_log(path, mark, &next, log, err, cap);
    if (rc) sc_kmsg_log_free(log);
    return rc;
}

void sc_kmsg_log_free(sc_kmsg_log *log)
{
    for (size_t i = 0; i < log->n; i++) free(log->lines[i].text);
    free(log->lines);
    memset(log, 0, sizeof(*log));
}

int sc_kmsg_format_line(const sc_kmsg_line *l, char *buf, size_t cap)
{
    if (l->note) return snprintf(buf, cap, "-- %s", l->text);
    return snprintf(buf, cap, "[%5llu.%06llu] %s", (unsigned long long)(l->ts_us / 1000000),
                    (unsigned long long)(l->ts_us % 1000000), l->text);
}

char *sc_kmsg_render(const sc_kmsg_log *log)
{
    size_t len = 1;
    for (size_t i = 0; i < log->n; i++) len += strlen(log->lines[i].text) + 32;
    char *out = malloc(len), *p = out;
    if (!out) return NULL;
    *p = 0;
    for (size_t i = 0; i < log->n; i++) {
        p += sc_kmsg_format_line(&log->lines[i], p, len - (size_t)(p - out));
        *p++ = '\n';
        *p = 0;
    }
    return out;
}

/* ---- the verdict ---- */

static int add_failure(sc_kmsg_failures *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int add_failure(sc_kmsg_failures *f, const char *fmt, ...)
{
    if (f->n == f->cap) {
        int nc = f->cap ? f->cap * 2 : 8;
        char **g = realloc(f->msg, (size_t)nc * sizeof(*g));
        if (!g) return -ENOMEM;
        f->msg = g;
        f->cap = nc;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = vasprintf(&f->msg[f->n], fmt, ap);
    va_end(ap);
    if (rc < 0) return -ENOMEM;
    f->n++;
    return 0;
}

static bool any_matches(const sc_kmsg_re *re, int n, const char *text)
{
    for (int i = 0; i < n; i++)
        if (!regexec(&re[i].re, text, 0, NULL, 0)) return true;
    return false;
}

/* " (line 7)" for a regex from a file, "" for one from elsewhere. */
static const char *where(const sc_kmsg_re *r, char *buf, size_t cap)
{
    if (r->line > 0)
        snprintf(buf, cap, " (line %d)", r->line);
    else
        buf[0] = 0;
    return buf;
}

int sc_kmsg_verdict(const sc_kmsg_log *log, const sc_kmsg_re *allow, int n_allow,
                    const sc_kmsg_re *expect, int n_expect, const sc_kmsg_re *forbid, int n_forbid,
                    sc_kmsg_failures *out)
{
    memset(out, 0, sizeof(*out));
    regex_t splats[sizeof(sc_kmsg_splats) / sizeof(sc_kmsg_splats[0])];
    if (!splats_compile(splats)) return -EINVAL;
    bool in_report = false, awaiting_trace = false;
    size_t report_at = 0;
    char quoted[1200], at[32];
    int rc = 0;
    for (size_t i = 0; i < log->n && !rc; i++) {
        const sc_kmsg_line *l = &log->lines[i];
        if (l->note) continue;
        sc_kmsg_format_line(l, quoted, sizeof(quoted));
        for (int k = 0; k < n_forbid && !rc; k++)
            if (!regexec(&forbid[k].re, l->text, 0, NULL, 0))
                rc = add_failure(out, "forbid_kmsg%s /%s/ matched: \"%s\"",
                                 where(&forbid[k], at, sizeof(at)), forbid[k].src, quoted);
        if (strstr(l->text, "---[ end trace") || !strncmp(l->text, "=====", 5))
            in_report = awaiting_trace = false;
        if (i - report_at > REPORT_LINES) in_report = false;
        if (i - report_at > REPORT_FIRST_TRACE) awaiting_trace = false;
        int s = splat_of(splats, l->text);
        if (s < 0 || rc) continue;
        /* The stack trace of a report already judged (a warning allowed, or failed once)
         * is part of it, not a second finding. */
        if (sc_kmsg_splats[s].follower && (in_report || awaiting_trace)) {
            awaiting_trace = false;
            continue;
        }
        if (!any_matches(allow, n_allow, l->text))
            rc = add_failure(out, "%s, and no allow_kmsg regex matches it: \"%s\"",
                             sc_kmsg_splats[s].what, quoted);
        if (!sc_kmsg_splats[s].follower) {
            in_report = awaiting_trace = true;
            report_at = i;
        }
    }
    for (int k = 0; k < n_expect && !rc; k++) {
        bool seen = false;
        for (size_t i = 0; i < log->n && !seen; i++)
            seen = !log->lines[i].note && !regexec(&expect[k].re, log->lines[i].text, 0, NULL, 0);
        if (!seen)
            rc = add_failure(out, "expect_kmsg%s /%s/: no kernel log line of the span matched it",
                             where(&expect[k], at, sizeof(at)), expect[k].src);
    }
    splats_free(splats);
    if (rc) {
        sc_kmsg_failures_free(out);
        return rc;
    }
    return out->n;
}

void sc_kmsg_failures_free(sc_kmsg_failures *f)
{
    for (int i = 0; i < f->n; i++) free(f->msg[i]);
    free(f->msg);
    memset(f, 0, sizeof(*f));
}

/* ---- a scenario's span ---- */

/* The run's first failure, or (it failed already) more about it. */
static void span_fail(sc_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void span_fail(sc_result *res, const char *fmt, ...)
{
    size_t len = res->passed ? 0 : strlen(res->message);
    if (len && len + 1 < sizeof(res->message) && res->message[len - 1] != '\n')
        res->message[len++] = '\n', res->message[len] = 0;
    res->passed = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message + len, sizeof(res->message) - len, fmt, ap);
    va_end(ap);
}

void sc_kmsg_begin(sc_kmsg_span *sp, const char *path, sc_result *res)
{
    char err[300];
    sp->path = path ? path : SC_KMSG_PATH;
    sp->marked = !sc_kmsg_mark(sp->path, &sp->mark, err, sizeof(err));
    if (!sp->marked) span_fail(res, "%s; a scenario's verdict includes its kernel log", err);
}

void sc_kmsg_end(sc_kmsg_span *sp, const scenario *sc, sc_result *res)
{
    if (!sp->marked) return;
    sp->marked = false;
    char err[300];
    sc_kmsg_log log;
    if (sc_kmsg_collect(sp->path, sp->mark, &log, err, sizeof(err))) {
        span_fail(res, "%s (after the scenario)", err);
        return;
    }
    free(res->kmsg);
    res->kmsg = sc_kmsg_render(&log);
    sc_kmsg_failures f;
    int n = sc_kmsg_verdict(&log, sc->kmsg_allow.re, sc->kmsg_allow.n, sc->kmsg_expect.re,
                            sc->kmsg_expect.n, sc->kmsg_forbid.re, sc->kmsg_forbid.n, &f);
    if (n < 0) {
        span_fail(res, "kernel log: cannot judge it: %s", strerror(-n));
    } else if (n) {
        char text[sizeof(res->message)];
        size_t len = (size_t)snprintf(text, sizeof(text),
                                      "%skernel log: %d problem%s:", res->passed ? "" : "--- ", n,
                                      n == 1 ? "" : "s");
        for (int i = 0; i < n && len < sizeof(text); i++)
            len += (size_t)snprintf(text + len, sizeof(text) - len, "\n  %s", f.msg[i]);
        span_fail(res, "%s", text);
    }
    sc_kmsg_failures_free(&f);
    sc_kmsg_log_free(&log);
}

void sc_result_clear(sc_result *res)
{
    free(res->kmsg);
    res->kmsg = NULL;
    for (int i = 0; i < res->n_steps; i++) free(res->steps[i].output);
    free(res->steps);
    free(res->output);
    res->steps = NULL;
    res->output = NULL;
    res->n_steps = 0;
}
