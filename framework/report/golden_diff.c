/* Two golden traces compared (docs/scenario-format.md, "Golden traces"): per section, in
 * sequence mode an alignment of the lines (common ends, then a longest common subsequence
 * of the middle when it is small enough, else the middle as one change), in multiset mode
 * the count of each distinct line. Either way a readable, bounded unified-style text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "golden.h"

/* The LCS table of the middle of two sequences: at most this many cells (8 MB). */
#define LCS_CELLS (4u << 20)
#define CONTEXT   2

typedef struct cmp {
    rp_match mode;
    unsigned tol;
} cmp;

static bool near(uint64_t a, uint64_t b, unsigned tol)
{
    return (a > b ? a - b : b - a) <= tol;
}

/* The text outside the loose number (all of it without one). */
static bool same_text(const rp_gline *a, const rp_gline *b, bool skip_var)
{
    if (!skip_var || !a->var_len || !b->var_len) return !strcmp(a->text, b->text);
    return a->var_off == b->var_off && !memcmp(a->text, b->text, a->var_off) &&
           !strcmp(a->text + a->var_off + a->var_len, b->text + b->var_off + b->var_len);
}

/* A TMR's position must match in sequence mode (it follows from the order) and means
 * nothing in multiset mode; a reaction's attempts match within the tolerance. */
static bool same(const rp_gline *a, const rp_gline *b, const cmp *c)
{
    if (a->reaction) {
        if (!same_text(a, b, true)) return false;
        return !a->var_len || !b->var_len || near(a->var, b->var, c->tol);
    }
    if (!same_text(a, b, c->mode == RP_MATCH_MULTISET)) return false;
    return near(a->count, b->count, c->tol);
}

typedef struct out {
    FILE *f;
    size_t lines, more; /* printed; differences past the bound */
} out;

static void emit(out *o, char sign, const rp_gline *l, uint64_t count)
{
    if (o->lines >= RP_GOLDEN_DIFF_LINES) {
        if (sign != ' ') o->more++;
        return;
    }
    o->lines++;
    if (count > 1)
        fprintf(o->f, "%c%s x%llu\n", sign, l->text, (unsigned long long)count);
    else
        fprintf(o->f, "%c%s\n", sign, l->text);
}

static void head(out *o, const char *fmt, const char *section, unsigned a, unsigned b)
    __attribute__((format(printf, 2, 0)));
static void head(out *o, const char *fmt, const char *section, unsigned a, unsigned b)
{
    if (o->lines >= RP_GOLDEN_DIFF_LINES) return;
    o->lines++;
    fprintf(o->f, fmt, section, a, b);
}

typedef struct op {
    char sign; /* ' ', '-' (only the golden's), '+' (only this run's) */
    const rp_gline *l;
} op;

/* The edit script of want against got, common lines included. */
static int align(const rp_gline *const *a, size_t na, const rp_gline *const *b, size_t nb,
                 const cmp *c, op **script, size_t *n_script)
{
    op *s = malloc((na + nb + 1) * sizeof(*s));
    if (!s) return -ENOMEM;
    size_t n = 0, p = 0, q = 0;
    while (p < na && p < nb && same(a[p], b[p], c)) p++;
    while (q < na - p && q < nb - p && same(a[na - 1 - q], b[nb - 1 - q], c)) q++;
    for (size_t i = 0; i < p; i++) s[n++] = (op){' ', b[i]};
    size_t ma = na - p - q, mb = nb - p - q;
    const rp_gline *const *ma_ = a + p, *const *mb_ = b + p;
    uint16_t *t = NULL;
    if (ma && mb && (uint64_t)(ma + 1) * (mb + 1) <= LCS_CELLS) {
        t = calloc((ma + 1) * (mb + 1), sizeof(*t)); /* suffix LCS lengths; min(ma,mb) <= 2048 */
        if (!t) return free(s), -ENOMEM;
    }
    if (t) {
        size_t w = mb + 1;
        for (size_t i = ma; i-- > 0;)
            for (size_t j = mb; j-- > 0;)
                t[i * w + j] = same(ma_[i], mb_[j], c)
                                   ? (uint16_t)(t[(i + 1) * w + j + 1] + 1)
                                   : (t[(i + 1) * w + j] > t[i * w + j + 1] ? t[(i + 1) * w + j]
                                                                            : t[i * w + j + 1]);
        size_t i = 0, j = 0;
        while (i < ma || j < mb) {
            if (i < ma && j < mb && same(ma_[i], mb_[j], c))
                s[n++] = (op){' ', mb_[j]}, i++, j++;
            else if (i < ma && (j == mb || t[(i + 1) * w + j] >= t[i * w + j + 1]))
                s[n++] = (op){'-', ma_[i++]}; /* the golden's line first, as diff -u */
            else
                s[n++] = (op){'+', mb_[j++]};
        }
        free(t);
    } else { /* too big to align: the middle as one change */
        for (size_t i = 0; i < ma; i++) s[n++] = (op){'-', ma_[i]};
        for (size_t j = 0; j < mb; j++) s[n++] = (op){'+', mb_[j]};
    }
    for (size_t i = nb - q; i < nb; i++) s[n++] = (op){' ', b[i]};
    *script = s, *n_script = n;
    return 0;
}

