/* Every offset read from the ring is checked against the mapping before use: an
 * entry that points outside is failed, never followed. */
#include <errno.h>
#include "tcmu_uapi.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ring.h"

#define ENTRY_HDR 48 /* offsetof(struct tcmu_cmd_entry, req.iov) */
_Static_assert(offsetof(struct tcmu_cmd_entry, req.iov) == ENTRY_HDR, "UAPI layout");
_Static_assert(offsetof(struct tcmu_mailbox, cmd_tail) == 64, "UAPI layout");
_Static_assert(offsetof(struct tcmu_tmr_entry, cmd_ids) == 32, "UAPI layout");

int th_ring_init(th_ring *r, void *map, size_t size, int fd)
{
    memset(r, 0, sizeof(*r));
    r->map = map;
    r->map_size = size;
    r->fd = fd;
    r->mb = map;
    pthread_mutex_init(&r->lock, NULL);
    if (size < sizeof(struct tcmu_mailbox)) {
        snprintf(r->err, sizeof(r->err), "mapping of %zu bytes is smaller than the mailbox", size);
        return -EPROTO;
    }
    if (r->mb->version != TCMU_MAILBOX_VERSION) {
        snprintf(r->err, sizeof(r->err), "mailbox version %u, expected %d", r->mb->version,
                 TCMU_MAILBOX_VERSION);
        return -EPROTO;
    }
    r->cmdr_off = r->mb->cmdr_off;
    r->cmdr_size = r->mb->cmdr_size;
    if (r->cmdr_off < sizeof(struct tcmu_mailbox) || r->cmdr_size < 64 || r->cmdr_size % 8 ||
        (uint64_t)r->cmdr_off + r->cmdr_size > size) {
        snprintf(r->err, sizeof(r->err), "command ring at %u+%u outside the %zu-byte mapping",
                 r->cmdr_off, r->cmdr_size, size);
        return -EPROTO;
    }
    r->cmdr = r->map + r->cmdr_off;
    r->data_off = (size_t)r->cmdr_off + r->cmdr_size;
    r->flags = r->mb->flags;
    r->tail = __atomic_load_n(&r->mb->cmd_tail, __ATOMIC_ACQUIRE);
    r->seen = r->tail;
    if (r->seen >= r->cmdr_size || r->seen % 8) {
        snprintf(r->err, sizeof(r->err), "cmd_tail %u is not an entry boundary", r->seen);
        return -EPROTO;
    }
    return 0;
}

void th_ring_destroy(th_ring *r)
{
    pthread_mutex_destroy(&r->lock);
}

static bool in_map(const th_ring *r, uint64_t off, uint64_t len, uint64_t lo)
{
    return off >= lo && off <= r->map_size && len <= r->map_size - off;
}

static th_entry_kind broken(th_ring *r, const char *what, uint32_t at, uint32_t value)
{
    snprintf(r->err, sizeof(r->err), "ring broken: %s (%u) at offset %u", what, value, at);
    return TH_ENTRY_BROKEN;
}

static th_entry_kind parse_cmd(th_ring *r, const struct tcmu_cmd_entry *e, uint32_t len,
                               th_cmd *cmd)
{
    uint64_t n_iov = (uint64_t)e->req.iov_cnt + e->req.iov_bidi_cnt + e->req.iov_dif_cnt;
    cmd->id = e->hdr.cmd_id;
    if (ENTRY_HDR + n_iov * sizeof(struct iovec) > len) return TH_ENTRY_BAD_CMD;
    uint64_t cdb_off = e->req.cdb_off;
    if (!in_map(r, cdb_off, 1, r->cmdr_off)) return TH_ENTRY_BAD_CMD;
    const uint8_t *cdb = r->map + cdb_off;
    size_t cdb_len = th_cdb_len_for(cdb, r->map_size - cdb_off);
    if (cdb_len > TH_CDB_MAX || !in_map(r, cdb_off, cdb_len, r->cmdr_off)) return TH_ENTRY_BAD_CMD;
    memcpy(cmd->cdb, cdb, cdb_len);
    cmd->cdb_len = (uint16_t)cdb_len;
    uint32_t cnt = e->req.iov_cnt + e->req.iov_bidi_cnt;
    if (th_cmd_reserve_iov(cmd, cnt ? cnt : 1)) return TH_ENTRY_BAD_CMD;
    for (uint32_t i = 0; i < cnt; i++) {
        uint64_t base = (uint64_t)(uintptr_t)e->req.iov[i].iov_base;
        uint64_t ilen = e->req.iov[i].iov_len;
        if (!in_map(r, base, ilen, r->data_off)) return TH_ENTRY_BAD_CMD;
        cmd->iov[i].iov_base = r->map + base;
        cmd->iov[i].iov_len = (size_t)ilen;
    }
    cmd->out_cnt = e->req.iov_cnt;
    if (e->req.iov_bidi_cnt) {
        cmd->in_first = e->req.iov_cnt;
        cmd->in_cnt = e->req.iov_bidi_cnt;
    } else {
        cmd->in_first = 0;
        cmd->in_cnt = e->req.iov_cnt;
    }
    th_cmd_finish_iov(cmd);
    return TH_ENTRY_CMD;
}

