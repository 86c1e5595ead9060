/* Sense data: one model for fixed and descriptor format, tables for names and texts. */
#ifndef TH_SENSE_H
#define TH_SENSE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* Sense keys: one list for the enum (TH_KEY_<NAME>), the names and the parsing
 * (th_sense_key_name, th_sense_key_from_name). X(NAME, value), all sixteen. */
#define TH_SENSE_KEY_MAP(X)                                                                        \
    X(NO_SENSE, 0x0)                                                                               \
    X(RECOVERED_ERROR, 0x1)                                                                        \
    X(NOT_READY, 0x2)                                                                              \
    X(MEDIUM_ERROR, 0x3)                                                                           \
    X(HARDWARE_ERROR, 0x4)                                                                         \
    X(ILLEGAL_REQUEST, 0x5)                                                                        \
    X(UNIT_ATTENTION, 0x6)                                                                         \
    X(DATA_PROTECT, 0x7)                                                                           \
    X(BLANK_CHECK, 0x8)                                                                            \
    X(VENDOR_SPECIFIC, 0x9)                                                                        \
    X(COPY_ABORTED, 0xa)                                                                           \
    X(ABORTED_COMMAND, 0xb)                                                                        \
    X(EQUAL, 0xc)                                                                                  \
    X(VOLUME_OVERFLOW, 0xd)                                                                        \
    X(MISCOMPARE, 0xe)                                                                             \
    X(COMPLETED, 0xf)

enum {
#define TH_KEY_ENUM_(name, value) TH_KEY_##name = value,
    TH_SENSE_KEY_MAP(TH_KEY_ENUM_)
#undef TH_KEY_ENUM_
};

/* Additional sense codes: one list, sorted by (asc, ascq), for the enum
 * (TH_ASC_<NAME> = asc << 8 | ascq), the names, the texts and the parsing
 * (th_asc_name, th_asc_from_name, th_sense_asc_text). X(NAME, asc, ascq, text). */
