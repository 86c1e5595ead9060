#ifndef TH_RULES_INTERNAL_H
#define TH_RULES_INTERNAL_H
#include <pthread.h>
#include <stdatomic.h>
#include "../cmd/cmd_handler.h"
#include "../core/ctx_internal.h"
#include "th/rules.h"

typedef struct rule_slot {
    th_rule r;
    int id;        /* stable: assigned at add, never reused; commands remember it */
    uint64_t seen; /* commands that matched the static part */
    uint64_t fired;
    uint64_t rng;
} rule_slot;

/* A command answered later: delayed (due_ns) or hung (due_ns 0). */
typedef struct pending {
    th_cmd *cmd;
    uint64_t due_ns;
    struct pending *next;
} pending;

#define TH_UA_MAX     8
#define TH_STATES_MAX 32

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
    rule_slot *rules;
    size_t n, cap;
    /* Every name ever added, by rule id: a command delayed or hung under a rule is
     * traced with that rule's name even after the table moved or dropped it. */
    char (*names)[sizeof(((th_rule *)0)->name)];
    size_t n_names, cap_names;
    char state[32];
    char seen_states[TH_STATES_MAX][32];
    int n_seen_states;
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
