/* The trace of a session: every command (as it left) and every TMR of its devices, kept
 * in memory for cursors and waiters, and written out as JSON lines. The rules layer hands
 * entries over (th_rules_set_trace_sink); each device's are recorded into its own memory
 * on the serving thread, and formatted and written out by a writer thread, in large
 * writes (trace_internal.h says how). */
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

/* path: the JSON-lines file (NULL: none), truncated; keep: entries kept in memory (0: the
 * default, SC_TRACE_KEEP). A kept entry is a fixed record of about 330 bytes (86 MB at the
 * default), allocated once (pages are touched as the ring fills); nothing is allocated per entry.
 * The lines' "t" is seconds since sc_trace_new. The file's first line is a header,
 * {"header":{"tcmu_harness_version":..,"kernel_release":..,"kernel_package":..}}; readers
 * skip it (it has no "device"). */
#define SC_TRACE_KEEP 262144
/* A TMR's ids kept in memory (the file has them all); read adds "ids_total" beyond. Op
 * names are kept to 39 characters (the filter's op holds no more; the file has them whole);
 * the CDB to 32 bytes, as in the file. */
#define SC_TRACE_IDS 16
int sc_trace_new(const char *path, size_t keep, sc_trace **out, char *err, size_t cap);
/* Writes every entry recorded so far (and merged: all of those whose devices are idle)
 * into the file, and returns once it is there; 0, or the first write error (-errno),
 * which is also reported on stderr once. The writer thread does this on its own within
 * about 50 ms of a command; sc_trace_free does it a last time. 0 without a file. */
int sc_trace_flush(sc_trace *t);
/* Frees t, after the last entry reached the file. Nothing may be in a call on t, nor
 * call it, once this starts: it does not wait for them. A waiter must have returned, not
 * only been told to (set its stop, sc_trace_wake, join its thread): freed right after the
 * wake, the waiter wakes into freed memory. After sc_trace_hold, the first free only
 * flushes; the second frees. */
void sc_trace_free(sc_trace *t);
/* Keeps t in memory past the next sc_trace_free (a run's checks after its session is
 * closed). */
void sc_trace_hold(sc_trace *t);
/* Routes a device's trace here (each device its own memory for entries on their way);
 * sc_trace_attach(NULL, r) detaches (before the rules are freed), once r's entries are
 * merged. Once it returns, r's previous sink is not running. Every rules attached must
 * be detached (or freed) before sc_trace_free; one thread at a time attaches a given
 * rules. 0, or -ENOMEM (r is then detached). */
int sc_trace_attach(sc_trace *t, th_rules *r);
/* How often a device's memory was full and its serving thread waited for the writer. */
uint64_t sc_trace_stalls(sc_trace *t);
/* When the trace began (CLOCK_MONOTONIC seconds, sc_now's clock): its lines' "t" count
 * from here. */
double sc_trace_t0(const sc_trace *t);
/* The index the next entry will get (entries are numbered from 0 for the session). */
uint64_t sc_trace_cursor(sc_trace *t);
/* The index of the oldest entry still kept (cursor - keep once the ring wrapped). */
uint64_t sc_trace_oldest(sc_trace *t);
/* The message for -ERANGE from read or wait at `from`, for the caller to report:
 * "trace entry 5 is no longer kept: the oldest is 1000 (the trace keeps 1000 entries)". */
void sc_trace_range_msg(sc_trace *t, uint64_t from, char *err, size_t cap);
/* Entries from index `from` (at most max; 0: all there are) as JSON lines, each with its
 * "seq" first ({"seq":7,"t":...}), in a malloc'd string ("" when none); *next: where to
 * continue. A `from` beyond the cursor reads nothing (next = from). -ERANGE if `from` is
 * older than the oldest kept entry (sc_trace_range_msg); if the ring overtakes a read
 * under way, it returns what it had and the next read gets -ERANGE. -ENOMEM. */
int sc_trace_read(sc_trace *t, uint64_t from, size_t max, char **lines, uint64_t *next);
/* Blocks until `count` entries at index >= from match f (NULL: any command), those kept
 * and those still to come: 0 (at once if they are there; count <= 0 too). Otherwise
 * timeout_ms passes (-ETIMEDOUT; < 0: no timeout) or *stop is nonzero (-EINTR; stop may
 * be NULL; read atomically, set it and call sc_trace_wake). -ERANGE if `from` is older
 * than the oldest kept entry, or the ring overtook entries the wait had not looked at.
 * *matched: how many matched; *next: the index after the last one that counted (from,
 * if none), so a second wait can continue from there. */
int sc_trace_wait(sc_trace *t, const sc_trace_filter *f, uint64_t from, long count, int timeout_ms,
                  volatile const int *stop, long *matched, uint64_t *next);
/* Wakes every waiter to look at its stop flag. */
void sc_trace_wake(sc_trace *t);

/* expect_trace: counts the entries from now on that match each of n filters (copied)
 * into count[i] (from 0), and the index of the first into first[i] (UINT64_MAX: none),
 * as they merge, whether or not the ring keeps them. The arrays are the caller's and must
 * outlive t; they are final once sc_trace_free (or sc_trace_flush with every device
 * detached) returned. 0 or -ENOMEM. */
int sc_trace_tally(sc_trace *t, const sc_trace_filter *f, size_t n, long *count, uint64_t *first);
/* The last `max` (at most 10) kept lines naming a device ("" any), appended to out
 * (failure messages). */
void sc_trace_tail(sc_trace *t, const char *device, char *out, size_t cap, int max);
/* The kept entries into a new file at path (the header first; when older entries are no
 * longer kept, a line {"not_kept":{"entries":N}} after it says how many): a failed run
 * without --trace leaves this behind. 0 or -errno with err. */
int sc_trace_dump(sc_trace *t, const char *path, char *err, size_t cap);

#endif
