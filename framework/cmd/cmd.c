#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cmd_internal.h"

void th_cmd_reset(th_cmd *cmd)
{
    cmd->status = TH_STATUS_GOOD;
    cmd->uflags = 0;
    cmd->sense_len = 0;
    cmd->responded = false;
    cmd->data_in_set = false;
    cmd->data_in_len = 0;
    atomic_store(&cmd->aborted, false);
    atomic_store(&cmd->done, false);
    atomic_store(&cmd->released, false);
    cmd->next = NULL;
    cmd->observer = NULL;
    cmd->observer_arg = NULL;
    cmd->revoke = NULL;
    cmd->revoke_arg = NULL;
    cmd->rule = -1;
    cmd->arrived_ns = 0;
}

int th_cmd_reserve_iov(th_cmd *cmd, uint32_t n)
{
    if (n <= cmd->iov_cap) return 0;
    struct iovec *iov = realloc(cmd->iov, (size_t)n * sizeof(*iov));
    if (!iov) return -ENOMEM;
    cmd->iov = iov;
    cmd->iov_cap = n;
    return 0;
}

void th_cmd_finish_iov(th_cmd *cmd)
{
    cmd->out_len = 0;
    cmd->in_cap = 0;
    for (uint32_t i = 0; i < cmd->out_cnt; i++) cmd->out_len += cmd->iov[i].iov_len;
    for (uint32_t i = 0; i < cmd->in_cnt; i++) cmd->in_cap += cmd->iov[cmd->in_first + i].iov_len;
}

const uint8_t *th_cmd_cdb(const th_cmd *cmd)
{
    return cmd->cdb;
}
size_t th_cmd_cdb_len(const th_cmd *cmd)
{
    return cmd->cdb_len;
}
uint8_t th_cmd_opcode(const th_cmd *cmd)
{
    return cmd->cdb[0];
}
uint16_t th_cmd_id(const th_cmd *cmd)
{
    return cmd->id;
}
bool th_cmd_is_aborted(const th_cmd *cmd)
{
    return atomic_load(&((th_cmd *)cmd)->aborted);
}
void *th_cmd_user(const th_cmd *cmd)
{
    return cmd->user;
}
size_t th_cmd_data_out_len(const th_cmd *cmd)
{
    return cmd->out_len;
}
size_t th_cmd_data_in_cap(const th_cmd *cmd)
{
    return cmd->in_cap;
}

/* Copies between a flat buffer and an iovec range, starting at byte off of the range. */
static size_t iov_copy(const struct iovec *iov, uint32_t cnt, size_t off, void *buf, size_t len,
                       bool to_iov)
{
    size_t done = 0;
    for (uint32_t i = 0; i < cnt && done < len; i++) {
        size_t seg = iov[i].iov_len;
        if (off >= seg) {
            off -= seg;
            continue;
        }
        size_t n = seg - off;
        if (n > len - done) n = len - done;
        uint8_t *p = (uint8_t *)iov[i].iov_base + off;
        if (to_iov)
            memcpy(p, (const uint8_t *)buf + done, n);
        else
            memcpy((uint8_t *)buf + done, p, n);
        done += n;
        off = 0;
    }
    return done;
}

size_t th_cmd_data_out_read(th_cmd *cmd, size_t off, void *buf, size_t len)
{
    return iov_copy(cmd->iov, cmd->out_cnt, off, buf, len, false);
}

size_t th_cmd_data_in_write(th_cmd *cmd, size_t off, const void *buf, size_t len)
{
    size_t n = iov_copy(cmd->iov + cmd->in_first, cmd->in_cnt, off, (void *)buf, len, true);
    if (!cmd->data_in_set || off + n > cmd->data_in_len) cmd->data_in_len = off + n;
    cmd->data_in_set = true;
    return n;
}

size_t th_cmd_data_in_iov(th_cmd *cmd, const struct iovec **iov)
{
    *iov = cmd->iov + cmd->in_first;
    return cmd->in_cnt;
}

size_t th_cmd_data_out_iov(th_cmd *cmd, const struct iovec **iov)
{
    *iov = cmd->iov;
    return cmd->out_cnt;
}

void th_cmd_set_data_in_len(th_cmd *cmd, size_t len)
{
    cmd->data_in_len = len < cmd->in_cap ? len : cmd->in_cap;
    cmd->data_in_set = true;
}

void th_cmd_status(th_cmd *cmd, uint8_t status)
{
    cmd->status = status;
    cmd->sense_len = 0;
    cmd->responded = true;
}

void th_cmd_ok(th_cmd *cmd)
{
    th_cmd_status(cmd, TH_STATUS_GOOD);
}

void th_cmd_check_condition(th_cmd *cmd, const th_sense *sense)
{
    cmd->status = TH_STATUS_CHECK_CONDITION;
    cmd->sense_len = (uint8_t)th_sense_encode(sense, cmd->sense, sizeof(cmd->sense));
    cmd->responded = true;
}

void th_cmd_check(th_cmd *cmd, uint8_t key, uint16_t asc_ascq)
{
    th_sense s = th_sense_make(key, asc_ascq);
    th_cmd_check_condition(cmd, &s);
}

void th_cmd_invalid_field(th_cmd *cmd, bool in_cdb, uint16_t byte, int bit)
{
    th_sense s = th_sense_invalid_field(in_cdb, byte, bit);
    th_cmd_check_condition(cmd, &s);
}

void th_cmd_sense_raw(th_cmd *cmd, const uint8_t *sense, size_t len)
{
    if (len > sizeof(cmd->sense)) len = sizeof(cmd->sense);
    memcpy(cmd->sense, sense, len);
    cmd->sense_len = (uint8_t)len;
    cmd->status = TH_STATUS_CHECK_CONDITION;
    cmd->responded = true;
}

void th_cmd_not_handled(th_cmd *cmd)
{
    th_sense s = th_sense_invalid_field(true, 0, 7);
    s.asc = 0x20;
    s.ascq = 0x00;
    th_cmd_check_condition(cmd, &s);
}

uint8_t th_cmd_get_status(const th_cmd *cmd)
{
    return cmd->status;
}

const uint8_t *th_cmd_get_sense(const th_cmd *cmd, size_t *len)
{
    *len = cmd->sense_len;
    return cmd->sense_len ? cmd->sense : NULL;
}

size_t th_cmd_get_data_in_len(const th_cmd *cmd)
{
    return cmd->data_in_set ? cmd->data_in_len : 0;
}

bool th_cmd_has_response(const th_cmd *cmd)
{
    return cmd->responded;
}

bool th_cmd_claim(th_cmd *cmd)
{
    bool expected = false;
    return atomic_compare_exchange_strong(&cmd->done, &expected, true);
}

void th_cmd_finish(th_cmd *cmd)
{
    if (!cmd->responded) th_cmd_check(cmd, TH_KEY_HARDWARE_ERROR, TH_ASC_INTERNAL_TARGET_FAILURE);
    if (cmd->observer) cmd->observer(cmd, cmd->observer_arg);
    if (cmd->done_fn) cmd->done_fn(cmd);
}

void th_cmd_complete(th_cmd *cmd)
{
    /* Exactly once, even if a stop and a late handler race to complete it. */
    if (th_cmd_claim(cmd)) th_cmd_finish(cmd);
}
