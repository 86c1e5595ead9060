/* Response tables: per-device rules that match commands and answer with scripted
 * faults, wrapped around any handler (an emulation or your own). First match wins. */
#ifndef TH_RULES_H
#define TH_RULES_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "th/cdb.h"
#include "th/cmd.h"
#include "th/ctx.h"
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* Where INFORMATION comes from. */
typedef enum {
    TH_INFO_NONE,    /* not valid */
    TH_INFO_FIXED,   /* rule.action.sense.info */
    TH_INFO_LBA,     /* the command's first LBA */
    TH_INFO_RESIDUE, /* requested minus transferred, in the CDB's unit (th_cdb_decode):
                        blocks (whole ones) for a disk or a fixed-mode tape, bytes for a
                        variable-mode tape, bytes for commands without a length */
} th_info_from;

typedef enum { TH_SHORT_NONE, TH_SHORT_BYTES, TH_SHORT_BLOCKS, TH_SHORT_FRACTION } th_short_kind;

/* An inclusive range of LBAs (first <= last). */
typedef struct th_lba_range {
    uint64_t first, last;
} th_lba_range;

typedef struct th_rule_match {
    int op;       /* -1: any opcode */
    int sa;       /* -1: any service action */
    bool lba_set; /* the command's [lba, lba+blocks) overlaps [lba_lo, lba_hi]; a command
                     without an LBA (every tape command) never matches */
    uint64_t lba_lo, lba_hi;
    /* ranges_set, instead of lba_set: the command matches when it overlaps any range of
     * ranges[0..n_ranges) (a drive's defect list as one rule; an empty list matches
     * nothing). The caller owns the list: th_rules_add copies it (sorted, overlapping
     * and adjacent ranges merged). th_rules_get gives ranges NULL and n_ranges the count
     * of that merged copy, so a th_rule stays a plain copyable value that points at
     * nothing of the table's. */
    bool ranges_set;
    const th_lba_range *ranges;
    size_t n_ranges;
    bool len_set; /* transfer length (in the CDB's unit) in [len_lo, len_hi] */
    uint32_t len_lo, len_hi;
    uint8_t cdb[16], cdb_mask[16]; /* (cdb[i] & mask[i]) == bytes[i] for i < cdb_n */
    size_t cdb_n;
    uint64_t nth;       /* only the nth command that matches the rest (1-based); 0: any */
    uint64_t every;     /* only every nth */
    uint64_t after;     /* only after this many */
    double probability; /* 0 or 1: always; else chance per command, from seed */
    uint64_t seed;
    char state[32]; /* only while the device is in this state ("" any) */
} th_rule_match;

typedef struct th_rule_action {
    bool sense_set;
    th_sense sense;
    th_info_from info_from;
    int status; /* >= 0: status only (BUSY, TASK SET FULL, ...) */
    bool pass;  /* let the wrapped handler answer (then short/corrupt/sense apply) */
    th_short_kind short_kind;
    double short_value;
    uint32_t delay_ms; /* answer this much later */
    bool hang;         /* never answer (until aborted, then TASK ABORTED) */
    bool queue_ua;     /* queue ua_sense for the next command */
    th_sense ua_sense;
    uint32_t corrupt_bytes; /* flip this many data-in bytes (positions from the seed) */
    uint64_t corrupt_seed;
    char set_state[32];
} th_rule_action;

typedef struct th_rule {
    char name[64];
    th_rule_match match;
    th_rule_action action;
    uint64_t times;       /* 0: unlimited; then the rule is spent */
    char until_state[32]; /* inactive once the device was ever in this state */
    char after_state[32]; /* inactive until the device was in this state */
} th_rule;

void th_rule_init(th_rule *r); /* match anything, pass through */

typedef struct th_rules th_rules;

/* op_name: names opcodes for the trace (may be NULL). */
typedef const char *(*th_op_name_fn)(uint8_t op, uint16_t sa);

/* Fallible calls return a negative errno; with a ctx (may be NULL) th_ctx_errmsg(ctx)
 * then says what failed, for th_rules_new and for every later call on these rules. */
int th_rules_new(th_ctx *ctx, th_rules **out, const char *device, th_handler_fn inner,
                 void *inner_arg, uint32_t block_size, th_op_name_fn op_name);
/* A tape's current block size (0: variable mode), asked when a fixed-mode transfer is
 * turned into bytes or back; called on the thread answering a command, outside the
 * handler. */
typedef uint32_t (*th_block_size_fn)(void *arg);
/* The command set the rules decode CDBs by (TH_CDB_DISK unless told), and for a tape
 * where its block size comes from. Call before the rules see commands. */
