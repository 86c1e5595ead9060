/* Races and hostile ids around the server: an id reused while in flight, TMRs naming
 * more commands than fit a fixed list, the trace switched while commands run, and
 * TMRs, delays, hangs and close all at once. Also run in the TSan lane. */
#include "kernel/tcmu_uapi.h"
#include <stdatomic.h>
#include "device_rig.h"

/* A TEST UNIT READY entry with no iovecs and the given id, queued raw. */
static void queue_raw_tur(th_fake_kernel *fk, uint16_t id)
{
    enum { LEN = (sizeof(struct tcmu_cmd_entry) + 16 + 7) & ~7 };
    uint8_t e[LEN];
    memset(e, 0, sizeof(e));
    struct tcmu_cmd_entry *ent = (void *)e;
    size_t at = th_fk_cmdr_off(fk) + th_fk_head(fk);
    cr_assert_leq(th_fk_head(fk) + LEN, th_fk_cmdr_size(fk), "no wrap expected");
    ent->hdr.len_op = LEN | TCMU_OP_CMD;
    ent->hdr.cmd_id = id;
    ent->req.iov_cnt = 0;
    ent->req.cdb_off = at + sizeof(struct tcmu_cmd_entry);
    e[sizeof(struct tcmu_cmd_entry)] = 0x00; /* TEST UNIT READY */
    cr_assert_eq(th_fk_queue_raw(fk, e, LEN), 0);
}

Test(server_races, a_reused_cmd_id_breaks_the_ring_and_the_hung_command_is_still_answered_once)
{
    dev_rig g;
    dev_rig_up(&g, 0);
    dev_rig_rule(&g, "hang", true, 0);
    uint16_t id = dev_rig_read(&g, 0);
    th_fk_notify(g.fk);
    dev_rig_wait_fired(&g, 0, 1); /* the READ is hung in the rules */
    queue_raw_tur(g.fk, id);      /* same id again */
    th_fk_notify(g.fk);
    th_fk_completion c[4];
    /* A kernel never reuses an id in flight: the ring is declared broken. */
    for (int i = 0; i < 50; i++)
        if (th_fk_reap(g.fk, c, 4, 10) != 0) break;
    cr_assert_eq(th_device_close(g.dev), 0);
    g.dev = NULL;
    /* Before the fix: heap-use-after-free in th_ring_complete (server_done on the freed
     * device) from answer_aborted: the READ had been orphaned in s->inflight. */
    th_rules_release_all(g.rules);
    dev_rig_down(&g);
}

/* target_core_user's tcmu_tmr_notify lists every aborted command, with no cap; a
 * list cut at 1024 left the rest hung until close. */
#define N_RESET 1100

Test(server_races, a_lun_reset_naming_more_than_1024_commands_answers_them_all)
{
    dev_rig g;
    memset(&g, 0, sizeof(g));
    cr_assert_eq(th_ctx_new(&g.ctx), 0);
    /* Room for N_RESET one-block READs: 128-byte entries, one 4 KiB data block each. */
    cr_assert_eq(th_fk_new(&g.fk, 1 << 19, (size_t)(N_RESET + 16) * 4096, 0x0f), 0);
    g.disk = test_disk(2048, 512);
    cr_assert_eq(th_rules_new(NULL, &g.rules, "rig", th_disk_handle, g.disk, 512, NULL), 0);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = "rig";
    cfg.size = 2048 * 512;
    cfg.handler = th_rules_handle;
    cfg.handler_arg = g.rules;
    cfg.on_tmr = th_rules_on_tmr;
    cfg.tmr_arg = g.rules;
    cfg.fake_kernel = g.fk;
    cr_assert_eq(th_device_open(g.ctx, &cfg, &g.dev), 0);
    dev_rig_rule(&g, "hang", true, 0);
    static uint16_t ids[N_RESET];
    for (int i = 0; i < N_RESET; i++) ids[i] = dev_rig_read(&g, (uint64_t)(i % 2048));
    th_fk_notify(g.fk);
    for (int t = 0; t < 5000 && th_rules_fired(g.rules, 0) < N_RESET; t++) usleep(1000);
    cr_assert_eq(th_rules_fired(g.rules, 0), N_RESET);
    cr_assert_eq(th_fk_queue_tmr(g.fk, TH_TMR_LUN_RESET, ids, N_RESET), 0);
    th_fk_notify(g.fk);
    static th_fk_completion c[N_RESET + 1];
    int got = dev_rig_reap(&g, c, N_RESET + 1, 1000);
    dev_rig_down(&g); /* close answers the rest */
    cr_assert_eq(got, N_RESET, "the LUN RESET answered %d of %d commands it named", got, N_RESET);
}

