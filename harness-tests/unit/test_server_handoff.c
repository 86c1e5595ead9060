/* The workers' handoff: with a handler that costs more than a handoff the serving
 * thread gives commands to workers in batches (th_device_cmds_handed_off proves they
 * went), and still every command is answered exactly once: under load, when a TMR
 * aborts commands still queued for a worker, when the rules defer them, and when the
 * device closes while workers are busy. Run in the TSan lane too. */
#include <stdatomic.h>
#include <time.h>
#include "device_rig.h"

#define ROUND 64

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The rules engine behind about 10 us of busy work: dearer than a handoff. */
static int slow_rules(th_cmd *cmd, void *arg)
{
    uint64_t until = mono_ns() + 10000;
    while (mono_ns() < until) {
    }
    return th_rules_handle(cmd, arg);
}

static void slow_rig_up(dev_rig *g, int workers)
{
    dev_rig_up_with(g, workers, slow_rules);
}

/* n completions (5 s at most), then any extra one that comes within 20 ms. */
static int reap_all(dev_rig *g, th_fk_completion *c, int n)
{
    int got = dev_rig_reap(g, c, n, 5000);
    return got + dev_rig_reap(g, c + got, 1, 20);
}

/* Every id in ids[0..n) reaped exactly once among c[0..got); returns how many of them
 * had status st. */
static int each_once(const uint16_t *ids, int n, const th_fk_completion *c, int got, int st)
{
    cr_assert_eq(got, n, "%d of %d commands answered", got, n);
    int with = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int k = 0; k < got; k++) {
            if (c[k].cmd_id != ids[i]) continue;
            seen++;
            with += c[k].status == st;
        }
        cr_assert_eq(seen, 1, "id %u answered %d times", ids[i], seen);
    }
    return with;
}

/* Reads of blocks 0..ROUND-1 until the serving thread has learnt the cost and hands
 * them off; leaves nothing in flight. */
static void warm_up(dev_rig *g)
{
    for (int r = 0; r < 50 && th_device_cmds_handed_off(g->dev) == 0; r++) {
        uint16_t ids[ROUND];
        for (int i = 0; i < ROUND; i++) ids[i] = dev_rig_read(g, (uint64_t)i);
        th_fk_notify(g->fk);
        th_fk_completion c[ROUND + 1];
        each_once(ids, ROUND, c, reap_all(g, c, ROUND), 0);
    }
    cr_assert_gt(th_device_cmds_handed_off(g->dev), 0, "the slow handler was never handed off");
}

Test(server_handoff, every_command_is_answered_once_by_workers_under_load)
{
    for (int workers = 2; workers <= 4; workers += 2) {
        dev_rig g;
        slow_rig_up(&g, workers);
        warm_up(&g);
        uint64_t before = th_device_cmds_handed_off(g.dev);
        for (int round = 0; round < 20; round++) {
            /* READs that check the data path and TEST UNIT READYs between them. */
            uint16_t ids[ROUND];
            for (int i = 0; i < ROUND; i++) {
                if (i % 3) {
                    ids[i] = dev_rig_read(&g, (uint64_t)(round * ROUND + i) % 2048);
                } else {
                    uint8_t cdb[6];
                    th_cdb_tur(cdb);
                    cr_assert_eq(th_fk_queue_cmd(g.fk, cdb, 6, NULL, 0, 0, &ids[i]), 0);
                }
            }
            th_fk_notify(g.fk);
            th_fk_completion c[ROUND + 1];
            int got = reap_all(&g, c, ROUND);
            cr_assert_eq(each_once(ids, ROUND, c, got, 0), ROUND, "round %d: all GOOD", round);
        }
        cr_assert_gt(th_device_cmds_handed_off(g.dev), before, "workers=%d", workers);
        dev_rig_down(&g);
    }
}

#define N_ABORT 100

Test(server_handoff, an_abort_while_queued_for_a_worker_is_answered_once)
{
    for (int round = 0; round < 5; round++) {
        dev_rig g;
        slow_rig_up(&g, 2);
        warm_up(&g);
        uint16_t ids[N_ABORT];
        dev_rig_hang_and_abort(&g, ids, N_ABORT); /* 10 us each: most still queued */
        th_fk_completion c[N_ABORT + 1];
        int got = reap_all(&g, c, N_ABORT);
        cr_assert_eq(each_once(ids, N_ABORT, c, got, TH_STATUS_TASK_ABORTED), N_ABORT,
                     "round %d: every one TASK ABORTED", round);
        dev_rig_down(&g);
    }
}

