#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sc_regex.h"

#define LIMIT  ((size_t)SC_REGEX_MAX_NODES + 1)
#define FRAMES 256 /* deeper nesting is charged as too complex */

static size_t sat_add(size_t a, size_t b)
{
    return a + b > LIMIT ? LIMIT : a + b;
}

static size_t sat_mul(size_t a, size_t b)
{
    return b && a > LIMIT / b ? LIMIT : a * b > LIMIT ? LIMIT : a * b;
}

/* Past a bracket expression starting at p ('['): ']' right after '[' or '[^' is a member,
 * as are the [:class:], [=e=] and [.c.] forms. */
static const char *skip_bracket(const char *p)
{
    p++;
    if (*p == '^') p++;
    if (*p == ']') p++;
    while (*p && *p != ']') {
        if (p[0] == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
            char end = p[1];
            const char *q = p + 2;
            while (*q && !(q[0] == end && q[1] == ']')) q++;
            p = *q ? q + 2 : q;
        } else {
            p++;
        }
    }
    return *p ? p + 1 : p;
}

/* {m}, {m,}, {m,n} at p: how many copies of the atom glibc makes; p moves past it. 0 if
 * it is not a bound (regcomp then says what is wrong). */
static size_t bound_copies(const char **pp)
{
    const char *p = *pp + 1;
    char *end = (char *)p;
    /* glibc reads {,n} as {0,n}; strtoul would also take a space or a sign, which
     * regcomp refuses anyway. */
    if (*p != ',' && (*p < '0' || *p > '9')) return 0;
    unsigned long m = *p == ',' ? 0 : strtoul(p, &end, 10), n = m;
    if (*end == ',') {
        p = end + 1;
        if (*p >= '0' && *p <= '9')
            n = strtoul(p, &end, 10);
        else
            end = (char *)p, n = m + 1; /* {m,}: m copies and a starred one */
    }
    if (*end != '}') return 0;
    *pp = end + 1;
    return n > m ? n : m ? m : 1;
}

size_t sc_regex_cost(const char *src)
{
    /* Per open group: the size of what it holds so far, and of its last atom (what a
     * following repetition copies). */
    size_t total[FRAMES], last[FRAMES];
    int depth = 0;
    total[0] = last[0] = 0;
    bool after_rep = false; /* the previous token was a repetition */
    for (const char *p = src; *p;) {
        size_t copies = 0;
        bool rep = *p == '*' || *p == '?' || *p == '+' ||
                   (*p == '{' && ((p[1] >= '0' && p[1] <= '9') || p[1] == ','));
        /* A repetition of a repetition ('a++', 'a*?', 'a{2}+'): undefined in POSIX EREs,
         * and glibc's epsilon closures over it take exponential time. */
        if (rep && after_rep) return LIMIT;
        after_rep = rep;
        switch (*p) {
        case '(':
            if (++depth >= FRAMES) return LIMIT;
            total[depth] = last[depth] = 0;
            p++;
            continue;
        case ')':
            if (depth > 0) {
                size_t g = total[depth] ? total[depth] : 1;
                depth--;
                total[depth] = sat_add(total[depth], g);
                last[depth] = g;
            }
            p++;
            continue;
        case '|':
            last[depth] = 0;
            p++;
            continue;
        case '*':
        case '?':
            p++;
            continue; /* x* and x? keep one copy */
        case '+':
            copies = 2, p++;
            break;
        case '{':
            copies = bound_copies(&p);
            if (!copies) {
                p++; /* a literal '{' (or an error regcomp reports) */
                total[depth] = sat_add(total[depth], 1);
                last[depth] = 1;
                continue;
            }
            break;
        case '[':
            p = skip_bracket(p);
            goto atom;
        case '\\':
            /* A back-reference makes glibc's matcher backtrack exponentially (an
             * expect regex (.*)(.*)\\2\\1 never ended on a 1 KiB line). */
            if (p[1] >= '1' && p[1] <= '9') return LIMIT;
            p += p[1] ? 2 : 1;
            goto atom;
        default:
            p++;
            goto atom;
        }
        /* A repetition: the last atom (a group, or a repetition already) is copied. */
        total[depth] = sat_add(total[depth], sat_mul(last[depth], copies - 1));
        last[depth] = sat_mul(last[depth], copies);
        if (total[depth] >= LIMIT) return LIMIT;
        continue;
    atom:
        total[depth] = sat_add(total[depth], 1);
        last[depth] = 1;
    }
    size_t all = total[depth];
    while (depth > 0) all = sat_add(total[--depth], all);
    return all;
}

int sc_regex_compile(regex_t *re, const char *src, int flags, char *err, size_t cap)
{
    if (sc_regex_cost(src) > SC_REGEX_MAX_NODES) {
        snprintf(err, cap,
                 "'%.80s' is too complex a regex: its repetitions nest (as in 'a++', "
                 "'((a+)+)+' or '(a{100}){100}') to more than %d copies, or it has a "
                 "back-reference (\\1)",
                 src, SC_REGEX_MAX_NODES);
        return -EINVAL;
    }
    int rc = regcomp(re, src, REG_EXTENDED | flags);
    if (rc) {
        char why[160];
        regerror(rc, re, why, sizeof(why)); /* glibc freed what it had built */
        snprintf(err, cap, "'%.80s' is not an extended regex: %s", src, why);
        return -EINVAL;
    }
    return 0;
}
