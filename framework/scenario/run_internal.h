/* Running scenarios across files: the live state of a device, shared helpers. */
#ifndef TH_SCENARIO_RUN_INTERNAL_H
#define TH_SCENARIO_RUN_INTERNAL_H
#include <stdio.h>
#include "scenario.h"
#include "th/backend.h"
#include "th/ctx.h"
#include "th/device.h"
#include "th/disk.h"
#include "th/iscsi.h"
#include "th/rules.h"
#include "th/sense.h"
#include "th/tape.h"
#include "th/wwn.h"

typedef struct live {
    const sc_device *cfg;
    th_disk *disk;
    th_tape *tape;
    th_rules *rules;
    th_iscsi *exp;
    th_device *dev;
    char size[24], bs[24], wwn[24], sdname[32];
} live;

double sc_now(void);
/* Records the first failure of a run. */
void sc_fail(sc_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
live *sc_live_find(live *l, int n, const char *name);
/* {dev.field} values: nodes, paths, geometry; NULL if the device has none. */
const char *sc_live_field(live *d, const char *f);
/* A `run:` step: the command with {dev.field} substituted, its exit and output checked. */
void sc_run_command(const sc_step *s, int idx, live *l, int n, sc_result *res, FILE *log,
                    volatile const int *stop);
/* The last lines of the trace that name a device, appended to out. */
void sc_trace_tail(const char *path, const char *device, char *out, size_t cap, int max);
int sc_open_all(const scenario *sc, live *l, FILE *trace, double t0, th_ctx *ctx, sc_result *res);
void sc_settle_and_arm(const scenario *sc, live *l, int opened, sc_result *res);
void sc_close_all(live *l, int opened, th_ctx *ctx, sc_result *res);

#endif
