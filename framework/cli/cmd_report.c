/* tcmu-harness report: what the initiator did, from traces (run --trace DIR's files, or
 * serve's), as one self-contained HTML page per run and a suite page linking them; the
 * initiator's reaction to every fault is also printed. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../report/html.h"
#include "../scenario/scenario.h"
#include "cli.h"

#define FILE_MAX (64u << 20) /* a run.json, a kernel log or a JUnit file read whole */

typedef struct row {
    rp_suite_row r;
    char *name, *file, *href, *message, *golden;
    bool from_junit, matched;
} row;

typedef struct rows {
    row *v;
    size_t n, cap;
    char kernel[128], version[32];
} rows;

static row *add_row(rows *rs)
{
    if (rs->n == rs->cap) {
        size_t nc = rs->cap ? 2 * rs->cap : 16;
        row *nv = realloc(rs->v, nc * sizeof(*nv));
        if (!nv) return NULL;
        rs->v = nv;
        rs->cap = nc;
    }
    row *r = &rs->v[rs->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

/* A whole file, NUL-terminated; NULL when it is missing or unreadable (errno says). */
static char *slurp(const char *path, size_t *len, bool *cut)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    *cut = false;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            size_t nc = cap ? 2 * cap : 65536 + 1;
            char *nb = realloc(buf, nc);
            if (!nb) break;
            buf = nb;
            cap = nc;
        }
        size_t want = cap - n - 1;
        if (n + want > FILE_MAX) want = FILE_MAX - n;
        size_t got = fread(buf + n, 1, want, f);
        n += got;
        if (got < want || n >= FILE_MAX) {
            *cut = n >= FILE_MAX && fgetc(f) != EOF;
            break;
        }
    }
    bool bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* PATH without its ".jsonl" (the stem the run's other files share). */
static void base_of(const char *path, char *out, size_t cap)
{
    size_t n = strlen(path);
    if (n > 6 && !strcmp(path + n - 6, ".jsonl")) n -= 6;
    snprintf(out, cap, "%.*s", (int)n, path);
}

static int mkdirs(const char *dir)
{
    char p[PATH_MAX];
    if (!*dir || snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p)) return -ENAMETOOLONG;
    for (char *s = p + 1;; s++) {
        if (*s && *s != '/') continue;
        char was = *s;
        *s = '\0';
        if (mkdir(p, 0777) && errno != EEXIST) return -errno;
        *s = was;
        if (!was) break;
    }
    struct stat st;
    if (stat(p, &st)) return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static void dir_of(const char *path, char *out, size_t cap)
{
    const char *sl = strrchr(path, '/');
    if (!sl)
        snprintf(out, cap, ".");
    else if (sl == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(sl - path), path);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return !stat(p, &st) && S_ISDIR(st.st_mode);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* s as a URL path: every byte but letters, digits, "-._~/" percent-encoded, so a file
 * name cannot make the link another URL ("javascript:x.html", "a#b.html", "a?b.html"). */
static void url_path(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s && n + 4 <= cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~/", c)) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    if (cap) out[n < cap ? n : cap - 1] = '\0';
}

/* href: the page's link from the suite page in index_dir (relative when the page is under
 * it, else absolute), URL-encoded; same: the page and the suite page share a directory. */
static void links(const char *outdir, const char *index_dir, const char *stem, char *href,
                  size_t cap, bool *same)
{
    char po[PATH_MAX], pi[PATH_MAX], raw[2 * PATH_MAX];
    *same = false;
    if (!index_dir || !realpath(outdir, po) || !realpath(index_dir, pi)) {
        snprintf(raw, sizeof(raw), "%s.html", stem);
    } else {
        size_t n = strlen(pi);
        if (!strcmp(po, pi))
            *same = true, snprintf(raw, sizeof(raw), "%s.html", stem);
        else if (!strncmp(po, pi, n) && po[n] == '/')
            snprintf(raw, sizeof(raw), "%s/%s.html", po + n + 1, stem);
        else
            snprintf(raw, sizeof(raw), "%s/%s.html", po, stem);
    }
    url_path(raw, href, cap);
}

/* One trace: its reactions printed, its page written into outdir as <stem>.html, its row
 * for the suite page. 0, or 1 when the trace could not be read or the page written. */
static int one(const char *tpath, const char *outdir, bool text_only, const char *index_dir,
               rows *rs)
{
    rp_trace t;
    rp_trace_init(&t);
    char err[512];
    printf("%s:\n", tpath);
    if (rp_trace_load(&t, tpath, err, sizeof(err))) {
        printf("  the trace could not be read: %s\n", err);
        rp_trace_free(&t);
        return 1;
    }
    rp_reactions re;
    if (rp_reactions_find(&t, &re)) {
        printf("  out of memory for the reactions\n");
        rp_trace_free(&t);
        return 1;
    }
    if (!re.n) printf("  no command was answered with an error by a rule\n");
    rp_reactions_print(stdout, &t, &re, (size_t)-1, "  ");
    int rc = 0;
    if (!text_only) {
        char base[PATH_MAX], path[PATH_MAX + 16], page[PATH_MAX + 16];
        base_of(tpath, base, sizeof(base));
        size_t run_len = 0, kmsg_len = 0;
        bool cut = false, kcut = false;
        snprintf(path, sizeof(path), "%s.run.json", base);
        char *run_json = slurp(path, &run_len, &cut);
        rp_run run = {0};
        bool have_run = false;
        if (run_json && !cut && !rp_run_parse(&run, run_json, run_len, err, sizeof(err)))
            have_run = true;
        else if (run_json)
            printf("  %s ignored: %s\n", path, cut ? "too large" : err);
        snprintf(path, sizeof(path), "%s.kmsg", base);
        char *kmsg = slurp(path, &kmsg_len, &kcut);
        const char *stem = strrchr(base, '/');
        stem = stem ? stem + 1 : base;
        bool page_cut =
            snprintf(page, sizeof(page), "%s/%s.html", outdir, stem) >= (int)sizeof(page);
        char href[6 * PATH_MAX];
        bool same;
        links(outdir, index_dir, stem, href, sizeof(href), &same);
        /* the scenario, when it can be read from here: which rules change a state. Only a
         * regular file: run.json is input, and opening a FIFO it names waited for a writer
         * for ever (a tape device would rewind) */
        rp_state_rule *states = NULL;
        size_t n_states = 0;
        struct stat sst;
        bool sc_file = have_run && run.file[0] && !stat(run.file, &sst) && S_ISREG(sst.st_mode);
        scenario *sc = sc_file ? calloc(1, sizeof(*sc)) : NULL;
        if (sc && !sc_load(run.file, sc)) {
            states = calloc((size_t)sc->n_rules + 1, sizeof(*states));
            for (int k = 0; states && k < sc->n_rules; k++) {
                const th_rule *ru = &sc->rules[k].rule;
                if (ru->action.set_state[0])
                    states[n_states++] =
                        (rp_state_rule){sc->rules[k].device, ru->name, ru->action.set_state};
            }
        }
        rp_page p = {.trace_path = tpath,
                     .trace = &t,
                     .reactions = &re,
                     .run = have_run ? &run : NULL,
                     .run_json = have_run ? run_json : NULL,
                     .run_json_len = run_len,
                     .kmsg = kmsg,
                     .kmsg_len = kmsg_len,
                     .index_href = same ? "index.html" : NULL,
                     .states = states,
                     .n_states = n_states};
        FILE *f = page_cut ? NULL : fopen(page, "w");
        int w = f ? rp_html_page(f, &p) : page_cut ? -ENAMETOOLONG : -errno;
        if (f && fclose(f) && !w) w = -EIO;
        free(states);
        if (sc) sc_free(sc);
        free(sc);
        if (w) {
            fprintf(stderr, "tcmu-harness report: cannot write %s: %s\n", page, strerror(-w));
            rc = 1;
        } else {
            printf("  page: %s\n", page);
        }
        row *r = rs ? add_row(rs) : NULL;
        if (r && !w) {
            r->name = strdup(have_run && run.name[0] ? run.name : stem);
            r->file = strdup(have_run ? run.file : tpath);
            r->href = strdup(href);
            r->message = have_run && run.message ? strdup(run.message) : NULL;
            r->golden = have_run && run.golden[0] ? strdup(run.golden) : NULL;
            r->r.has_result = have_run && run.has_result;
            r->r.passed = run.passed;
            r->r.seconds = run.seconds;
            for (size_t i = 0; i < t.n; i++) {
                r->r.commands += !t.e[i].is_tmr;
                r->r.faults +=
                    !t.e[i].is_tmr && t.e[i].has_rule && (t.e[i].status || t.e[i].aborted);
            }
            r->r.reactions = re.n;
            for (size_t i = 0; i < re.n; i++) r->r.recovered += re.r[i].recovered;
            if (!rs->kernel[0]) snprintf(rs->kernel, sizeof(rs->kernel), "%s", t.kernel);
            if (!rs->version[0]) snprintf(rs->version, sizeof(rs->version), "%s", t.version);
        } else if (rs && !w) {
            rc = 1;
        }
        rp_run_free(&run);
        free(run_json);
        free(kmsg);
    }
    rp_reactions_free(&re);
    rp_trace_free(&t);
    return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int jsonl_only(const struct dirent *d)
{
    return ends_with(d->d_name, ".jsonl");
}

/* XML text [v, q) with the five entities decoded (all run's JUnit writes). */
static char *unxml(const char *v, const char *q)
{
    char *out = malloc((size_t)(q - v) + 1);
    if (!out) return NULL;
    static const char *ent[][2] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""}, {"&#39;", "'"}};
    size_t n = 0;
    while (v < q) {
        size_t k = 0, l = 0;
        for (; k < 5; k++)
            if ((size_t)(q - v) >= (l = strlen(ent[k][0])) && !strncmp(v, ent[k][0], l)) break;
        if (k < 5)
            out[n++] = ent[k][1][0], v += l;
        else
            out[n++] = *v++;
    }
    out[n] = '\0';
    return out;
}

/* An XML attribute's value from tag text [s, end); NULL when absent. */
static char *attr(const char *s, const char *end, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = s; p + nl + 2 < end; p++) {
        if ((p == s || p[-1] == ' ') && !strncmp(p, name, nl) && p[nl] == '=' && p[nl + 1] == '"') {
            const char *v = p + nl + 2, *q = memchr(v, '"', (size_t)(end - v));
            return q ? unxml(v, q) : NULL;
        }
    }
    return NULL;
}

