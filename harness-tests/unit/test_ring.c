/* The ring, served through the fake kernel: the same device code as the real
 * kernel path, minus configfs. */
#include <stdatomic.h>
#include "ring_rig.h"

Test(ring, inquiry_round_trip)
{
    rig r;
    rig_up(&r, 4096, 0, NULL, NULL, ALL_CAPS);
    uint8_t cdb[6];
    uint16_t id;
    th_cdb_inquiry(cdb, false, 0, 96);
    cr_assert_eq(th_fk_queue_cmd(r.fk, cdb, 6, NULL, 0, 96, &id), 0);
    th_fk_notify(r.fk);
    th_fk_completion c;
    cr_assert_eq(reap_n(&r, &c, 1), 1);
    cr_assert_eq(c.cmd_id, id);
    cr_assert_eq(c.status, 0);
    cr_assert(c.uflags & TCMU_UFLAG_READ_LEN); /* 74 of 96 bytes */
    cr_assert_eq(c.data_in_len, 74);
    cr_assert_arr_eq(c.data_in + 8, "TCMUHARN", 8);
    rig_down(&r);
}

Test(ring, one_kick_per_drain_not_per_command)
{
    rig r;
    rig_up(&r, 65536, 0, NULL, NULL, ALL_CAPS);
    uint8_t cdb[6] = {0};
    for (int i = 0; i < 20; i++) cr_assert_eq(th_fk_queue_cmd(r.fk, cdb, 6, NULL, 0, 0, NULL), 0);
    th_fk_notify(r.fk);
    th_fk_completion c[20];
    cr_assert_eq(reap_n(&r, c, 20), 20);
    usleep(20000);
    th_fk_reap(r.fk, c, 1, 0);
    cr_assert_eq(th_fk_kicks(r.fk), 1);
    cr_assert_eq(th_device_kicks(r.dev), 1);
    cr_assert_eq(th_device_cmds_served(r.dev), 20);
    rig_down(&r);
}

Test(ring, many_wraps_with_pad_entries)
{
    rig r;
    rig_up(&r, 1024, 0, NULL, NULL, ALL_CAPS);
    uint8_t buf[4 * 512];
    for (int i = 0; i < 300; i++) {
        uint32_t blocks = 1 + (uint32_t)(i % 4);
        fill_pattern(buf, sizeof(buf), (unsigned)i);
        uint8_t cdb[16];
        size_t n = th_cdb_write(cdb, 10, (uint64_t)i, blocks);
        cr_assert_eq(th_fk_queue_cmd(r.fk, cdb, n, buf, blocks * 512u, 0, NULL), 0);
        uint16_t id = queue_read(&r, (uint64_t)i, blocks);
        th_fk_notify(r.fk);
        th_fk_completion c[2];
        cr_assert_eq(reap_n(&r, c, 2), 2, "round %d", i);
        cr_assert_eq(c[0].status, 0);
        cr_assert_eq(c[1].cmd_id, id);
        cr_assert_eq(c[1].data_in_len, blocks * 512u);
        cr_assert_arr_eq(c[1].data_in, buf, blocks * 512u, "round %d", i);
    }
    rig_down(&r);
}

Test(ring, out_of_order_completion_across_a_wrap)
{
    holder h = {.lock = PTHREAD_MUTEX_INITIALIZER};
    h.disk = test_disk(2048, 512);
    rig r;
    rig_up(&r, 2112, 2, hold, &h, ALL_CAPS); /* 128-byte entries: the wrap needs a PAD */
    uint8_t buf[512];
    for (int lba = 0; lba < 8; lba++) {
        fill_pattern(buf, 512, (unsigned)lba);
        disk_write(h.disk, (uint64_t)lba, buf, 1, 512);
    }
    for (int round = 0; round < 12; round++) {
        uint16_t ids[8];
        for (int i = 0; i < 8; i++) ids[i] = queue_read(&r, (uint64_t)i, 1);
        th_fk_notify(r.fk);
        uint16_t order[8];
        release_reverse(&h, 8, order);
        th_fk_completion c[8];
        cr_assert_eq(reap_n(&r, c, 8), 8, "round %d", round);
        for (int i = 0; i < 8; i++) {
            int lba = -1;
            for (int k = 0; k < 8; k++)
                if (ids[k] == c[i].cmd_id) lba = k;
            cr_assert_geq(lba, 0, "unknown id %u", c[i].cmd_id);
            fill_pattern(buf, 512, (unsigned)lba);
            cr_assert_arr_eq(c[i].data_in, buf, 512, "round %d id %u", round, c[i].cmd_id);
        }
        for (int i = 0; i < 8; i++) cr_assert_eq(c[i].cmd_id, order[i], "completion order");
        int inversions = 0;
        for (int i = 0; i + 1 < 8; i++) {
            int a = 0, b = 0;
            for (int k = 0; k < 8; k++)
                a = ids[k] == order[i] ? k : a, b = ids[k] == order[i + 1] ? k : b;
            inversions += a > b;
        }
        cr_assert_gt(inversions, 0, "completions came back in ring order");
    }
    rig_down(&r);
    th_disk_free(h.disk);
}