Test(server_handoff, deferred_commands_from_workers_are_answered_once_by_the_timer)
{
    dev_rig g;
    slow_rig_up(&g, 4);
    warm_up(&g);
    dev_rig_rule(&g, "delay", false, 5);
    for (int round = 0; round < 10; round++) {
        uint16_t ids[ROUND];
        for (int i = 0; i < ROUND; i++) ids[i] = dev_rig_read(&g, (uint64_t)i);
        th_fk_notify(g.fk);
        th_fk_completion c[ROUND + 1];
        int got = reap_all(&g, c, ROUND);
        cr_assert_eq(each_once(ids, ROUND, c, got, 0), ROUND, "round %d", round);
    }
    dev_rig_down(&g);
}

/* Closing while workers are in the middle of a batch: no command is answered twice,
 * none is lost (each one read is answered, by a worker or by close), none is touched
 * after the server is gone (ASan, TSan). */
Test(server_handoff, stop_while_workers_are_busy, .timeout = 120)
{
    for (int round = 0; round < 200; round++) {
        dev_rig g;
        slow_rig_up(&g, 2 + round % 3);
        if (round % 2) dev_rig_rule(&g, "delay", false, 1);
        uint16_t ids[ROUND];
        for (int i = 0; i < ROUND; i++) ids[i] = dev_rig_read(&g, (uint64_t)i);
        th_fk_notify(g.fk);
        if (round % 4 == 0) usleep(200);
        cr_assert_eq(th_device_close(g.dev), 0);
        g.dev = NULL;
        th_fk_completion c[ROUND + 1];
        int got = dev_rig_reap(&g, c, ROUND + 1, 20);
        cr_assert_leq(got, ROUND);
        for (int k = 0; k < got; k++) {
            bool ours = false;
            for (int i = 0; i < ROUND; i++) ours |= c[k].cmd_id == ids[i];
            cr_assert(ours, "round %d: id %u was never queued", round, c[k].cmd_id);
        }
        for (int k = 0; k < got; k++)
            for (int j = k + 1; j < got; j++)
                cr_assert_neq(c[k].cmd_id, c[j].cmd_id, "round %d: id %u answered twice", round,
                              c[k].cmd_id);
        dev_rig_down(&g);
    }
}

/* READs wait here until the test has reaped the TEST UNIT READY queued before them. */
static atomic_bool hold_reads;

static int slow_holding_reads(th_cmd *cmd, void *arg)
{
    for (int t = 0; t < 10000 && th_cmd_cdb(cmd)[0] == 0x28 && atomic_load(&hold_reads); t++)
        usleep(1000);
    return slow_rules(cmd, arg);
}

/* A worker that finished a command kicks before it runs the next: the next handler may
 * block (a slow backing file), and the finished completion must not wait for it. Here
 * every READ blocks until the test has seen the TUR's completion, so a completion that
 * waited for a later kick is never seen (the reap times out). With 4 READs a worker's
 * take is one command; with 15 the TUR shares a take of 4 with blocking READs. */
Test(server_handoff, a_finished_completion_does_not_wait_behind_a_blocking_handler, .timeout = 60)
{
    dev_rig g;
    dev_rig_up_with(&g, 2, slow_holding_reads);
    warm_up(&g);
    for (int round = 0; round < 10; round++) {
        atomic_store(&hold_reads, true);
        uint8_t cdb[6];
        th_cdb_tur(cdb);
        int n = round % 2 ? 15 : 4;
        uint16_t tur, reads[15];
        cr_assert_eq(th_fk_queue_cmd(g.fk, cdb, 6, NULL, 0, 0, &tur), 0);
        for (int i = 0; i < n; i++) reads[i] = dev_rig_read(&g, (uint64_t)i);
        th_fk_notify(g.fk);
        th_fk_completion c[17];
        int got = dev_rig_reap(&g, c, 1, 3000);
        atomic_store(&hold_reads, false);
        cr_assert_eq(got, 1, "round %d: the TUR's completion waited for the blocked reads", round);
        cr_assert_eq(c[0].cmd_id, tur);
        got = reap_all(&g, c, n);
        each_once(reads, n, c, got, 0);
    }
    dev_rig_down(&g);
}
