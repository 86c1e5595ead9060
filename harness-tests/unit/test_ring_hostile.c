/* The ring read as a hostile kernel would write it: every field of command and TMR
 * entries, the heads, and entries changed after they were read. Whatever the value,
 * reading and completing never crashes or touches memory outside the mapping (the
 * fake kernel puts inaccessible pages after it), and the outcome is one of two: the
 * entry is failed and the ring goes on, or the ring is declared broken with a
 * message. */
#include "kernel/tcmu_uapi.h"
#include "helpers.h"
#include "kernel/ring.h"
#include "ring_rig.h"

typedef struct hrig {
    th_fake_kernel *fk;
    uint8_t *map;
    size_t size;
    th_ring ring;
    th_ring_cmd cmd;
    struct iovec *iov; /* starts empty: every entry with data goes through NEED_IOV */
    uint32_t iov_cap;
    th_ring_tmr tmr;
} hrig;

static void hup(hrig *h)
{
    memset(h, 0, sizeof(*h));
    cr_assert_eq(th_fk_new(&h->fk, 4096, 65536, 0x0f), 0);
    void *map;
    int fd;
    th_fk_mapping(h->fk, &map, &h->size, &fd);
    h->map = map;
    cr_assert_eq(th_ring_init(&h->ring, map, h->size, fd), 0, "%s", h->ring.err);
}

static void hdown(hrig *h)
{
    free(h->iov);
    th_ring_destroy(&h->ring);
    th_fk_free(h->fk);
}

/* th_ring_next, growing the iovec array as the ring asks: an entry it does not fit
 * is not consumed (the same entry comes back once it fits). */
static th_entry_kind next(hrig *h)
{
    h->cmd.iov = h->iov;
    h->cmd.iov_cap = h->iov_cap;
    h->cmd.no_grow = false;
    th_entry_kind k;
    while ((k = th_ring_next(&h->ring, &h->cmd, &h->tmr)) == TH_ENTRY_NEED_IOV) {
        cr_assert_gt(h->cmd.iov_need, h->iov_cap, "NEED_IOV for an array that fits");
        struct iovec *iov = realloc(h->iov, h->cmd.iov_need * sizeof(*iov));
        cr_assert_not_null(iov);
        h->iov = h->cmd.iov = iov;
        h->iov_cap = h->cmd.iov_cap = h->cmd.iov_need;
    }
    if (k == TH_ENTRY_CMD) {
        cr_assert_leq(h->cmd.out_cnt, h->iov_cap);
        cr_assert_leq((uint64_t)h->cmd.in_first + h->cmd.in_cnt, h->iov_cap);
        cr_assert_leq(h->cmd.cdb_len, TH_RING_CDB_MAX);
    }
    return k;
}

/* Every byte a command's iovecs name is written and read, as a handler may; returns
 * the data-in bytes. */
static size_t touch_data(const th_ring_cmd *cmd)
{
    uint8_t sum = 0;
    for (uint32_t i = 0; i < cmd->out_cnt; i++)
        for (size_t b = 0; b < cmd->iov[i].iov_len; b++)
            sum += ((const uint8_t *)cmd->iov[i].iov_base)[b];
    cr_assert_geq(sum, 0); /* keeps the reads */
    size_t in = 0;
    for (uint32_t i = cmd->in_first; i < cmd->in_first + cmd->in_cnt; i++) {
        memset(cmd->iov[i].iov_base, 0x3c, cmd->iov[i].iov_len);
        in += cmd->iov[i].iov_len;
    }
    return in;
}

