/* The session across its files: a live device, the builder, the registry's lock. */
#ifndef TH_SCENARIO_SESSION_INTERNAL_H
#define TH_SCENARIO_SESSION_INTERNAL_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include "device_keys.h"
#include "session.h"
#include "trace.h"
#include "th/backend.h"
#include "th/device.h"
#include "th/disk.h"
#include "th/iscsi.h"
#include "th/rules.h"
#include "th/tape.h"

typedef struct sc_live {
    sc_device cfg; /* the session's copy (media texts are its own) */
    bool ready;    /* built; until then the name is only reserved */
    bool offline;  /* the "offline" rule is in */
    uint64_t wwn;
    th_disk *disk;
    th_tape *tape;
    th_rules *rules;
    th_iscsi *exp;
    th_device *dev;    /* NULL without the kernel */
    atomic_ulong tmrs; /* TMRs the device received (stats) */
} sc_live;

struct sc_session {
    th_ctx *ctx;
    bool kernel;
    sc_trace *trace; /* memory, and the JSON-lines file if one was asked for */
    double t0;
    bool timing; /* TCMU_HARNESS_TIMING: phases (open, settle, close) on stderr */
    /* Guards the list and every action: actions are short, builds and teardowns (which
     * take the kernel seconds) run outside it on entries not (or no longer) listed as
     * ready. */
    pthread_mutex_t lock;
    sc_live **devs; /* creation order */
    int n, cap;
};

/* How many devices are built or torn down at once: each mostly waits on the kernel (its
 * SCSI scan, the probe's commands to our own serving threads), so more than the CPUs;
 * bench/lifecycle measured the choice (docs/BENCHMARKS.md). */
#define SC_POOL_THREADS 16
/* A device's failure message. */
#define SC_WHY_MAX 600

double sc_now(void);
/* The one builder: d->cfg filled in, everything else NULL. 0, or -errno with the reason
 * in err and everything built so far released. */
int sc_live_build(sc_session *s, sc_live *d, char *err, size_t cap);
/* Tears down what was built (any part may be NULL); 0 or the first failure in err. */
int sc_live_teardown(sc_session *s, sc_live *d, char *err, size_t cap);
/* A ready device by name, under s->lock; NULL if none. */
sc_live *sc_session_find_locked(sc_session *s, const char *name);

#endif