/* TSan: the trace's early "no trace" check ran without the lock set_trace takes. */
typedef struct trace_race {
    th_rules *r;
    atomic_bool stop;
} trace_race;

static void *trace_commands(void *arg)
{
    trace_race *x = arg;
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 10, 0, 1);
    while (!atomic_load(&x->stop)) {
        th_cmd *c = th_fake_cmd_new(cdb, n, NULL, 0, 512);
        cr_assert_not_null(c);
        th_fake_cmd_run(c, th_rules_handle, x->r);
        th_fake_cmd_free(c);
    }
    return NULL;
}

Test(server_races, setting_the_trace_while_commands_run_is_race_free)
{
    th_disk *d = test_disk(64, 512);
    trace_race x = {0};
    cr_assert_eq(th_rules_new(NULL, &x.r, "d0", th_disk_handle, d, 512, NULL), 0);
    FILE *f = fopen("/dev/null", "w");
    cr_assert_not_null(f);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, trace_commands, &x), 0);
    for (int i = 0; i < 2000; i++) th_rules_set_trace(x.r, i % 2 ? f : NULL, 0);
    atomic_store(&x.stop, true);
    pthread_join(t, NULL);
    th_rules_set_trace(x.r, NULL, 0);
    fclose(f);
    th_rules_free(x.r);
    th_disk_free(d);
}

/* Workers, delayed and hung commands, ABORT TASKs for some of them, and a close racing
 * th_rules_release_all: every command is answered at most once, nothing is touched
 * after it was freed. */
#define N_RACE 48

static void *release_soon(void *arg)
{
    usleep(200);
    th_rules_release_all(arg);
    return NULL;
}

Test(server_races, tmrs_delays_hangs_and_close_racing_release_answer_each_once)
{
    for (int round = 0; round < 40; round++) {
        dev_rig g;
        dev_rig_up(&g, round % 4 == 0 ? 0 : 2 + round % 3);
        th_rule h;
        th_rule_init(&h);
        h.match.op = 0x28;
        h.match.lba_set = true;
        h.match.lba_lo = 0;
        h.match.lba_hi = N_RACE / 3 - 1;
        h.action.hang = true;
        cr_assert_geq(th_rules_add(g.rules, &h, -1), 0);
        dev_rig_rule(&g, "delay", false, (uint32_t)(round % 3));
        uint16_t ids[N_RACE];
        for (int i = 0; i < N_RACE; i++) ids[i] = dev_rig_read(&g, (uint64_t)i);
        /* ABORT TASK for every third command, in the same batch (some still queued). */
        for (int i = 0; i < N_RACE; i += 3)
            cr_assert_eq(th_fk_queue_tmr(g.fk, TH_TMR_ABORT_TASK, &ids[i], 1), 0);
        th_fk_notify(g.fk);
        th_fk_completion c[2 * N_RACE];
        int got = dev_rig_reap(&g, c, 2 * N_RACE, round % 2 ? 5 : 50);
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, release_soon, g.rules), 0);
        cr_assert_eq(th_device_close(g.dev), 0);
        g.dev = NULL;
        pthread_join(t, NULL);
        got += dev_rig_reap(&g, c + got, 2 * N_RACE - got, 100);
        /* Entries never read before the stop are the kernel's to time out; each id
         * the device did answer is answered once. */
        for (int i = 0; i < N_RACE; i++) {
            int seen = 0;
            for (int k = 0; k < got; k++) seen += c[k].cmd_id == ids[i];
            cr_assert_leq(seen, 1, "round %d: id %u answered %d times", round, ids[i], seen);
        }
        dev_rig_down(&g);
    }
}
