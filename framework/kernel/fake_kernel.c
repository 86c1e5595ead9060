/* A fake kernel: queues entries the way target_core_user does (PAD at the wrap,
 * scattered 4 KiB data blocks, CDB after the iovecs) and reaps completions the way
 * tcmu_handle_completions does, flagging a broken ring where the kernel would. */
#include <errno.h>
#include "tcmu_uapi.h"
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include "th/fake_kernel.h"

#define BLOCK     4096u
#define ENTRY_HDR 48u
/* Inaccessible pages after each mapping: a read past the end faults at once. */
#define GUARD (64u * 1024)

typedef struct fk_cmd {
    bool used;
    uint32_t *blocks;
    uint32_t nblocks;
    size_t in_len;
} fk_cmd;

struct th_fake_kernel {
    int memfd;
    uint8_t *map;      /* the kernel's view */
    uint8_t *user_map; /* what the device maps, like /dev/uioN */
    size_t map_size;
    struct tcmu_mailbox *mb;
    /* The same mailbox in the device's mapping. cmd_head is published and cmd_tail read
     * through it: the device reads them there, and TSan, which knows addresses, not
     * pages, sees the release and the acquire only on one address. Else what a test
     * wrote through the device's mapping (a raw entry's data-out) looked unsynchronised
     * with the server reading it. */
    struct tcmu_mailbox *user_mb;
    uint32_t cmdr_off, cmdr_size;
    size_t data_off;
    uint32_t nblocks, cursor;
    uint8_t *block_used;
    uint32_t head, last_cleaned;
    uint16_t next_id;
    uint16_t lowest_ids; /* th_fk_reuse_ids: hand out the lowest free id */
    fk_cmd *cmds;
    size_t outstanding;
    uint64_t kicks;
    uint64_t kicks_unreaped; /* like the kernel, completions are reaped only after a kick */
    int sk[2];               /* [0] kernel side, [1] device side */
    uint8_t **reaped;        /* data-in copies handed out by the last reap */
    size_t n_reaped;
    char err[256];
};

static uint8_t *map_guarded(int fd, size_t size)
{
    void *area = mmap(NULL, size + GUARD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) return NULL;
    void *m = mmap(area, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    if (m == MAP_FAILED) {
        munmap(area, size + GUARD);
        return NULL;
    }
    return m;
}

int th_fk_new(th_fake_kernel **out, size_t cmdr_size, size_t data_size, uint16_t flags)
{
    if (cmdr_size < 1024 || cmdr_size % 8 || data_size < BLOCK) return -EINVAL;
    th_fake_kernel *fk = calloc(1, sizeof(*fk));
    if (!fk) return -ENOMEM;
    fk->sk[0] = fk->sk[1] = fk->memfd = -1;
    fk->cmdr_off = sizeof(struct tcmu_mailbox);
    fk->cmdr_size = (uint32_t)cmdr_size;
    fk->data_off = fk->cmdr_off + cmdr_size;
    fk->data_off = (fk->data_off + BLOCK - 1) / BLOCK * BLOCK;
    fk->nblocks = (uint32_t)(data_size / BLOCK);
    fk->map_size = fk->data_off + (size_t)fk->nblocks * BLOCK;
    fk->block_used = calloc(fk->nblocks, 1);
    fk->cmds = calloc(65536, sizeof(fk_cmd));
    fk->memfd = memfd_create("th-fake-kernel", MFD_CLOEXEC);
    if (!fk->block_used || !fk->cmds || fk->memfd < 0 ||
        ftruncate(fk->memfd, (off_t)fk->map_size) ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fk->sk)) {
        th_fk_free(fk);
        return -ENOMEM;
    }
    fk->map = map_guarded(fk->memfd, fk->map_size);
    fk->user_map = map_guarded(fk->memfd, fk->map_size);
    if (!fk->map || !fk->user_map) {
        th_fk_free(fk);
        return -ENOMEM;
    }
    fk->mb = (struct tcmu_mailbox *)fk->map;
    fk->user_mb = (struct tcmu_mailbox *)fk->user_map;
    fk->mb->version = TCMU_MAILBOX_VERSION;
    fk->mb->flags = flags;
    fk->mb->cmdr_off = fk->cmdr_off;
    fk->mb->cmdr_size = fk->cmdr_size;
    fk->next_id = 1;
    *out = fk;
    return 0;
}