/* The test cases of run's JUnit (its own format: one <testcase ...> each, a <failure>
 * inside for a failed one): the suite page's rows, in the JUnit's order. */
static int read_junit(const char *path, rows *rs)
{
    size_t len;
    bool cut;
    char *x = slurp(path, &len, &cut);
    if (!x) {
        fprintf(stderr, "tcmu-harness report: %s: %s\n", path, strerror(errno));
        return 1;
    }
    const char *end = x + len;
    char *kern = NULL;
    const char *kp = strstr(x, "name=\"kernel.release\"");
    if (kp) {
        const char *ke = strchr(kp, '>');
        kern = ke ? attr(kp, ke, "value") : NULL;
    }
    if (kern) snprintf(rs->kernel, sizeof(rs->kernel), "%s", kern);
    free(kern);
    int n = 0;
    const char *next;
    for (const char *p = strstr(x, "<testcase "); p; p = next) {
        const char *te = memchr(p, '>', (size_t)(end - p));
        if (!te) break;
        /* searches stay inside this test case, and the next one starts after this one's
         * tag: a hostile file of a million test cases and no failure, or of a million
         * "<testcase " and one '>', would otherwise rescan the rest of the file each time */
        next = strstr(te, "<testcase ");
        const char *seg = next ? next : end;
        const char *fl = memmem(te, (size_t)(seg - te), "<failure", 8);
        bool failed = fl != NULL;
        row *r = add_row(rs);
        if (!r) break;
        r->from_junit = true;
        r->name = attr(p, te, "name");
        r->file = attr(p, te, "file");
        char *tm = attr(p, te, "time");
        r->r.seconds = tm ? strtod(tm, NULL) : 0;
        if (!isfinite(r->r.seconds) || r->r.seconds < 0) r->r.seconds = 0;
        free(tm);
        r->r.has_result = true;
        r->r.passed = !failed;
        if (failed) {
            const char *m = memchr(fl, '>', (size_t)(seg - fl));
            const char *me = m ? memmem(m, (size_t)(seg - m), "</failure>", 10) : NULL;
            if (m && me) {
                size_t ml = (size_t)(me - m - 1) < 300 ? (size_t)(me - m - 1) : 300;
                r->message = unxml(m + 1, m + 1 + ml);
            }
        }
        n++;
    }
    free(x);
    if (!n) fprintf(stderr, "tcmu-harness report: %s: no test cases in it\n", path);
    return n ? 0 : 1;
}

