#ifndef TH_DISK_INTERNAL_H
#define TH_DISK_INTERNAL_H
#include <pthread.h>
#include <stdatomic.h>
#include "inquiry.h"
#include "optable.h"
#include "th/disk.h"

struct th_disk {
    th_backend *be;
    uint32_t block_size;
    _Atomic uint64_t blocks;
    th_identity id;
    bool read_only;
    atomic_bool wce;
    atomic_bool stopped;
    atomic_int prevent;
    pthread_mutex_t lock; /* COMPARE AND WRITE and MODE SELECT */
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

/* Range check; answers LBA OUT OF RANGE and returns false when [lba, lba+n) is outside. */
bool th_disk_range_ok(th_disk *d, th_cmd *cmd, uint64_t lba, uint64_t n);
/* Answers a backend error as MEDIUM ERROR. */
void th_disk_io_error(th_cmd *cmd, bool write, uint64_t lba);

#endif
