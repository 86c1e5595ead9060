/* The producer API (cmd_source.h): how sources build commands and read responses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cmd_internal.h"

th_cmd *th_cmd_alloc(void)
{
    th_cmd *cmd = calloc(1, sizeof(*cmd));
    if (cmd) th_cmd_reset(cmd);
    return cmd;
}

void th_cmd_free(th_cmd *cmd)
{
    if (!cmd) return;
    free(cmd->iov);
    free(cmd);
}

int th_cmd_set_cdb(th_cmd *cmd, const uint8_t *cdb, size_t len)
{
    if (len > TH_CDB_MAX) return -EINVAL;
    if (len) memcpy(cmd->cdb, cdb, len);
    cmd->cdb_len = (uint16_t)len;
    return 0;
}

void th_cmd_set_id(th_cmd *cmd, uint16_t id)
{
    cmd->id = id;
}

void th_cmd_set_iov(th_cmd *cmd, uint32_t i, void *base, size_t len)
{
    cmd->iov[i].iov_base = base;
    cmd->iov[i].iov_len = len;
}

void th_cmd_set_data_dirs(th_cmd *cmd, uint32_t out_cnt, uint32_t in_first, uint32_t in_cnt)
{
    cmd->out_cnt = out_cnt;
    cmd->in_first = in_first;
    cmd->in_cnt = in_cnt;
    th_cmd_finish_iov(cmd);
}

void th_cmd_clear_data(th_cmd *cmd)
{
    cmd->out_cnt = cmd->in_cnt = cmd->in_first = 0;
    cmd->out_len = cmd->in_cap = 0;
}

void th_cmd_set_done(th_cmd *cmd, th_cmd_done_fn fn, void *owner, void *user)
{
    cmd->done_fn = fn;
    cmd->owner = owner;
    cmd->user = user;
}

void *th_cmd_owner(const th_cmd *cmd)
{
    return cmd->owner;
}

void th_cmd_set_uflags(th_cmd *cmd, uint8_t uflags)
{
    cmd->uflags = uflags;
}

void th_cmd_get_response(const th_cmd *cmd, th_cmd_response *rsp)
{
    rsp->id = cmd->id;
    rsp->status = cmd->status;
    rsp->uflags = cmd->uflags;
    rsp->data_in_set = cmd->data_in_set;
    rsp->data_in_len = cmd->data_in_len;
    rsp->data_in_cap = cmd->in_cap;
    rsp->sense = cmd->sense;
    rsp->sense_len = cmd->sense_len;
}