/* GOOD with all data-in, or HARDWARE ERROR (UNKNOWN_OP for an unknown entry). */
static void answer(hrig *h, th_entry_kind k)
{
    th_ring_response rsp = {.id = h->cmd.id};
    uint8_t sense[TH_SENSE_MAX];
    if (k == TH_ENTRY_CMD) {
        rsp.status = TH_STATUS_GOOD;
        rsp.data_in_set = true;
        rsp.data_in_len = rsp.data_in_cap = touch_data(&h->cmd);
    } else {
        th_sense s = th_sense_make(TH_KEY_HARDWARE_ERROR, TH_ASC_INTERNAL_TARGET_FAILURE);
        rsp.status = TH_STATUS_CHECK_CONDITION;
        rsp.sense = sense;
        rsp.sense_len = th_sense_encode(&s, sense, sizeof(sense));
        if (k == TH_ENTRY_UNKNOWN) rsp.uflags = TCMU_UFLAG_UNKNOWN_OP;
    }
    th_ring_complete(&h->ring, &rsp);
}

/* Reads and answers until nothing is left; returns NONE or BROKEN. */
static th_entry_kind serve(hrig *h)
{
    for (int guard = 0; guard < 10000; guard++) {
        th_entry_kind k = next(h);
        if (k == TH_ENTRY_NONE || k == TH_ENTRY_BROKEN) return k;
        if (k == TH_ENTRY_TMR) {
            cr_assert_leq(h->tmr.n, TH_TMR_IDS_MAX);
            continue;
        }
        if (k != TH_ENTRY_CMD) {
            cr_assert_eq(h->cmd.cdb_len, 0, "a failed entry hands out its CDB");
            cr_assert_eq(h->cmd.out_cnt + h->cmd.in_cnt, 0, "a failed entry hands out data");
        }
        answer(h, k);
    }
    cr_assert_fail("the ring never ran dry");
    return TH_ENTRY_BROKEN;
}

/* Kicks and reaps everything; the fake kernel must not find the ring broken. */
static int reap_all(hrig *h, th_fk_completion *c, int max, const char *what)
{
    th_ring_kick(&h->ring);
    int got = 0;
    for (;;) {
        int k = th_fk_reap(h->fk, c + got, (size_t)(max - got), 20);
        cr_assert_geq(k, 0, "%s: the kernel finds the ring broken: %s", what, th_fk_errmsg(h->fk));
        if (!k) return got;
        got += k;
    }
}

static bool broken_with_message(const hrig *h, th_entry_kind k, const char *what)
{
    if (k != TH_ENTRY_BROKEN) return false;
    cr_assert(strstr(h->ring.err, "ring broken"), "%s: no message: '%s'", what, h->ring.err);
    return true;
}

/* After a case: broken with a message, or a good command still goes through. */
static void expect_failed_or_broken(hrig *h, th_entry_kind k, const char *what)
{
    th_fk_completion c[16];
    if (broken_with_message(h, k, what)) return;
    reap_all(h, c, 16, what);
    uint8_t tur[6] = {0};
    uint16_t id;
    cr_assert_eq(th_fk_queue_cmd(h->fk, tur, 6, NULL, 0, 512, &id), 0, "%s", what);
    k = serve(h);
    if (broken_with_message(h, k, what)) return;
    int got = reap_all(h, c, 16, what);
    cr_assert_geq(got, 1, "%s: the good command was not answered", what);
    cr_assert_eq(c[got - 1].cmd_id, id, "%s", what);
    cr_assert_eq(c[got - 1].status, 0, "%s", what);
}

typedef enum { ABS, ENTRY, MAPEND, DATA, CMDR } base;
typedef struct field_case {
    const char *name;
    size_t off;
    int width;
    base rel;
    int64_t value;
} field_case;