typedef struct tmr_seen {
    atomic_int calls; /* published last: the other fields are read after it */
    uint8_t type;
    uint16_t ids[8];
    uint32_t n;
} tmr_seen;

static void on_tmr(void *arg, uint8_t type, const uint16_t *ids, uint32_t n)
{
    tmr_seen *t = arg;
    t->type = type;
    t->n = n;
    memcpy(t->ids, ids, n * sizeof(uint16_t));
    atomic_fetch_add(&t->calls, 1);
}

Test(ring, tmr_entry_marks_the_command_aborted_and_is_reported)
{
    holder h = {.lock = PTHREAD_MUTEX_INITIALIZER};
    h.disk = test_disk(2048, 512);
    tmr_seen seen = {0};
    rig r;
    memset(&r, 0, sizeof(r));
    cr_assert_eq(th_ctx_new(&r.ctx), 0);
    cr_assert_eq(th_fk_new(&r.fk, 4096, 1 << 20, ALL_CAPS), 0);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = "tmr";
    cfg.size = 1 << 20;
    cfg.handler = hold;
    cfg.handler_arg = &h;
    cfg.fake_kernel = r.fk;
    cfg.on_tmr = on_tmr;
    cfg.tmr_arg = &seen;
    cr_assert_eq(th_device_open(r.ctx, &cfg, &r.dev), 0);
    uint16_t id = queue_read(&r, 0, 1);
    th_fk_notify(r.fk);
    for (int i = 0; i < 500 && !held_count(&h); i++) usleep(1000);
    cr_assert_eq(held_count(&h), 1);
    cr_assert(!th_cmd_is_aborted(h.held[0]));
    cr_assert_eq(th_fk_queue_tmr(r.fk, TH_TMR_ABORT_TASK, &id, 1), 0);
    th_fk_notify(r.fk);
    for (int i = 0; i < 500 && !atomic_load(&seen.calls); i++) usleep(1000);
    cr_assert_eq(atomic_load(&seen.calls), 1);
    cr_assert_eq(seen.type, TH_TMR_ABORT_TASK);
    cr_assert_eq(seen.n, 1);
    cr_assert_eq(seen.ids[0], id);
    cr_assert(th_cmd_is_aborted(h.held[0]));
    cr_assert_str_eq(th_tmr_name(seen.type), "ABORT_TASK");
    /* The aborted command must still be completed. */
    th_cmd_status(h.held[0], TH_STATUS_TASK_ABORTED);
    release_reverse(&h, 1, NULL);
    th_fk_completion c;
    cr_assert_eq(reap_n(&r, &c, 1), 1);
    cr_assert_eq(c.cmd_id, id);
    cr_assert_eq(c.status, TH_STATUS_TASK_ABORTED);
    rig_down(&r);
    th_disk_free(h.disk);
}

/* A 128-byte command entry with its CDB (a TUR) at offset 112, fields overridden. */
static void queue_bad_cmd(rig *r, uint16_t id, bool bad_cdb, uint64_t iov_base, uint32_t iov_cnt)
{
    uint8_t e[128] = {0};
    struct tcmu_cmd_entry *ent = (void *)e;
    ent->hdr.len_op = 128 | TCMU_OP_CMD;
    ent->hdr.cmd_id = id;
    ent->req.iov_cnt = iov_cnt;
    ent->req.cdb_off = bad_cdb ? 1ull << 40 : th_fk_cmdr_off(r->fk) + th_fk_head(r->fk) + 112;
    struct iovec iov = {(void *)(uintptr_t)iov_base, 512};
    memcpy(e + 48, &iov, sizeof(iov));
    cr_assert_eq(th_fk_queue_raw(r->fk, e, 128), 0);
}

