/* The SBC disk emulation; its handler can be the device handler or a delegate. */
#ifndef TH_DISK_H
#define TH_DISK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "th/backend.h"
#include "th/cmd.h"
#include "th/wwn.h" /* th_wwn_from_name, the default identifier */
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef struct th_disk_config {
    uint32_t block_size;  /* 512 .. 65536, a power of two */
    uint64_t blocks;      /* 0: backend size / block size */
    const char *vendor;   /* 8 chars max */
    const char *product;  /* 16 */
    const char *revision; /* 4 */
    const char *serial;   /* VPD 80; NULL: from the WWN */
    uint64_t wwn;         /* NAA 3 designator in VPD 83 */
    bool read_only;
    bool write_cache; /* WCE in the caching page */
    /* MAXIMUM TRANSFER LENGTH in Block Limits, in bytes; 0: no limit. Default 8 MiB:
     * the kernel refuses (INVALID FIELD IN CDB) any command whose data does not fit in
     * the device's data area (th_device_config.max_data_area_mb, default 8). */
    uint32_t max_transfer_bytes;
} th_disk_config;

typedef struct th_disk th_disk;

void th_disk_config_init(th_disk_config *cfg);
/* Takes ownership of be on success only. Errors as in th/backend.h: -EINVAL with the
 * geometry that does not fit in err, or -ENOMEM. */
int th_disk_new(const th_disk_config *cfg, th_backend *be, th_disk **out, char *err, size_t errlen);
void th_disk_free(th_disk *disk);
/* The handler: th_disk_handle(cmd, disk). */
int th_disk_handle(th_cmd *cmd, void *disk);
uint64_t th_disk_blocks(const th_disk *disk);
/* Changes the reported capacity (the backend must be large enough). */
int th_disk_set_blocks(th_disk *disk, uint64_t blocks);
const char *th_disk_op_name(uint8_t opcode, uint16_t sa);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
