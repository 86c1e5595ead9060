/* The spin-polling policy (framework/device/spin.c) as pure state: spins that find
 * nothing turn spinning off, sleeps re-arm it as a probe, and a probe that fails makes
 * the next one wait twice as long, so a load where spinning fails settles on sleeping. */
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
    cr_assert_eq(p.need_calm, 2, "turned off once: the second sleep re-arms it");
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

static void sleep_until_armed(th_spin *p, uint32_t want)
{
    for (uint32_t i = 1; i < want; i++) {
        th_spin_slept(p);
        cr_assert_eq(p->budget_ns, 0, "re-armed after %u of %u sleeps", i, want);
    }
    th_spin_slept(p);
    cr_assert_eq(p->budget_ns, TH_SPIN_MAX_NS, "a probe gets the whole budget");
}

Test(spin, a_failed_probe_stops_at_once_and_doubles_the_wait_for_the_next)
{
    th_spin p;
    th_spin_init(&p, true);
    turn_off(&p);
    for (uint32_t want = 2; want <= TH_SPIN_CALM_MAX; want *= 2) {
        cr_assert_eq(p.need_calm, want);
        sleep_until_armed(&p, want);
        th_spin_after(&p, false, TH_SPIN_MAX_NS); /* the probe found nothing */
        cr_assert_eq(p.budget_ns, 0, "one failed probe stops spinning");
    }
    cr_assert_eq(p.need_calm, TH_SPIN_CALM_MAX, "capped");
}

Test(spin, a_probe_that_finds_work_goes_on_spinning)
{
    th_spin p;
    th_spin_init(&p, true);
    turn_off(&p);
    sleep_until_armed(&p, 2);
    th_spin_after(&p, true, 300000);
    cr_assert_eq(p.budget_ns, TH_SPIN_MAX_NS);
    th_spin_after(&p, false, TH_SPIN_MAX_NS); /* past the probe: a miss only halves */
    cr_assert_eq(p.budget_ns, TH_SPIN_MAX_NS / 2);
}

Test(spin, steady_hits_forget_earlier_failures)
{
    th_spin p;
    th_spin_init(&p, true);
    turn_off(&p);
    turn_off(&p);
    sleep_until_armed(&p, 2);
    th_spin_after(&p, false, TH_SPIN_MAX_NS);
    sleep_until_armed(&p, 4);
    for (int i = 0; i < 64; i++) th_spin_after(&p, true, 1000);
    cr_assert_eq(p.need_calm, 1);
}

Test(spin, disabled_never_spins)
{
    th_spin p;
    th_spin_init(&p, false);
    cr_assert_eq(p.budget_ns, 0);
    for (int i = 0; i < 100; i++) th_spin_slept(&p);
    cr_assert_eq(p.budget_ns, 0);
}