Test(ring, malformed_entries_are_failed_and_the_ring_goes_on)
{
    rig r;
    rig_up(&r, 4096, 0, NULL, NULL, ALL_CAPS);
    queue_bad_cmd(&r, 900, true, 0, 0);           /* CDB outside the mapping */
    queue_bad_cmd(&r, 901, false, 1ull << 40, 1); /* iovec outside */
    queue_bad_cmd(&r, 902, false, 0, 1000);       /* more iovecs than the entry holds */
    queue_bad_cmd(&r, 903, false, 64, 1);         /* iovec into the ring itself */
    uint8_t small[64] = {0};
    struct tcmu_cmd_entry_hdr *h = (void *)small;
    h->len_op = 64 | TCMU_OP_CMD; /* too short to hold a response */
    h->cmd_id = 904;
    cr_assert_eq(th_fk_queue_raw(r.fk, small, 64), 0);
    uint16_t ok = queue_read(&r, 0, 1);
    th_fk_notify(r.fk);
    th_fk_completion c[6];
    cr_assert_eq(reap_n(&r, c, 6), 6);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(c[i].cmd_id, 900 + i);
        cr_assert_eq(c[i].status, TH_STATUS_CHECK_CONDITION);
        cr_assert_eq(c[i].sense[2] & 0x0f, TH_KEY_HARDWARE_ERROR);
    }
    cr_assert_eq(c[4].cmd_id, 904);
    cr_assert_eq(c[5].cmd_id, ok);
    cr_assert_eq(c[5].status, 0);
    rig_down(&r);
}

Test(ring, unknown_entry_op_is_answered_with_unknown_op)
{
    rig r;
    rig_up(&r, 4096, 0, NULL, NULL, ALL_CAPS);
    uint8_t e[16] = {0};
    struct tcmu_cmd_entry_hdr *h = (void *)e;
    h->len_op = 16 | 5; /* op 5 does not exist */
    h->cmd_id = 77;
    cr_assert_eq(th_fk_queue_raw(r.fk, e, 16), 0);
    uint16_t ok = queue_read(&r, 0, 1);
    th_fk_notify(r.fk);
    th_fk_completion c[2];
    cr_assert_eq(reap_n(&r, c, 2), 2);
    cr_assert_eq(c[0].cmd_id, 77);
    cr_assert(c[0].uflags & TCMU_UFLAG_UNKNOWN_OP);
    cr_assert_eq(c[1].cmd_id, ok);
    cr_assert_eq(c[1].status, 0);
    rig_down(&r);
}

static void corrupt_length_case(uint32_t len_field)
{
    rig r;
    rig_up(&r, 4096, 0, NULL, NULL, ALL_CAPS);
    uint8_t e[16] = {0};
    struct tcmu_cmd_entry_hdr *h = (void *)e;
    h->len_op = len_field | TCMU_OP_CMD;
    cr_assert_eq(th_fk_queue_raw(r.fk, e, 16), 0);
    queue_read(&r, 0, 1);
    th_fk_notify(r.fk);
    th_fk_completion c;
    int got = th_fk_reap(r.fk, &c, 1, 100);
    cr_assert_eq(got, 0, "reap gave %d: %s", got, th_fk_errmsg(r.fk));
    rig_down(&r); /* stops and tears down even though the ring is broken */
}

Test(ring, a_zero_entry_length_stops_reading_without_crashing)
{
    corrupt_length_case(0);
}

Test(ring, an_entry_running_past_the_ring_end_stops_reading)
{
    corrupt_length_case(8192);
}

static int short_read_with_sense(th_cmd *cmd, void *arg)
{
    (void)arg;
    uint8_t data[100];
    memset(data, 0x5a, sizeof(data));
    th_cmd_data_in_write(cmd, 0, data, sizeof(data));
    th_sense s = th_sense_make(TH_KEY_NO_SENSE, TH_ASC_FILEMARK);
    s.filemark = true;
    s.info_valid = true;
    s.info = 412;
    th_cmd_check_condition(cmd, &s);
    return 0;
}

Test(ring, data_and_sense_together_use_read_len)
{
    rig r;
    rig_up(&r, 4096, 0, short_read_with_sense, NULL, ALL_CAPS);
    queue_read(&r, 0, 1);
    th_fk_notify(r.fk);
    th_fk_completion c;
    cr_assert_eq(reap_n(&r, &c, 1), 1);
    cr_assert_eq(c.status, TH_STATUS_CHECK_CONDITION);
    cr_assert(c.uflags & TCMU_UFLAG_READ_LEN);
    cr_assert_eq(c.read_len, 100);
    cr_assert_eq(c.data_in_len, 100);
    cr_assert_eq(c.data_in[99], 0x5a);
    th_sense s;
    th_sense_decode(c.sense, 96, &s);
    cr_assert(s.filemark);
    cr_assert_eq(s.info, 412);
    rig_down(&r);
}

Test(ring, without_the_read_len_capability_no_flag_is_set)
{
    rig r;
    rig_up(&r, 4096, 0, NULL, NULL, ALL_CAPS & ~TCMU_MAILBOX_FLAG_CAP_READ_LEN);
    uint8_t cdb[6];
    th_cdb_inquiry(cdb, false, 0, 96);
    th_fk_queue_cmd(r.fk, cdb, 6, NULL, 0, 96, NULL);
    th_fk_notify(r.fk);
    th_fk_completion c;
    cr_assert_eq(reap_n(&r, &c, 1), 1);
    cr_assert_eq(c.uflags & TCMU_UFLAG_READ_LEN, 0);
    rig_down(&r);
}

