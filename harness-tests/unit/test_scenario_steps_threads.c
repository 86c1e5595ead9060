/* The background-step and wait_trace tests with threads (a stop flag raised from another
 * thread, commands sent while a step waits), in the ThreadSanitizer lane too. */
#include "steps_rig.h"

typedef struct stopper {
    volatile int *stop;
    const char *file;
} stopper;

/* Sets the stop flag once the background command has started (its pid is in the file). */
static void *stop_when_started(void *arg)
{
    stopper *s = arg;
    for (int i = 0; i < 3000; i++) {
        FILE *f = fopen(s->file, "r");
        int pid = 0;
        if (f && fscanf(f, "%d", &pid) == 1 && pid > 0) i = 3000;
        if (f) fclose(f);
        if (i < 3000) usleep(10000);
    }
    __atomic_store_n(s->stop, 1, __ATOMIC_RELEASE);
    return NULL;
}

Test(scenario_steps, an_interrupted_run_stops_its_background_commands)
{
    char doc[512];
    snprintf(doc, sizeof(doc),
             NODEV "  - {run: \"sleep 100 & echo $! > %s; wait\", background: a}\n"
                   "  - run: \"sleep 100\"\n",
             new_pidfile());
    static volatile int stop;
    stop = 0;
    stopper st = {&stop, pidfile};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, stop_when_started, &st), 0);
    sc_result res;
    cr_assert_eq(run_text(doc, &res, &stop), 1);
    pthread_join(th, NULL);
    cr_assert(strstr(res.message, "interrupted"), "%s", res.message);
    cr_assert(!strstr(res.message, "still running at the end"), "%s", res.message);
    pid_t pid = read_pid(pidfile);
    cr_assert_gt(pid, 0);
    cr_assert(!alive(pid), "%d was left running", (int)pid);
}

typedef struct pacer {
    trace_rig *r;
    volatile int done;
} pacer;

/* Commands until the waiter is done: whenever it starts, some come after. */
static void *pace(void *arg)
{
    pacer *p = arg;
    while (!__atomic_load_n(&p->done, __ATOMIC_ACQUIRE)) {
        tur(p->r);
        usleep(20000);
    }
    return NULL;
}

Test(scenario_steps, wait_trace_since_step_counts_only_what_comes_after_it_starts)
{
    static trace_rig r;
    rig_open(&r, "  - wait_trace: {device: d0, op: TEST_UNIT_READY, since: step, count: 2}\n",
             NULL);
    for (int i = 0; i < 5; i++) tur(&r);
    uint64_t before = sc_trace_cursor(sc_session_trace(r.ses));
    pacer p = {&r, 0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, pace, &p), 0);
    sc_result res = {.passed = true};
    sc_wait_trace(&r.st, 0, &res);
    __atomic_store_n(&p.done, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    cr_assert(res.passed, "%s", res.message);
    cr_assert_geq(r.st.wait_next, before + 2, "the five earlier ones did not count");
    rig_close(&r);
}

typedef struct raiser {
    volatile int *stop;
} raiser;

static void *raise_stop(void *arg)
{
    raiser *s = arg;
    usleep(100000);
    __atomic_store_n(s->stop, 1, __ATOMIC_RELEASE); /* as a signal handler would: no wake */
    return NULL;
}

Test(scenario_steps, an_interrupt_ends_a_wait_trace_without_a_failure_of_its_own, .timeout = 30)
{
    static volatile int stop;
    stop = 0;
    static trace_rig r;
    rig_open(&r, "  - wait_trace: {device: d0, op: READ_10, timeout: 3600}\n", &stop);
    raiser s = {&stop};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, raise_stop, &s), 0);
    sc_result res = {.passed = true};
    sc_wait_trace(&r.st, 0, &res); /* returns (the suite's timeout would catch a hang) */
    pthread_join(th, NULL);
    cr_assert(res.passed, "the run reports the interrupt, not the step: %s", res.message);
    rig_close(&r);
}
