/* A SCSI command as a handler sees it, from whichever source it came:
 * the kernel ring, the fake kernel, or a fake-command constructor. */
#ifndef TH_CMD_H
#define TH_CMD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "th/be.h"
#include "th/sense.h"
#include "th/tmr.h"
#ifdef __cplusplus
extern "C" {
#endif
/* Declared here: exported from the shared library, built with -fvisibility=hidden. */
#pragma GCC visibility push(default)

/* SCSI status codes: one list for the enum, the names and the parsing
 * (TH_STATUS_<NAME>, th_status_name, th_status_from_name). X(NAME, value). */
#define TH_STATUS_MAP(X)                                                                           \
    X(GOOD, 0x00)                                                                                  \
    X(CHECK_CONDITION, 0x02)                                                                       \
    X(CONDITION_MET, 0x04)                                                                         \
    X(BUSY, 0x08)                                                                                  \
    X(RESERVATION_CONFLICT, 0x18)                                                                  \
    X(TASK_SET_FULL, 0x28)                                                                         \
    X(ACA_ACTIVE, 0x30)                                                                            \
    X(TASK_ABORTED, 0x40)

enum {
#define TH_STATUS_ENUM_(name, value) TH_STATUS_##name = value,
    TH_STATUS_MAP(TH_STATUS_ENUM_)
#undef TH_STATUS_ENUM_
};

/* "CHECK_CONDITION"; NULL for a status not in the list. */
const char *th_status_name(uint8_t status);
/* The status, or -1; case-insensitive, '-' and ' ' match '_'. */
int th_status_from_name(const char *name);

/* The longest CDB the model keeps (a variable-length CDB may declare up to 260). */
#define TH_CDB_MAX 260

typedef struct th_cmd th_cmd;

/* A handler answers a command by setting a response and returning 0, or returns
 * TH_CMD_DEFERRED and calls th_cmd_complete() later (from any thread). */
#define TH_CMD_DEFERRED 1
typedef int (*th_handler_fn)(th_cmd *cmd, void *arg);

/* th_cdb_len_for(cdb, avail), the CDB length by opcode group, is in th/be.h. */

const uint8_t *th_cmd_cdb(const th_cmd *cmd);
size_t th_cmd_cdb_len(const th_cmd *cmd);
uint8_t th_cmd_opcode(const th_cmd *cmd);
/* Service action for 0x7F, 0x9E/0x9F, 0xA3/0xA4 and friends; 0 otherwise. */
uint16_t th_cmd_service_action(const th_cmd *cmd);
/* LBA and transfer length of READ/WRITE-style CDBs of any size; 6-byte CDBs use the
 * 21-bit LBA and their transfer length 0 means 256. Other opcodes return 0. */
uint64_t th_cmd_lba(const th_cmd *cmd);
uint32_t th_cmd_xfer_len(const th_cmd *cmd);
uint16_t th_cmd_id(const th_cmd *cmd);
/* Set once the kernel asked to abort this command (a TMR entry listed its id). */
bool th_cmd_is_aborted(const th_cmd *cmd);

/* Data. Data-out and data-in share the iovecs except for BIDI commands. */
size_t th_cmd_data_out_len(const th_cmd *cmd);
size_t th_cmd_data_in_cap(const th_cmd *cmd);
size_t th_cmd_data_out_read(th_cmd *cmd, size_t off, void *buf, size_t len);
size_t th_cmd_data_in_write(th_cmd *cmd, size_t off, const void *buf, size_t len);
/* The data-in iovecs, for zero-copy handlers; call th_cmd_set_data_in_len after. */
size_t th_cmd_data_in_iov(th_cmd *cmd, const struct iovec **iov);
size_t th_cmd_data_out_iov(th_cmd *cmd, const struct iovec **iov);
/* Declare how many data-in bytes are valid (shorter than the transfer: a short read). */
void th_cmd_set_data_in_len(th_cmd *cmd, size_t len);

/* Responses. */
void th_cmd_ok(th_cmd *cmd);
void th_cmd_status(th_cmd *cmd, uint8_t status);
void th_cmd_check_condition(th_cmd *cmd, const th_sense *sense);
void th_cmd_check(th_cmd *cmd, uint8_t key, uint16_t asc_ascq);
/* CHECK CONDITION, INVALID FIELD IN CDB (or PARAMETER LIST) pointing at byte and bit
 * (bit -1: the whole byte). */
void th_cmd_invalid_field(th_cmd *cmd, bool in_cdb, uint16_t byte, int bit);
void th_cmd_sense_raw(th_cmd *cmd, const uint8_t *sense, size_t len);
/* ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE. (The ring's UNKNOWN_OP flag is not
 * used: the kernel would replace this sense with its own.) */
void th_cmd_not_handled(th_cmd *cmd);

/* Reading the response back (fake commands, traces, rules). */
uint8_t th_cmd_get_status(const th_cmd *cmd);
const uint8_t *th_cmd_get_sense(const th_cmd *cmd, size_t *len);
size_t th_cmd_get_data_in_len(const th_cmd *cmd);
bool th_cmd_has_response(const th_cmd *cmd);

/* Completes a deferred command. */
void th_cmd_complete(th_cmd *cmd);

/* The device or fake command's user pointer (device handler context). */
void *th_cmd_user(const th_cmd *cmd);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
