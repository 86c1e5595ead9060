/* One opcode table per device type drives dispatch, CDB validation, REPORT SUPPORTED
 * OPERATION CODES, and the names used by traces and scenarios. */
#ifndef TH_OPTABLE_H
#define TH_OPTABLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "th/cmd.h"
#include "th/ops.h"

#define TH_NO_SA     TH_OP_NO_SA
#define TH_OPF_MEDIA TH_OP_MEDIA
#define TH_OPF_WRITE TH_OP_WRITE
#define TH_OPF_NO_UA TH_OP_NO_UA
#define TH_OPF_IN    TH_OP_DATA_IN
#define TH_OPF_OUT   TH_OP_DATA_OUT
#define TH_OPF_EXCL  TH_OP_EXCLUSIVE

typedef struct th_op {
    uint8_t op;
    uint16_t sa;      /* TH_NO_SA, or the service action in byte 1 (bits 4-0) */
    uint8_t len;      /* CDB length */
    uint8_t mask[16]; /* legal bits of each CDB byte; mask[0] is the opcode itself */
    void (*fn)(void *dev, th_cmd *cmd);
    const char *name;
    uint8_t flags; /* TH_OP_* */
} th_op;

typedef struct th_optable {
    const th_op *ops;
    size_t n;
} th_optable;

/* Finds and validates; on failure answers cmd with the right sense and returns NULL. */
const th_op *th_op_lookup(const th_optable *t, th_cmd *cmd);
/* Looks up by opcode and service action only (names, scenarios). */
const th_op *th_op_find(const th_optable *t, uint8_t op, uint16_t sa);
/* Looks up by name ("READ_10", case-insensitive). */
const th_op *th_op_by_name(const th_optable *t, const char *name);
/* The table of a device kind (ops.c). */
const th_optable *th_optable_of(th_ops_kind kind);
/* Answers CHECK CONDITION and returns false when the command carries fewer than need
 * bytes of Data-Out (see ops.c for the sense chosen). */
bool th_op_need_data_out(th_cmd *cmd, size_t need);
/* REPORT SUPPORTED OPERATION CODES from the table. */
void th_op_report_supported(const th_optable *t, th_cmd *cmd);
/* Answers with min(len, allocation length, capacity) bytes of buf. */
void th_respond_data(th_cmd *cmd, const void *buf, size_t len, size_t alloc);

#endif
