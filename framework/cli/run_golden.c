/* run --record-golden DIR / --compare-golden DIR: after each scenario, its trace made into
 * golden text (framework/report/golden.c) and written as DIR/<stem>.golden, or compared
 * with that file; a difference, or a golden file that is missing or unreadable, fails the
 * scenario (docs/scenario-format.md, "Golden traces"). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../report/golden.h"
#include "cli.h"

void cli_stem(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    /* only the suffix goes: a.b.yaml and a.c.yaml are two scenarios, two stems */
    if (n > 5 && !strcmp(base + n - 5, ".yaml"))
        n -= 5;
    else if (n > 4 && !strcmp(base + n - 4, ".yml"))
        n -= 4;
    snprintf(out, cap, "%.*s", (int)n, base);
}

void cli_golden_result_clear(cli_golden_result *r)
{
    free(r->diff);
    memset(r, 0, sizeof(*r));
}

/* The file written whole or not at all: a run killed midway leaves the old golden. */
static int write_file(const char *path, const char *text, char *err, size_t cap)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = 0;
    if (!f || fputs(text, f) < 0) rc = -(errno ? errno : EIO);
    if (f && fclose(f) && !rc) rc = -(errno ? errno : EIO);
    if (!rc && rename(tmp, path)) rc = -errno;
    if (rc) {
        unlink(tmp);
        snprintf(err, cap, "cannot write %s: %s", path, strerror(-rc));
    }
    return rc;
}

/* The first differences of a diff, for the one-line failure message: past its two header
 * lines, whatever a line's text (a device named "--" makes "--- --..." a change). */
static void first_differences(const char *diff, char *out, size_t cap, int max)
{
    size_t n = 0;
    int k = 0;
    out[0] = '\0';
    const char *p = diff;
    for (int h = 0; h < 2 && p; h++) p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    for (; p && *p && k < max;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        bool change = p[0] == '-' || p[0] == '+';
        if (change && n < cap) {
            int w = snprintf(out + n, cap - n, "%s%.*s", k ? "; " : "", (int)len, p);
            if (w > 0) n += (size_t)w;
            k++;
        }
        p = nl ? nl + 1 : p + len;
    }
}

void cli_golden_after(const cli_golden *o, const char *scenario, const char *stem,
                      const char *tpath, bool passed, cli_golden_result *r)
{
    memset(r, 0, sizeof(*r));
    const char *dir = o->record_dir ? o->record_dir : o->compare_dir;
    if (!dir) return;
    snprintf(r->file, sizeof(r->file), "%s/%s.golden", dir, stem);
    r->mode = rp_match_name(o->mode);
    char err[600];
    rp_trace t;
    rp_trace_init(&t);
    char *text = NULL;
    int rc = rp_trace_load(&t, tpath, err, sizeof(err));
    if (!rc) rc = rp_golden_text(&t, &text, err, sizeof(err));
    rp_trace_free(&t);
    if (rc) {
        r->result = "error";
        r->failed = true;
        snprintf(r->message, sizeof(r->message), "no golden trace could be made: %s", err);
        return;
    }
    if (o->record_dir) {
        if (!passed) { /* a failed run's behaviour is no reference to hold others to */
            r->result = "not-recorded";
            snprintf(r->message, sizeof(r->message), "%s not recorded: the scenario failed",
                     r->file);
        } else if (write_file(r->file, text, err, sizeof(err))) {
            r->result = "error";
            r->failed = true;
            snprintf(r->message, sizeof(r->message), "golden trace: %s", err);
        } else {
            r->result = "recorded";
            snprintf(r->message, sizeof(r->message), "recorded %s", r->file);
        }
        free(text);
        return;
    }
    rp_golden want, got;
    rp_golden_init(&want);
    rp_golden_init(&got);
    rc = rp_golden_load(&want, r->file, err, sizeof(err));
    if (rc == -ENOENT) {
        r->result = "missing";
        r->failed = true;
        snprintf(r->message, sizeof(r->message),
                 "no golden trace %s: record it with tcmu-harness run --record-golden %s %s",
                 r->file, dir, scenario);
    } else if (rc) {
        r->result = "error";
        r->failed = true;
        snprintf(r->message, sizeof(r->message), "the golden trace cannot be read: %s", err);
    } else if ((rc = rp_golden_parse(&got, "this run", text, strlen(text), err, sizeof(err))) ||
               (rc = rp_golden_compare(&want, &got, o->mode, o->tolerance, r->file, &r->diff)) <
                   0) {
        r->result = "error";
        r->failed = true;
        snprintf(r->message, sizeof(r->message), "golden trace: %s",
                 rc == -ENOMEM ? "out of memory" : err);
    } else if (rc == 1) {
        r->result = "differs";
        r->failed = true;
        char first[1200];
        first_differences(r->diff, first, sizeof(first), 4);
        snprintf(r->message, sizeof(r->message),
                 "the initiator behaved differently from %s (%s, tolerance %u): %s", r->file,
                 r->mode, o->tolerance, first);
    } else {
        r->result = "same";
        snprintf(r->message, sizeof(r->message), "the same as %s (%s, tolerance %u)", r->file,
                 r->mode, o->tolerance);
    }
    rp_golden_free(&want);
    rp_golden_free(&got);
    free(text);
}
