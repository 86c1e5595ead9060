/* A trace into golden text, and golden text (a file from disk: hostile input) back into
 * lines. The text is the one model: a golden made from this run's trace is parsed from
 * its text, exactly as the file it is compared with. */
#include "golden.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "reaction.h"
#include "th/be.h"
#include "th/cmd.h"

#define GOLDEN_MAGIC "# tcmu-harness golden trace"

void rp_golden_init(rp_golden *g)
{
    memset(g, 0, sizeof(*g));
}

void rp_golden_free(rp_golden *g)
{
    for (size_t i = 0; i < g->n; i++) free(g->l[i].text);
    free(g->l);
    rp_golden_init(g);
}

typedef struct sbuf {
    char b[RP_GOLDEN_LINE_MAX];
    size_t n;
} sbuf;

static void add(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(sbuf *s, const char *fmt, ...)
{
    if (s->n >= sizeof(s->b)) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(s->b + s->n, sizeof(s->b) - s->n, fmt, ap);
    va_end(ap);
    if (w > 0) s->n = s->n + (size_t)w < sizeof(s->b) ? s->n + (size_t)w : sizeof(s->b) - 1;
}

/* A name as one token: no space (the " xN" count and the fields are space separated), no
 * '@' (a TMR's position), no ';' or ':' (the answer and a reaction's fields), no '#' to
 * begin a line (a device's name: its reader would take the line for a comment). */
static void add_name(sbuf *s, const char *name)
{
    const char *whole = name;
    if (!s->n && name[0] == '#') add(s, "%%23"), name++;
    /* nor can it read as a count: "x5" (a TMR's type is the last token of its line) */
    bool count_like =
        name[0] == 'x' && name[1] && strspn(name + 1, "0123456789") == strlen(name + 1);
    if (count_like) add(s, "%%78"), name++;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr("%@;:", *p))
            add(s, "%%%02X", *p);
        else
            add(s, "%c", *p);
    }
    if (!*whole) add(s, "-");
}

/* The op and the CDB fields that matter: what a change of initiator shows in. */
static void describe(sbuf *s, const rp_trace *t, const rp_entry *e)
{
    const uint8_t *c = e->cdb;
    unsigned n = e->cdb_len, op = e->opcode;
    add_name(s, rp_name(t, e->op));
    if (e->has_lba) {
        add(s, " lba %llu", (unsigned long long)e->lba);
        if (e->unit == 'b') add(s, "+%llu", (unsigned long long)e->len);
        /* FUA, DPO, protection bits: a 6-byte CDB's byte 1 holds LBA bits instead */
        if (n >= 10 && c[1]) add(s, " flags 0x%02x", c[1]);
    } else if (op == 0x12 && n >= 5) {
        add(s, " evpd %d page 0x%02x alloc %u", c[1] & 1, c[2], th_be16(c + 3));
    } else if ((op == 0x1a && n >= 5) || (op == 0x5a && n >= 9)) {
        add(s, " page 0x%02x subpage 0x%02x alloc %u", c[2] & 0x3f, c[3],
            op == 0x1a ? c[4] : th_be16(c + 7));
        if (c[2] >> 6) add(s, " pc %d", c[2] >> 6);
        if (c[1] & 0x08) add(s, " dbd");
    } else if ((op == 0x08 || op == 0x0a) && n >= 5) { /* a tape's READ(6), WRITE(6) */
        add(s, " fixed %d length %u", c[1] & 1, th_be24(c + 2));
        if (op == 0x08 && (c[1] & 2)) add(s, " sili");
    } else if (op == 0x11 && n >= 5) { /* SPACE(6): the count is signed */
        uint32_t v = th_be24(c + 2);
        long cnt = v & 0x800000 ? (long)v - 0x1000000 : (long)v;
        add(s, " code %d count %ld", c[1] & 7, cnt);
    } else if (n) {
        add(s, " cdb ");
        for (unsigned i = 0; i < n; i++) add(s, "%02x", c[i]);
    }
}

static void answer(sbuf *s, const rp_trace *t, const rp_entry *e)
{
    add(s, ": ");
    const char *sn = th_status_name(e->status);
    if (e->aborted)
        add(s, "aborted");
    else if (sn)
        add(s, "%s", sn);
    else
        add(s, "0x%02x", e->status);
    if (e->has_sense && e->key) {
        add(s, " ");
        add_name(s, rp_name(t, e->key));
        add(s, " %02X/%02X", e->asc, e->ascq);
    }
    if (e->has_rule) {
        add(s, " rule=");
        add_name(s, rp_name(t, e->rule));
    }
}

