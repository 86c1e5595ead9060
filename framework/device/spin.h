/* When the serving thread spins for more work and when it sleeps (spin.c says why). */
#ifndef TH_SPIN_H
#define TH_SPIN_H
#include <stdbool.h>
#include <stdint.h>

#define TH_SPIN_MAX_NS   1000000u /* the longest spin (a TCG guest at qd1 waits ~0.5 ms) */
#define TH_SPIN_MIN_NS   2000u    /* a budget below this is no spin: sleep */
#define TH_SPIN_CALM_MAX 1024u

typedef struct th_spin {
    uint64_t budget_ns; /* how long the next spin may last; 0: sleep at once */
    uint32_t calm;      /* sleeps since spinning stopped */
    uint32_t need_calm; /* how many re-arm it; doubles each time it is turned off */
    bool probing;       /* re-armed: the first spin that finds nothing stops it */
    uint32_t hits;      /* spins in a row that found work */
} th_spin;

/* enabled: spin from the start (the budget is learned from there); else never. */
void th_spin_init(th_spin *p, bool enabled);
/* A spin ended: it found work after waited ns, or found none (waited is then how long
 * it looked). */
void th_spin_after(th_spin *p, bool found, uint64_t waited);
/* A sleep ended with work. */
void th_spin_slept(th_spin *p);

#endif
