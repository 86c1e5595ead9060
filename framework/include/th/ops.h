/* The opcodes the disk and tape emulations implement, by name: what scenarios, rules
 * and traces use to name a command without reaching into the emulations. */
#ifndef TH_OPS_H
#define TH_OPS_H
#include <stdbool.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef enum th_ops_kind { TH_OPS_DISK, TH_OPS_TAPE } th_ops_kind;

/* No service action: the opcode alone names the command. */
#define TH_OP_NO_SA 0xffff

/* Per-opcode policy carried by the tables. A command with neither DATA_IN nor DATA_OUT
 * transfers no data; DATA_OUT commands may carry none when a CDB field says so (UNMAP
 * with a zero parameter list length, WRITE SAME with NDOB). */
enum {
    TH_OP_MEDIA = 1 << 0,     /* needs a ready unit with media */
    TH_OP_WRITE = 1 << 1,     /* changes the medium: refused when write-protected */
    TH_OP_NO_UA = 1 << 2,     /* never reports a pending unit attention (SAM-5 5.14) */
    TH_OP_DATA_IN = 1 << 3,   /* device to initiator */
    TH_OP_DATA_OUT = 1 << 4,  /* initiator to device */
    TH_OP_EXCLUSIVE = 1 << 5, /* atomic: runs alone against every other media command */
};

typedef struct th_op_info {
    uint8_t opcode;
    uint16_t sa; /* TH_OP_NO_SA, or the service action */
    uint8_t cdb_len;
    unsigned flags;   /* TH_OP_* */
    const char *name; /* "READ_10" */
} th_op_info;

/* Looks NAME up (case-insensitive; '-', ' ' and '(' count as '_', ')' is ignored, so
 * "read(10)" finds READ_10). Returns 0, or -ENOENT. */
int th_ops_by_name(th_ops_kind kind, const char *name, th_op_info *out);
/* Looks an opcode and service action up (sa is ignored for opcodes without one).
 * Returns 0, or -ENOENT. */
int th_ops_find(th_ops_kind kind, uint8_t opcode, uint16_t sa, th_op_info *out);
/* The name of an opcode, or NULL. */
const char *th_ops_name(th_ops_kind kind, uint8_t opcode, uint16_t sa);
/* Commands that neither report nor clear a pending unit attention on any device:
 * INQUIRY, REQUEST SENSE and REPORT LUNS (REPORT LUNS is answered by the kernel, so
 * it is in no emulation table; SAM-5 exempts it all the same). */
bool th_ops_ua_exempt(uint8_t opcode);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
