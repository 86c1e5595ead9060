/* One opcode table per device type drives dispatch, CDB validation, REPORT SUPPORTED
 * OPERATION CODES, and the names used by traces and scenarios. */
#ifndef TH_OPTABLE_H
#define TH_OPTABLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "th/cmd.h"

#define TH_NO_SA 0xffff

enum {
    TH_OPF_MEDIA = 1 << 0, /* needs a ready unit with media */
    TH_OPF_WRITE = 1 << 1, /* changes the medium: refused when write-protected */
};

typedef struct th_op {
    uint8_t op;
    uint16_t sa;      /* TH_NO_SA, or the service action in byte 1 (bits 4-0) */
    uint8_t len;      /* CDB length */
    uint8_t mask[16]; /* legal bits of each CDB byte; mask[0] is the opcode itself */
    void (*fn)(void *dev, th_cmd *cmd);
    const char *name;
    uint8_t flags;
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
/* REPORT SUPPORTED OPERATION CODES from the table. */
void th_op_report_supported(const th_optable *t, th_cmd *cmd);
/* Answers with min(len, allocation length, capacity) bytes of buf. */
void th_respond_data(th_cmd *cmd, const void *buf, size_t len, size_t alloc);

#endif
