/* Task management through the rules engine: every command a TMR names is answered,
 * wherever it is (hung in the rules, still queued for a worker), and only those. */
#include "device_rig.h"
#include "rules_fixture.h"

#define N_ABORT 120

Test(rules_tmr, abort_task_answers_commands_still_queued_for_workers)
{
    for (int round = 0; round < 5; round++) {
        dev_rig g;
        dev_rig_up(&g, 8);
        uint16_t ids[N_ABORT];
        dev_rig_hang_and_abort(&g, ids, N_ABORT);
        th_fk_completion c[N_ABORT];
        int got = dev_rig_reap(&g, c, N_ABORT, 3000);
        cr_assert_eq(got, N_ABORT, "round %d: %d of %d aborted commands answered", round, got,
                     N_ABORT);
        for (int i = 0; i < got; i++) cr_assert_eq(c[i].status, TH_STATUS_TASK_ABORTED);
        dev_rig_down(&g);
    }
}

Test(rules_tmr, an_aborted_command_reaching_the_rules_is_answered_at_once)
{
    rules_setup();
    add_hang_all(r);
    th_cmd *c = new_read(0);
    th_fake_cmd_abort(c); /* the TMR came while it waited for a worker */
    if (th_rules_handle(c, r) != TH_CMD_DEFERRED) th_cmd_complete(c);
    cr_assert(th_fake_cmd_done(c), "an aborted command must not hang");
    th_assert_status(c, TH_STATUS_TASK_ABORTED);
    th_fake_cmd_free(c);
    rules_teardown();
}

/* The kernel lists the commands a TMR affects (every type, target_core_user's
 * tcmu_tmr_notify); other initiators' commands stay hung. */
Test(rules_tmr, task_set_and_reset_tmrs_answer_only_the_listed_commands)
{
    const uint8_t types[] = {TH_TMR_ABORT_TASK_SET, TH_TMR_CLEAR_TASK_SET, TH_TMR_LUN_RESET,
                             TH_TMR_TARGET_WARM_RESET};
    for (size_t k = 0; k < sizeof(types); k++) {
        dev_rig g;
        dev_rig_up(&g, 0);
        dev_rig_rule(&g, "hang", true, 0);
        uint16_t a = dev_rig_read(&g, 0), b = dev_rig_read(&g, 1);
        th_fk_notify(g.fk);
        dev_rig_wait_fired(&g, 0, 2);
        cr_assert_eq(th_fk_queue_tmr(g.fk, types[k], &a, 1), 0);
        th_fk_notify(g.fk);
        th_fk_completion c[2];
        cr_assert_eq(dev_rig_reap(&g, c, 2, 200), 1, "%s", th_tmr_name(types[k]));
        cr_assert_eq(c[0].cmd_id, a);
        cr_assert_eq(c[0].status, TH_STATUS_TASK_ABORTED);
        cr_assert_eq(th_fk_queue_tmr(g.fk, types[k], &b, 1), 0);
        th_fk_notify(g.fk);
        cr_assert_eq(dev_rig_reap(&g, c, 1, 2000), 1);
        cr_assert_eq(c[0].cmd_id, b);
        dev_rig_down(&g);
    }
}