static int sequence(out *o, const char *section, const rp_gline *const *a, size_t na,
                    const rp_gline *const *b, size_t nb, const cmp *c, bool *differs)
{
    op *s;
    size_t n;
    int rc = align(a, na, b, nb, c, &s, &n);
    if (rc) return rc;
    size_t ia = 0, ib = 0; /* lines of each side before script entry k */
    for (size_t k = 0; k < n;) {
        if (s[k].sign == ' ') {
            ia++, ib++, k++;
            continue;
        }
        *differs = true;
        /* a hunk: the changes from k on, with CONTEXT common lines around */
        size_t from = k, end = k;
        for (size_t common = 0; end < n && common <= 2 * CONTEXT; end++)
            common = s[end].sign == ' ' ? common + 1 : 0;
        while (end > k && s[end - 1].sign == ' ') end--;
        size_t ctx = from >= CONTEXT ? CONTEXT : from;
        const rp_gline *first_a = NULL;
        for (size_t q = from; q < end && !first_a; q++)
            if (s[q].sign == '-') first_a = s[q].l;
        head(o, "@@ %s: golden line %u, this run's line %u @@\n", section,
             first_a ? first_a->line_no : (ia < na ? a[ia]->line_no : 0),
             ib < nb ? b[ib]->line_no : 0);
        for (size_t q = from - ctx; q < from; q++) emit(o, ' ', s[q].l, s[q].l->count);
        for (size_t q = from; q < end; q++) {
            emit(o, s[q].sign, s[q].l, s[q].l->count);
            if (s[q].sign != '+') ia++;
            if (s[q].sign != '-') ib++;
        }
        size_t after = end;
        for (; after < n && after < end + CONTEXT && s[after].sign == ' '; after++)
            emit(o, ' ', s[after].l, s[after].l->count);
        ia += after - end, ib += after - end;
        k = after;
    }
    free(s);
    return 0;
}

/* Multiset: lines grouped by their text (a TMR's position left out), counts summed. */
typedef struct ent {
    const rp_gline *l;
    int side; /* 0 the golden's, 1 this run's */
    size_t order;
} ent;

static int key_cmp(const rp_gline *a, const rp_gline *b)
{
    /* the text with the loose number left out: compare the parts before and after it */
    size_t la = a->var_len ? a->var_off : strlen(a->text);
    size_t lb = b->var_len ? b->var_off : strlen(b->text);
    int r = memcmp(a->text, b->text, la < lb ? la : lb);
    if (r || la != lb) return r ? r : la < lb ? -1 : 1;
    const char *ta = a->var_len ? a->text + a->var_off + a->var_len : "";
    const char *tb = b->var_len ? b->text + b->var_off + b->var_len : "";
    if (!!a->var_len != !!b->var_len) return a->var_len ? 1 : -1;
    return strcmp(ta, tb);
}

