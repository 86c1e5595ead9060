/* The producer side of a command, for whatever feeds handlers (the kernel ring, the
 * device server, fake commands): fill a command in, be told when it is answered and
 * read the response back out, without knowing struct th_cmd. */
#ifndef TH_CMD_SOURCE_H
#define TH_CMD_SOURCE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "th/cmd.h"

/* Where a command goes when it is answered (th_cmd_complete or the handler's return). */
typedef void (*th_cmd_done_fn)(th_cmd *cmd);

/* A zeroed, reset command; NULL when out of memory. */
th_cmd *th_cmd_alloc(void);
/* Frees the command and its iovec array (not the memory the iovecs point at). */
void th_cmd_free(th_cmd *cmd);
/* Resets the response slots and flags; keeps the iovec array allocation. */
void th_cmd_reset(th_cmd *cmd);

/* Copies the CDB in; -EINVAL above TH_CDB_MAX. len 0 leaves no CDB (a failed entry). */
int th_cmd_set_cdb(th_cmd *cmd, const uint8_t *cdb, size_t len);
void th_cmd_set_id(th_cmd *cmd, uint16_t id);
/* Grows the iovec array to hold n iovecs; -ENOMEM. */
int th_cmd_reserve_iov(th_cmd *cmd, uint32_t n);
/* Sets iovec i (below what was reserved). */
void th_cmd_set_iov(th_cmd *cmd, uint32_t i, void *base, size_t len);
/* The iovec array itself, *cap iovecs long, for a source that fills it in place
 * (then th_cmd_set_data_dirs); valid until the next th_cmd_reserve_iov. */
struct iovec *th_cmd_iovecs(th_cmd *cmd, uint32_t *cap);
/* Data-out is iov[0..out_cnt), data-in iov[in_first..in_first+in_cnt): the same
 * iovecs except for BIDI commands. Sums the lengths; call after the iovecs are set. */
void th_cmd_set_data_dirs(th_cmd *cmd, uint32_t out_cnt, uint32_t in_first, uint32_t in_cnt);
/* Drops all data (a command failed before its data could be trusted). */
void th_cmd_clear_data(th_cmd *cmd);

/* fn runs once the command is answered; owner and user are handed back through
 * th_cmd_owner() and (to handlers) th_cmd_user(). */
void th_cmd_set_done(th_cmd *cmd, th_cmd_done_fn fn, void *owner, void *user);
void *th_cmd_owner(const th_cmd *cmd);
/* One intrusive link for the source's own lists (queue, free list); NULL after
 * every reset. */
th_cmd *th_cmd_link(const th_cmd *cmd);
void th_cmd_set_link(th_cmd *cmd, th_cmd *next);

/* Takes the right to complete cmd; false if another thread has it already. */
bool th_cmd_claim(th_cmd *cmd);
/* Answers a claimed command: observer, then done_fn (HARDWARE ERROR if unanswered). */
void th_cmd_finish(th_cmd *cmd);
/* Marks it aborted (a TMR listed its id); handlers see th_cmd_is_aborted(). */
void th_cmd_set_aborted(th_cmd *cmd);
/* At close, for a command still in flight: asks the handler that deferred it to give
 * it back (th_cmd_set_revoke). True: nobody holds it any more, and the source may
 * claim and answer it; false: the holder is completing it itself. Call only once no
 * handler can still be registering (the handler threads are joined). */
bool th_cmd_revoke(th_cmd *cmd);

/* Extra ring flags for the completion (TCMU_UFLAG_UNKNOWN_OP). */
void th_cmd_set_uflags(th_cmd *cmd, uint8_t uflags);

/* The response as a completion writes it back. */
typedef struct th_cmd_response {
    uint16_t id;
    uint8_t status;
    uint8_t uflags;
    bool data_in_set;   /* the handler declared a data-in length */
    size_t data_in_len; /* valid data-in bytes when data_in_set */
    size_t data_in_cap; /* the data-in the command asked for */
    const uint8_t *sense;
    size_t sense_len;
} th_cmd_response;
void th_cmd_get_response(const th_cmd *cmd, th_cmd_response *rsp);

#endif
