#ifndef TH_DISK_INTERNAL_H
#define TH_DISK_INTERNAL_H
#include <pthread.h>
#include <stdatomic.h>
#include "inquiry.h"
#include "optable.h"
#include "th/disk.h"

/* Block Limits VPD values; each is enforced where its command is handled. */
#define TH_DISK_MAX_CAW_BLOCKS   128u
#define TH_DISK_MAX_WS_BLOCKS    0xffffu /* what LIO's own backstores report */
#define TH_DISK_MAX_UNMAP_BLOCKS 0x100000u
#define TH_DISK_MAX_UNMAP_DESCS  64u

/* Bounce buffers for the handlers that cannot work in place (compare, OR, copy, scan). */
#define TH_DISK_CHUNK (1u << 20)

struct th_disk {
    th_backend *be;
    uint32_t block_size;
    _Atomic uint64_t blocks;
    th_identity id;
    bool read_only;
    uint32_t max_transfer_bytes;
    atomic_bool wce;
    atomic_bool stopped;
    atomic_int prevent;
    pthread_mutex_t lock;     /* MODE SELECT, EXTENDED COPY */
    pthread_rwlock_t io_lock; /* media commands shared, TH_OPF_EXCL ones exclusive */
};

extern const th_optable th_disk_optable;

/* Command handlers, one per table row family. */
void th_disk_tur(void *d, th_cmd *cmd);
void th_disk_request_sense(void *d, th_cmd *cmd);
void th_disk_inquiry(void *d, th_cmd *cmd);
void th_disk_read_capacity10(void *d, th_cmd *cmd);
void th_disk_read_capacity16(void *d, th_cmd *cmd);
void th_disk_start_stop(void *d, th_cmd *cmd);
void th_disk_prevent_allow(void *d, th_cmd *cmd);
void th_disk_report_opcodes(void *d, th_cmd *cmd);
void th_disk_mode_sense(void *d, th_cmd *cmd);
void th_disk_mode_select(void *d, th_cmd *cmd);
void th_disk_read(void *d, th_cmd *cmd);
void th_disk_write(void *d, th_cmd *cmd);
void th_disk_verify(void *d, th_cmd *cmd);
void th_disk_write_verify(void *d, th_cmd *cmd);
void th_disk_sync_cache(void *d, th_cmd *cmd);
void th_disk_write_same(void *d, th_cmd *cmd);
void th_disk_unmap(void *d, th_cmd *cmd);
void th_disk_compare_and_write(void *d, th_cmd *cmd);
void th_disk_orwrite(void *d, th_cmd *cmd);
void th_disk_write_atomic(void *d, th_cmd *cmd);
void th_disk_prefetch(void *d, th_cmd *cmd);
void th_disk_read_defect_data(void *d, th_cmd *cmd);
void th_disk_get_lba_status(void *d, th_cmd *cmd);
void th_disk_xcopy(void *d, th_cmd *cmd);
void th_disk_receive_copy_results(void *d, th_cmd *cmd);

/* WRITE ATOMIC runs with io_lock held exclusively, so any length a command can carry
 * is atomic: the maximum transfer length (WRITE ATOMIC's length field is 16 bits). */
static inline uint32_t th_disk_max_atomic(const th_disk *d)
{
    uint32_t n = d->max_transfer_bytes ? d->max_transfer_bytes / d->block_size : 0xffffu;
    return n > 0xffffu ? 0xffffu : n;
}

/* Range check; answers LBA OUT OF RANGE and returns false when [lba, lba+n) is outside. */
bool th_disk_range_ok(th_disk *d, th_cmd *cmd, uint64_t lba, uint64_t n);
/* Answers a backend error as MEDIUM ERROR. */
void th_disk_io_error(th_cmd *cmd, bool write, uint64_t lba);

#endif
