/* The initiator's reaction to each fault, from a trace: for every command a rule answered
 * with an error (a status other than GOOD, or aborted), what the initiator sent next for
 * the same LBA range (a disk's) or the same op (a command without an LBA: a tape's, TEST
 * UNIT READY): its retries and their intervals, REQUEST SENSE, aborts and resets, and
 * whether and when the I/O ended (recovered, or given up). docs/scenario-format.md,
 * "Reactions", defines each term; these definitions are the analysis. */
#ifndef TH_REPORT_REACTION_H
#define TH_REPORT_REACTION_H
#include <stdio.h>
#include "trace_read.h"

/* A retry starts within this long after the previous attempt ended (sd's retries are
 * immediate; BUSY's are delayed by the block layer's requeue, a few ms (16-20 ms in a TCG
 * guest), an aborted command's follows its abort at once; a later,
 * separate I/O of the same range, a user-space tool reading it again, is further apart). */
#define RP_RETRY_GAP_S 0.25
#define RP_MEANWHILE   3
/* Bounds on the work, for a hostile trace (times that never grow, a fault in every line):
 * an episode looks at most this many entries past its last attempt (and before its first),
 * and at most RP_EPISODES_MAX episodes are followed. */
#define RP_SCAN_MAX     4096
#define RP_EPISODES_MAX 100000

typedef struct rp_reaction {
    size_t fault;            /* the entry of the first faulted command */
    size_t last;             /* the entry of the last attempt */
    int attempts;            /* the first one included */
    int failed;              /* attempts the harness answered with an error */
    double min_gap, max_gap; /* between an attempt's end and the next's start, s */
    int request_sense;       /* REQUEST SENSE to the device during the episode */
    int aborts;              /* ABORT_TASK naming an attempt in flight */
    double abort_after;      /* the first abort, after its command's start (its timeout), s */
    int resets;              /* LUN, target or other resets during the episode */
    bool recovered;          /* the last attempt succeeded */
    double duration;         /* the first attempt's start to the last's end, s */
    /* Other ops the device got during the episode, the most frequent first. */
    uint16_t meanwhile_op[RP_MEANWHILE];
    int meanwhile_n[RP_MEANWHILE];
} rp_reaction;

typedef struct rp_reactions {
    rp_reaction *r;
    size_t n, cap;
    bool truncated; /* faults past RP_EPISODES_MAX were not followed */
} rp_reactions;

/* Every episode of t (in the order their first faults arrived); 0 or -ENOMEM. */
int rp_reactions_find(const rp_trace *t, rp_reactions *out);
/* The same with episodes cut where a retry came more than gap_s after the last attempt
 * (RP_RETRY_GAP_S above); gap_s < 0: never by time, an episode lasts until an attempt
 * succeeds (or RP_SCAN_MAX entries hold no further attempt): a golden trace's, which
 * leaves time out. */
int rp_reactions_find_gap(const rp_trace *t, double gap_s, rp_reactions *out);
void rp_reactions_free(rp_reactions *rs);
/* One line (no newline) for r: "d0 READ_10 lba 100+8 at 3.120 s: MEDIUM_ERROR 11/00 (rule
 * bad-sector); 5 retries 0.4-1.2 ms apart, all failed; gave up after 6.1 ms". */
void rp_reaction_text(const rp_trace *t, const rp_reaction *r, char *buf, size_t cap);
/* Every reaction's line (at most max; then "... and N more"), each indented by indent. */
void rp_reactions_print(FILE *f, const rp_trace *t, const rp_reactions *rs, size_t max,
                        const char *indent);

#endif