// clang-format off
#define TH_ASC_MAP(X) \
    X(NONE, 0x00, 0x00, "no additional sense information") \
    X(FILEMARK, 0x00, 0x01, "filemark detected") \
    X(EOP_EOM, 0x00, 0x02, "end-of-partition/medium detected") \
    X(SETMARK, 0x00, 0x03, "setmark detected") \
    X(BOP_BOM, 0x00, 0x04, "beginning-of-partition/medium detected") \
    X(END_OF_DATA, 0x00, 0x05, "end-of-data detected") \
    X(OPERATION_IN_PROGRESS, 0x00, 0x16, "operation in progress") \
    X(NOT_READY_CAUSE_NOT_REPORTABLE, 0x04, 0x00, "logical unit not ready, cause not reportable") \
    X(BECOMING_READY, 0x04, 0x01, "logical unit is in process of becoming ready") \
    X(NOT_READY_INIT_REQUIRED, 0x04, 0x02, "logical unit not ready, initializing command required") \
    X(NOT_READY_MANUAL_INTERVENTION, 0x04, 0x03, "logical unit not ready, manual intervention required") \
    X(NOT_READY_FORMAT_IN_PROGRESS, 0x04, 0x04, "logical unit not ready, format in progress") \
    X(LU_COMMUNICATION_FAILURE, 0x08, 0x00, "logical unit communication failure") \
    X(UNREACHABLE_COPY_TARGET, 0x08, 0x04, "unreachable copy target") \
    X(WRITE_ERROR, 0x0c, 0x00, "write error") \
    X(WRITE_ERROR_AUTO_REALLOCATION_FAILED, 0x0c, 0x02, "write error - auto reallocation failed") \
    X(COPY_TARGET_NOT_REACHABLE, 0x0d, 0x02, "copy target device not reachable") \
    X(INVALID_FIELD_IN_COMMAND_IU, 0x0e, 0x03, "invalid field in command information unit") \
    X(GUARD_CHECK_FAILED, 0x10, 0x01, "logical block guard check failed") \
    X(UNRECOVERED_READ_ERROR, 0x11, 0x00, "unrecovered read error") \
    X(READ_RETRIES_EXHAUSTED, 0x11, 0x01, "read retries exhausted") \
    X(UNRECOVERED_READ_ERROR_AUTO_REALLOCATE_FAILED, 0x11, 0x04, "unrecovered read error - auto reallocate failed") \
    X(RECORDED_ENTITY_NOT_FOUND, 0x14, 0x00, "recorded entity not found") \
    X(RECORD_NOT_FOUND, 0x14, 0x01, "record not found") \
    X(END_OF_DATA_NOT_FOUND, 0x14, 0x03, "end-of-data not found") \
    X(RANDOM_POSITIONING_ERROR, 0x15, 0x00, "random positioning error") \
    X(PARAM_LIST_LENGTH_ERROR, 0x1a, 0x00, "parameter list length error") \
    X(MISCOMPARE_DURING_VERIFY, 0x1d, 0x00, "miscompare during verify operation") \
    X(INVALID_OPCODE, 0x20, 0x00, "invalid command operation code") \
    X(LBA_OUT_OF_RANGE, 0x21, 0x00, "logical block address out of range") \
    X(INVALID_FIELD_IN_CDB, 0x24, 0x00, "invalid field in cdb") \
    X(LU_NOT_SUPPORTED, 0x25, 0x00, "logical unit not supported") \
    X(INVALID_FIELD_IN_PARAM_LIST, 0x26, 0x00, "invalid field in parameter list") \
    X(PARAMETER_NOT_SUPPORTED, 0x26, 0x01, "parameter not supported") \
    X(PARAMETER_VALUE_INVALID, 0x26, 0x02, "parameter value invalid") \
    X(TOO_MANY_TARGET_DESCRIPTORS, 0x26, 0x06, "too many target descriptors") \
    X(UNSUPPORTED_TARGET_DESCRIPTOR, 0x26, 0x07, "unsupported target descriptor type code") \
    X(TOO_MANY_SEGMENT_DESCRIPTORS, 0x26, 0x08, "too many segment descriptors") \
    X(UNSUPPORTED_SEGMENT_DESCRIPTOR, 0x26, 0x09, "unsupported segment descriptor type code") \
    X(WRITE_PROTECTED, 0x27, 0x00, "write protected") \
    X(HARDWARE_WRITE_PROTECTED, 0x27, 0x01, "hardware write protected") \
    X(NOT_READY_TO_READY, 0x28, 0x00, "not ready to ready change, medium may have changed") \
    X(POWER_ON_RESET, 0x29, 0x00, "power on, reset, or bus device reset occurred") \
    X(POWER_ON_OCCURRED, 0x29, 0x01, "power on occurred") \
    X(SCSI_BUS_RESET, 0x29, 0x02, "scsi bus reset occurred") \
    X(BUS_DEVICE_RESET, 0x29, 0x03, "bus device reset function occurred") \
    X(I_T_NEXUS_LOSS, 0x29, 0x07, "i_t nexus loss occurred") \
    X(MODE_PARAMETERS_CHANGED, 0x2a, 0x01, "mode parameters changed") \
    X(CAPACITY_CHANGED, 0x2a, 0x09, "capacity data has changed") \
    X(COMMAND_SEQUENCE_ERROR, 0x2c, 0x00, "command sequence error") \
    X(INCOMPATIBLE_MEDIUM, 0x30, 0x00, "incompatible medium installed") \
    X(CANNOT_READ_MEDIUM_INCOMPATIBLE_FORMAT, 0x30, 0x02, "cannot read medium - incompatible format") \
    X(MEDIUM_FORMAT_CORRUPTED, 0x31, 0x00, "medium format corrupted") \
    X(TAPE_LENGTH_ERROR, 0x33, 0x00, "tape length error") \
    X(ROUNDED_PARAMETER, 0x37, 0x00, "rounded parameter") \
    X(SAVING_PARAMS_UNSUPPORTED, 0x39, 0x00, "saving parameters not supported") \
    X(MEDIUM_NOT_PRESENT, 0x3a, 0x00, "medium not present") \
    X(SEQUENTIAL_POSITIONING_ERROR, 0x3b, 0x00, "sequential positioning error") \
    X(POSITION_ERROR_AT_BOM, 0x3b, 0x01, "tape position error at beginning-of-medium") \
    X(REPOSITION_ERROR, 0x3b, 0x08, "reposition error") \
    X(TIMEOUT_ON_LU, 0x3e, 0x02, "timeout on logical unit") \
    X(REPORTED_LUNS_CHANGED, 0x3f, 0x0e, "reported luns data has changed") \
    X(INTERNAL_TARGET_FAILURE, 0x44, 0x00, "internal target failure") \
    X(SCSI_PARITY_ERROR, 0x47, 0x00, "scsi parity error") \
    X(DATA_PHASE_ERROR, 0x4b, 0x00, "data phase error") \
    X(WRITE_APPEND_ERROR, 0x50, 0x00, "write append error") \
    X(ERASE_FAILURE, 0x51, 0x00, "erase failure") \
    X(CARTRIDGE_FAULT, 0x52, 0x00, "cartridge fault") \
    X(MEDIA_LOAD_OR_EJECT_FAILED, 0x53, 0x00, "media load or eject failed") \
    X(MEDIUM_REMOVAL_PREVENTED, 0x53, 0x02, "medium removal prevented") \
    X(INSUFFICIENT_RESOURCES, 0x55, 0x03, "insufficient resources") \
    X(FAILURE_PREDICTION_THRESHOLD_EXCEEDED, 0x5d, 0x00, "failure prediction threshold exceeded") \
    X(COPY_PROTECTION_KEY_EXCHANGE_FAILURE, 0x6f, 0x00, "copy protection key exchange failure")
// clang-format on

enum {
#define TH_ASC_ENUM_(name, asc, ascq, text) TH_ASC_##name = (asc) << 8 | (ascq),
    TH_ASC_MAP(TH_ASC_ENUM_)
#undef TH_ASC_ENUM_
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
const char *th_sense_asc_text(uint8_t asc, uint8_t ascq); /* NULL if not in the list */
const char *th_asc_name(uint8_t asc, uint8_t ascq);       /* "INVALID_FIELD_IN_CDB"; NULL */
/* asc << 8 | ascq, or -1; case-insensitive, '-' and ' ' match '_'. */
int th_asc_from_name(const char *name);
/* "MEDIUM ERROR, 11/00 unrecovered read error, info=100" into buf. */
size_t th_sense_format(const th_sense *s, char *buf, size_t cap);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
