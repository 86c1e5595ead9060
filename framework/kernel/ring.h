/* The TCMU command ring: reading entries the kernel queued, writing completions. */
#ifndef TH_RING_H
#define TH_RING_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct th_ring {
    uint8_t *map;
    size_t map_size;
    struct tcmu_mailbox *mb;
    uint8_t *cmdr;
    uint32_t cmdr_off;
    uint32_t cmdr_size;
    size_t data_off;
    uint16_t flags;
    uint32_t seen; /* next entry to read */
    uint32_t tail; /* next entry to complete into */
    pthread_mutex_t lock;
    int fd;
    atomic_bool broken; /* set once; err is written before it */
    const char *bad;    /* why the last TH_ENTRY_BAD_CMD was bad (reader thread only) */
    char err[256];
} th_ring;

typedef enum {
    TH_ENTRY_NONE,     /* nothing new */
    TH_ENTRY_CMD,      /* cmd holds id, CDB and iovecs */
    TH_ENTRY_BAD_CMD,  /* cmd->id is set; the entry is malformed (bad says how): fail it */
    TH_ENTRY_UNKNOWN,  /* cmd->id is set; an entry op we do not know */
    TH_ENTRY_TMR,      /* tmr holds the type and ids */
    TH_ENTRY_BROKEN,   /* the ring itself is corrupt: stop reading; err says why */
    TH_ENTRY_NEED_IOV, /* cmd->iov_need iovecs do not fit in cmd->iov_cap: nothing was
                        * consumed; grow the array and call again */
} th_entry_kind;

/* The longest CDB the ring hands out (the model's TH_CDB_MAX: asserted where the two
 * meet). */
#define TH_RING_CDB_MAX 260
/* The status after which the response carries sense (SAM CHECK CONDITION). */
#define TH_RING_STATUS_CHECK_CONDITION 0x02

/* A command entry as read: everything copied out of shared memory and checked. The
 * caller provides the iovec array (iov, iov_cap); the iovecs point into the mapping. */
typedef struct th_ring_cmd {
    struct iovec *iov; /* in: room for iov_cap iovecs (NULL if 0) */
    uint32_t iov_cap;  /* in */
    bool no_grow;      /* in: the array cannot grow; more iovecs fail the entry instead */
    uint32_t iov_need; /* out (TH_ENTRY_NEED_IOV): how many iovecs the entry has */
    uint16_t id;
    uint16_t cdb_len; /* 0 for a failed entry */
    uint8_t cdb[TH_RING_CDB_MAX];
    /* Data-out iov[0..out_cnt), data-in iov[in_first..in_first+in_cnt): the same
     * iovecs but for BIDI commands. All 0 for a failed entry. */
    uint32_t out_cnt, in_first, in_cnt;
} th_ring_cmd;

/* A completion, as th_ring_complete writes it into the entry at the tail. */
typedef struct th_ring_response {
    uint16_t id;
    uint8_t status;
    uint8_t uflags;     /* extra entry flags (TCMU_UFLAG_UNKNOWN_OP) */
    bool data_in_set;   /* the handler declared a data-in length */
    size_t data_in_len; /* valid data-in bytes when data_in_set */
    size_t data_in_cap; /* the data-in the command asked for */
    const uint8_t *sense;
    size_t sense_len;
} th_ring_response;

/* Ids are 16 bits and the kernel lists every command a TMR affects, with no cap. */
#define TH_TMR_IDS_MAX 65536
typedef struct th_ring_tmr {
    uint8_t type;
    uint32_t n;
    uint16_t ids[TH_TMR_IDS_MAX];
} th_ring_tmr;

/* Checks the mailbox (version 2, offsets inside the mapping). */
int th_ring_init(th_ring *r, void *map, size_t size, int fd);
void th_ring_destroy(th_ring *r);
/* Reads the next entry into cmd (commands) or tmr (TMRs). */
th_entry_kind th_ring_next(th_ring *r, th_ring_cmd *cmd, th_ring_tmr *tmr);
/* Writes the response into the entry at the tail; safe from any thread. An entry
 * the kernel changed after it was read breaks the ring instead (nothing is written). */
void th_ring_complete(th_ring *r, const th_ring_response *rsp);
void th_ring_kick(th_ring *r);
/* Declares the ring broken (the first reason is kept): for misbehaviour only the reader
 * can see, such as an id reused while its command is in flight. */
void th_ring_set_broken(th_ring *r, const char *what, uint32_t value);

#endif