/* JUnit rows take the page, counts and golden of the trace row of the same scenario file;
 * the trace rows matched are dropped, the others stay after the JUnit's. */
static void merge(rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        row *j = &rs->v[i];
        if (!j->from_junit || !j->file) continue;
        for (size_t k = 0; k < rs->n; k++) {
            row *t = &rs->v[k];
            if (t->from_junit || t->matched || !t->file || strcmp(t->file, j->file)) continue;
            t->matched = true;
            free(j->href);
            j->href = t->href, t->href = NULL;
            j->r.commands = t->r.commands, j->r.faults = t->r.faults;
            j->r.reactions = t->r.reactions, j->r.recovered = t->r.recovered;
            free(j->golden);
            j->golden = t->golden, t->golden = NULL;
            break;
        }
    }
}

static void free_rows(rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        row *r = &rs->v[i];
        free(r->name), free(r->file), free(r->href), free(r->message), free(r->golden);
    }
    free(rs->v);
}

static int write_suite(const char *dir, rows *rs)
{
    merge(rs);
    rp_suite_row *out = calloc(rs->n ? rs->n : 1, sizeof(*out));
    if (!out) return 1;
    size_t n = 0;
    for (size_t i = 0; i < rs->n; i++) {
        row *r = &rs->v[i];
        if (r->matched) continue;
        out[n] = r->r;
        out[n].name = r->name ? r->name : "";
        out[n].file = r->file ? r->file : "";
        out[n].href = r->href, out[n].message = r->message, out[n].golden = r->golden;
        n++;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/index.html", dir);
    rp_suite s = {.title = "tcmu-harness runs",
                  .kernel = rs->kernel,
                  .version = rs->version,
                  .rows = out,
                  .n = n};
    FILE *f = fopen(path, "w");
    int w = f ? rp_html_suite(f, &s) : -errno;
    if (f && fclose(f) && !w) w = -EIO;
    free(out);
    if (w) {
        fprintf(stderr, "tcmu-harness report: cannot write %s: %s\n", path, strerror(-w));
        return 1;
    }
    printf("suite: %s (%zu runs)\n", path, n);
    return 0;
}

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: tcmu-harness report [--text] [-o DIR] INPUT...\n"
               "  INPUT: a trace (FILE.jsonl of run --trace DIR or serve --trace), a directory\n"
               "  of them (run --trace DIR), or run's JUnit file (--junit FILE)\n"
               "  writes one self-contained HTML page per trace, <stem>.html, beside it (with\n"
               "  its <stem>.run.json and <stem>.kmsg) or into DIR; and index.html, the suite\n"
               "  page, for a directory, a JUnit file or -o DIR; prints the initiator's reaction\n"
               "  to each fault (docs/report.md)\n"
               "  --text    the reactions only: no pages\n"
               "  -o DIR    where the pages go (made if missing)\n");
    return rc;
}

