/* Ring entries as a hostile kernel would write them: the input is the command ring's
 * bytes (entries with any lengths, ops, iovec counts and offsets, PADs, TMR lists) and
 * the mailbox's head and tail. Every entry is read as the serving thread reads it; the
 * iovecs of a command are touched end to end (a bounds check the ring missed is an ASan
 * report), and each command is completed in the order the input chooses. Reading ends
 * when the ring is empty or declared broken; it must end. */
#include <stdlib.h>
#include "fuzz_input.h"
#include "kernel/ring.h"
#include "kernel/tcmu_uapi.h"

#define CMDR 4096u
#define DATA 8192u

static th_ring_tmr tmr; /* 128 KiB of ids: not on the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    size_t mb = sizeof(struct tcmu_mailbox), off = (mb + 7) / 8 * 8;
    size_t map_size = off + CMDR + DATA;
    uint8_t *map = calloc(1, map_size); /* exact size: ASan sees any access past it */
    if (!map) return 0;
    struct tcmu_mailbox *m = (void *)map;
    m->version = TCMU_MAILBOX_VERSION;
    m->flags = fz_u8(&f);
    m->cmdr_off = (uint32_t)off;
    m->cmdr_size = CMDR;
    uint32_t tail = (fz_u16(&f) % CMDR) & ~7u;
    m->cmd_tail = tail;
    m->cmd_head = fz_u16(&f); /* anything: the ring must judge it */
    uint8_t order = fz_u8(&f);
    fz_bytes(&f, map + off, CMDR); /* the entries, from the tail's side too */
    if (size > 7 + CMDR) fz_bytes(&f, map + off + CMDR, DATA);
    th_ring r;
    if (th_ring_init(&r, map, map_size, -1)) goto out;
    struct iovec iov[64];
    th_ring_response pend[64];
    int n_pend = 0;
    for (int steps = 0; steps < 4096; steps++) {
        th_ring_cmd c;
        memset(&c, 0, sizeof(c));
        c.iov = iov;
        c.iov_cap = (order & 1) ? 64 : 4;
        c.no_grow = steps & 1;
        th_entry_kind k = th_ring_next(&r, &c, &tmr);
        if (k == TH_ENTRY_NEED_IOV) {
            if (c.iov_need <= 64 && !(order & 1)) {
                c.iov_cap = 64;
                k = th_ring_next(&r, &c, &tmr);
            } else {
                c.no_grow = true;
                k = th_ring_next(&r, &c, &tmr);
            }
            if (k == TH_ENTRY_NEED_IOV) abort(); /* no_grow or room: it must decide */
        }
        if (k == TH_ENTRY_NONE || k == TH_ENTRY_BROKEN) break;
        if (k == TH_ENTRY_TMR) {
            if (tmr.n > TH_TMR_IDS_MAX) abort();
            continue;
        }
        if (k == TH_ENTRY_CMD) {
            if (c.cdb_len == 0 || c.cdb_len > TH_RING_CDB_MAX) abort();
            uint32_t n_iov = c.in_first + c.in_cnt > c.out_cnt ? c.in_first + c.in_cnt : c.out_cnt;
            if (n_iov > c.iov_cap) abort();
            for (uint32_t i = 0; i < n_iov; i++) {
                volatile uint8_t *b = iov[i].iov_base;
                for (size_t j = 0; j < iov[i].iov_len; j++) b[j] = b[j] ^ 0; /* read and write */
            }
        }
        th_ring_response rsp = {.id = c.id, .status = (uint8_t)(order & 2 ? 2 : 0)};
        static const uint8_t sense[18] = {0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24};
        if (rsp.status) rsp.sense = sense, rsp.sense_len = sizeof(sense);
        rsp.data_in_set = order & 4;
        rsp.data_in_len = fz_u16(&f);
        rsp.data_in_cap = fz_u16(&f);
        if (n_pend < 64) pend[n_pend++] = rsp;
        /* Completions now, or later in reverse (out of order, as workers give them). */
        if (!(order & 8)) th_ring_complete(&r, &pend[--n_pend]);
    }
    while (n_pend > 0) th_ring_complete(&r, &pend[--n_pend]);
    th_ring_destroy(&r);
out:
    free(map);
    return 0;
}
