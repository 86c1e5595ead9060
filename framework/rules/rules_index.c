/* The response table's index: slots in table order by pointer (gapped order keys, so
 * an insert anywhere moves pointers, not rules, and order is a comparison of keys), per
 * opcode the rules without an LBA range and a tree of the ranges of the others, and a
 * name hash for remove. A command's candidates are what could match its opcode and
 * LBAs, merged back into table order: the caller evaluates them as a scan would. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "rules_internal.h"

#define KEY_STEP (1ull << 32) /* between keys appended at either end */

static int list_reserve(rule_list *l, size_t more)
{
    if (l->n + more <= l->cap) return 0;
    size_t c = l->cap ? l->cap : 8;
    while (c < l->n + more) c *= 2;
    rule_slot **p = realloc(l->v, c * sizeof(*p));
    if (!p) return -ENOMEM;
    l->v = p;
    l->cap = c;
    return 0;
}

/* The index of the first slot whose key is >= key. */
static size_t list_lower(const rule_list *l, uint64_t key)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->v[mid]->key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void list_insert_at(rule_list *l, size_t at, rule_slot *s)
{
    memmove(l->v + at + 1, l->v + at, (l->n - at) * sizeof(*l->v));
    l->v[at] = s;
    l->n++;
}

static void list_remove_at(rule_list *l, size_t at)
{
    memmove(l->v + at, l->v + at + 1, (l->n - at - 1) * sizeof(*l->v));
    l->n--;
}

/* Spreads the keys evenly again: a gap ran out (about 47 inserts into the same gap at
 * 100,000 rules, so it is rare and its O(n) is shared by them). */
static void renumber(rule_index *ix)
{
    uint64_t spacing = UINT64_MAX / (ix->order.n + 2);
    for (size_t i = 0; i < ix->order.n; i++) ix->order.v[i]->key = spacing * (i + 1);
}

/* A key between the neighbours of index at, renumbering when there is no room. */
static uint64_t key_for(rule_index *ix, size_t at)
{
    rule_list *o = &ix->order;
    for (int pass = 0;; pass++) {
        if (!o->n) return 1ull << 63;
        if (at == 0) {
            uint64_t first = o->v[0]->key;
            if (first) return first >= 2 * KEY_STEP ? first - KEY_STEP : first / 2;
        } else if (at == o->n) {
            uint64_t last = o->v[o->n - 1]->key, room = UINT64_MAX - last;
            if (room) return room >= 2 * KEY_STEP ? last + KEY_STEP : last + (room + 1) / 2;
        } else {
            uint64_t a = o->v[at - 1]->key, b = o->v[at]->key;
            if (b - a >= 2) return a + (b - a) / 2;
        }
        renumber(ix); /* after which every gap is >= 2 (fewer than 2^63 rules) */
        (void)pass;
    }
}

/* The treap: ordered by (lo, node address), a node's prio above its children's. */
static uint64_t max3(uint64_t a, const rule_node *l, const rule_node *r)
{
    if (l && l->maxhi > a) a = l->maxhi;
    if (r && r->maxhi > a) a = r->maxhi;
    return a;
}

static void fix(rule_node *t)
{
    t->maxhi = max3(t->hi, t->l, t->r);
}

static bool before(const rule_node *a, const rule_node *b)
{
    return a->lo < b->lo || (a->lo == b->lo && (uintptr_t)a < (uintptr_t)b);
}

/* Splits t into the nodes before n (*l) and the rest (*r). */
static void split(rule_node *t, const rule_node *n, rule_node **l, rule_node **r)
{
    if (!t) {
        *l = *r = NULL;
    } else if (before(t, n)) {
        split(t->r, n, &t->r, r);
        *l = t;
        fix(t);
    } else {
        split(t->l, n, l, &t->l);
        *r = t;
        fix(t);
    }
}

/* Joins a and b, every node of a before every node of b. */
static rule_node *merge(rule_node *a, rule_node *b)
{
    if (!a) return b;
    if (!b) return a;
    if (a->prio > b->prio) {
        a->r = merge(a->r, b);
        fix(a);
        return a;
    }
    b->l = merge(a, b->l);
    fix(b);
    return b;
}

static rule_node *tree_insert(rule_node *t, rule_node *n)
{
    if (!t) return n;
    if (n->prio > t->prio) {
        split(t, n, &n->l, &n->r);
        fix(n);
        return n;
    }
    if (before(n, t))
        t->l = tree_insert(t->l, n);
    else
        t->r = tree_insert(t->r, n);
    fix(t);
    return t;
}

