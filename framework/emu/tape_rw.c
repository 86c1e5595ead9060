/* READ(6), WRITE(6), WRITE FILEMARKS(6): the sense rules SSC and the st driver expect. */
#include <stdlib.h>
#include <string.h>
#include "th/be.h"
#include "tape_internal.h"

/* INVALID FIELD IN COMMAND INFORMATION UNIT, as th_op_need_data_out answers a short
 * Data-Out: the transfer the initiator set up does not match the CDB. */
#define ASC_INVALID_FIELD_IN_IU 0x0e03

static bool bad_fixed(th_tape *t, th_cmd *cmd, bool fixed)
{
    if (fixed && t->block_size == 0) { /* fixed-block transfer in variable mode */
        th_cmd_invalid_field(cmd, true, 1, 0);
        return true;
    }
    return false;
}

static void read_variable(th_tape *t, th_cmd *cmd, uint32_t want, bool sili)
{
    if (t->pos == t->n) {
        tape_sense(cmd, TH_KEY_BLANK_CHECK, TH_ASC_END_OF_DATA, want, false, false, false);
        return;
    }
    tape_obj *o = &t->obj[t->pos++];
    if (o->filemark) {
        th_cmd_set_data_in_len(cmd, 0);
        tape_sense(cmd, TH_KEY_NO_SENSE, TH_ASC_FILEMARK, want, true, false, false);
        return;
    }
    uint32_t n = o->len < want ? o->len : want;
    th_cmd_data_in_write(cmd, 0, o->data, n);
    th_cmd_set_data_in_len(cmd, n);
    if (o->len == want || (o->len < want && sili)) {
        th_cmd_ok(cmd);
        return;
    }
    /* A short record: the data and ILI with the residue together. A long one: as much
     * as was asked for, and a negative residue. */
    tape_sense(cmd, TH_KEY_NO_SENSE, TH_ASC_NONE, (int64_t)want - (int64_t)o->len, false, false,
               true);
}

static void read_fixed(th_tape *t, th_cmd *cmd, uint32_t count)
{
    uint32_t bs = t->block_size;
    for (uint32_t k = 0; k < count; k++) {
        th_cmd_set_data_in_len(cmd, (size_t)k * bs);
        if (t->pos == t->n) {
            tape_sense(cmd, TH_KEY_BLANK_CHECK, TH_ASC_END_OF_DATA, count - k, false, false, false);
            return;
        }
        tape_obj *o = &t->obj[t->pos++];
        if (o->filemark) {
            tape_sense(cmd, TH_KEY_NO_SENSE, TH_ASC_FILEMARK, count - k, true, false, false);
            return;
        }
        th_cmd_data_in_write(cmd, (size_t)k * bs, o->data, o->len < bs ? o->len : bs);
        if (o->len != bs) {
            th_cmd_set_data_in_len(cmd, (size_t)k * bs + (o->len < bs ? o->len : bs));
            tape_sense(cmd, TH_KEY_NO_SENSE, TH_ASC_NONE, count - k, false, false, true);
            return;
        }
    }
    th_cmd_set_data_in_len(cmd, (size_t)count * bs);
    th_cmd_ok(cmd);
}

void tape_read6(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    bool fixed = c[1] & 1, sili = c[1] & 2;
    uint32_t len = th_be24(c + 2);
    if (fixed && sili) {
        th_cmd_invalid_field(cmd, true, 1, 1);
        return;
    }
    if (bad_fixed(t, cmd, fixed)) return;
    if (len == 0) {
        th_cmd_ok(cmd);
        return;
    }
    /* Less room than the CDB asks for: refused before the tape moves. The data would stop
     * at the buffer while the position passed every object the CDB names, and the ones
     * that did not fit could never be read again. */
    if (th_cmd_data_in_cap(cmd) < (fixed ? (uint64_t)len * t->block_size : len)) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
        return;
    }
    if (fixed)
        read_fixed(t, cmd, len);
    else
        read_variable(t, cmd, len, sili);
}

/* Whether `bytes` more fit at the position (what follows it is overwritten); if not,
 * VOLUME OVERFLOW with `count` (the CDB's transfer length) not written. */
static bool fits(th_tape *t, th_cmd *cmd, uint64_t bytes, uint32_t count)
{
    uint64_t kept = 0; /* what stays of the tape before the write position */
    for (size_t i = 0; i < t->pos; i++) kept += tape_obj_bytes(&t->obj[i]);
    if (kept + bytes <= t->capacity) return true;
    tape_sense(cmd, TH_KEY_VOLUME_OVERFLOW, TH_ASC_EOP_EOM, count, false, true, false);
    return false;
}

/* Early warning: the write is done, and the initiator is told the end is near. */
static void answer_written(th_tape *t, th_cmd *cmd)
{
    if (t->used + t->early_warning >= t->capacity)
        tape_sense(cmd, TH_KEY_NO_SENSE, TH_ASC_EOP_EOM, 0, false, true, false);
    else
        th_cmd_ok(cmd);
}

void tape_write6(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    bool fixed = c[1] & 1;
    uint32_t len = th_be24(c + 2);
    if (bad_fixed(t, cmd, fixed)) return;
    uint64_t bytes = fixed ? (uint64_t)len * t->block_size : len;
    if (bytes == 0) {
        th_cmd_ok(cmd);
        return;
    }
    /* Fewer bytes than the CDB asks for: nothing is written (see th_op_need_data_out).
     * Writing the whole blocks that arrived would need a residual for the rest, which
     * SSC reports only for early warning and overflow, not for an initiator's
     * short transfer. */
    if (!th_op_need_data_out(cmd, bytes)) return;
    if (!fits(t, cmd, bytes, len)) return;
    uint8_t *buf = malloc(bytes);
    if (!buf) {
        th_cmd_status(cmd, TH_STATUS_TASK_SET_FULL);
        return;
    }
    th_cmd_data_out_read(cmd, 0, buf, bytes);
    int rc = 0;
    if (fixed)
        for (uint32_t k = 0; k < len && !rc; k++)
            rc = tape_insert(t, false, buf + (size_t)k * t->block_size, t->block_size);
    else
        rc = tape_insert(t, false, buf, (uint32_t)bytes);
    free(buf);
    if (rc)
        th_cmd_check(cmd, TH_KEY_MEDIUM_ERROR, TH_ASC_WRITE_ERROR);
    else
        answer_written(t, cmd);
}

void tape_write_filemarks(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    uint32_t count = th_be24(th_cmd_cdb(cmd) + 2);
    /* All or none, as WRITE: a count that does not fit writes no filemark. */
    if (count && !fits(t, cmd, (uint64_t)count * TAPE_FILEMARK_BYTES, count)) return;
    for (uint32_t k = 0; k < count; k++) {
        if (tape_insert(t, true, NULL, 0)) {
            th_cmd_check(cmd, TH_KEY_MEDIUM_ERROR, TH_ASC_WRITE_ERROR);
            return;
        }
    }
    if (count == 0 && t->pos < t->n) { /* a flush: nothing moves */
        th_cmd_ok(cmd);
        return;
    }
    answer_written(t, cmd);
}
