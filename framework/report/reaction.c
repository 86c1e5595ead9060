/* Episodes: a faulted command, the retries of the same target that follow it, and what
 * else the initiator did meanwhile. One pass per episode from its first fault; a fault
 * that is a retry of an earlier episode belongs to it and opens none of its own. */
#include "reaction.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "th/cmd.h"

static bool is_fault(const rp_entry *e)
{
    return !e->is_tmr && e->has_rule && (e->status != 0 || e->aborted);
}

static bool ok(const rp_entry *e)
{
    return !e->is_tmr && e->status == 0 && !e->aborted;
}

static uint64_t span(const rp_entry *e)
{
    return e->unit == 'b' && e->len ? e->len : 1;
}

/* The same target: an overlapping LBA range, read for read and write for write (the
 * data-out buffer says which; sd retries the rest of a failed read with another length);
 * without an LBA, the same op. */
static bool same_target(const rp_entry *a, const rp_entry *b)
{
    if (a->is_tmr || b->is_tmr || a->device != b->device) return false;
    if (a->has_lba != b->has_lba) return false;
    if (!a->has_lba) return a->op == b->op;
    if ((a->buffer > 0) != (b->buffer > 0) && a->op != b->op) return false;
    return a->lba < b->lba + span(b) && b->lba < a->lba + span(a);
}

static void count_meanwhile(uint16_t op, uint16_t *ops, int *counts, int *n_ops, int cap)
{
    for (int i = 0; i < *n_ops; i++)
        if (ops[i] == op) {
            counts[i]++;
            return;
        }
    if (*n_ops < cap) ops[*n_ops] = op, counts[(*n_ops)++] = 1;
}

enum { TRACKED = 64 }; /* attempts whose ids a TMR is matched against */

/* What the device saw while the episode lasted: TMRs (entries are in the order they left,
 * so the abort of a hung command comes before the command itself) and other commands. */
static void around(const rp_trace *t, size_t i, const uint32_t *owner, uint32_t me,
                   const size_t *att, int n_att, rp_reaction *r)
{
    const rp_entry *first = &t->e[i];
    double from = first->start, to = t->e[r->last].t;
    size_t lo = i;
    /* bounded: a hostile trace's times need not grow (its file order is all we have) */
    while (lo > 0 && i - lo < RP_SCAN_MAX && t->e[lo - 1].t >= from) lo--;
    enum { OPS = 32 };
    uint16_t ops[OPS];
    int counts[OPS], n_ops = 0;
    for (size_t j = lo; j < t->n && t->e[j].t <= to && j <= r->last + RP_SCAN_MAX; j++) {
        const rp_entry *e = &t->e[j];
        if (e->device != first->device || e->t < from) continue;
        if (e->is_tmr) {
            const char *name = rp_name(t, e->op);
            if (strstr(name, "RESET") || strstr(name, "NEXUS")) {
                r->resets++;
                continue;
            }
            /* an abort naming an attempt in flight when it came */
            for (int a = 0; a < n_att; a++) {
                const rp_entry *c = &t->e[att[a]];
                bool named = false;
                for (int q = 0; q < e->n_ids; q++) named |= e->ids[q] == c->id;
                if (!named || c->start > e->t || c->t < e->t) continue;
                if (!r->aborts) r->abort_after = e->t - c->start;
                r->aborts++;
                break;
            }
            continue;
        }
        if (owner[j] == me) continue; /* an attempt */
        if (e->opcode == 0x03 && e->cdb_len)
            r->request_sense++;
        else
            count_meanwhile(e->op, ops, counts, &n_ops, OPS);
    }
    for (int k = 0; k < RP_MEANWHILE; k++) {
        int best = -1;
        for (int q = 0; q < n_ops; q++)
            if (counts[q] > 0 && (best < 0 || counts[q] > counts[best])) best = q;
        if (best < 0) break;
        r->meanwhile_op[k] = ops[best];
        r->meanwhile_n[k] = counts[best];
        counts[best] = 0;
    }
}

/* Follows the episode that starts at entry i; marks its attempts as owned by me. */
static void follow(const rp_trace *t, size_t i, uint32_t *owner, uint32_t me, double gap_s,
                   rp_reaction *r)
{
    const rp_entry *first = &t->e[i], *prev = first;
    memset(r, 0, sizeof(*r));
    r->fault = r->last = i;
    r->attempts = r->failed = 1;
    r->min_gap = -1;
    owner[i] = me;
    size_t att[TRACKED] = {i};
    int n_att = 1;
    for (size_t j = i + 1; j < t->n; j++) {
        const rp_entry *e = &t->e[j];
        /* past the episode (every device's entries: the file is in time order) */
        if (gap_s >= 0 && e->start > prev->t + gap_s) break;
        /* bounded, as in around(), whatever the entries are (other devices', TMRs) */
        if (j - r->last > RP_SCAN_MAX) break;
        if (e->device != first->device || e->is_tmr) continue;
        if (owner[j] || !same_target(e, first)) continue;
        double gap = e->start - prev->t;
        if (gap < 0) gap = 0; /* queued behind it (qd > 1) */
        if (r->min_gap < 0 || gap < r->min_gap) r->min_gap = gap;
        if (gap > r->max_gap) r->max_gap = gap;
        owner[j] = me;
        r->attempts++;
        r->last = j;
        if (n_att < TRACKED) att[n_att++] = j;
        prev = e;
        if (ok(e)) {
            r->recovered = true;
            break;
        }
        r->failed++;
    }
    r->duration = prev->t - first->start;
    if (r->min_gap < 0) r->min_gap = 0;
    around(t, i, owner, me, att, n_att, r);
}