static rule_node *tree_erase(rule_node *t, const rule_node *n)
{
    if (!t) return NULL;
    if (t == n) return merge(t->l, t->r);
    if (before(n, t))
        t->l = tree_erase(t->l, n);
    else
        t->r = tree_erase(t->r, n);
    fix(t);
    return t;
}

/* Every node overlapping [first, last] onto ix->hits (unsorted). -ENOMEM: no room. */
static int collect(rule_index *ix, const rule_node *t, uint64_t first, uint64_t last)
{
    while (t) {
        if (t->maxhi < first) return 0; /* nothing in this subtree reaches first */
        if (collect(ix, t->l, first, last)) return -ENOMEM;
        if (t->lo > last) return 0; /* nor does anything to the right start in time */
        if (t->hi >= first) {
            if (list_reserve(&ix->hits, 1)) return -ENOMEM;
            ix->hits.v[ix->hits.n++] = t->s;
        }
        t = t->r;
    }
    return 0;
}

static int by_key(const void *a, const void *b)
{
    uint64_t x = (*(rule_slot *const *)a)->key, y = (*(rule_slot *const *)b)->key;
    return x < y ? -1 : x > y;
}

/* Sorts the hits into table order, each slot once (a command may overlap several
 * ranges of one rule). */
static void hits_sort(rule_list *h)
{
    if (h->n > 16) {
        qsort(h->v, h->n, sizeof(*h->v), by_key);
    } else {
        for (size_t i = 1; i < h->n; i++) {
            rule_slot *s = h->v[i];
            size_t j = i;
            for (; j && h->v[j - 1]->key > s->key; j--) h->v[j] = h->v[j - 1];
            h->v[j] = s;
        }
    }
    size_t w = 0;
    for (size_t i = 0; i < h->n; i++)
        if (!w || h->v[w - 1] != h->v[i]) h->v[w++] = h->v[i];
    h->n = w;
}

int th_rix_begin(rule_index *ix, uint8_t op, bool has_lba, uint64_t first, uint64_t last,
                 rix_iter *it)
{
    const rule_bucket *mine = &ix->b[op], *any = &ix->b[RIX_ANY_OP];
    ix->hits.n = 0;
    /* Without an LBA no range rule can match (static_match says the same). */
    if (has_lba && (collect(ix, mine->tree, first, last) || collect(ix, any->tree, first, last)))
        return -ENOMEM;
    hits_sort(&ix->hits);
    it->v[0] = mine->any.v, it->n[0] = mine->any.n;
    it->v[1] = any->any.v, it->n[1] = any->any.n;
    it->v[2] = ix->hits.v, it->n[2] = ix->hits.n;
    it->i[0] = it->i[1] = it->i[2] = 0;
    return 0;
}

static size_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return (size_t)h;
}

/* Doubles the hash when it is full; a failure only makes the chains longer. */
static void hash_grow(rule_index *ix)
{
    if (ix->order.n < ix->hcap) return;
    size_t cap = ix->hcap ? ix->hcap * 2 : 64;
    rule_slot **h = calloc(cap, sizeof(*h));
    if (!h) return;
    for (size_t i = 0; i < ix->hcap; i++)
        for (rule_slot *s = ix->hash[i], *next; s; s = next) {
            next = s->hnext;
            size_t k = name_hash(s->r.name) & (cap - 1);
            s->hnext = h[k];
            h[k] = s;
        }
    free(ix->hash);
    ix->hash = h;
    ix->hcap = cap;
}

#define CHUNK_NODES 1024

struct node_chunk {
    node_chunk *next;
    rule_node n[CHUNK_NODES];
};

static rule_node *node_alloc(rule_index *ix)
{
    if (!ix->free_nodes) {
        node_chunk *c = malloc(sizeof(*c));
        if (!c) return NULL;
        c->next = ix->chunks;
        ix->chunks = c;
        for (size_t i = CHUNK_NODES; i--;) { /* handed out in address order */
            c->n[i].l = ix->free_nodes;
            ix->free_nodes = &c->n[i];
        }
    }
    rule_node *n = ix->free_nodes;
    ix->free_nodes = n->l;
    memset(n, 0, sizeof(*n));
    return n;
}

/* A slot's nodes: one from the chunks, a range list's as one array of its own. */
static void nodes_free(rule_index *ix, rule_slot *s)
{
    if (s->nodes && s->n_nodes == 1 && !s->r.match.ranges_set) {
        s->nodes->l = ix->free_nodes;
        ix->free_nodes = s->nodes;
    } else {
        free(s->nodes);
    }
    s->nodes = NULL;
}

