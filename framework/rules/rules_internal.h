#ifndef TH_RULES_INTERNAL_H
#define TH_RULES_INTERNAL_H
#include <pthread.h>
#include "../cmd/cmd_internal.h"
#include "th/rules.h"

typedef struct rule_slot {
    th_rule r;
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
    char device[65];
    th_handler_fn inner;
    void *inner_arg;
    uint32_t block_size;
    th_op_name_fn op_name;
    pthread_mutex_t lock;
    rule_slot *rules;
    size_t n, cap;
    char state[32];
    char seen_states[TH_STATES_MAX][32];
    int n_seen_states;
    th_sense ua[TH_UA_MAX];
    int n_ua;
    pending *pending;
    pthread_t timer;
    pthread_cond_t cond;
    bool timer_running;
    bool stopping;
    FILE *trace;
    double t0;
    pthread_mutex_t trace_lock;
};

uint64_t th_now_ns(void);
/* Starts the timer thread if needed and queues cmd; due_ns 0 means hung. */
int th_rules_defer(th_rules *r, th_cmd *cmd, uint64_t due_ns);
/* Trace observer for th_cmd (set on every command). */
void th_rules_trace_cmd(th_cmd *cmd, void *rules);
void th_rules_trace_tmr(th_rules *r, uint8_t type, const uint16_t *ids, uint32_t n);

#endif