static void free_reaped(th_fake_kernel *fk)
{
    for (size_t i = 0; i < fk->n_reaped; i++) free(fk->reaped[i]);
    free(fk->reaped);
    fk->reaped = NULL;
    fk->n_reaped = 0;
}

void th_fk_free(th_fake_kernel *fk)
{
    if (!fk) return;
    free_reaped(fk);
    if (fk->cmds)
        for (size_t i = 0; i < 65536; i++) free(fk->cmds[i].blocks);
    if (fk->map) munmap(fk->map, fk->map_size + GUARD);
    if (fk->user_map) munmap(fk->user_map, fk->map_size + GUARD);
    if (fk->memfd >= 0) close(fk->memfd);
    for (int i = 0; i < 2; i++)
        if (fk->sk[i] >= 0) close(fk->sk[i]);
    free(fk->block_used);
    free(fk->cmds);
    free(fk);
}

void th_fk_mapping(th_fake_kernel *fk, void **map, size_t *size, int *fd)
{
    *map = fk->user_map;
    *size = fk->map_size;
    *fd = fk->sk[1];
}

size_t th_fk_head(const th_fake_kernel *fk)
{
    return fk->head;
}
size_t th_fk_cmdr_size(const th_fake_kernel *fk)
{
    return fk->cmdr_size;
}
size_t th_fk_cmdr_off(const th_fake_kernel *fk)
{
    return fk->cmdr_off;
}
size_t th_fk_outstanding(const th_fake_kernel *fk)
{
    return fk->outstanding;
}
uint64_t th_fk_kicks(const th_fake_kernel *fk)
{
    return fk->kicks;
}
const char *th_fk_errmsg(const th_fake_kernel *fk)
{
    return fk->err;
}

static uint32_t ring_free(const th_fake_kernel *fk)
{
    return (fk->last_cleaned + fk->cmdr_size - fk->head - 8) % fk->cmdr_size;
}

/* Reserves len bytes at the head, padding to the end of the ring first if needed. */
static uint8_t *reserve(th_fake_kernel *fk, uint32_t len)
{
    uint32_t to_end = fk->cmdr_size - fk->head;
    uint32_t need = len <= to_end ? len : to_end + len;
    if (len > fk->cmdr_size / 2 || need > ring_free(fk)) return NULL;
    if (len > to_end) {
        struct tcmu_cmd_entry_hdr *pad = (void *)(fk->map + fk->cmdr_off + fk->head);
        memset(pad, 0, sizeof(*pad));
        pad->len_op = to_end | TCMU_OP_PAD;
        fk->head = 0;
    }
    return fk->map + fk->cmdr_off + fk->head;
}

static void publish(th_fake_kernel *fk, uint32_t len)
{
    fk->head = (fk->head + len) % fk->cmdr_size;
    __atomic_store_n(&fk->user_mb->cmd_head, fk->head, __ATOMIC_RELEASE);
}

static void release_blocks(th_fake_kernel *fk, fk_cmd *c)
{
    for (uint32_t i = 0; i < c->nblocks; i++) fk->block_used[c->blocks[i]] = 0;
    free(c->blocks);
    c->blocks = NULL;
    c->nblocks = 0;
}

static int alloc_blocks(th_fake_kernel *fk, fk_cmd *c, size_t bytes)
{
    uint32_t want = (uint32_t)((bytes + BLOCK - 1) / BLOCK);
    c->blocks = want ? malloc(want * sizeof(uint32_t)) : NULL;
    if (want && !c->blocks) return -ENOMEM;
    for (uint32_t scanned = 0; c->nblocks < want && scanned < fk->nblocks; scanned++) {
        uint32_t b = fk->cursor;
        fk->cursor = (fk->cursor + 1) % fk->nblocks;
        if (fk->block_used[b]) continue;
        fk->block_used[b] = 1;
        c->blocks[c->nblocks++] = b;
    }
    if (c->nblocks < want) {
        release_blocks(fk, c);
        return -ENOSPC;
    }
    return 0;
}

void th_fk_reuse_ids(th_fake_kernel *fk, bool lowest)
{
    fk->lowest_ids = lowest;
}

