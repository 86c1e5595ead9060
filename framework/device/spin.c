/* Spin-polling policy. After a batch, more work often follows within microseconds,
 * and looking at cmd_head for a while is cheaper than a sleep and a wakeup through the
 * UIO fd (in a TCG guest a sleeping thread's wakeup costs milliseconds: spinning is
 * what makes qd1 fast there). But a spin burns a CPU the initiator may need (on a
 * 2-vCPU guest, the one fio and the kernel's submission path run on), and then the work
 * it waits for comes later because of it: a fixed spin made the same fio qd1 cell swing
 * between 213 and 2,334 IOPS. Spinning only pays while it finds work, so:
 * - a spin lasts at most budget_ns (server.c also caps it at spin_polls looks and
 *   yields the CPU between looks, so a runnable initiator on this CPU is not held off);
 * - a spin that finds work grows the budget to twice the gap it waited (the next gap is
 *   probably alike); one that finds none halves it, and below TH_SPIN_MIN_NS spinning
 *   stops;
 * - while not spinning, every need_calm-th sleep re-arms it as a probe with the whole
 *   budget: a probe that finds work goes on spinning, one that finds none stops at once
 *   and doubles need_calm (up to TH_SPIN_CALM_MAX), so a load where spinning keeps
 *   failing settles on sleeping with a rare probe instead of flapping; 64 hits in a row
 *   forget the failures. The sleep's own gap says nothing here: it includes the
 *   wakeup that spinning avoids.
 * Pure state: no clock here, the server passes the times in (and tests can). */
#include "spin.h"

static uint64_t cap(uint64_t ns)
{
    return ns > TH_SPIN_MAX_NS ? TH_SPIN_MAX_NS : ns < TH_SPIN_MIN_NS ? TH_SPIN_MIN_NS : ns;
}

void th_spin_init(th_spin *p, bool enabled)
{
    *p = (th_spin){.budget_ns = enabled ? TH_SPIN_MAX_NS : 0, .need_calm = enabled ? 1 : 0};
}

static void turn_off(th_spin *p)
{
    p->budget_ns = 0;
    p->calm = 0;
    p->probing = false;
    p->need_calm = p->need_calm >= TH_SPIN_CALM_MAX / 2 ? TH_SPIN_CALM_MAX : 2 * p->need_calm;
}

void th_spin_after(th_spin *p, bool found, uint64_t waited)
{
    if (found) {
        p->probing = false;
        if (2 * waited > p->budget_ns) p->budget_ns = cap(2 * waited);
        if (++p->hits >= 64) p->need_calm = 1;
        return;
    }
    p->hits = 0;
    p->budget_ns /= 2;
    if (p->probing || p->budget_ns < TH_SPIN_MIN_NS) turn_off(p);
}

void th_spin_slept(th_spin *p)
{
    if (p->budget_ns || !p->need_calm) return; /* spinning already, or disabled */
    if (++p->calm >= p->need_calm) {
        p->budget_ns = TH_SPIN_MAX_NS;
        p->probing = true;
        p->calm = 0;
    }
}