static uint32_t next_prio(rule_index *ix)
{
    uint64_t x = ix->prio_seed ? ix->prio_seed : 0x2545f4914f6cdd1dull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ix->prio_seed = x;
    return (uint32_t)(x >> 32);
}

int th_rix_insert(rule_index *ix, rule_slot *s, size_t at)
{
    const th_rule_match *m = &s->r.match;
    /* An empty range list matches no command, as an opcode past 255 does. */
    bool never = m->op > 255 || (m->ranges_set && !m->n_ranges);
    s->bucket = never ? -1 : m->op < 0 ? RIX_ANY_OP : m->op;
    bool ranged = m->lba_set || m->ranges_set;
    s->n_nodes = !ranged || s->bucket < 0 ? 0 : m->ranges_set ? m->n_ranges : 1;
    if (s->n_nodes) {
        s->nodes = m->ranges_set ? calloc(s->n_nodes, sizeof(*s->nodes)) : node_alloc(ix);
        if (!s->nodes) return -ENOMEM;
    }
    rule_bucket *b = s->bucket >= 0 ? &ix->b[s->bucket] : NULL;
    if (list_reserve(&ix->order, 1) || (b && !ranged && list_reserve(&b->any, 1))) {
        nodes_free(ix, s);
        return -ENOMEM;
    }
    hash_grow(ix);
    if (!ix->hcap) {
        nodes_free(ix, s);
        return -ENOMEM;
    }
    s->key = key_for(ix, at);
    list_insert_at(&ix->order, at, s);
    size_t h = name_hash(s->r.name) & (ix->hcap - 1);
    s->hnext = ix->hash[h];
    ix->hash[h] = s;
    if (!b) return 0; /* an opcode no CDB has: never a candidate */
    if (!ranged) {
        list_insert_at(&b->any, list_lower(&b->any, s->key), s);
        return 0;
    }
    for (size_t i = 0; i < s->n_nodes; i++) {
        rule_node *n = &s->nodes[i];
        n->lo = m->ranges_set ? m->ranges[i].first : m->lba_lo;
        n->hi = n->maxhi = m->ranges_set ? m->ranges[i].last : m->lba_hi;
        n->s = s;
        n->prio = next_prio(ix);
        b->tree = tree_insert(b->tree, n);
    }
    return 0;
}

static void slot_free(rule_index *ix, rule_slot *s)
{
    nodes_free(ix, s);
    free(s->ranges);
    free(s);
}

void th_rix_remove(rule_index *ix, size_t at)
{
    rule_slot *s = ix->order.v[at];
    list_remove_at(&ix->order, at);
    rule_slot **pp = &ix->hash[name_hash(s->r.name) & (ix->hcap - 1)];
    while (*pp != s) pp = &(*pp)->hnext;
    *pp = s->hnext;
    if (s->bucket >= 0) {
        rule_bucket *b = &ix->b[s->bucket];
        if (s->n_nodes)
            for (size_t i = 0; i < s->n_nodes; i++) b->tree = tree_erase(b->tree, &s->nodes[i]);
        else
            list_remove_at(&b->any, list_lower(&b->any, s->key));
    }
    slot_free(ix, s);
}

rule_slot *th_rix_find_name(const rule_index *ix, const char *name, size_t *at)
{
    if (!ix->hcap) return NULL;
    rule_slot *best = NULL;
    for (rule_slot *s = ix->hash[name_hash(name) & (ix->hcap - 1)]; s; s = s->hnext)
        if (!strcmp(s->r.name, name) && (!best || s->key < best->key)) best = s;
    if (best) *at = list_lower(&ix->order, best->key);
    return best;
}

void th_rix_clear(rule_index *ix)
{
    for (size_t i = 0; i < ix->order.n; i++) slot_free(ix, ix->order.v[i]);
    ix->order.n = 0;
    for (int k = 0; k < RIX_BUCKETS; k++) {
        ix->b[k].any.n = 0;
        ix->b[k].tree = NULL;
    }
    if (ix->hash) memset(ix->hash, 0, ix->hcap * sizeof(*ix->hash));
}

void th_rix_free(rule_index *ix)
{
    th_rix_clear(ix);
    free(ix->order.v);
    for (int k = 0; k < RIX_BUCKETS; k++) free(ix->b[k].any.v);
    free(ix->hash);
    free(ix->hits.v);
    for (node_chunk *c = ix->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    memset(ix, 0, sizeof(*ix));
}