int th_fk_queue_cmd(th_fake_kernel *fk, const uint8_t *cdb, size_t cdb_len, const void *data_out,
                    size_t out_len, size_t data_in_len, uint16_t *id_out)
{
    if (!cdb_len || cdb_len > 260 || (out_len && data_in_len)) return -EINVAL;
    uint16_t id = fk->lowest_ids ? 1 : fk->next_id;
    for (int tries = 0; fk->cmds[id].used || id == 0; tries++) {
        if (tries > 65536) return -ENOSPC;
        id++;
    }
    fk_cmd *c = &fk->cmds[id];
    size_t bytes = out_len ? out_len : data_in_len;
    int rc = alloc_blocks(fk, c, bytes);
    if (rc) return rc;
    /* One iovec per run of adjacent blocks, as the kernel builds them. */
    struct iovec iov[4096];
    uint32_t n = 0;
    size_t left = bytes;
    for (uint32_t i = 0; i < c->nblocks; i++) {
        size_t off = fk->data_off + (size_t)c->blocks[i] * BLOCK;
        size_t len = left < BLOCK ? left : BLOCK;
        if (n && (size_t)(uintptr_t)iov[n - 1].iov_base + iov[n - 1].iov_len == off)
            iov[n - 1].iov_len += len;
        else
            iov[n++] = (struct iovec){(void *)(uintptr_t)off, len};
        left -= len;
        if (n == 4096) break;
    }
    /* Like the kernel: room for the response (sense buffer) in every command entry. */
    size_t base = ENTRY_HDR + n * sizeof(struct iovec);
    if (base < sizeof(struct tcmu_cmd_entry)) base = sizeof(struct tcmu_cmd_entry);
    uint32_t len = (uint32_t)((base + cdb_len + 7) & ~7u);
    uint8_t *slot = reserve(fk, len);
    if (!slot) {
        release_blocks(fk, c);
        return -ENOSPC;
    }
    struct tcmu_cmd_entry *e = (void *)slot;
    memset(e, 0, len);
    e->hdr.len_op = len | TCMU_OP_CMD;
    e->hdr.cmd_id = id;
    e->req.iov_cnt = n;
    memcpy(e->req.iov, iov, n * sizeof(struct iovec));
    e->req.cdb_off = fk->cmdr_off + fk->head + base;
    memcpy(fk->map + e->req.cdb_off, cdb, cdb_len);
    size_t done = 0;
    for (uint32_t i = 0; i < n && out_len; i++) {
        memcpy(fk->map + (uintptr_t)iov[i].iov_base, (const uint8_t *)data_out + done,
               iov[i].iov_len);
        done += iov[i].iov_len;
    }
    c->used = true;
    c->in_len = data_in_len;
    fk->outstanding++;
    fk->next_id = (uint16_t)(id + 1);
    publish(fk, len);
    if (id_out) *id_out = id;
    return 0;
}

int th_fk_queue_tmr(th_fake_kernel *fk, uint8_t type, const uint16_t *ids, uint32_t n)
{
    uint32_t len = (uint32_t)((offsetof(struct tcmu_tmr_entry, cmd_ids) + n * 2 + 7) & ~7u);
    uint8_t *slot = reserve(fk, len);
    if (!slot) return -ENOSPC;
    struct tcmu_tmr_entry *t = (void *)slot;
    memset(t, 0, len);
    t->hdr.len_op = len | TCMU_OP_TMR;
    t->tmr_type = type;
    t->cmd_cnt = n;
    memcpy(t->cmd_ids, ids, n * 2);
    publish(fk, len);
    return 0;
}

int th_fk_queue_raw(th_fake_kernel *fk, const void *entry, size_t len)
{
    uint32_t l = (uint32_t)((len + 7) & ~(size_t)7);
    uint8_t *slot = reserve(fk, l);
    if (!slot) return -ENOSPC;
    memset(slot, 0, l);
    memcpy(slot, entry, len);
    const struct tcmu_cmd_entry_hdr *h = entry;
    uint8_t op = len >= sizeof(*h) ? tcmu_hdr_get_op(h->len_op) : TCMU_OP_PAD;
    if (op != TCMU_OP_PAD && op != TCMU_OP_TMR && !fk->cmds[h->cmd_id].used) {
        fk->cmds[h->cmd_id].used = true; /* the kernel would expect a completion for it */
        fk->outstanding++;
    }
    publish(fk, l);
    return 0;
}