#define CMD_LEN 128u
#define CDB_AT  112u
static const field_case cmd_cases[] = {
    {"len 0", 0, 4, ABS, 0 | TCMU_OP_CMD},
    {"len 4", 0, 4, ABS, 4 | TCMU_OP_CMD},
    {"len 12", 0, 4, ABS, 12 | TCMU_OP_CMD},
    {"len 8", 0, 4, ABS, 8 | TCMU_OP_CMD},
    {"len 16", 0, 4, ABS, 16 | TCMU_OP_CMD},
    {"len 64", 0, 4, ABS, 64 | TCMU_OP_CMD},
    {"len 120", 0, 4, ABS, 120 | TCMU_OP_CMD},
    {"len past cmd_head", 0, 4, ABS, 136 | TCMU_OP_CMD},
    {"len past the ring end", 0, 4, ABS, 4096 | TCMU_OP_CMD},
    {"len huge", 0, 4, ABS, 0x7ffffff8 | TCMU_OP_CMD},
    {"op PAD", 0, 4, ABS, CMD_LEN | TCMU_OP_PAD},
    {"op TMR", 0, 4, ABS, CMD_LEN | TCMU_OP_TMR},
    {"op 3", 0, 4, ABS, CMD_LEN | 3},
    {"op 7", 0, 4, ABS, CMD_LEN | 7},
    {"cmd_id 0", 4, 2, ABS, 0},
    {"cmd_id 65535", 4, 2, ABS, 65535},
    {"iov_cnt 0", 8, 4, ABS, 0},
    {"iov_cnt 2", 8, 4, ABS, 2},
    {"iov_cnt 5", 8, 4, ABS, 5},
    {"iov_cnt 6", 8, 4, ABS, 6},
    {"iov_cnt max", 8, 4, ABS, 0xffffffff},
    {"iov_bidi_cnt 1", 12, 4, ABS, 1},
    {"iov_bidi_cnt max (sum wraps)", 12, 4, ABS, 0xffffffff},
    {"iov_dif_cnt 4", 16, 4, ABS, 4},
    {"iov_dif_cnt max", 16, 4, ABS, 0xffffffff},
    {"cdb_off 0", 24, 8, ABS, 0},
    {"cdb_off in the mailbox", 24, 8, CMDR, -1},
    {"cdb_off at the entry", 24, 8, ENTRY, 0},
    {"cdb_off in the iovecs", 24, 8, ENTRY, 56},
    {"cdb_off at the last byte", 24, 8, ENTRY, CMD_LEN - 1},
    {"cdb_off past the entry", 24, 8, ENTRY, CMD_LEN},
    {"cdb_off in the data area", 24, 8, DATA, 0},
    {"cdb_off at the map end", 24, 8, MAPEND, 0},
    {"cdb_off at the last map byte", 24, 8, MAPEND, -1},
    {"cdb_off 2^63", 24, 8, ABS, INT64_MIN},
    {"cdb_off max", 24, 8, ABS, -1},
    {"iov_base 0", 48, 8, ABS, 0},
    {"iov_base in the ring", 48, 8, CMDR, 0},
    {"iov_base just before the data area", 48, 8, DATA, -1},
    {"iov_base at the last data block", 48, 8, MAPEND, -4096},
    {"iov_base one byte short of the end", 48, 8, MAPEND, -4095},
    {"iov_base at the map end", 48, 8, MAPEND, 0},
    {"iov_base max", 48, 8, ABS, -1},
    {"iov_len 0", 56, 8, ABS, 0},
    {"iov_len the whole data area", 56, 8, ABS, 65536},
    {"iov_len one past the data area", 56, 8, ABS, 65537},
    {"iov_len 2^63", 56, 8, ABS, INT64_MIN},
    {"iov_len max", 56, 8, ABS, -1},
    {"CDB 16 bytes, fits exactly", CDB_AT, 1, ABS, 0x88},
    {"CDB variable length 8+255", CDB_AT, 1, ABS, 0x7f},
    {"CDB group 6", CDB_AT, 1, ABS, 0xc0},
};

static int64_t resolve(const hrig *h, size_t entry_off, base rel, int64_t v)
{
    size_t data_off = h->size - 65536;
    switch (rel) {
    case ENTRY:
        return (int64_t)entry_off + v;
    case MAPEND:
        return (int64_t)h->size + v;
    case DATA:
        return (int64_t)data_off + v;
    case CMDR:
        return (int64_t)th_fk_cmdr_off(h->fk) + v;
    default:
        return v;
    }
}

