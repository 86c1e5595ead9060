/* Closing a device while the rules engine still holds deferred commands, in either
 * order and racing: every command is answered exactly once and none is touched after
 * it was freed (run under ASan and TSan). */
#include "device_rig.h"

#define N_CMDS 32

/* Each id reaped exactly once; returns how many were ABORTED COMMAND sense. */
static int check_each_once(const uint16_t *ids, int n, const th_fk_completion *c, int got)
{
    cr_assert_eq(got, n, "%d of %d commands answered", got, n);
    int aborted = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int k = 0; k < got; k++) {
            if (c[k].cmd_id != ids[i]) continue;
            seen++;
            aborted += c[k].status == TH_STATUS_CHECK_CONDITION &&
                       (c[k].sense[2] & 0x0f) == TH_KEY_ABORTED_COMMAND;
        }
        cr_assert_eq(seen, 1, "id %u answered %d times", ids[i], seen);
    }
    return aborted;
}

/* Queues N_CMDS reads that the first rule hangs, waits until all hang, closes. */
static void hang_then_close(dev_rig *g, uint16_t *ids)
{
    for (int i = 0; i < N_CMDS; i++) ids[i] = dev_rig_read(g, (uint64_t)i);
    th_fk_notify(g->fk);
    dev_rig_wait_fired(g, 0, N_CMDS);
    cr_assert_eq(th_device_close(g->dev), 0);
    g->dev = NULL;
}

/* Every command failed with ABORTED COMMAND exactly once; frees the rig. */
static void expect_each_failed_once(dev_rig *g, const uint16_t *ids)
{
    th_fk_completion c[N_CMDS + 1];
    int got = dev_rig_reap(g, c, N_CMDS + 1, 100);
    cr_assert_eq(check_each_once(ids, N_CMDS, c, got), N_CMDS);
    dev_rig_down(g);
}

Test(server_teardown, close_before_the_rules_release_fails_each_hung_command_once)
{
    for (int workers = 0; workers <= 4; workers += 4) {
        for (int round = 0; round < 10; round++) {
            dev_rig g;
            dev_rig_up(&g, workers);
            dev_rig_rule(&g, "hang", true, 0);
            uint16_t ids[N_CMDS];
            hang_then_close(&g, ids);
            /* The server went first; the rules still listed every command as hung. */
            th_rules_release_all(g.rules);
            expect_each_failed_once(&g, ids);
        }
    }
}

typedef struct releaser {
    th_rules *rules;
    pthread_barrier_t *go;
} releaser;

static void *release_main(void *arg)
{
    releaser *x = arg;
    pthread_barrier_wait(x->go);
    th_rules_release_all(x->rules);
    return NULL;
}

Test(server_teardown, rules_release_racing_close_answers_each_command_once)
{
    for (int round = 0; round < 60; round++) {
        int workers = round % 3 == 0 ? 0 : 4;
        dev_rig g;
        dev_rig_up(&g, workers);
        /* Half hang, half are delayed so the timer thread completes some meanwhile. */
        th_rule x;
        th_rule_init(&x);
        x.match.op = 0x28;
        x.match.lba_set = true;
        x.match.lba_lo = 0;
        x.match.lba_hi = N_CMDS / 2 - 1;
        x.action.hang = true;
        cr_assert_geq(th_rules_add(g.rules, &x, -1), 0);
        dev_rig_rule(&g, "delay", false, (uint32_t)(round % 3));
        uint16_t ids[N_CMDS];
        for (int i = 0; i < N_CMDS; i++) ids[i] = dev_rig_read(&g, (uint64_t)i);
        th_fk_notify(g.fk);
        /* Every command reached the rules: entries still unread in the ring at close
         * are the kernel's to fail, not the server's. */
        dev_rig_wait_fired(&g, 0, N_CMDS / 2);
        dev_rig_wait_fired(&g, 1, N_CMDS / 2);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        releaser rel = {g.rules, &go};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, release_main, &rel), 0);
        pthread_barrier_wait(&go);
        cr_assert_eq(th_device_close(g.dev), 0);
        g.dev = NULL;
        pthread_join(t, NULL);
        pthread_barrier_destroy(&go);
        th_fk_completion c[N_CMDS + 1];
        int got = dev_rig_reap(&g, c, N_CMDS + 1, 100);
        check_each_once(ids, N_CMDS, c, got);
        dev_rig_down(&g);
    }
}

Test(server_teardown, freeing_the_rules_after_close_answers_nothing_twice)
{
    dev_rig g;
    dev_rig_up(&g, 2);
    dev_rig_rule(&g, "hang", true, 0);
    uint16_t ids[N_CMDS];
    hang_then_close(&g, ids);
    th_rules_free(g.rules); /* without a release first */
    g.rules = NULL;
    expect_each_failed_once(&g, ids);
}

Test(server_teardown, open_serve_close_loops_with_workers)
{
    for (int round = 0; round < 40; round++) {
        dev_rig g;
        dev_rig_up(&g, 1 + round % 4);
        dev_rig_rule(&g, "delay", false, (uint32_t)(round % 2));
        uint16_t ids[N_CMDS];
        for (int i = 0; i < N_CMDS; i++) ids[i] = dev_rig_read(&g, (uint64_t)i);
        th_fk_notify(g.fk);
        dev_rig_wait_fired(&g, 0, N_CMDS);
        th_fk_completion c[N_CMDS + 1];
        int got = dev_rig_reap(&g, c, round % 2 ? N_CMDS / 2 : N_CMDS, 2000);
        /* Close while the rest is still in flight. */
        cr_assert_eq(th_device_close(g.dev), 0);
        g.dev = NULL;
        got += dev_rig_reap(&g, c + got, N_CMDS + 1 - got, 100);
        check_each_once(ids, N_CMDS, c, got);
        dev_rig_down(&g);
    }
}