int th_fk_notify(th_fake_kernel *fk)
{
    uint32_t one = 1;
    return send(fk->sk[0], &one, sizeof(one), MSG_DONTWAIT) == sizeof(one) ? 0 : -errno;
}

static void drain_kicks(th_fake_kernel *fk)
{
    uint32_t v;
    while (recv(fk->sk[0], &v, sizeof(v), MSG_DONTWAIT) > 0) {
        fk->kicks++;
        fk->kicks_unreaped++;
    }
}

static int broken(th_fake_kernel *fk, const char *what, unsigned v)
{
    snprintf(fk->err, sizeof(fk->err), "ring broken: %s (%u)", what, v);
    return -EPROTO;
}

int th_fk_reap(th_fake_kernel *fk, th_fk_completion *out, size_t max, int timeout_ms)
{
    free_reaped(fk);
    fk->reaped = calloc(max ? max : 1, sizeof(uint8_t *));
    if (!fk->reaped) return -ENOMEM;
    size_t got = 0;
    for (;;) {
        drain_kicks(fk);
        if (!fk->kicks_unreaped) {
            if (timeout_ms <= 0) return (int)got;
            struct pollfd p = {fk->sk[0], POLLIN, 0};
            if (poll(&p, 1, timeout_ms) <= 0) return (int)got;
            continue;
        }
        fk->kicks_unreaped = 0;
        uint32_t tail = __atomic_load_n(&fk->user_mb->cmd_tail, __ATOMIC_ACQUIRE);
        if (tail >= fk->cmdr_size || tail % 8) return broken(fk, "cmd_tail", tail);
        while (fk->last_cleaned != tail && got < max) {
            struct tcmu_cmd_entry *e = (void *)(fk->map + fk->cmdr_off + fk->last_cleaned);
            uint32_t len = tcmu_hdr_get_len(e->hdr.len_op);
            if (len < 8 || len > fk->cmdr_size - fk->last_cleaned)
                return broken(fk, "entry length", len);
            uint8_t op = tcmu_hdr_get_op(e->hdr.len_op);
            if (op != TCMU_OP_PAD && op != TCMU_OP_TMR) {
                fk_cmd *c = &fk->cmds[e->hdr.cmd_id];
                if (!c->used) return broken(fk, "completion for unknown cmd_id", e->hdr.cmd_id);
                th_fk_completion *r = &out[got];
                memset(r, 0, sizeof(*r));
                r->cmd_id = e->hdr.cmd_id;
                r->status = e->rsp.scsi_status;
                r->uflags = e->hdr.uflags;
                r->read_len = e->rsp.read_len;
                memcpy(r->sense, e->rsp.sense_buffer, sizeof(r->sense));
                r->transfer_len = c->in_len;
                size_t n = c->in_len;
                if ((r->uflags & TCMU_UFLAG_READ_LEN) && r->read_len < n) n = r->read_len;
                /* Like the kernel: data comes back with CHECK CONDITION only under READ_LEN. */
                if (r->status == 0x02 && !(r->uflags & TCMU_UFLAG_READ_LEN)) n = 0;
                if (r->uflags & TCMU_UFLAG_UNKNOWN_OP) n = 0;
                r->data_in = malloc(c->in_len ? c->in_len : 1);
                if (!r->data_in) return -ENOMEM;
                fk->reaped[fk->n_reaped++] = r->data_in;
                for (uint32_t i = 0, done = 0; i < c->nblocks && done < n; i++) {
                    size_t l = n - done < BLOCK ? n - done : BLOCK;
                    memcpy(r->data_in + done, fk->map + fk->data_off + (size_t)c->blocks[i] * BLOCK,
                           l);
                    done += (uint32_t)l;
                }
                r->data_in_len = n;
                release_blocks(fk, c);
                c->used = false;
                fk->outstanding--;
                got++;
            }
            fk->last_cleaned = (fk->last_cleaned + len) % fk->cmdr_size;
        }
        if (fk->last_cleaned != tail)
            fk->kicks_unreaped = 1; /* out of room in out[]: more to come */
        if (got || timeout_ms <= 0) return (int)got;
    }
}
