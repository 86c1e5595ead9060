#ifndef TH_RULES_INTERNAL_H
#define TH_RULES_INTERNAL_H
#include <pthread.h>
#include <stdatomic.h>
#include "../cmd/cmd_handler.h"
#include "../core/ctx_internal.h"
#include "th/rules.h"

typedef struct rule_slot rule_slot;

/* A node of an opcode's interval tree (a treap by lo, augmented with the subtree's
 * highest hi): one per LBA range of a rule. */
typedef struct rule_node {
    uint64_t lo, hi, maxhi;
    rule_slot *s;
    uint32_t prio;
    struct rule_node *l, *r;
} rule_node;

struct rule_slot {
    th_rule r;     /* r.match.ranges points at ranges */
    int id;        /* stable: assigned at add, never reused; commands remember it */
    uint64_t key;  /* table order: keys increase with the index (gapped, renumbered) */
    uint64_t seen; /* commands that matched the static part */
    uint64_t fired;
    uint64_t rng;
    th_lba_range *ranges; /* owned, sorted, merged (NULL: no range list) */
    int bucket;           /* opcode 0..255, RIX_ANY_OP for any, -1 never matches */
    rule_node *nodes;     /* its tree nodes (n_nodes), NULL for a rule without LBA */
    size_t n_nodes;
    rule_slot *hnext; /* the name hash's chain */
};

#define RIX_ANY_OP  256
#define RIX_BUCKETS 257

/* Slots in table order (keys increasing); pointers, so moving is 8 bytes a rule. */
typedef struct rule_list {
    rule_slot **v;
    size_t n, cap;
} rule_list;

/* The candidates of one opcode (or of any opcode): rules without an LBA range, which
 * every command of that opcode meets, and a tree of the LBA ranges of the others. */
typedef struct rule_bucket {
    rule_list any;
    rule_node *tree;
} rule_bucket;

/* Single-range rules' nodes come from chunks, so a tree of them is dense in memory (a
 * lookup touches a node per level; apart, each would be a cache miss). */
typedef struct node_chunk node_chunk;

typedef struct rule_index {
    rule_list order; /* the table */
    node_chunk *chunks;
    rule_node *free_nodes; /* linked through ->l */
    rule_bucket b[RIX_BUCKETS];
    rule_slot **hash; /* by name */
    size_t hcap;
    rule_list hits; /* a command's interval hits: kept to spare an allocation a command */
    uint64_t prio_seed;
} rule_index;

/* The candidates of a command, in table order: a merge of three sorted lists. */
typedef struct rix_iter {
    rule_slot **v[3];
    size_t n[3], i[3];
} rix_iter;

/* Inserts s (ranges, match and name set) at table index at (<= order.n): keys, buckets,
 * tree nodes, name. 0 or -ENOMEM with nothing changed. */
int th_rix_insert(rule_index *ix, rule_slot *s, size_t at);
/* Takes out the slot at table index at and frees it. */
void th_rix_remove(rule_index *ix, size_t at);
/* The first slot in table order named name (NULL: none), and its index. */
rule_slot *th_rix_find_name(const rule_index *ix, const char *name, size_t *at);
/* Frees every slot (the index stays usable, empty). */
void th_rix_clear(rule_index *ix);
void th_rix_free(rule_index *ix);
/* Starts an iteration over the candidates of a command with opcode op and, when has_lba,
 * blocks [first, last]: every slot that could match it, in table order, others left
 * out. -ENOMEM when the hits did not fit (then scan the table instead). */
int th_rix_begin(rule_index *ix, uint8_t op, bool has_lba, uint64_t first, uint64_t last,
                 rix_iter *it);
static inline rule_slot *th_rix_next(rix_iter *it)
{
    int best = -1;
    for (int k = 0; k < 3; k++)
        if (it->i[k] < it->n[k] &&
            (best < 0 || it->v[k][it->i[k]]->key < it->v[best][it->i[best]]->key))
            best = k;
    return best < 0 ? NULL : it->v[best][it->i[best]++];
}

/* A command answered later: delayed (due_ns) or hung (due_ns 0). */
typedef struct pending {
    th_cmd *cmd;
    uint64_t due_ns;
    struct pending *next;
} pending;

#define TH_UA_MAX 8

struct th_rules {
    th_ctx *ctx; /* where failures are described; may be NULL */
    char device[65];
    th_handler_fn inner;
    void *inner_arg;
    uint32_t block_size;
    th_cdb_kind kind;
    th_block_size_fn tape_block_size; /* a tape's current one (NULL: disk) */
    void *tape_block_size_arg;
    th_op_name_fn op_name;
    pthread_mutex_t lock;
    rule_index ix;
    /* Every name ever added, by rule id: a command delayed or hung under a rule is
     * traced with that rule's name even after the table moved or dropped it. */
    char (*names)[sizeof(((th_rule *)0)->name)];
    size_t n_names, cap_names;
    char state[32];
    /* Every state entered so far (after_state / until_state ask), as many as a scenario
     * names: no cap, or a state past it would silently never count as entered. */
    char (*seen_states)[32];
    int n_seen_states, cap_seen_states;
    th_sense ua[TH_UA_MAX];
    int n_ua;
    pending *pending;
    pthread_t timer;
    pthread_cond_t cond;
    bool timer_running;
    bool stopping; /* tells the timer thread to exit */
    int releasing; /* th_rules_release_all calls under way: deferrals answer at once */
    /* The sink: written under trace_lock, called with it held (so clearing it waits for
     * a call in flight); `tracing` mirrors trace_fn != NULL, read without the lock to
     * skip the work when nothing listens. */
    atomic_bool tracing;
    th_trace_fn trace_fn;
    void *trace_arg;
    FILE *trace_file; /* the built-in JSON-lines sink's (th_rules_set_trace) */
    double t0;
    pthread_mutex_t trace_lock;
};

uint64_t th_now_ns(void);
/* Starts the timer thread if needed and queues cmd; due_ns 0 means hung. Returns 0,
 * or nonzero when cmd must be answered at once instead: it is aborted, a release is
 * under way, or no memory or thread (see th_rules_handle). */
int th_rules_defer(th_rules *r, th_cmd *cmd, uint64_t due_ns);
/* The name rule id was added with ("" if none); call with r->lock held. */
const char *th_rules_name_locked(const th_rules *r, int id);
/* Trace observer for th_cmd (set on every command). */
void th_rules_trace_cmd(th_cmd *cmd, void *rules);
void th_rules_trace_tmr(th_rules *r, uint8_t type, const uint16_t *ids, uint32_t n);

#endif
