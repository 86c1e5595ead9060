/* CDB builders for the common commands; each fills buf (at least 16 bytes, 32 for
 * variable length) and returns the CDB length. */
#ifndef TH_CDB_H
#define TH_CDB_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* Decoding: which fields a CDB carries depends on the device type (SBC for a disk, SSC
 * for a tape): READ(6) is an LBA and a block count on a disk, a FIXED bit and a count of
 * blocks or bytes on a tape. */
typedef enum th_cdb_kind { TH_CDB_DISK, TH_CDB_TAPE } th_cdb_kind;
typedef enum th_xfer_unit {
    TH_XFER_NONE,   /* no transfer length in the CDB */
    TH_XFER_BLOCKS, /* logical blocks (a disk's, or a fixed-mode tape's current size) */
    TH_XFER_BYTES,  /* bytes (a variable-mode tape READ/WRITE) */
    TH_XFER_COUNT,  /* objects to space (SSC SPACE: blocks, filemarks, ...), the magnitude
                       of its signed count; nothing is transferred */
} th_xfer_unit;
typedef struct th_cdb_info {
    uint8_t opcode;
    bool has_lba; /* the CDB addresses logical blocks (never on a tape) */
    uint64_t lba;
    uint32_t xfer_len; /* in `unit`; SBC 6-byte length 0 means 256 */
    th_xfer_unit unit;
    bool fixed; /* SSC FIXED bit */
} th_cdb_info;
/* Fills out (zeroed first) from the len bytes of cdb; fields of a CDB shorter than its
 * opcode's form stay 0. Returns 0, or -1 for an empty CDB. */
int th_cdb_decode(th_cdb_kind kind, const uint8_t *cdb, size_t len, th_cdb_info *out);
/* The last LBA the command touches (lba + xfer_len - 1), saturated at UINT64_MAX. */
uint64_t th_cdb_last_lba(const th_cdb_info *in);

size_t th_cdb_tur(uint8_t *buf);
size_t th_cdb_inquiry(uint8_t *buf, bool evpd, uint8_t page, uint16_t alloc);
size_t th_cdb_request_sense(uint8_t *buf, bool desc, uint8_t alloc);
size_t th_cdb_read_capacity10(uint8_t *buf);
size_t th_cdb_read_capacity16(uint8_t *buf, uint32_t alloc);
size_t th_cdb_mode_sense6(uint8_t *buf, bool dbd, uint8_t pc, uint8_t page, uint8_t alloc);
size_t th_cdb_mode_sense10(uint8_t *buf, bool dbd, uint8_t pc, uint8_t page, uint16_t alloc);
size_t th_cdb_mode_select6(uint8_t *buf, bool pf, bool sp, uint8_t len);
size_t th_cdb_mode_select10(uint8_t *buf, bool pf, bool sp, uint16_t len);
/* READ/WRITE: size 6, 10, 12 or 16 picks the form; returns 0 if the values do not fit. */
size_t th_cdb_read(uint8_t *buf, int size, uint64_t lba, uint32_t blocks);
size_t th_cdb_write(uint8_t *buf, int size, uint64_t lba, uint32_t blocks);
size_t th_cdb_verify(uint8_t *buf, int size, uint64_t lba, uint32_t blocks, uint8_t bytchk);
size_t th_cdb_sync_cache(uint8_t *buf, int size, uint64_t lba, uint32_t blocks);
size_t th_cdb_write_same(uint8_t *buf, int size, uint64_t lba, uint32_t blocks, bool unmap);
size_t th_cdb_unmap(uint8_t *buf, uint16_t param_len);
size_t th_cdb_compare_and_write(uint8_t *buf, uint64_t lba, uint8_t blocks);
size_t th_cdb_start_stop(uint8_t *buf, bool start, bool loej);
size_t th_cdb_prevent_allow(uint8_t *buf, uint8_t prevent);
size_t th_cdb_report_opcodes(uint8_t *buf, uint8_t options, uint8_t op, uint16_t sa,
                             uint32_t alloc);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