/* A READ(10) entry with one 4 KiB iovec at the start of the data area. */
static void template_cmd(const hrig *h, uint8_t *e, size_t entry_off)
{
    memset(e, 0, CMD_LEN);
    struct tcmu_cmd_entry *ent = (void *)e;
    ent->hdr.len_op = CMD_LEN | TCMU_OP_CMD;
    ent->hdr.cmd_id = 500;
    ent->req.iov_cnt = 1;
    ent->req.cdb_off = entry_off + CDB_AT;
    struct iovec iov = {(void *)(uintptr_t)(h->size - 65536), 4096};
    memcpy(e + 48, &iov, sizeof(iov));
    e[CDB_AT] = 0x28;
    e[CDB_AT + 7] = 0xff; /* a variable-length CDB would claim 263 bytes */
}

static void run_cmd_case(const field_case *fc, int lead)
{
    hrig h;
    hup(&h);
    /* lead commands first, so that cases sit at different places, one near the wrap */
    uint8_t tur[6] = {0};
    for (int i = 0; i < lead; i++) cr_assert_eq(th_fk_queue_cmd(h.fk, tur, 6, NULL, 0, 0, NULL), 0);
    serve(&h);
    th_fk_completion c[64];
    reap_all(&h, c, 64, fc->name);
    size_t entry_off = th_fk_cmdr_off(h.fk) + th_fk_head(h.fk);
    if (th_fk_head(h.fk) + CMD_LEN > th_fk_cmdr_size(h.fk)) entry_off = th_fk_cmdr_off(h.fk);
    uint8_t e[CMD_LEN];
    template_cmd(&h, e, entry_off);
    int64_t v = resolve(&h, entry_off, fc->rel, fc->value);
    memcpy(e + fc->off, &v, (size_t)fc->width); /* little-endian, as the UAPI is here */
    cr_assert_eq(th_fk_queue_raw(h.fk, e, CMD_LEN), 0);
    expect_failed_or_broken(&h, serve(&h), fc->name);
    hdown(&h);
}

Test(ring_hostile, every_command_entry_field_at_every_bad_value)
{
    alarm(60); /* a hang is a failure (SIGALRM), not a stuck run */
    for (size_t i = 0; i < sizeof(cmd_cases) / sizeof(cmd_cases[0]); i++)
        for (int lead = 0; lead <= 30; lead += 15) run_cmd_case(&cmd_cases[i], lead);
}

Test(ring_hostile, tmr_entries_with_every_bad_length_and_count)
{
    alarm(60); /* a hang is a failure (SIGALRM), not a stuck run */
    static const uint32_t lens[] = {8, 16, 24, 32, 40, 64};
    static const uint32_t counts[] = {0, 1, 4, 16, 1000, 0xffffffff};
    static const uint8_t types[] = {0, 1, 7, 8, 255};
    for (size_t li = 0; li < 6; li++)
        for (size_t ci = 0; ci < 6; ci++)
            for (size_t ti = 0; ti < 5; ti++) {
                hrig h;
                hup(&h);
                uint8_t e[64];
                memset(e, 0xee, sizeof(e)); /* ids past the count are garbage */
                struct tcmu_tmr_entry *t = (void *)e;
                t->hdr.len_op = lens[li] | TCMU_OP_TMR;
                t->hdr.cmd_id = 0;
                t->tmr_type = types[ti];
                t->cmd_cnt = counts[ci];
                cr_assert_eq(th_fk_queue_raw(h.fk, e, lens[li]), 0);
                th_entry_kind k = serve(&h);
                char what[64];
                snprintf(what, sizeof(what), "TMR len %u count %u", lens[li], counts[ci]);
                if (k != TH_ENTRY_BROKEN) {
                    uint32_t fit = lens[li] >= 32 ? (lens[li] - 32) / 2 : 0;
                    cr_assert_leq(h.tmr.n, fit, "%s", what);
                    cr_assert_leq(h.tmr.n, counts[ci], "%s", what);
                    cr_assert_eq(h.tmr.type, types[ti], "%s", what);
                }
                expect_failed_or_broken(&h, k, what);
                hdown(&h);
            }
}