th_entry_kind th_ring_next(th_ring *r, th_cmd *cmd, th_ring_tmr *tmr)
{
    for (;;) {
        uint32_t head = __atomic_load_n(&r->mb->cmd_head, __ATOMIC_ACQUIRE);
        uint32_t at = __atomic_load_n(&r->seen, __ATOMIC_RELAXED);
        if (head >= r->cmdr_size || head % 8)
            return broken(r, "cmd_head out of the ring", head, head);
        if (at == head) return TH_ENTRY_NONE;
        const struct tcmu_cmd_entry *e = (const void *)(r->cmdr + at);
        uint32_t len = tcmu_hdr_get_len(e->hdr.len_op);
        /* Entries never wrap: the kernel pads to the end of the ring instead. */
        if (len < sizeof(struct tcmu_cmd_entry_hdr) || len % 8 || len > r->cmdr_size - at)
            return broken(r, "bad entry length", at, len);
        th_entry_kind kind;
        switch (tcmu_hdr_get_op(e->hdr.len_op)) {
        case TCMU_OP_PAD:
            kind = TH_ENTRY_NONE;
            break;
        case TCMU_OP_CMD:
            cmd->id = e->hdr.cmd_id;
            /* The kernel sizes every command entry to hold a whole response. */
            kind =
                len < sizeof(struct tcmu_cmd_entry) ? TH_ENTRY_BAD_CMD : parse_cmd(r, e, len, cmd);
            break;
        case TCMU_OP_TMR: {
            const struct tcmu_tmr_entry *t = (const void *)e;
            if (len < offsetof(struct tcmu_tmr_entry, cmd_ids))
                return broken(r, "short TMR entry", at, len);
            uint64_t fit = (len - offsetof(struct tcmu_tmr_entry, cmd_ids)) / 2;
            tmr->type = t->tmr_type;
            tmr->n = t->cmd_cnt < fit ? t->cmd_cnt : (uint32_t)fit;
            if (tmr->n > TH_TMR_IDS_MAX) tmr->n = TH_TMR_IDS_MAX;
            memcpy(tmr->ids, t->cmd_ids, tmr->n * sizeof(uint16_t));
            kind = TH_ENTRY_TMR;
            break;
        }
        default:
            cmd->id = e->hdr.cmd_id;
            kind = TH_ENTRY_UNKNOWN;
        }
        /* Published only after the entry was copied out: completions on other threads
         * may reuse everything before it. */
        __atomic_store_n(&r->seen, (at + len) % r->cmdr_size, __ATOMIC_RELEASE);
        if (kind != TH_ENTRY_NONE) return kind;
    }
}

static uint8_t entry_op(const th_ring *r, uint32_t at)
{
    return tcmu_hdr_get_op(((const struct tcmu_cmd_entry_hdr *)(r->cmdr + at))->len_op);
}

static uint32_t entry_len(const th_ring *r, uint32_t at)
{
    return tcmu_hdr_get_len(((const struct tcmu_cmd_entry_hdr *)(r->cmdr + at))->len_op);
}

/* Steps the tail over entries that carry no completion (PAD, TMR), never past what
 * was read. */
static void skip_non_cmds(th_ring *r)
{
    while (r->tail != __atomic_load_n(&r->seen, __ATOMIC_ACQUIRE)) {
        uint8_t op = entry_op(r, r->tail);
        if (op != TCMU_OP_PAD && op != TCMU_OP_TMR) break;
        r->tail = (r->tail + entry_len(r, r->tail)) % r->cmdr_size;
    }
}

void th_ring_complete(th_ring *r, const th_cmd *cmd)
{
    pthread_mutex_lock(&r->lock);
    skip_non_cmds(r);
    /* Out of order: the completion goes into whichever entry is at the tail, named by
     * the finished command's id; that entry's own command was copied out when read. */
    struct tcmu_cmd_entry *e = (void *)(r->cmdr + r->tail);
    uint32_t len = entry_len(r, r->tail);
    e->hdr.cmd_id = cmd->id;
    e->hdr.uflags = cmd->uflags;
    e->rsp.scsi_status = cmd->status;
    e->rsp.read_len = 0;
    bool short_in = cmd->data_in_len < cmd->in_cap;
    if (cmd->data_in_set && (short_in || cmd->status == TH_STATUS_CHECK_CONDITION) &&
        (r->flags & TCMU_MAILBOX_FLAG_CAP_READ_LEN)) {
        e->hdr.uflags |= TCMU_UFLAG_READ_LEN;
        e->rsp.read_len = (uint32_t)cmd->data_in_len;
    }
    /* Never write past the entry, even one the kernel would not have made this short. */
    size_t room = len > offsetof(struct tcmu_cmd_entry, rsp.sense_buffer)
                      ? len - offsetof(struct tcmu_cmd_entry, rsp.sense_buffer)
                      : 0;
    if (room > TCMU_SENSE_BUFFERSIZE) room = TCMU_SENSE_BUFFERSIZE;
    memset(e->rsp.sense_buffer, 0, room);
    if (cmd->status == TH_STATUS_CHECK_CONDITION)
        memcpy(e->rsp.sense_buffer, cmd->sense, cmd->sense_len < room ? cmd->sense_len : room);
    r->tail = (r->tail + len) % r->cmdr_size;
    skip_non_cmds(r);
    __atomic_store_n(&r->mb->cmd_tail, r->tail, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&r->lock);
}

void th_ring_kick(th_ring *r)
{
    uint32_t one = 1;
    ssize_t n;
    do n = write(r->fd, &one, sizeof(one));
    while (n < 0 && errno == EINTR);
}
