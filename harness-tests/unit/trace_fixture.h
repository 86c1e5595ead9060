/* The trace suites' fixture: rules_fixture's device d0, a trace file, and a memory trace
 * the test makes with new_trace(keep) (attached to d0's rules, freed at teardown). */
#ifndef TH_TEST_TRACE_FIXTURE_H
#define TH_TEST_TRACE_FIXTURE_H
#include "rules_fixture.h"
#include "scenario/trace.h"

static sc_trace *t;
static char path[64];

static void trace_setup(void)
{
    rules_setup();
    /* Fresh each time: a runner that keeps one process across tests reuses the static. */
    snprintf(path, sizeof(path), "/tmp/th-trace-test-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
}

static void trace_teardown(void)
{
    if (r) sc_trace_attach(NULL, r);
    sc_trace_free(t);
    t = NULL;
    unlink(path);
    rules_teardown();
}

static void new_trace(size_t keep)
{
    char err[256];
    cr_assert_eq(sc_trace_new(path, keep, &t, err, sizeof(err)), 0, "%s", err);
    sc_trace_attach(t, r);
}

#endif