Test(ring_hostile, a_cmd_head_off_the_ring_breaks_it)
{
    alarm(60); /* a hang is a failure (SIGALRM), not a stuck run */
    static const uint32_t heads[] = {4, 4092, 4096, 4104, 0x80000000u, 0xffffffffu};
    for (size_t i = 0; i < 6; i++) {
        hrig h;
        hup(&h);
        __atomic_store_n(&((struct tcmu_mailbox *)h.map)->cmd_head, heads[i], __ATOMIC_RELEASE);
        cr_assert_eq(serve(&h), TH_ENTRY_BROKEN, "head %u", heads[i]);
        cr_assert(strstr(h.ring.err, "cmd_head"), "%s", h.ring.err);
        hdown(&h);
    }
}

/* The kernel owns nothing between cmd_tail and what was read, but a hostile one may
 * still rewrite it: the header is checked again before a completion is written. */
Test(ring_hostile, an_entry_rewritten_after_it_was_read_breaks_the_ring)
{
    alarm(60); /* a hang is a failure (SIGALRM), not a stuck run */
    static const uint32_t len_ops[] = {0,
                                       4 | TCMU_OP_CMD,
                                       4096 | TCMU_OP_CMD,
                                       0xfffffff8u | 1,
                                       136 | TCMU_OP_CMD,
                                       128 | TCMU_OP_PAD};
    for (size_t i = 0; i < 6; i++) {
        hrig h;
        hup(&h);
        uint8_t tur[6] = {0};
        size_t at = th_fk_cmdr_off(h.fk) + th_fk_head(h.fk);
        cr_assert_eq(th_fk_queue_cmd(h.fk, tur, 6, NULL, 0, 4096, NULL), 0);
        cr_assert_eq(next(&h), TH_ENTRY_CMD);
        uint32_t *len_op = (uint32_t *)(h.map + at);
        __atomic_store_n(len_op, len_ops[i], __ATOMIC_RELAXED);
        answer(&h, TH_ENTRY_CMD);
        cr_assert_eq(next(&h), TH_ENTRY_BROKEN, "len_op %#x", len_ops[i]);
        cr_assert(strstr(h.ring.err, "ring broken"), "%s", h.ring.err);
        hdown(&h);
    }
}

/* Through the whole device: TMR lists naming ids nobody uses (0, 65535, repeats) and
 * the most a TMR entry can carry, then a command that must still be served. */
Test(ring_hostile, tmr_lists_of_unknown_ids_leave_the_device_serving)
{
    alarm(60); /* a hang is a failure (SIGALRM), not a stuck run */
    rig r;
    rig_up(&r, 65536, 0, NULL, NULL, ALL_CAPS);
    static uint16_t ids[2000];
    for (size_t i = 0; i < 2000; i++) ids[i] = (uint16_t)(i % 3 == 0 ? 0 : i % 3 == 1 ? 65535 : i);
    for (uint8_t type = 0; type < 10; type++)
        cr_assert_eq(th_fk_queue_tmr(r.fk, type, ids, 2000), 0);
    uint16_t id = queue_read(&r, 0, 1);
    th_fk_notify(r.fk);
    th_fk_completion c;
    cr_assert_eq(reap_n(&r, &c, 1), 1);
    cr_assert_eq(c.cmd_id, id);
    cr_assert_eq(c.status, 0);
    rig_down(&r);
}

/* The mailbox is read once at open: a ring outside the mapping, unaligned, too small,
 * or a cmd_tail off an entry boundary fails the open with a message. */
