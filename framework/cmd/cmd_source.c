/* The producer API (cmd_source.h): how sources build commands and read responses;
 * and what a wrapping handler may set (cmd_handler.h). */
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

struct iovec *th_cmd_iovecs(th_cmd *cmd, uint32_t *cap)
{
    *cap = cmd->iov_cap;
    return cmd->iov;
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

th_cmd *th_cmd_link(const th_cmd *cmd)
{
    return cmd->next;
}

void th_cmd_set_link(th_cmd *cmd, th_cmd *next)
{
    cmd->next = next;
}

void th_cmd_set_aborted(th_cmd *cmd)
{
    atomic_store(&cmd->aborted, true);
}

bool th_cmd_revoke(th_cmd *cmd)
{
    return !cmd->revoke || cmd->revoke(cmd, cmd->revoke_arg);
}

/* The consumer side (cmd_handler.h). */
void th_cmd_set_observer(th_cmd *cmd, th_cmd_observer_fn fn, void *arg)
{
    cmd->observer = fn;
    cmd->observer_arg = arg;
}

void th_cmd_set_rule(th_cmd *cmd, int rule)
{
    cmd->rule = rule;
}

int th_cmd_rule(const th_cmd *cmd)
{
    return cmd->rule;
}

void th_cmd_set_arrived_ns(th_cmd *cmd, uint64_t ns)
{
    cmd->arrived_ns = ns;
}

uint64_t th_cmd_arrived_ns(const th_cmd *cmd)
{
    return cmd->arrived_ns;
}

void th_cmd_set_revoke(th_cmd *cmd, th_cmd_revoke_fn fn, void *arg)
{
    cmd->revoke = fn;
    cmd->revoke_arg = arg;
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
