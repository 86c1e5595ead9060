/* The spin-polling policy (framework/device/spin.c) as pure state: spins that find
 * nothing turn spinning off, quick wakeups turn it on again, and turning it off again
 * and again makes re-arming harder, so a load where spinning fails settles on sleeping. */
#include "device/spin.h"
#include "helpers.h"

Test(spin, misses_halve_the_budget_until_spinning_stops)
{
    th_spin p;
    th_spin_init(&p, true);
    cr_assert_eq(p.budget_ns, TH_SPIN_MAX_NS);
    int misses = 0;
    while (p.budget_ns) {
        uint64_t b = p.budget_ns;
        th_spin_after(&p, false, b);
        cr_assert(p.budget_ns == b / 2 || p.budget_ns == 0);
        misses++;
    }
    cr_assert_lt(misses, 10);
    cr_assert_eq(p.need_calm, 2, "turned off once: two quick wakeups re-arm it");
}

Test(spin, a_hit_grows_the_budget_to_twice_the_gap_within_the_cap)
{
    th_spin p;
    th_spin_init(&p, true);
    th_spin_after(&p, false, 0);
    cr_assert_eq(p.budget_ns, TH_SPIN_MAX_NS / 2);
    th_spin_after(&p, true, TH_SPIN_MAX_NS * 3 / 10);
    cr_assert_eq(p.budget_ns, TH_SPIN_MAX_NS * 6 / 10);
    th_spin_after(&p, true, 10000); /* a shorter gap keeps the budget */
    cr_assert_eq(p.budget_ns, TH_SPIN_MAX_NS * 6 / 10);
    th_spin_after(&p, true, TH_SPIN_MAX_NS);
    cr_assert_eq(p.budget_ns, TH_SPIN_MAX_NS);
}

static void turn_off(th_spin *p)
{
    while (p->budget_ns) th_spin_after(p, false, p->budget_ns);
}

Test(spin, quick_wakeups_rearm_and_each_failure_asks_for_more_of_them)
{
    th_spin p;
    th_spin_init(&p, true);
    for (uint32_t want = 2; want <= TH_SPIN_CALM_MAX; want *= 2) {
        turn_off(&p);
        cr_assert_eq(p.need_calm, want);
        for (uint32_t i = 1; i < want; i++) {
            th_spin_woke(&p, 10000);
            cr_assert_eq(p.budget_ns, 0, "re-armed after %u of %u quick wakeups", i, want);
        }
        th_spin_woke(&p, 10000);
        cr_assert_eq(p.budget_ns, 20000, "twice the gap");
    }
    turn_off(&p);
    cr_assert_eq(p.need_calm, TH_SPIN_CALM_MAX, "capped");
}

Test(spin, a_slow_wakeup_breaks_the_run_of_quick_ones)
{
    th_spin p;
    th_spin_init(&p, true);
    turn_off(&p); /* need_calm 2 */
    th_spin_woke(&p, 5000);
    th_spin_woke(&p, TH_SPIN_MAX_NS); /* too late for any spin */
    th_spin_woke(&p, 5000);
    cr_assert_eq(p.budget_ns, 0, "the run started again");
    th_spin_woke(&p, 5000);
    cr_assert_eq(p.budget_ns, 10000);
}

Test(spin, steady_hits_forget_earlier_failures)
{
    th_spin p;
    th_spin_init(&p, true);
    turn_off(&p);
    th_spin_woke(&p, 10000);
    th_spin_woke(&p, 10000);
    cr_assert_neq(p.budget_ns, 0);
    for (int i = 0; i < 64; i++) th_spin_after(&p, true, 1000);
    cr_assert_eq(p.need_calm, 1);
}

Test(spin, disabled_never_spins)
{
    th_spin p;
    th_spin_init(&p, false);
    cr_assert_eq(p.budget_ns, 0);
    for (int i = 0; i < 100; i++) th_spin_woke(&p, 1000);
    cr_assert_eq(p.budget_ns, 0);
}