Test(ring_hostile, a_bad_mailbox_fails_init_with_a_message)
{
    static const struct {
        const char *what;
        uint32_t cmdr_off, cmdr_size, tail;
    } cases[] = {
        {"ring inside the mailbox", 8, 4096, 0},
        {"unaligned ring", 132, 4096, 0},
        {"ring too small", 128, 32, 0},
        {"odd ring size", 128, 4100, 0},
        {"ring past the mapping", 128, 0x7ffffff8, 0},
        {"ring offset huge", 0xfffffff8, 4096, 0},
        {"cmd_tail unaligned", 128, 4096, 4},
        {"cmd_tail past the ring", 128, 4096, 4096},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hrig h;
        hup(&h);
        struct tcmu_mailbox *mb = (void *)h.map;
        mb->cmdr_off = cases[i].cmdr_off;
        mb->cmdr_size = cases[i].cmdr_size;
        mb->cmd_tail = cases[i].tail;
        th_ring r;
        cr_assert_eq(th_ring_init(&r, h.map, h.size, -1), -EPROTO, "%s", cases[i].what);
        cr_assert_gt(strlen(r.err), 0, "%s", cases[i].what);
        th_ring_destroy(&r);
        hdown(&h);
    }
}

/* A READ(10) entry of three 4 KiB iovecs, apart in the data area. */
static void queue_three_iovecs(hrig *h, uint16_t id)
{
    size_t entry_off = th_fk_cmdr_off(h->fk) + th_fk_head(h->fk);
    uint8_t e[CMD_LEN];
    template_cmd(h, e, entry_off);
    struct tcmu_cmd_entry *ent = (void *)e;
    ent->hdr.cmd_id = id;
    ent->req.iov_cnt = 3;
    for (size_t i = 0; i < 3; i++) {
        struct iovec iov = {(void *)(uintptr_t)(h->size - 65536 + i * 8192), 4096};
        memcpy(e + 48 + i * sizeof(iov), &iov, sizeof(iov));
    }
    cr_assert_eq(th_fk_queue_raw(h->fk, e, CMD_LEN), 0);
}

/* The caller's iovec array is too small: the entry stays where it is (same id, same
 * data once the array fits); a caller that cannot grow gets the entry failed. */
Test(ring_hostile, an_entry_with_more_iovecs_than_the_array_waits_for_it_to_grow)
{
    alarm(60); /* a hang is a failure (SIGALRM), not a stuck run */
    hrig h;
    hup(&h);
    queue_three_iovecs(&h, 501);
    struct iovec one;
    h.cmd = (th_ring_cmd){.iov = &one, .iov_cap = 1};
    cr_assert_eq(th_ring_next(&h.ring, &h.cmd, &h.tmr), TH_ENTRY_NEED_IOV);
    cr_assert_eq(h.cmd.iov_need, 3);
    cr_assert_eq(th_ring_next(&h.ring, &h.cmd, &h.tmr), TH_ENTRY_NEED_IOV, "consumed");
    cr_assert_eq(h.cmd.iov_need, 3);
    cr_assert_eq(next(&h), TH_ENTRY_CMD);
    cr_assert_eq(h.cmd.id, 501);
    cr_assert_eq(h.cmd.out_cnt, 3); /* READ(10) reads into the same iovecs */
    cr_assert_eq(h.cmd.in_first, 0);
    cr_assert_eq(h.cmd.in_cnt, 3);
    cr_assert_eq(h.cmd.cdb_len, 10);
    cr_assert_eq(h.cmd.cdb[0], 0x28);
    cr_assert_eq(touch_data(&h.cmd), 3 * 4096);
    answer(&h, TH_ENTRY_CMD);

    queue_three_iovecs(&h, 502);
    h.cmd = (th_ring_cmd){.iov = &one, .iov_cap = 1, .no_grow = true};
    cr_assert_eq(th_ring_next(&h.ring, &h.cmd, &h.tmr), TH_ENTRY_BAD_CMD);
    cr_assert_eq(h.cmd.id, 502);
    cr_assert_eq(h.cmd.cdb_len, 0);
    cr_assert_eq(h.cmd.out_cnt + h.cmd.in_cnt, 0);
    cr_assert_str_eq(h.ring.bad, "out of memory for iovecs");
    answer(&h, TH_ENTRY_BAD_CMD);
    cr_assert_eq(next(&h), TH_ENTRY_NONE);
    cr_assert_eq(__atomic_load_n(&((struct tcmu_mailbox *)h.map)->cmd_tail, __ATOMIC_ACQUIRE),
                 th_fk_head(h.fk), "both entries were completed");
    hdown(&h);
}