static int ent_cmp(const void *pa, const void *pb)
{
    const ent *a = pa, *b = pb;
    int r = key_cmp(a->l, b->l);
    if (r) return r;
    if (a->l->var != b->l->var) return a->l->var < b->l->var ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

typedef struct change {
    size_t order;
    char sign;
    const rp_gline *l;
    uint64_t count;
} change;

static int change_cmp(const void *pa, const void *pb)
{
    const change *a = pa, *b = pb;
    if (a->order != b->order) return a->order < b->order ? -1 : 1;
    return a->sign == b->sign ? 0 : a->sign == '-' ? -1 : 1;
}

static int multiset(out *o, const char *section, const rp_gline *const *a, size_t na,
                    const rp_gline *const *b, size_t nb, const cmp *c, bool *differs)
{
    ent *e = malloc((na + nb + 1) * sizeof(*e));
    change *ch = malloc((na + nb + 1) * sizeof(*ch));
    if (!e || !ch) return free(e), free(ch), -ENOMEM;
    for (size_t i = 0; i < na; i++) e[i] = (ent){a[i], 0, i};
    for (size_t j = 0; j < nb; j++) e[na + j] = (ent){b[j], 1, na + j};
    qsort(e, na + nb, sizeof(*e), ent_cmp);
    size_t n_ch = 0;
    for (size_t g = 0, end; g < na + nb; g = end) {
        for (end = g + 1; end < na + nb && !key_cmp(e[g].l, e[end].l); end++) {
        }
        size_t first[2] = {SIZE_MAX, SIZE_MAX}, k[2] = {0, 0};
        const rp_gline *l[2] = {NULL, NULL};
        uint64_t sum[2] = {0, 0};
        for (size_t i = g; i < end; i++) {
            int sd = e[i].side;
            sum[sd] += e[i].l->count;
            if (e[i].order < first[sd]) first[sd] = e[i].order, l[sd] = e[i].l;
        }
        if (!e[g].l->reaction) {
            /* the tolerance is for retry counts: a line on one side only always differs */
            if (sum[0] && sum[1] && near(sum[0], sum[1], c->tol)) continue;
            size_t ord = first[0] != SIZE_MAX ? first[0] : first[1];
            if (l[0]) ch[n_ch++] = (change){ord, '-', l[0], sum[0]};
            if (l[1]) ch[n_ch++] = (change){ord, '+', l[1], sum[1]};
            continue;
        }
        /* reactions: paired in the order of their attempts, each pair within the tolerance */
        ent *side[2] = {NULL, NULL};
        size_t cnt[2] = {0, 0};
        for (size_t i = g; i < end; i++) cnt[e[i].side]++;
        side[0] = malloc((cnt[0] + 1) * sizeof(ent));
        side[1] = malloc((cnt[1] + 1) * sizeof(ent));
        if (!side[0] || !side[1]) return free(side[0]), free(side[1]), free(e), free(ch), -ENOMEM;
        for (size_t i = g; i < end; i++) side[e[i].side][k[e[i].side]++] = e[i];
        for (size_t i = 0; i < cnt[0] || i < cnt[1]; i++) {
            const ent *x = i < cnt[0] ? &side[0][i] : NULL, *y = i < cnt[1] ? &side[1][i] : NULL;
            if (x && y && near(x->l->var, y->l->var, c->tol)) continue;
            size_t ord = x ? x->order : y->order;
            if (x) ch[n_ch++] = (change){ord, '-', x->l, 1};
            if (y) ch[n_ch++] = (change){ord, '+', y->l, 1};
        }
        free(side[0]);
        free(side[1]);
    }
    if (n_ch) {
        *differs = true;
        qsort(ch, n_ch, sizeof(*ch), change_cmp);
        head(o, "@@ %s, in any order, tolerance %u @@\n", section, c->tol, 0);
        for (size_t i = 0; i < n_ch; i++) emit(o, ch[i].sign, ch[i].l, ch[i].count);
    }
    free(e);
    free(ch);
    return 0;
}

int rp_golden_compare(const rp_golden *want, const rp_golden *got, rp_match mode,
                      unsigned tolerance, const char *want_name, char **diff)
{
    *diff = NULL;
    cmp c = {mode, tolerance};
    const rp_gline **a = malloc((want->n + 1) * sizeof(*a));
    const rp_gline **b = malloc((got->n + 1) * sizeof(*b));
    char *text = NULL;
    size_t len = 0;
    FILE *f = a && b ? open_memstream(&text, &len) : NULL;
    if (!f) return free(a), free(b), -ENOMEM;
    out o = {.f = f};
    fprintf(f, "--- %s\n+++ this run\n", want_name);
    o.lines = 2;
    bool differs = false;
    int rc = 0;
    for (int sec = 0; sec < 2 && !rc; sec++) {
        size_t na = 0, nb = 0;
        for (size_t i = 0; i < want->n; i++)
            if (want->l[i].reaction == (sec == 1)) a[na++] = &want->l[i];
        for (size_t i = 0; i < got->n; i++)
            if (got->l[i].reaction == (sec == 1)) b[nb++] = &got->l[i];
        const char *name = sec ? "reactions" : "commands";
        rc = mode == RP_MATCH_SEQUENCE ? sequence(&o, name, a, na, b, nb, &c, &differs)
                                       : multiset(&o, name, a, na, b, nb, &c, &differs);
    }
    if (o.more) fprintf(f, "... %zu more differences\n", o.more);
    free(a);
    free(b);
    if (fclose(f) && !rc) rc = -ENOMEM;
    if (rc || !differs) {
        free(text);
        return rc;
    }
    *diff = text;
    return 1;
}
