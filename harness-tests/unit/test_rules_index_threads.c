/* The index changing under running commands: rules inserted at the front and removed
 * again by one thread while another matches commands never disturb a rule they do not
 * cover (run under TSan in threaded-tests). */
#include <pthread.h>
#include <stdatomic.h>
#include "cmd/cmd_handler.h"
#include "rules_fixture.h"

TestSuite(rules_index_threads, .init = rules_setup, .fini = rules_teardown);

static atomic_bool stop;

static void *churn(void *arg)
{
    (void)arg;
    th_rule x;
    th_rule_init(&x);
    x.match.op = 0x28;
    x.match.lba_set = true;
    x.action.pass = false;
    x.action.status = TH_STATUS_TASK_SET_FULL;
    for (unsigned i = 0; !atomic_load(&stop); i++) {
        snprintf(x.name, sizeof(x.name), "tmp%u", i % 64);
        x.match.lba_lo = i % 400;
        x.match.lba_hi = x.match.lba_lo + 50;
        th_rules_add(r, &x, (int)(i % 3)); /* at 0, 1 or 2: before "stay" */
        if (i % 64 == 63)
            for (int k = 0; k < 64; k++) {
                char name[16];
                snprintf(name, sizeof(name), "tmp%d", k);
                while (!th_rules_remove(r, name)) {
                }
            }
    }
    return NULL;
}

Test(rules_index_threads, inserts_and_removes_racing_commands_leave_other_rules_matching)
{
    th_rule stay;
    th_rule_init(&stay);
    snprintf(stay.name, sizeof(stay.name), "stay");
    stay.match.op = 0x28;
    stay.match.lba_set = true;
    stay.match.lba_lo = stay.match.lba_hi = 900; /* no tmp rule reaches 900 */
    stay.action.pass = false;
    stay.action.status = TH_STATUS_BUSY;
    cr_assert_eq(th_rules_add(r, &stay, -1), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, churn, NULL), 0);
    for (int i = 0; i < 5000; i++) {
        th_cmd *c = new_read(900);
        th_fake_cmd_run(c, th_rules_handle, r);
        cr_assert_eq(th_cmd_rule(c), 0, "command %d", i);
        cr_assert_eq(th_cmd_get_status(c), TH_STATUS_BUSY);
        th_fake_cmd_free(c);
        c = new_read(1000); /* matches nothing, whatever is in the table */
        th_fake_cmd_run(c, th_rules_handle, r);
        cr_assert_eq(th_cmd_rule(c), -1);
        th_fake_cmd_free(c);
    }
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    uint64_t fired = 0;
    th_rule got;
    for (size_t i = 0; !th_rules_get(r, i, &got, &fired); i++)
        if (!strcmp(got.name, "stay")) break;
    cr_assert_eq(fired, 5000);
}