void th_rules_set_kind(th_rules *r, th_cdb_kind kind, th_block_size_fn block_size, void *arg);
/* After the device that calls into these rules is closed (or never was opened). */
void th_rules_free(th_rules *r);
/* Appends (or inserts at index, -1 for the end); returns the rule's index or -errno.
 * The rule keeps an id for its life: the trace names it by the name it was added
 * with (or that id, if unnamed) even after other rules moved or removed it. -EINVAL
 * for lba_set together with ranges_set, or a range with first > last. Matching is indexed
 * (by opcode and LBA interval) with the outcome of a scan in table order: the first
 * rule that fires wins, and only the rules before it count the command as seen. */
int th_rules_add(th_rules *r, const th_rule *rule, int index);
/* Removes the first rule (in table order) of that name. */
int th_rules_remove(th_rules *r, const char *name);
void th_rules_clear(th_rules *r);
size_t th_rules_count(const th_rules *r);
/* How often rule i fired. */
uint64_t th_rules_fired(const th_rules *r, size_t i);
/* A copy of rule i and how often it fired; -ENOENT past the end. */
int th_rules_get(const th_rules *r, size_t i, th_rule *out, uint64_t *fired);
void th_rules_queue_ua(th_rules *r, const th_sense *ua);
int th_rules_set_state(th_rules *r, const char *state);
const char *th_rules_state(const th_rules *r, char *buf, size_t cap);
/* Called with the device's TMRs: hung commands listed there are answered TASK ABORTED. */
void th_rules_on_tmr(void *rules, uint8_t type, const uint16_t *ids, uint32_t n);
/* One traced event: a command as it left, or a TMR (is_tmr). Pointers are valid only
 * during the sink's call; copy what you keep. */
typedef struct th_trace_entry {
    uint64_t t_ns;      /* CLOCK_MONOTONIC (th_now_ns), as it left */
    uint64_t in_ns;     /* when the rules first saw it (0: unknown): the JSON's lat_us */
    const char *device; /* the rules' device name */
    bool is_tmr;
    /* A command. */
    uint16_t id;
    uint8_t op;
    uint16_t sa;
    const char *op_name; /* from the rules' op_name callback; NULL: unknown (JSON "0xC1") */
    const uint8_t *cdb;
    size_t cdb_len;
    bool has_lba; /* the op carries an LBA (th_cdb_decode) */
    uint64_t lba;
    uint32_t blocks;   /* the transfer length, in `unit` */
    th_xfer_unit unit; /* TH_XFER_NONE: no length (the JSON shows none) */
    uint8_t status;
    const uint8_t *sense; /* raw sense bytes (NULL: none) */
    size_t sense_len;
    bool sense_ok; /* sense decoded into `decoded` (the JSON shows it) */
    th_sense decoded;
    size_t data_in, buffer; /* data-in bytes returned, data-out buffer length */
    int rule_id;            /* the rule that answered; -1 none, -2 a queued unit attention */
    const char *rule_name;  /* its name, "unit_attention" for -2; NULL: none or unnamed */
    bool aborted;
    /* A TMR. */
    uint8_t tmr_type;
    const uint16_t *ids; /* the commands it names (n_ids of them) */
    uint32_t n_ids;
    uint32_t ids_total; /* how many it named: more than n_ids when a copy dropped some */
} th_trace_entry;

/* Receives every command and TMR of the rules, on the thread that answered it. */
typedef void (*th_trace_fn)(void *arg, const th_trace_entry *e);
/* Routes the trace to fn (NULL: none), replacing any sink or file. Once it returns, the
 * previous sink is not running and will not be called again. */
void th_rules_set_trace_sink(th_rules *r, th_trace_fn fn, void *arg);
/* Every command and TMR as JSON lines (NULL: none): a built-in sink writing
 * th_trace_entry_json lines, t relative to t0 (seconds). The caller keeps f open. */
void th_rules_set_trace(th_rules *r, FILE *f, double t0);
/* The trace's JSON line for e ("\n" included), t relative to t0 in seconds. Returns the
 * length it needs (as snprintf does): when that is >= cap, buf holds a truncated line. */
size_t th_trace_entry_json(const th_trace_entry *e, double t0, char *buf, size_t cap);
/* e's line shortened to fit buf (cap >= 2), for a sink that cannot allocate the long
 * one: a TMR keeps its first ids ("ids_total" says how many it named), a command shows
 * its op in hex and then its rule by id; whatever is left is cut, "\n" kept, so the next
 * entry still starts a line. Returns the length written (< cap). */
size_t th_trace_entry_json_fit(const th_trace_entry *e, double t0, char *buf, size_t cap);
/* Answers every delayed and hung command now (before closing the device). */
void th_rules_release_all(th_rules *r);

/* The handler: th_rules_handle(cmd, rules). */
int th_rules_handle(th_cmd *cmd, void *rules);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