int rp_reactions_find(const rp_trace *t, rp_reactions *out)
{
    return rp_reactions_find_gap(t, RP_RETRY_GAP_S, out);
}

int rp_reactions_find_gap(const rp_trace *t, double gap_s, rp_reactions *out)
{
    memset(out, 0, sizeof(*out));
    if (!t->n) return 0;
    uint32_t *owner = calloc(t->n, sizeof(*owner)); /* the episode (1-based) of an attempt */
    if (!owner) return -ENOMEM;
    /* By arrival, not departure: a hung command leaves after the retries of others. */
    for (size_t i = 0; i < t->n; i++) {
        if (owner[i] || !is_fault(&t->e[i])) continue;
        if (out->n == RP_EPISODES_MAX) {
            out->truncated = true;
            break;
        }
        if (out->n == out->cap) {
            size_t nc = out->cap ? 2 * out->cap : 16;
            rp_reaction *nr = realloc(out->r, nc * sizeof(*nr));
            if (!nr) {
                free(owner);
                rp_reactions_free(out);
                return -ENOMEM;
            }
            out->r = nr;
            out->cap = nc;
        }
        follow(t, i, owner, (uint32_t)out->n + 1, gap_s, &out->r[out->n]);
        out->n++;
    }
    free(owner);
    return 0;
}

void rp_reactions_free(rp_reactions *rs)
{
    free(rs->r);
    memset(rs, 0, sizeof(*rs));
}

static const char *secs(double s, char *b, size_t cap)
{
    if (s < 1e-3)
        snprintf(b, cap, "%.0f us", s * 1e6);
    else if (s < 1)
        snprintf(b, cap, "%.1f ms", s * 1e3);
    else
        snprintf(b, cap, "%.2f s", s);
    return b;
}

void rp_reaction_text(const rp_trace *t, const rp_reaction *r, char *buf, size_t cap)
{
    const rp_entry *f = &t->e[r->fault];
    size_t n = 0;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (n < cap) {                                                                             \
            int w_ = snprintf(buf + n, cap - n, __VA_ARGS__);                                      \
            if (w_ > 0) n += (size_t)w_;                                                           \
        }                                                                                          \
    } while (0)
    if (cap) buf[0] = '\0';
    ADD("%s %s", rp_name(t, f->device), rp_name(t, f->op));
    if (f->has_lba) ADD(" lba %llu+%llu", (unsigned long long)f->lba, (unsigned long long)span(f));
    ADD(" at %.3f s: ", f->start);
    if (f->aborted) {
        ADD("held, then aborted");
    } else if (f->has_sense) {
        ADD("%s %02X/%02X", rp_name(t, f->key), f->asc, f->ascq);
    } else {
        const char *sn = th_status_name(f->status);
        if (sn)
            ADD("%s", sn);
        else
            ADD("status 0x%02X", f->status);
    }
    ADD(" (rule %s)", rp_name(t, f->rule));
    char a[32], b[32];
    if (r->aborts)
        ADD("; aborted (%s) after %s", r->aborts > 1 ? "more than once" : "ABORT_TASK",
            secs(r->abort_after, a, sizeof(a)));
    if (r->resets) ADD("; %d reset%s", r->resets, r->resets > 1 ? "s" : "");
    if (r->request_sense) ADD("; %d REQUEST SENSE", r->request_sense);
    int retries = r->attempts - 1;
    if (!retries) {
        ADD("; not retried");
    } else { /* retries */
        ADD("; %d retr%s", retries, retries > 1 ? "ies" : "y");
        if (r->min_gap == r->max_gap || retries == 1)
            ADD(" %s apart", secs(r->max_gap, a, sizeof(a)));
        else
            ADD(" %s-%s apart", secs(r->min_gap, a, sizeof(a)), secs(r->max_gap, b, sizeof(b)));
    }
    if (r->recovered)
        ADD("; recovered after %s", secs(r->duration, a, sizeof(a)));
    else if (retries)
        ADD("; gave up after %s", secs(r->duration, a, sizeof(a)));
    else
        ADD(": the error went up to the caller");
    for (int k = 0; k < RP_MEANWHILE && r->meanwhile_n[k]; k++)
        ADD("%s%s x%d", k ? ", " : "; meanwhile ", rp_name(t, r->meanwhile_op[k]),
            r->meanwhile_n[k]);
#undef ADD
}

void rp_reactions_print(FILE *f, const rp_trace *t, const rp_reactions *rs, size_t max,
                        const char *indent)
{
    char line[1024];
    for (size_t i = 0; i < rs->n && i < max; i++) {
        rp_reaction_text(t, &rs->r[i], line, sizeof(line));
        fprintf(f, "%s%s\n", indent, line);
    }
    if (rs->n > max) fprintf(f, "%s... and %zu more\n", indent, rs->n - max);
    if (rs->truncated)
        fprintf(f, "%s(the analysis stopped after %d faults)\n", indent, RP_EPISODES_MAX);
}
