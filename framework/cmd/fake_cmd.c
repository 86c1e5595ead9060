/* Fake commands: the kernel-free source of th_cmd. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cmd_internal.h"
#include "th/fake.h"

static void fake_done(th_cmd *cmd)
{
    atomic_store(&cmd->released, true);
}

th_cmd *th_fake_cmd_new(const uint8_t *cdb, size_t cdb_len, const void *data_out, size_t out_len,
                        size_t data_in_cap)
{
    if (!cdb || cdb_len == 0 || cdb_len > TH_CDB_MAX) return NULL;
    if (out_len && !data_out) return NULL;
    if (data_in_cap > SIZE_MAX - out_len) return NULL; /* the one buffer holds both */
    th_cmd *cmd = calloc(1, sizeof(*cmd));
    if (!cmd) return NULL;
    memcpy(cmd->cdb, cdb, cdb_len);
    cmd->cdb_len = (uint16_t)cdb_len;
    /* One buffer: data-out first, then data-in, so handlers cannot confuse the two. */
    cmd->fake_buf_len = out_len + data_in_cap;
    cmd->fake_buf = malloc(cmd->fake_buf_len ? cmd->fake_buf_len : 1);
    if (!cmd->fake_buf || th_cmd_reserve_iov(cmd, 2)) {
        th_fake_cmd_free(cmd);
        return NULL;
    }
    if (out_len) memcpy(cmd->fake_buf, data_out, out_len);
    memset(cmd->fake_buf + out_len, 0xa5, data_in_cap); /* stale bytes are visible */
    cmd->iov[0] = (struct iovec){cmd->fake_buf, out_len};
    cmd->iov[1] = (struct iovec){cmd->fake_buf + out_len, data_in_cap};
    cmd->out_cnt = out_len ? 1 : 0;
    cmd->in_first = 1;
    cmd->in_cnt = data_in_cap ? 1 : 0;
    th_cmd_finish_iov(cmd);
    th_cmd_reset(cmd);
    cmd->done_fn = fake_done;
    return cmd;
}

int th_fake_cmd_set_segment(th_cmd *cmd, size_t seg)
{
    if (!seg) return -EINVAL;
    size_t in = cmd->in_cap, out = cmd->out_len;
    uint32_t n_out = (uint32_t)((out + seg - 1) / seg), n_in = (uint32_t)((in + seg - 1) / seg);
    if (th_cmd_reserve_iov(cmd, n_out + n_in + 1)) return -ENOMEM;
    uint32_t k = 0;
    for (size_t off = 0; off < out; off += seg, k++)
        cmd->iov[k] = (struct iovec){cmd->fake_buf + off, out - off < seg ? out - off : seg};
    cmd->out_cnt = k;
    cmd->in_first = k;
    for (size_t off = 0; off < in; off += seg, k++)
        cmd->iov[k] = (struct iovec){cmd->fake_buf + out + off, in - off < seg ? in - off : seg};
    cmd->in_cnt = k - cmd->in_first;
    th_cmd_finish_iov(cmd);
    return 0;
}

void th_fake_cmd_free(th_cmd *cmd)
{
    if (!cmd) return;
    free(cmd->fake_buf);
    free(cmd->iov);
    free(cmd);
}

int th_fake_cmd_run(th_cmd *cmd, th_handler_fn fn, void *arg)
{
    th_cmd_reset(cmd);
    int rc = fn(cmd, arg);
    if (rc != TH_CMD_DEFERRED) th_cmd_complete(cmd);
    return rc;
}

void th_fake_cmd_abort(th_cmd *cmd)
{
    atomic_store(&cmd->aborted, true);
}
bool th_fake_cmd_done(const th_cmd *cmd)
{
    return atomic_load(&((th_cmd *)cmd)->released);
}

const uint8_t *th_fake_data_in(const th_cmd *cmd, size_t *len)
{
    *len = th_cmd_get_data_in_len(cmd);
    return cmd->fake_buf + cmd->out_len;
}

size_t th_fake_residual(const th_cmd *cmd)
{
    return cmd->in_cap - th_cmd_get_data_in_len(cmd);
}

int th_fake_sense(const th_cmd *cmd, th_sense *out)
{
    size_t len;
    const uint8_t *s = th_cmd_get_sense(cmd, &len);
    if (!s) return -ENOENT;
    return th_sense_decode(s, len, out);
}
