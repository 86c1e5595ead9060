/* The trace of a session: every command (as it left) and every TMR of its devices, kept
 * in memory for cursors and waiters, and written out as JSON lines. The rules layer hands
 * entries over (th_rules_set_trace_sink); formatting happens here, once. */
#ifndef TH_SCENARIO_TRACE_H
#define TH_SCENARIO_TRACE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "th/rules.h"

typedef struct sc_trace sc_trace;

/* What a waiter or an expectation looks for; "" or -1 fields match anything. Without
 * tmr only commands match; with tmr only TMRs of that type (as expect_trace does). */
typedef struct sc_trace_filter {
    char device[65];
    char op[40];  /* the trace's name: READ_10, 0xC1 */
    char tmr[24]; /* ABORT_TASK, LUN_RESET, ... */
    int status;   /* -1 any */
    char rule[64];
    bool lba_set;
    uint64_t lba;
} sc_trace_filter;
void sc_trace_filter_init(sc_trace_filter *f);

/* path: the JSON-lines file (NULL: none); keep: entries kept in memory (0: a default). */
int sc_trace_new(const char *path, size_t keep, sc_trace **out, char *err, size_t cap);
void sc_trace_free(sc_trace *t);
/* Routes a device's trace here (and detaches with NULL before the rules are freed). */
void sc_trace_attach(sc_trace *t, th_rules *r);
/* The index the next entry will get (entries are numbered from 0 for the session). */
uint64_t sc_trace_cursor(sc_trace *t);
/* Entries from index `from` (at most max) as JSON lines, each with its "seq", in a malloc'd
 * string; *next: where to continue. -ERANGE if `from` is older than the oldest kept entry. */
int sc_trace_read(sc_trace *t, uint64_t from, size_t max, char **lines, uint64_t *next);
/* Blocks until `count` entries at index >= from match f, timeout_ms passes (-ETIMEDOUT)
 * or *stop becomes true (-EINTR; may be NULL). *matched: how many matched; *next: the
 * index after the last one that counted (so a second wait can continue from there). */
int sc_trace_wait(sc_trace *t, const sc_trace_filter *f, uint64_t from, long count,
                  int timeout_ms, volatile const int *stop, long *matched, uint64_t *next);
/* Wakes every waiter (a stop flag was set). */
void sc_trace_wake(sc_trace *t);

#endif
