/* The ring is memory the kernel shares with us, and it is read as if the kernel were
 * hostile: every field is read once into a local copy, checked, and only the copy is
 * used; every offset is checked against the mapping, every length against the entry
 * and the entry against what the kernel published. A malformed command entry is
 * failed; a ring whose framing is gone (lengths, heads) is declared broken. */
#include <errno.h>
#include "tcmu_uapi.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ring.h"
#include "th/be.h"

#define ENTRY_HDR 48 /* offsetof(struct tcmu_cmd_entry, req.iov) */
#define TMR_HDR   32 /* offsetof(struct tcmu_tmr_entry, cmd_ids) */
_Static_assert(offsetof(struct tcmu_cmd_entry, req.iov) == ENTRY_HDR, "UAPI layout");
_Static_assert(offsetof(struct tcmu_mailbox, cmd_tail) == 64, "UAPI layout");
_Static_assert(offsetof(struct tcmu_tmr_entry, cmd_ids) == TMR_HDR, "UAPI layout");
_Static_assert(offsetof(struct tcmu_cmd_entry, rsp.scsi_status) == 8, "UAPI layout");
_Static_assert(offsetof(struct tcmu_cmd_entry, rsp.read_len) == 12, "UAPI layout");

int th_ring_init(th_ring *r, void *map, size_t size, int fd)
{
    memset(r, 0, sizeof(*r));
    r->map = map;
    r->map_size = size;
    r->fd = fd;
    r->mb = map;
    atomic_init(&r->broken, false);
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
    if (r->cmdr_off < sizeof(struct tcmu_mailbox) || r->cmdr_off % 8 || r->cmdr_size < 64 ||
        r->cmdr_size % 8 || (uint64_t)r->cmdr_off + r->cmdr_size > size) {
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

/* Header words read once from shared memory. Entries start on 8-byte boundaries, so
 * the words are aligned although the UAPI struct is packed. */
static uint32_t load_len_op(const th_ring *r, uint32_t at)
{
    return __atomic_load_n((const uint32_t *)(const void *)(r->cmdr + at), __ATOMIC_RELAXED);
}

static uint16_t load_cmd_id(const th_ring *r, uint32_t at)
{
    return __atomic_load_n((const uint16_t *)(const void *)(r->cmdr + at + 4), __ATOMIC_RELAXED);
}

/* After copying fields out of the ring: the compiler may not re-read the ring for
 * them, so a value is checked and used as the same value. */
static void copied(void)
{
    atomic_signal_fence(memory_order_seq_cst);
}

static bool in_map(const th_ring *r, uint64_t off, uint64_t len, uint64_t lo)
{
    return off >= lo && off <= r->map_size && len <= r->map_size - off;
}

/* The first reason wins; readers of err look at it only after seeing the flag. */
static void set_broken(th_ring *r, const char *what, uint32_t at, uint32_t value)
{
    if (atomic_load_explicit(&r->broken, memory_order_acquire)) return;
    snprintf(r->err, sizeof(r->err), "ring broken: %s (%u) at offset %u", what, value, at);
    atomic_store_explicit(&r->broken, true, memory_order_release);
}

void th_ring_set_broken(th_ring *r, const char *what, uint32_t value)
{
    pthread_mutex_lock(&r->lock);
    set_broken(r, what, __atomic_load_n(&r->seen, __ATOMIC_RELAXED), value);
    pthread_mutex_unlock(&r->lock);
}

static th_entry_kind broken(th_ring *r, const char *what, uint32_t at, uint32_t value)
{
    pthread_mutex_lock(&r->lock);
    set_broken(r, what, at, value);
    pthread_mutex_unlock(&r->lock);
    return TH_ENTRY_BROKEN;
}

static th_entry_kind bad(th_ring *r, const char *why)
{
    r->bad = why;
    return TH_ENTRY_BAD_CMD;
}

/* e and len were checked: the entry lies inside the ring. */
static th_entry_kind parse_cmd(th_ring *r, uint32_t at, uint32_t len, th_ring_cmd *cmd)
{
    const uint8_t *e = r->cmdr + at;
    struct tcmu_cmd_entry h; /* the header only: iovecs are copied one by one */
    memcpy(&h, e, ENTRY_HDR);
    copied();
    uint32_t out_cnt = h.req.iov_cnt, bidi_cnt = h.req.iov_bidi_cnt;
    uint64_t n_iov = (uint64_t)out_cnt + bidi_cnt + h.req.iov_dif_cnt;
    uint64_t iov_end = ENTRY_HDR + n_iov * sizeof(struct iovec);
    if (iov_end > len) return bad(r, "more iovecs than the entry holds");
    /* The kernel writes the CDB into the entry after the iovecs; anywhere else it
     * could change under us or be a part of the ring in reuse. */
    uint64_t entry_off = (uint64_t)r->cmdr_off + at, cdb_off = h.req.cdb_off;
    if (cdb_off < entry_off + iov_end || cdb_off >= entry_off + len)
        return bad(r, "CDB outside its entry");
    size_t avail = (size_t)(entry_off + len - cdb_off);
    if (avail > sizeof(cmd->cdb)) avail = sizeof(cmd->cdb);
    memcpy(cmd->cdb, r->map + cdb_off, avail);
    copied();
    size_t cdb_len = th_cdb_len_for(cmd->cdb, avail); /* from the copy: it cannot change */
    if (cdb_len > avail) return bad(r, "CDB runs past its entry");
    cmd->cdb_len = (uint16_t)cdb_len;
    uint32_t cnt = out_cnt + bidi_cnt; /* no overflow: n_iov fit in the entry */
    if (cnt > cmd->iov_cap) {
        if (cmd->no_grow) return bad(r, "out of memory for iovecs");
        cmd->iov_need = cnt;
        return TH_ENTRY_NEED_IOV;
    }
    for (uint32_t i = 0; i < cnt; i++) {
        struct iovec v;
        memcpy(&v, e + ENTRY_HDR + i * sizeof(v), sizeof(v));
        copied();
        uint64_t base = (uint64_t)(uintptr_t)v.iov_base, ilen = v.iov_len;
        if (!in_map(r, base, ilen, r->data_off)) return bad(r, "iovec outside the data area");
        cmd->iov[i] = (struct iovec){r->map + base, (size_t)ilen};
    }
    cmd->out_cnt = out_cnt;
    cmd->in_first = bidi_cnt ? out_cnt : 0;
    cmd->in_cnt = bidi_cnt ? bidi_cnt : out_cnt;
    return TH_ENTRY_CMD;
}

static th_entry_kind parse_tmr(th_ring *r, uint32_t at, uint32_t len, th_ring_tmr *tmr)
{
    struct tcmu_tmr_entry t;
    if (len < TMR_HDR) return broken(r, "short TMR entry", at, len);
    memcpy(&t, r->cmdr + at, TMR_HDR);
    copied();
    uint32_t fit = (len - TMR_HDR) / sizeof(uint16_t), n = t.cmd_cnt;
    if (n > fit) n = fit;
    if (n > TH_TMR_IDS_MAX) n = TH_TMR_IDS_MAX;
    tmr->type = t.tmr_type;
    tmr->n = n;
    memcpy(tmr->ids, r->cmdr + at + TMR_HDR, n * sizeof(uint16_t));
    return TH_ENTRY_TMR;
}

th_entry_kind th_ring_next(th_ring *r, th_ring_cmd *cmd, th_ring_tmr *tmr)
{
    for (;;) {
        if (atomic_load_explicit(&r->broken, memory_order_acquire)) return TH_ENTRY_BROKEN;
        uint32_t head = __atomic_load_n(&r->mb->cmd_head, __ATOMIC_ACQUIRE);
        uint32_t at = __atomic_load_n(&r->seen, __ATOMIC_RELAXED);
        if (head >= r->cmdr_size || head % 8)
            return broken(r, "cmd_head out of the ring", head, head);
        if (at == head) return TH_ENTRY_NONE;
        uint32_t len_op = load_len_op(r, at);
        uint32_t len = tcmu_hdr_get_len(len_op);
        /* Entries never wrap (the kernel pads to the end of the ring instead) and never
         * reach past what the kernel published. */
        uint32_t published = head > at ? head - at : r->cmdr_size - at;
        if (len < sizeof(struct tcmu_cmd_entry_hdr) || len % 8 || len > r->cmdr_size - at)
            return broken(r, "bad entry length", at, len);
        if (len > published) return broken(r, "entry runs past cmd_head", at, len);
        uint16_t id = load_cmd_id(r, at);
        th_entry_kind kind;
        switch (tcmu_hdr_get_op(len_op)) {
        case TCMU_OP_PAD:
            kind = TH_ENTRY_NONE;
            break;
        case TCMU_OP_CMD:
            cmd->id = id;
            /* The kernel sizes every command entry to hold a whole response. */
            kind = len < sizeof(struct tcmu_cmd_entry) ? bad(r, "entry too short for a response")
                                                       : parse_cmd(r, at, len, cmd);
            if (kind == TH_ENTRY_NEED_IOV) return kind; /* not consumed: read again */
            break;
        case TCMU_OP_TMR:
            kind = parse_tmr(r, at, len, tmr);
            if (kind == TH_ENTRY_BROKEN) return kind;
            break;
        default:
            cmd->id = id;
            kind = TH_ENTRY_UNKNOWN;
        }
        if (kind == TH_ENTRY_BAD_CMD || kind == TH_ENTRY_UNKNOWN) {
            cmd->cdb_len = 0;
            cmd->out_cnt = cmd->in_first = cmd->in_cnt = 0;
        }
        /* Published only after the entry was copied out: completions on other threads
         * may reuse everything before it. */
        __atomic_store_n(&r->seen, (at + len) % r->cmdr_size, __ATOMIC_RELEASE);
        if (kind != TH_ENTRY_NONE) return kind;
    }
}

/* The header at the tail, re-read from shared memory and checked again: it was valid
 * when read, so a change now is the kernel misbehaving. Called under r->lock. */
static bool tail_entry(th_ring *r, uint8_t *op, uint32_t *len)
{
    uint32_t seen = __atomic_load_n(&r->seen, __ATOMIC_ACQUIRE);
    uint32_t read = (seen + r->cmdr_size - r->tail) % r->cmdr_size;
    if (seen == r->tail) {
        set_broken(r, "completion with no entry left to complete into", r->tail, r->tail);
        return false;
    }
    uint32_t len_op = load_len_op(r, r->tail);
    *len = tcmu_hdr_get_len(len_op);
    *op = tcmu_hdr_get_op(len_op);
    /* An entry ends at or before seen: read == 0 cannot happen here, and a
     * full ring of unread entries is never handed out. */
    if (*len < sizeof(struct tcmu_cmd_entry_hdr) || *len % 8 || *len > r->cmdr_size - r->tail ||
        *len > read) {
        set_broken(r, "entry length changed after it was read", r->tail, *len);
        return false;
    }
    return true;
}

/* Steps the tail over entries that carry no completion (PAD, TMR), never past what
 * was read. */
static bool skip_non_cmds(th_ring *r)
{
    while (r->tail != __atomic_load_n(&r->seen, __ATOMIC_ACQUIRE)) {
        uint8_t op;
        uint32_t len;
        if (!tail_entry(r, &op, &len)) return false;
        if (op != TCMU_OP_PAD && op != TCMU_OP_TMR) break;
        r->tail = (r->tail + len) % r->cmdr_size;
    }
    return true;
}

/* Writes only the response fields that lie inside the entry: an entry too short for
 * them (failed when read) must not spill into the one after it. */
static void write_response(th_ring *r, uint8_t *e, uint32_t len, const th_ring_response *rsp)
{
    struct tcmu_cmd_entry *ce = (void *)e;
    ce->hdr.cmd_id = rsp->id;
    uint8_t uflags = rsp->uflags;
    if (len > offsetof(struct tcmu_cmd_entry, rsp.scsi_status)) ce->rsp.scsi_status = rsp->status;
    if (len >= offsetof(struct tcmu_cmd_entry, rsp.read_len) + sizeof(uint32_t)) {
        ce->rsp.read_len = 0;
        bool short_in = rsp->data_in_len < rsp->data_in_cap;
        if (rsp->data_in_set && (short_in || rsp->status == TH_RING_STATUS_CHECK_CONDITION) &&
            (r->flags & TCMU_MAILBOX_FLAG_CAP_READ_LEN)) {
            uflags |= TCMU_UFLAG_READ_LEN;
            ce->rsp.read_len = (uint32_t)rsp->data_in_len;
        }
    }
    ce->hdr.uflags = uflags;
    size_t sense_at = offsetof(struct tcmu_cmd_entry, rsp.sense_buffer);
    size_t room = len > sense_at ? len - sense_at : 0;
    if (room > TCMU_SENSE_BUFFERSIZE) room = TCMU_SENSE_BUFFERSIZE;
    memset(e + sense_at, 0, room);
    if (rsp->status == TH_RING_STATUS_CHECK_CONDITION)
        memcpy(e + sense_at, rsp->sense, rsp->sense_len < room ? rsp->sense_len : room);
}

void th_ring_complete(th_ring *r, const th_ring_response *rsp)
{
    pthread_mutex_lock(&r->lock);
    uint8_t op;
    uint32_t len;
    /* A broken ring is left alone: the kernel times the commands out. */
    if (atomic_load_explicit(&r->broken, memory_order_acquire) || !skip_non_cmds(r) ||
        !tail_entry(r, &op, &len))
        goto out;
    /* Out of order: the completion goes into whichever entry is at the tail, named by
     * the finished command's id; that entry's own command was copied out when read. */
    write_response(r, r->cmdr + r->tail, len, rsp);
    r->tail = (r->tail + len) % r->cmdr_size;
    skip_non_cmds(r);
    __atomic_store_n(&r->mb->cmd_tail, r->tail, __ATOMIC_RELEASE);
out:
    pthread_mutex_unlock(&r->lock);
}

void th_ring_kick(th_ring *r)
{
    uint32_t one = 1;
    ssize_t n;
    do n = write(r->fd, &one, sizeof(one));
    while (n < 0 && errno == EINTR);
}