int cmd_report(int argc, char **argv)
{
    static const struct option longs[] = {
        {"text", 0, 0, 'T'}, {"out", 1, 0, 'o'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    bool text_only = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+ho:", longs, NULL)) != -1) {
        if (c == 'T')
            text_only = true;
        else if (c == 'o')
            out = optarg;
        else if (c == 'h')
            return usage(stdout, 0);
        else {
            if (optopt == 'o' || (optind > 1 && !strcmp(argv[optind - 1], "--out")))
                fprintf(stderr, "tcmu-harness report: -o needs a directory\n");
            else
                fprintf(stderr, "tcmu-harness report: unknown option '%s'\n", argv[optind - 1]);
            return CLI_USAGE;
        }
    }
    if (optind >= argc) return usage(stderr, CLI_USAGE);
    if (out && !text_only) {
        int m = mkdirs(out);
        if (m) {
            fprintf(stderr, "tcmu-harness report: -o %s: cannot make the directory: %s\n", out,
                    strerror(-m));
            return CLI_USAGE;
        }
    }
    rows rs = {0};
    /* The suite page goes into -o DIR, else the first directory given, else beside the
     * JUnit file; a lone trace gets no suite page. */
    char index_buf[PATH_MAX] = "";
    const char *index_dir = out;
    for (int i = optind; i < argc && !index_dir; i++)
        if (is_dir(argv[i]))
            snprintf(index_buf, sizeof(index_buf), "%s", argv[i]), index_dir = index_buf;
    for (int i = optind; i < argc && !index_dir; i++)
        if (ends_with(argv[i], ".xml"))
            dir_of(argv[i], index_buf, sizeof(index_buf)), index_dir = index_buf;
    int rc = 0;
    for (int i = optind; i < argc; i++) {
        const char *in = argv[i];
        if (is_dir(in)) {
            struct dirent **ents;
            int n = scandir(in, &ents, jsonl_only, by_name);
            if (n < 0) {
                fprintf(stderr, "tcmu-harness report: %s: %s\n", in, strerror(errno));
                rc = 1;
                continue;
            }
            if (!n) printf("%s: no traces (*.jsonl) in it\n", in);
            for (int k = 0; k < n; k++) {
                char p[PATH_MAX];
                /* cut, it would name another file (a shorter name in the directory) */
                if (snprintf(p, sizeof(p), "%s/%s", in, ents[k]->d_name) >= (int)sizeof(p)) {
                    fprintf(stderr, "tcmu-harness report: %s/%s: %s\n", in, ents[k]->d_name,
                            strerror(ENAMETOOLONG));
                    rc = 1;
                } else {
                    rc |= one(p, out ? out : in, text_only, index_dir, &rs);
                }
                free(ents[k]);
            }
            free(ents);
        } else if (ends_with(in, ".xml")) {
            rc |= read_junit(in, &rs);
        } else {
            char dir[PATH_MAX];
            dir_of(in, dir, sizeof(dir));
            rc |= one(in, out ? out : dir, text_only, index_dir, &rs);
        }
    }
    if (!text_only && index_dir) rc |= write_suite(index_dir, &rs);
    free_rows(&rs);
    return rc;
}
