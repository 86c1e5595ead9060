/* LBA range lists: a grown-defect list or badblocks' output as the ranges of one rule. */
#include "lba_file.h"
#include "lines.h"
#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lf {
    const char *path;
    char *err;
    size_t cap, len;
    int errors;
} lf;

static void lf_error(lf *f, long line, const char *fmt, ...)
{
    if (f->errors++ >= SC_LBA_FILE_ERRORS || f->len + 1 >= f->cap) return;
    int n =
        snprintf(f->err + f->len, f->cap - f->len, "%s%s:%ld: ", f->len ? "\n" : "", f->path, line);
    if (n > 0 && (size_t)n < f->cap - f->len) f->len += (size_t)n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(f->err + f->len, f->cap - f->len, fmt, ap);
    va_end(ap);
    if (n > 0) f->len += (size_t)n < f->cap - f->len ? (size_t)n : f->cap - f->len - 1;
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    return s;
}

/* A number at *s (decimal, or hex after 0x); false when there is none or it overflows. */
static bool number(const char **s, uint64_t *out)
{
    const char *p = *s;
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && isxdigit((unsigned char)p[2]))
        base = 16, p += 2;
    if (!isxdigit((unsigned char)*p) || (base == 10 && !isdigit((unsigned char)*p))) return false;
    uint64_t v = 0;
    for (;; p++) {
        int d = isdigit((unsigned char)*p)                  ? *p - '0'
                : base == 16 && isxdigit((unsigned char)*p) ? tolower((unsigned char)*p) - 'a' + 10
                                                            : -1;
        if (d < 0) break;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    *s = p;
    return true;
}

/* The first few characters of s, for a message. */
static int shown(const char *s)
{
    int n = 0;
    while (s[n] && s[n] != '\n' && n < 24) n++;
    return n;
}

/* One line (comment cut off): a range into *g, 1; nothing, 0; a bad line, -1 (said). */
static int parse_line(lf *f, long line, char *text, th_lba_range *g)
{
    char *hash = strchr(text, '#');
    if (hash) *hash = 0;
    const char *s = skip_space(text);
    if (!*s || *s == '\n') return 0;
    uint64_t a, b;
    if (!number(&s, &a)) {
        lf_error(f, line, "'%.*s' is not an LBA (a number, or FIRST-LAST, FIRST LAST, FIRST+COUNT)",
                 shown(s), s);
        return -1;
    }
    const char *after = s;
    s = skip_space(s);
    char sep = *s == '-' || *s == '+' ? *s : 0;
    if (sep) s = skip_space(s + 1);
    if (!*s || *s == '\n') {
        if (sep) {
            lf_error(f, line, "'%c' needs a %s after it", sep, sep == '-' ? "last LBA" : "count");
            return -1;
        }
        g->first = g->last = a;
        return 1;
    }
    if (!sep && s == after) {
        lf_error(f, line, "'%.*s' after the LBA: a range is FIRST-LAST, FIRST LAST or FIRST+COUNT",
                 shown(s), s);
        return -1;
    }
    if (!number(&s, &b)) {
        lf_error(f, line, "'%.*s' is not a %s", shown(s), s, sep == '+' ? "count" : "last LBA");
        return -1;
    }
    s = skip_space(s);
    if (*s && *s != '\n') {
        lf_error(f, line, "'%.*s' after the range (one range a line)", shown(s), s);
        return -1;
    }
    if (sep == '+') {
        if (!b || a > UINT64_MAX - (b - 1)) {
            lf_error(f, line, b ? "%llu+%llu runs past the last LBA" : "a count of 0 is no range",
                     (unsigned long long)a, (unsigned long long)b);
            return -1;
        }
        b = a + (b - 1);
    } else if (b < a) {
        lf_error(f, line, "the range ends (%llu) before it starts (%llu)", (unsigned long long)b,
                 (unsigned long long)a);
        return -1;
    }
    g->first = a;
    g->last = b;
    return 1;
}

/* A range is two 20-digit numbers and a separator: a line of more is no range (and
 * /dev/zero is one endless line). */
#define SC_LBA_LINE_MAX 4096
#define SC_STR_(x)      #x
#define SC_STR(x)       SC_STR_(x)

int sc_lba_file_read(const char *path, th_lba_range **out, size_t *n, char *err, size_t cap)
{
    *out = NULL;
    *n = 0;
    if (cap) err[0] = 0;
    lf f = {path, err, cap, 0, 0};
    FILE *fp = fopen(path, "r");
    if (!fp) {
        int e = errno;
        snprintf(err, cap, "%s: cannot open: %s", path, strerror(e));
        return -e;
    }
    struct stat st; /* a directory read as an empty list */
    if (!fstat(fileno(fp), &st) && S_ISDIR(st.st_mode)) {
        fclose(fp);
        snprintf(err, cap, "%s: a directory, not a file of ranges", path);
        return -EISDIR;
    }
    th_lba_range *v = NULL;
    size_t len = 0, vcap = 0;
    char *text = NULL;
    size_t tcap = 0;
    long line = 0;
    int rc = 0;
    errno = 0;
    ssize_t got;
    while ((got = sc_getline_max(&text, &tcap, fp, SC_LBA_LINE_MAX)) >= 0) {
        line++;
        th_lba_range g;
        if (parse_line(&f, line, text, &g) <= 0) continue;
        if (len == SC_LBA_FILE_MAX) {
            snprintf(err, cap,
                     "%s:%ld: more than %d ranges (each takes about 72 bytes once indexed; "
                     "split the list over several rules)",
                     path, line, SC_LBA_FILE_MAX);
            rc = -E2BIG;
            break;
        }
        if (len == vcap) {
            size_t c = vcap ? vcap * 2 : 256;
            th_lba_range *p = realloc(v, c * sizeof(*p));
            if (!p) {
                snprintf(err, cap, "%s:%ld: out of memory for %zu ranges", path, line, len + 1);
                rc = -ENOMEM;
                break;
            }
            v = p;
            vcap = c;
        }
        v[len++] = g;
    }
    if (!rc && got < -1) {
        snprintf(err, cap, "%s:%ld: %s", path, line + 1,
                 got == -2
                     ? "a line longer than " SC_STR(SC_LBA_LINE_MAX) " bytes (one range a line)"
                     : "out of memory");
        rc = got == -2 ? -EINVAL : -ENOMEM;
    }
    if (!rc && ferror(fp)) {
        int e = errno ? errno : EIO;
        snprintf(err, cap, "%s: cannot read: %s", path, strerror(e));
        rc = -e;
    }
    free(text);
    fclose(fp);
    if (!rc && f.errors > SC_LBA_FILE_ERRORS && f.len + 1 < cap)
        snprintf(err + f.len, cap - f.len, "\n%s: %d more bad lines", path,
                 f.errors - SC_LBA_FILE_ERRORS);
    if (!rc && f.errors) rc = -EINVAL;
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = len;
    return 0;
}