typedef struct ord {
    const char *dev;
    double when;
    uint32_t seq;
    size_t i;
} ord;

static int ord_cmp(const void *pa, const void *pb)
{
    const ord *a = pa, *b = pb;
    int c = strcmp(a->dev, b->dev);
    if (c) return c;
    if (a->when != b->when) return a->when < b->when ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

typedef struct gl {
    char *text; /* NULL for a TMR until pass 2 */
    uint64_t count;
    size_t entry;
} gl;

/* The command an abort named that was in flight when it came (the first to arrive), and
 * how many more; searched just after it in file order (a hung command leaves as soon as
 * its abort ends it; one that left before the abort was no longer in flight, but for a
 * tie in time), bounded for a hostile trace of nothing but TMRs. */
enum { TMR_BEFORE = 16, TMR_AFTER = 1024 };
static long tmr_target(const rp_trace *t, size_t ti, int *more)
{
    const rp_entry *m = &t->e[ti];
    long best = -1;
    *more = 0;
    size_t lo = ti > TMR_BEFORE ? ti - TMR_BEFORE : 0;
    for (size_t j = lo; j < t->n && j <= ti + TMR_AFTER; j++) {
        const rp_entry *c = &t->e[j];
        if (c->is_tmr || c->device != m->device || c->start > m->t || c->t < m->t) continue;
        bool named = false;
        for (int q = 0; q < m->n_ids; q++) named |= m->ids[q] == c->id;
        if (!named) continue;
        if (best < 0 || c->start < t->e[best].start) best = (long)j;
        (*more)++;
    }
    if (*more) (*more)--;
    return best;
}

static int reactions_text(FILE *f, const rp_trace *t, size_t budget, char *err, size_t cap)
{
    rp_reactions rs;
    /* not cut by time: whether the next attempt came within 0.25 s is a matter of the
     * machine's speed (unit-attention's second sg_turs, a new process, came 0.268 s after
     * the first in a loaded guest, 0.2 s natively: "gave up" or "recovered") */
    if (rp_reactions_find_gap(t, -1, &rs)) return -ENOMEM;
    if (rs.n > budget) { /* the file must read back: its reader's bound is on all lines */
        snprintf(err, cap,
                 "more than %d lines with the reactions: golden traces are for "
                 "scenarios, not long runs of I/O",
                 RP_GOLDEN_LINES_MAX);
        rp_reactions_free(&rs);
        return -E2BIG;
    }
    /* by device, then as the faults arrived (the analysis's order) */
    ord *o = calloc(rs.n ? rs.n : 1, sizeof(*o));
    if (!o) return rp_reactions_free(&rs), -ENOMEM;
    for (size_t i = 0; i < rs.n; i++)
        o[i] = (ord){rp_name(t, t->e[rs.r[i].fault].device), (double)i, 0, i};
    qsort(o, rs.n, sizeof(*o), ord_cmp);
    /* Episodes of the same fault one after the other are one line, when the first gave up:
     * untimed, an episode still ends where RP_SCAN_MAX entries hold no further attempt, a
     * matter of what else the trace holds (the commands keep the order). A recovered one
     * ended with its success, and the next fault of that command is another I/O (merged, a
     * run of 2 and 6 attempts read as one of 4 and 4). */
    sbuf cur = {.n = 0}, next;
    int att = 0, aborts = 0, resets = 0, rsense = 0;
    bool recovered = false;
    for (size_t q = 0; q <= rs.n; q++) {
        const rp_reaction *r = q < rs.n ? &rs.r[o[q].i] : NULL;
        next.n = 0;
        next.b[0] = '\0';
        if (r) {
            const rp_entry *e = &t->e[r->fault];
            add_name(&next, rp_name(t, e->device));
            add(&next, " ");
            describe(&next, t, e);
            answer(&next, t, e);
        }
        bool merge = cur.n && r && !recovered && !strcmp(cur.b, next.b);
        if (cur.n && !merge) {
            fprintf(f, "%s; attempts %d; aborts %d; resets %d; request sense %d; %s\n", cur.b, att,
                    aborts, resets, rsense, recovered ? "recovered" : "gave up");
            att = aborts = resets = rsense = 0;
        }
        if (!r) break;
        if (!merge) cur = next;
        att += r->attempts, aborts += r->aborts, resets += r->resets;
        rsense += r->request_sense, recovered = r->recovered; /* how the last one ended */
    }
    if (rs.truncated) fprintf(f, "# the analysis stopped after %d faults\n", RP_EPISODES_MAX);
    free(o);
    rp_reactions_free(&rs);
    return 0;
}

/* Pass 1: every entry's line in arrival order per device, identical commands collapsed,
 * each entry's position (per device, 1-based) noted; TMR lines never collapse, so their
 * text (which names a position) can wait for pass 2. */
static int command_lines(const rp_trace *t, const ord *o, uint32_t *pos, gl **out, size_t *n_out,
                         char *err, size_t cap)
{
    gl *l = NULL;
    size_t n = 0, lcap = 0;
    uint32_t at = 0;
    int rc = 0;
    for (size_t k = 0; k < t->n; k++) {
        const rp_entry *e = &t->e[o[k].i];
        bool new_dev = !k || strcmp(o[k].dev, o[k - 1].dev);
        if (new_dev) at = 0;
        sbuf s = {.n = 0};
        if (!e->is_tmr) {
            add_name(&s, o[k].dev);
            add(&s, " ");
            describe(&s, t, e);
            answer(&s, t, e);
            if (!new_dev && n && l[n - 1].text && !strcmp(l[n - 1].text, s.b)) {
                l[n - 1].count++;
                pos[o[k].i] = at;
                continue;
            }
        }
        if (n == RP_GOLDEN_LINES_MAX) {
            snprintf(err, cap,
                     "more than %d lines: golden traces are for scenarios, not "
                     "long runs of I/O",
                     RP_GOLDEN_LINES_MAX);
            rc = -E2BIG;
            break;
        }
        if (n == lcap) {
            size_t nc = lcap ? 2 * lcap : 256;
            gl *nl = realloc(l, nc * sizeof(*nl));
            if (!nl) {
                rc = -ENOMEM;
                break;
            }
            l = nl, lcap = nc;
        }
        l[n] = (gl){.text = e->is_tmr ? NULL : strdup(s.b), .count = 1, .entry = o[k].i};
        if (!e->is_tmr && !l[n].text) {
            rc = -ENOMEM;
            break;
        }
        n++;
        pos[o[k].i] = ++at;
    }
    *out = l, *n_out = n;
    return rc;
}

int rp_golden_text(const rp_trace *t, char **text, char *err, size_t cap)
{
    *text = NULL;
    if (cap) err[0] = '\0';
    size_t len = 0;
    FILE *f = open_memstream(text, &len);
    if (!f) return -ENOMEM;
    sbuf h = {.n = 0}; /* what the trace's header says, escaped: the file is ASCII */
    add(&h, GOLDEN_MAGIC " 1 (harness ");
    add_name(&h, t->version[0] ? t->version : "unknown");
    add(&h, ", kernel ");
    add_name(&h, t->kernel[0] ? t->kernel : "unknown");
    fprintf(f, "%s: informational, never compared)\n", h.b);
    fprintf(f, "# DEVICE OP FIELDS: ANSWER [rule=NAME] [xN], in arrival order per device\n"
               "# (docs/scenario-format.md, \"Golden traces\")\n");
    if (t->not_kept)
        fprintf(f, "# the trace no longer had its first %llu entries\n",
                (unsigned long long)t->not_kept);
    fprintf(f, "commands\n");
    ord *o = calloc(t->n ? t->n : 1, sizeof(*o));
    uint32_t *pos = calloc(t->n ? t->n : 1, sizeof(*pos));
    gl *l = NULL;
    size_t n = 0;
    int rc = o && pos ? 0 : -ENOMEM;
    for (size_t i = 0; !rc && i < t->n; i++) {
        const rp_entry *e = &t->e[i];
        double w = e->is_tmr ? e->t : e->start; /* as it arrived */
        o[i] = (ord){rp_name(t, e->device), isnan(w) ? 0 : w, e->seq, i};
    }
    if (!rc) {
        qsort(o, t->n, sizeof(*o), ord_cmp);
        rc = command_lines(t, o, pos, &l, &n, err, cap);
    }
    for (size_t k = 0; !rc && k < n; k++) {
        if (!l[k].text) { /* pass 2: a TMR, and the line it aborted */
            const rp_entry *e = &t->e[l[k].entry];
            sbuf s = {.n = 0};
            add_name(&s, rp_name(t, e->device));
            add(&s, " TMR ");
            add_name(&s, rp_name(t, e->op));
            int more;
            long j = tmr_target(t, l[k].entry, &more);
            if (j >= 0) {
                add(&s, " of @%u (", pos[j]);
                describe(&s, t, &t->e[j]);
                add(&s, ")");
                if (more) add(&s, " and %d more", more);
            }
            fprintf(f, "%s\n", s.b);
        } else if (l[k].count > 1) {
            fprintf(f, "%s x%llu\n", l[k].text, (unsigned long long)l[k].count);
        } else {
            fprintf(f, "%s\n", l[k].text);
        }
    }
    if (!rc) {
        fprintf(f, "reactions\n");
        rc = reactions_text(f, t, RP_GOLDEN_LINES_MAX - n, err, cap);
    }
    for (size_t k = 0; k < n; k++) free(l[k].text);
    free(l);
    free(o);
    free(pos);
    if (fclose(f) && !rc) rc = -ENOMEM;
    if (!rc && len > RP_GOLDEN_FILE_MAX) { /* its reader's bound: the file must read back */
        snprintf(err, cap,
                 "more than %u MiB of golden text: golden traces are for scenarios, not "
                 "long runs of I/O",
                 RP_GOLDEN_FILE_MAX >> 20);
        rc = -E2BIG;
    }
    if (rc) {
        free(*text);
        *text = NULL;
        if (rc == -ENOMEM && cap) snprintf(err, cap, "out of memory");
    }
    return rc;
}

bool rp_match_from_name(const char *name, rp_match *m)
{
    if (!strcmp(name, "multiset")) return *m = RP_MATCH_MULTISET, true;
    if (!strcmp(name, "sequence")) return *m = RP_MATCH_SEQUENCE, true;
    return false;
}

const char *rp_match_name(rp_match m)
{
    return m == RP_MATCH_SEQUENCE ? "sequence" : "multiset";
}

/* A number of at most 10 digits at p (up to end); its length, 0 if none. */
static size_t digits(const char *p, const char *end, uint64_t *v)
{
    size_t n = 0;
    *v = 0;
    while (p + n < end && n < 11 && p[n] >= '0' && p[n] <= '9')
        *v = *v * 10 + (uint64_t)(p[n++] - '0');
    return n <= 10 ? n : 0;
}

static int line_err(char *err, size_t cap, const char *name, size_t no, const char *why)
{
    snprintf(err, cap, "%s:%zu: %s", name, no, why);
    return -EINVAL;
}

/* One line of a section: its " xN" count (commands only), its loose number. */
static int parse_line(rp_golden *g, const char *p, size_t len, bool reaction, size_t no,
                      const char *name, char *err, size_t cap)
{
    uint64_t count = 1, v;
    const char *sp = memrchr(p, ' ', len);
    if (!reaction && sp && sp + 2 < p + len && sp[1] == 'x') {
        const char *q = sp + 2;
        while (q < p + len && *q >= '0' && *q <= '9') q++;
        size_t d = digits(sp + 2, p + len, &v);
        if (q == p + len) { /* " x" and only digits: a count, however many */
            if (!d || !v || v > RP_GOLDEN_COUNT_MAX)
                return line_err(err, cap, name, no, "a count xN must be 1 to 1000000000");
            count = v;
            len = (size_t)(sp - p);
        }
    }
    if (!memchr(p, ' ', len)) return line_err(err, cap, name, no, "\"DEVICE OP ...\" was expected");
    if (g->n == g->cap) {
        size_t nc = g->cap ? 2 * g->cap : 256;
        rp_gline *nl = realloc(g->l, nc * sizeof(*nl));
        if (!nl) return -ENOMEM;
        g->l = nl, g->cap = nc;
    }
    rp_gline *l = &g->l[g->n];
    memset(l, 0, sizeof(*l));
    if (!(l->text = strndup(p, len))) return -ENOMEM;
    l->count = count, l->reaction = reaction, l->line_no = (uint32_t)no;
    const char *tag = reaction ? "; attempts " : " @";
    const char *at = strstr(l->text, tag);
    if (at) {
        const char *num = at + strlen(tag);
        size_t d = digits(num, l->text + len, &l->var);
        if (d && (!num[d] || num[d] == ' ' || num[d] == ';'))
            l->var_off = (uint32_t)(num - l->text), l->var_len = (uint32_t)d;
    }
    g->n++;
    return 0;
}

int rp_golden_parse(rp_golden *g, const char *name, const char *buf, size_t len, char *err,
                    size_t cap)
{
    enum { HEAD, BEFORE, COMMANDS, REACTIONS } st = HEAD;
    size_t no = 0;
    char why[128];
    if (cap) err[0] = '\0';
    for (const char *p = buf, *end = buf + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line = p;
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        p = nl ? nl + 1 : end;
        if (++no > RP_GOLDEN_LINES_MAX + 64) {
            snprintf(why, sizeof(why), "more than %d lines", RP_GOLDEN_LINES_MAX + 64);
            return line_err(err, cap, name, no, why);
        }
        if (n > RP_GOLDEN_LINE_MAX) {
            snprintf(why, sizeof(why), "a line longer than %d bytes", RP_GOLDEN_LINE_MAX);
            return line_err(err, cap, name, no, why);
        }
        if (n && line[n - 1] == '\r') n--;
        while (n && line[n - 1] == ' ') n--; /* an editor's trailing blanks */
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)line[i];
            if (c < 0x20 || c >= 0x7f) {
                snprintf(why, sizeof(why),
                         "column %zu: byte 0x%02x: a golden trace is printable ASCII", i + 1, c);
                return line_err(err, cap, name, no, why);
            }
        }
        if (st == HEAD) {
            if (n < strlen(GOLDEN_MAGIC) || memcmp(line, GOLDEN_MAGIC, strlen(GOLDEN_MAGIC)))
                return line_err(err, cap, name, no,
                                "not a golden trace: its first line is not \"" GOLDEN_MAGIC
                                " ...\"");
            st = BEFORE;
            continue;
        }
        if (!n || line[0] == '#') continue;
        bool is_c = n == 8 && !memcmp(line, "commands", 8);
        bool is_r = n == 9 && !memcmp(line, "reactions", 9);
        if (st == BEFORE) {
            if (!is_c) return line_err(err, cap, name, no, "\"commands\" was expected");
            st = COMMANDS;
            continue;
        }
        if (is_c) return line_err(err, cap, name, no, "a second \"commands\"");
        if (is_r) {
            if (st == REACTIONS) return line_err(err, cap, name, no, "a second \"reactions\"");
            st = REACTIONS;
            continue;
        }
        int rc = parse_line(g, line, n, st == REACTIONS, no, name, err, cap);
        if (rc == -ENOMEM) snprintf(err, cap, "%s:%zu: out of memory", name, no);
        if (rc) return rc;
    }
    if (st == HEAD) {
        snprintf(err, cap, "%s: empty: not a golden trace", name);
        return -EINVAL;
    }
    if (st != REACTIONS) {
        snprintf(err, cap, "%s: no \"%s\" line: the file is cut short", name,
                 st == BEFORE ? "commands" : "reactions");
        return -EINVAL;
    }
    return 0;
}

int rp_golden_load(rp_golden *g, const char *path, char *err, size_t cap)
{
    /* not blocking: a FIFO named as the golden file must not hang the run */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    int rc = 0;
    if (fd < 0 || fstat(fd, &st)) {
        rc = -errno;
        snprintf(err, cap, "%s: %s", path, strerror(-rc));
        if (fd >= 0) close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)RP_GOLDEN_FILE_MAX) {
        snprintf(err, cap, "%s: %s", path,
                 S_ISREG(st.st_mode) ? "larger than 64 MiB: not a golden trace"
                                     : "not a regular file");
        close(fd);
        return -EINVAL;
    }
    size_t want = (size_t)st.st_size, got = 0;
    char *buf = malloc(want + 1);
    if (!buf) {
        close(fd);
        snprintf(err, cap, "%s: out of memory", path);
        return -ENOMEM;
    }
    while (got < want) { /* a file that shrinks meanwhile just ends early */
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = -errno;
            snprintf(err, cap, "%s: %s", path, strerror(-rc));
            break;
        }
        if (!r) break;
        got += (size_t)r;
    }
    close(fd);
    if (!rc) rc = rp_golden_parse(g, path, buf, got, err, cap);
    free(buf);
    return rc;
}
