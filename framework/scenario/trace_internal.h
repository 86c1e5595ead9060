/* The trace store across its files (trace.c: recording, merging, readers; trace_out.c:
 * the writer thread, the JSON lines, tallies and tails).
 *
 * Where an entry goes: the serving thread copies it into its device's lane (a ring of
 * fixed slots, one per attached rules, filled under the rules' own trace lock) with a
 * session-wide index from one atomic counter; nothing else on that path: no formatting,
 * allocation, syscall or session lock. Mergers (the writer thread, and every reader before
 * it looks) move lane slots into the session's ring of kept records in index order, under
 * the session lock, formatting each line for the file into a buffer as they go; the writer
 * thread writes that buffer out in large writes. A lane that fills up (the writer fell
 * behind by LANE_SLOTS entries of one device) blocks its producer until the writer made
 * room: the trace loses nothing, a slow file slows the device down instead. */
#ifndef TH_SCENARIO_TRACE_INTERNAL_H
#define TH_SCENARIO_TRACE_INTERNAL_H
#include <pthread.h>
#include <stdatomic.h>
#include "trace.h"

/* What the JSON line and the filters need of one entry, copied; without its device
 * (its lane's, or the kept record's). */
typedef struct body {
    uint64_t t_ns, in_ns, lba;
    size_t data_in, buffer;
    th_sense decoded;
    int rule_id;
    uint32_t blocks, n_ids, ids_total;
    uint16_t id, sa;
    uint16_t ids[SC_TRACE_IDS];
    uint8_t op, status, tmr_type, cdb_len, unit;
    bool is_tmr, has_lba, sense_ok, aborted;
    uint8_t cdb[32];
    char op_name[40]; /* "" when the rules had no name: the JSON says 0xC1 */
    char rule[64];    /* "" none or unnamed */
} body;

/* A kept entry (what readers and waiters see). */
typedef struct rec {
    body b;
    char device[65];
} rec;

/* A lane's slot: the entry, its session index, and a TMR's whole id list when it names
 * more than SC_TRACE_IDS (malloc'd on the TMR's path, freed once its line is made). */
typedef struct slot {
    uint64_t seq;
    uint16_t *all_ids;
    uint32_t n_all;
    body b;
} slot;

/* Per device: enough for a burst while the writer sleeps; it is woken at half. */
#define LANE_SLOTS 512u
/* Entries merged at once can come this far apart in index (lanes of other devices fill
 * the gap): beyond it they wait in their lane for the next merge. */
#define WINDOW 4096u
/* The file's buffer: merging stops here until the writer thread has written it out. */
#define OUT_MAX (1u << 20)

typedef struct lane {
    sc_trace *t;
    th_rules *rules;
    char device[65];
    slot *ring;
    _Atomic uint64_t head; /* slots filled: by producers, serialized by the rules' lock */
    _Atomic uint64_t tail; /* slots merged: by mergers, under t->lock */
    uint64_t scan;         /* slots staged in t->win (under t->lock) */
    struct lane *next;
} lane;

typedef struct stage {
    lane *l;
    slot *s;
} stage;

/* expect_trace's counts, kept as entries merge (so they cover more than the kept ring). */
typedef struct tally {
    sc_trace_filter f;
    long *count;
    uint64_t *first;
} tally;

struct sc_trace {
    /* The kept ring, the lanes list, the staging window, the file's buffer, tallies. */
    pthread_mutex_t lock;
    rec *ring;
    size_t keep;
    uint64_t next;           /* entries merged; ring[i % keep] holds entry i */
    _Atomic uint64_t seq;    /* the index the next recorded entry gets */
    _Atomic int waiters;     /* in sc_trace_wait: producers wake them */
    _Atomic uint64_t gen;    /* bumped on every wake (waiters sleep while it stays) */
    _Atomic bool idle;       /* the writer sleeps without a timeout: the next entry wakes it */
    _Atomic uint64_t stalls; /* producers that found their lane full */
    lane *lanes;
    stage *win; /* WINDOW */
    tally *tallies;
    size_t n_tallies;
    char *out; /* formatted lines not yet handed to the writer */
    size_t out_len, out_cap;
    int refs;
    double t0;
    /* Waiters sleep on wcond; the writer on work, producers of a full lane on space. */
    pthread_mutex_t wlock;
    pthread_cond_t wcond, work, space;
    bool kick, stop;
    int space_waiters;
    /* The file, written by whoever holds flock (the writer thread, or sc_trace_flush),
     * from wbuf (swapped with out under t->lock). */
    pthread_mutex_t flock;
    char *wbuf;
    size_t wbuf_cap;
    int fd; /* -1: none */
    int write_err;
    char path[1024];
    pthread_t writer;
    bool writer_running;
};

/* Moves every published lane slot it can into the kept ring in index order (with t->lock
 * held); true if it moved any. */
bool sc_trace_merge_locked(sc_trace *t);
/* The kept record's entry (pointers into r; a TMR's n_all ids from all_ids if given). */
th_trace_entry sc_trace_entry_of(const rec *r, const uint16_t *all_ids, uint32_t n_all);
/* As expect_trace matches a line (f NULL: any command). */
bool sc_trace_matches(const sc_trace_filter *f, const rec *r);
/* trace_out.c: the line of a merged entry into t->out, and its tallies (t->lock held).
 * The merge stops before an entry while sc_trace_out_full. */
void sc_trace_out_entry(sc_trace *t, uint64_t seq, const rec *r, const slot *s);
bool sc_trace_out_full(const sc_trace *t);
/* The writer thread's body. */
void *sc_trace_writer(void *arg);
/* Wakes the writer thread for a round now. */
void sc_trace_kick(sc_trace *t);

#endif
