#ifndef TH_CMD_INTERNAL_H
#define TH_CMD_INTERNAL_H
#include <stdatomic.h>
#include "cmd_handler.h"
#include "cmd_source.h"
#include "th/cmd.h"

struct th_cmd {
    uint8_t cdb[TH_CDB_MAX];
    uint16_t cdb_len;
    uint16_t id;
    struct iovec *iov; /* data-out: iov[0..out_cnt), data-in: iov[in_first..in_first+in_cnt) */
    uint32_t iov_cap;
    uint32_t out_cnt;
    uint32_t in_first;
    uint32_t in_cnt;
    size_t out_len;
    size_t in_cap;

    uint8_t status;
    uint8_t uflags; /* extra flags for the ring (UNKNOWN_OP) */
    uint8_t sense_len;
    uint8_t sense[TH_SENSE_MAX];
    bool responded;
    bool data_in_set;
    size_t data_in_len;
    atomic_bool aborted;
    /* Completion is claimed once (th_cmd_claim); the claimer alone then answers and
     * hands the command back through done_fn. */
    atomic_bool done;
    /* Set by a fake command's done_fn, the completer's last touch: only then may the
     * test that polls th_fake_cmd_done() free it. */
    atomic_bool released;
    th_cmd_revoke_fn revoke; /* set by a holder that defers it; NULL: none registered */
    void *revoke_arg;

    th_cmd_done_fn done_fn;
    /* Sees the response just before it leaves (traces); reset for every command. */
    th_cmd_observer_fn observer;
    void *observer_arg;
    int rule;     /* which rule answered, -1 none */
    void *owner;  /* the server or fake command */
    void *user;   /* handed to handlers through th_cmd_user() */
    th_cmd *next; /* queue and free-list link */
    uint64_t arrived_ns;
    /* Fake commands keep their buffer here. */
    uint8_t *fake_buf;
    size_t fake_buf_len;
};

/* Sums iovec lengths into out_len/in_cap after the source filled them. */
void th_cmd_finish_iov(th_cmd *cmd);

#endif
