/* Running scenarios across files: the shared helpers of run and serve. */
#ifndef TH_SCENARIO_RUN_INTERNAL_H
#define TH_SCENARIO_RUN_INTERNAL_H
#include <stdio.h>
#include "scenario.h"
#include "session.h"

double sc_now(void);
/* Records the first failure of a run. */
void sc_fail(sc_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A `run:` step: the command with {dev.field} substituted, its exit and output checked. */
void sc_run_command(const sc_step *s, int idx, sc_session *ses, sc_result *res, FILE *log,
                    volatile const int *stop);
/* The last lines of the trace that name a device, appended to out. */
void sc_trace_tail(const char *path, const char *device, char *out, size_t cap, int max);
/* Brings up a scenario's devices on s, waits for the kernel's probing to end, then puts
 * the scenario's rules in (so that counts start with the scenario's own traffic). */
void sc_open_scenario(sc_session *s, const scenario *sc, sc_result *res);

#endif
