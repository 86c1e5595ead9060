/* A fake kernel: mailbox, command ring and data area in a memfd laid out exactly as
 * target_core_user does, for unit tests and microbenchmarks of the ring. It is not
 * evidence that anything works against the real kernel. */
#ifndef TH_FAKE_KERNEL_H
#define TH_FAKE_KERNEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef struct th_fake_kernel th_fake_kernel;

typedef struct th_fk_completion {
    uint16_t cmd_id;
    uint8_t status;
    uint8_t uflags;
    uint32_t read_len;
    uint8_t sense[96];
    uint8_t *data_in;    /* owned by the fake kernel until the next reap */
    size_t data_in_len;  /* after READ_LEN was applied */
    size_t transfer_len; /* what the command asked for */
} th_fk_completion;

/* flags: the mailbox capability bits to advertise (e.g. 0xf for all). */
int th_fk_new(th_fake_kernel **out, size_t cmdr_size, size_t data_size, uint16_t flags);
void th_fk_free(th_fake_kernel *fk);
/* Queues a command; data_out is copied into the data area. -ENOSPC when full. */
int th_fk_queue_cmd(th_fake_kernel *fk, const uint8_t *cdb, size_t cdb_len, const void *data_out,
                    size_t out_len, size_t data_in_len, uint16_t *id_out);
int th_fk_queue_tmr(th_fake_kernel *fk, uint8_t type, const uint16_t *ids, uint32_t n);
/* Queues raw entry bytes at the head (malformed-entry tests). */
int th_fk_queue_raw(th_fake_kernel *fk, const void *entry, size_t len);
/* Hand out the lowest free id (the real kernel reuses an id as soon as its completion
 * was reaped), instead of the next one after the last. */
void th_fk_reuse_ids(th_fake_kernel *fk, bool lowest);
/* Wakes the device (what the kernel does after queueing). */
int th_fk_notify(th_fake_kernel *fk);
/* Reaps completions as the kernel does; waits up to timeout_ms for at least one
 * (or for a kick). Returns the count, or -EPROTO if the ring is broken. */
int th_fk_reap(th_fake_kernel *fk, th_fk_completion *out, size_t max, int timeout_ms);
size_t th_fk_outstanding(const th_fake_kernel *fk);
uint64_t th_fk_kicks(const th_fake_kernel *fk);
const char *th_fk_errmsg(const th_fake_kernel *fk);
/* The mapping and the device-side fd (what /dev/uioN would be). Inaccessible pages
 * follow the mapping, so a read or write past its end faults at once. */
void th_fk_mapping(th_fake_kernel *fk, void **map, size_t *size, int *fd);
/* Offsets for tests that build raw entries. */
size_t th_fk_head(const th_fake_kernel *fk);
size_t th_fk_cmdr_size(const th_fake_kernel *fk);
size_t th_fk_cmdr_off(const th_fake_kernel *fk);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
