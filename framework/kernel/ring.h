/* The TCMU command ring: reading entries the kernel queued, writing completions. */
#ifndef TH_RING_H
#define TH_RING_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "th/cmd.h"

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
    TH_ENTRY_NONE,    /* nothing new */
    TH_ENTRY_CMD,     /* cmd holds CDB and iovecs */
    TH_ENTRY_BAD_CMD, /* cmd->id is set; the entry is malformed (err says how): fail it */
    TH_ENTRY_UNKNOWN, /* cmd->id is set; an entry op we do not know */
    TH_ENTRY_TMR,     /* tmr holds the type and ids */
    TH_ENTRY_BROKEN,  /* the ring itself is corrupt: stop reading; err says why */
} th_entry_kind;

#define TH_TMR_IDS_MAX 1024
typedef struct th_ring_tmr {
    uint8_t type;
    uint32_t n;
    uint16_t ids[TH_TMR_IDS_MAX];
} th_ring_tmr;

/* Checks the mailbox (version 2, offsets inside the mapping). */
int th_ring_init(th_ring *r, void *map, size_t size, int fd);
void th_ring_destroy(th_ring *r);
th_entry_kind th_ring_next(th_ring *r, th_cmd *cmd, th_ring_tmr *tmr);
/* Writes cmd's response into the entry at the tail; safe from any thread. An entry
 * the kernel changed after it was read breaks the ring instead (nothing is written). */
void th_ring_complete(th_ring *r, const th_cmd *cmd);
void th_ring_kick(th_ring *r);

#endif
