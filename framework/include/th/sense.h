/* Sense data: one model for fixed and descriptor format, tables for names and texts. */
#ifndef TH_SENSE_H
#define TH_SENSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    TH_KEY_NO_SENSE = 0x0,
    TH_KEY_RECOVERED_ERROR = 0x1,
    TH_KEY_NOT_READY = 0x2,
    TH_KEY_MEDIUM_ERROR = 0x3,
    TH_KEY_HARDWARE_ERROR = 0x4,
    TH_KEY_ILLEGAL_REQUEST = 0x5,
    TH_KEY_UNIT_ATTENTION = 0x6,
    TH_KEY_DATA_PROTECT = 0x7,
    TH_KEY_BLANK_CHECK = 0x8,
    TH_KEY_VENDOR_SPECIFIC = 0x9,
    TH_KEY_COPY_ABORTED = 0xa,
    TH_KEY_ABORTED_COMMAND = 0xb,
    TH_KEY_VOLUME_OVERFLOW = 0xd,
    TH_KEY_MISCOMPARE = 0xe,
};

/* ASC/ASCQ pairs the emulations use, as (asc << 8 | ascq). */
enum {
    TH_ASC_NONE = 0x0000,
    TH_ASC_FILEMARK = 0x0001,
    TH_ASC_EOP_EOM = 0x0002,
    TH_ASC_BOP_BOM = 0x0004,
    TH_ASC_END_OF_DATA = 0x0005,
    TH_ASC_NOT_READY_INIT_REQUIRED = 0x0402,
    TH_ASC_UNREACHABLE_COPY_TARGET = 0x0804,
    TH_ASC_WRITE_ERROR = 0x0c00,
    TH_ASC_COPY_TARGET_NOT_REACHABLE = 0x0d02,
    TH_ASC_UNRECOVERED_READ_ERROR = 0x1100,
    TH_ASC_PARAM_LIST_LENGTH_ERROR = 0x1a00,
    TH_ASC_MISCOMPARE_DURING_VERIFY = 0x1d00,
    TH_ASC_INVALID_OPCODE = 0x2000,
    TH_ASC_LBA_OUT_OF_RANGE = 0x2100,
    TH_ASC_INVALID_FIELD_IN_CDB = 0x2400,
    TH_ASC_LU_NOT_SUPPORTED = 0x2500,
    TH_ASC_INVALID_FIELD_IN_PARAM_LIST = 0x2600,
    TH_ASC_TOO_MANY_TARGET_DESCRIPTORS = 0x2606,
    TH_ASC_UNSUPPORTED_TARGET_DESCRIPTOR = 0x2607,
    TH_ASC_TOO_MANY_SEGMENT_DESCRIPTORS = 0x2608,
    TH_ASC_UNSUPPORTED_SEGMENT_DESCRIPTOR = 0x2609,
    TH_ASC_WRITE_PROTECTED = 0x2700,
    TH_ASC_NOT_READY_TO_READY = 0x2800,
    TH_ASC_POWER_ON_RESET = 0x2900,
    TH_ASC_MODE_PARAMETERS_CHANGED = 0x2a01,
    TH_ASC_CAPACITY_CHANGED = 0x2a09,
    TH_ASC_INCOMPATIBLE_MEDIUM = 0x3000,
    TH_ASC_SAVING_PARAMS_UNSUPPORTED = 0x3900,
    TH_ASC_MEDIUM_NOT_PRESENT = 0x3a00,
    TH_ASC_INTERNAL_TARGET_FAILURE = 0x4400,
    TH_ASC_MEDIUM_REMOVAL_PREVENTED = 0x5302,
};

typedef struct th_sense {
    uint8_t key;
    uint8_t asc;
    uint8_t ascq;
    bool info_valid;
    uint64_t info; /* fixed format keeps the low 32 bits */
    bool filemark;
    bool eom;
    bool ili;
    bool sks_valid;
    uint8_t sks[3]; /* sense-key-specific bytes; SKSV is set from sks_valid */
    bool descriptor;
    bool deferred;
} th_sense;

#define TH_SENSE_MAX 96

/* A check condition that needs only key and (asc << 8 | ascq). */
th_sense th_sense_make(uint8_t key, uint16_t asc_ascq);
/* INVALID FIELD IN CDB/PARAMETER LIST with the field pointer set (bit < 0: no bit pointer). */
th_sense th_sense_invalid_field(bool in_cdb, uint16_t byte, int bit);

/* Returns bytes written (18 fixed, 8+ descriptor), 0 if cap is too small. */
size_t th_sense_encode(const th_sense *s, uint8_t *buf, size_t cap);
/* Returns 0, or -EINVAL for bytes that are not sense data. */
int th_sense_decode(const uint8_t *buf, size_t len, th_sense *out);

const char *th_sense_key_name(uint8_t key);   /* "MEDIUM_ERROR" */
int th_sense_key_from_name(const char *name); /* -1 if unknown; case-insensitive, '-'/' ' = '_' */
const char *th_sense_asc_text(uint8_t asc, uint8_t ascq); /* NULL if not in the table */
/* "MEDIUM ERROR, 11/00 unrecovered read error, info=100" into buf. */
size_t th_sense_format(const th_sense *s, char *buf, size_t cap);

#endif