Test(ring, workers_never_lose_the_kick_for_their_last_completion)
{
    rig r;
    rig_up(&r, 1 << 16, 3, NULL, NULL, ALL_CAPS);
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 32; i++) queue_read(&r, (uint64_t)i, 1);
        th_fk_notify(r.fk);
        th_fk_completion c[32];
        /* The fake kernel reaps only after a kick, as the kernel does. */
        cr_assert_eq(reap_n(&r, c, 32), 32, "round %d", round);
    }
    rig_down(&r);
}

/* Data-out reversed into the data-in buffer. */
static int reverse_bidi(th_cmd *cmd, void *arg)
{
    (void)arg;
    uint8_t buf[512], out[512];
    size_t n = th_cmd_data_out_read(cmd, 0, buf, sizeof(buf));
    for (size_t i = 0; i < n; i++) out[i] = buf[n - 1 - i];
    th_cmd_data_in_write(cmd, 0, out, n);
    th_cmd_ok(cmd);
    return 0;
}

Test(ring, bidi_commands_keep_data_out_and_data_in_apart)
{
    rig r;
    rig_up(&r, 4096, 0, reverse_bidi, NULL, ALL_CAPS);
    void *map;
    size_t size;
    int fd;
    th_fk_mapping(r.fk, &map, &size, &fd);
    size_t out_off = size - 8192, in_off = size - 4096; /* two blocks of the data area */
    uint8_t *m = map;
    for (int i = 0; i < 512; i++) m[out_off + i] = (uint8_t)i;
    memset(m + in_off, 0, 512);
    uint8_t e[160] = {0};
    struct tcmu_cmd_entry *ent = (void *)e;
    ent->hdr.len_op = 160 | TCMU_OP_CMD;
    ent->hdr.cmd_id = 321;
    ent->req.iov_cnt = 1;
    ent->req.iov_bidi_cnt = 1;
    ent->req.cdb_off = th_fk_cmdr_off(r.fk) + th_fk_head(r.fk) + 144;
    struct iovec iov[2] = {{(void *)(uintptr_t)out_off, 512}, {(void *)(uintptr_t)in_off, 512}};
    memcpy(e + 48, iov, sizeof(iov));
    e[144] = 0x53; /* XDWRITEREAD(10), a BIDI command */
    cr_assert_eq(th_fk_queue_raw(r.fk, e, sizeof(e)), 0);
    th_fk_notify(r.fk);
    th_fk_completion c;
    cr_assert_eq(reap_n(&r, &c, 1), 1);
    cr_assert_eq(c.cmd_id, 321);
    cr_assert_eq(c.status, 0);
    for (int i = 0; i < 512; i++) cr_assert_eq(m[in_off + i], (uint8_t)(511 - i), "byte %d", i);
    cr_assert_eq(m[out_off + 5], 5, "data-out untouched");
    rig_down(&r);
}

/* Defect 9: the completion of an 8-byte command entry wrote scsi_status and read_len
 * over the header of the entry after it. Every short length up to a whole response. */
Test(ring, completing_a_short_entry_leaves_the_next_entry_intact)
{
    alarm(60); /* a hang is a failure (SIGALRM), not a stuck run */
    for (uint32_t len = 8; len < sizeof(struct tcmu_cmd_entry); len += 8) {
        for (int unknown = 0; unknown < 2; unknown++) {
            rig r;
            rig_up(&r, 4096, 0, NULL, NULL, ALL_CAPS);
            uint8_t e[sizeof(struct tcmu_cmd_entry)] = {0};
            struct tcmu_cmd_entry_hdr *h = (void *)e;
            h->len_op = len | (unknown ? 5 : TCMU_OP_CMD);
            h->cmd_id = 700;
            cr_assert_eq(th_fk_queue_raw(r.fk, e, len), 0);
            uint16_t ok = queue_read(&r, 0, 1);
            th_fk_notify(r.fk);
            th_fk_completion c[2];
            cr_assert_eq(reap_n(&r, c, 2), 2, "len %u", len);
            cr_assert_eq(c[0].cmd_id, 700, "len %u", len);
            cr_assert_eq(c[1].cmd_id, ok, "len %u", len);
            cr_assert_eq(c[1].status, 0, "len %u", len);
            cr_assert_eq(c[1].data_in_len, 512, "len %u", len);
            rig_down(&r);
        }
    }
}
