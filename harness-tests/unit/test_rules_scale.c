/* 100,000 rules through the API: added, matched by the right one, listed by index,
 * removed by name; and a 10,000-range list as one rule in front of them. */
#include "cmd/cmd_handler.h"
#include "rules_fixture.h"

TestSuite(rules_scale, .init = rules_setup, .fini = rules_teardown);

#define N 100000

/* Rule i: READ(10) on [10i, 10i+4]; rule ids are the indices they were added at. */
static void add_ranges(void)
{
    th_rule x;
    th_rule_init(&x);
    x.match.op = 0x28;
    x.match.lba_set = true;
    x.action.pass = false;
    x.action.status = TH_STATUS_BUSY;
    for (int i = 0; i < N; i++) {
        snprintf(x.name, sizeof(x.name), "r%d", i);
        x.match.lba_lo = 10 * (uint64_t)i;
        x.match.lba_hi = x.match.lba_lo + 4;
        cr_assert_eq(th_rules_add(r, &x, -1), i);
    }
}

Test(rules_scale, a_hundred_thousand_rules_each_matches_its_own_range, .timeout = 120)
{
    add_ranges();
    cr_assert_eq(th_rules_count(r), N);
    for (int i = 0; i < N; i += 7) {
        cr_assert_eq(read_rule(10 * (uint64_t)i + 2, 1), i);
        cr_assert_eq(read_rule(10 * (uint64_t)i + 5, 5), -1, "gap after rule %d", i); /* +5..+9 */
    }
    cr_assert_eq(read_rule(10 * 500 + 4, 7), 500); /* spans 500 and 501: the first wins */
    th_rule got;
    uint64_t fired;
    cr_assert_eq(th_rules_get(r, 77777, &got, &fired), 0);
    cr_assert_str_eq(got.name, "r77777");
    cr_assert_eq(got.match.lba_lo, 777770);
    cr_assert_eq(th_rules_remove(r, "r50000"), 0);
    cr_assert_eq(read_rule(500002, 1), -1);
    cr_assert_eq(read_rule(500012, 1), 50001);
    cr_assert_eq(th_rules_count(r), N - 1);
    cr_assert_eq(th_rules_get(r, 50000, &got, &fired), 0);
    cr_assert_str_eq(got.name, "r50001");
    cr_assert_eq(fired, 2); /* 50001 is a multiple of 7: the loop read it too */
}

Test(rules_scale, inserts_at_the_front_of_a_hundred_thousand_take_precedence, .timeout = 120)
{
    add_ranges();
    th_rule x;
    th_rule_init(&x);
    x.match.op = -1;
    x.match.lba_set = true;
    x.match.lba_lo = 300000;
    x.match.lba_hi = 300009;
    x.action.pass = false;
    x.action.status = TH_STATUS_TASK_SET_FULL;
    snprintf(x.name, sizeof(x.name), "front");
    cr_assert_eq(th_rules_add(r, &x, 0), 0);         /* id N */
    cr_assert_eq(th_rules_add(r, &x, N / 2), N / 2); /* id N+1: behind rule 30000 */
    cr_assert_eq(read_rule(300002, 1), N);
    cr_assert_eq(th_rules_remove(r, "front"), 0); /* the first of the name */
    cr_assert_eq(read_rule(300002, 1), 30000);
    cr_assert_eq(read_rule(300007, 1), N + 1);
}

Test(rules_scale, a_ten_thousand_range_list_is_one_rule)
{
    add_ranges();
    th_lba_range *g = malloc(10000 * sizeof(*g));
    cr_assert_not_null(g);
    for (int i = 0; i < 10000; i++) g[i].first = g[i].last = 10 * (uint64_t)i + 7; /* in gaps */
    th_rule x;
    th_rule_init(&x);
    x.match.op = 0x28;
    x.match.ranges_set = true;
    x.match.ranges = g;
    x.match.n_ranges = 10000;
    x.action.pass = false;
    x.action.status = TH_STATUS_TASK_SET_FULL;
    snprintf(x.name, sizeof(x.name), "bad");
    cr_assert_eq(th_rules_add(r, &x, 0), 0);
    free(g); /* th_rules_add copied it */
    cr_assert_eq(read_rule(10 * 1234 + 7, 1), N);
    cr_assert_eq(read_rule(10 * 1234 + 8, 1), -1);
    cr_assert_eq(read_rule(10 * 1234 + 2, 1), 1234);
    cr_assert_eq(read_rule(10 * 20000 + 7, 1), -1); /* past the list */
    cr_assert_eq(th_rules_count(r), N + 1);
}
