/* Steps that outlive one step: background commands (background, wait, kill, may_outlive)
 * and wait_trace. The parser's located errors; the process management run without a
 * kernel (a scenario with no devices: sc_run starts no device, only commands); wait_trace
 * on a session without the kernel, its commands sent through the device's rules. The
 * tests with threads are in test_scenario_steps_threads.c. */
#include "steps_rig.h"

#define HEAD "name: t\ndevices:\n  - {name: d0}\n  - {name: t0, type: tape}\nsteps:\n"

static void assert_located(const scenario *sc, int line, int col, const char *what, const char *doc)
{
    char at[128];
    snprintf(at, sizeof(at), "%s:%d:%d: ", path, line, col);
    const char *e = sc_errors(sc);
    const char *hit = strstr(e, at);
    cr_assert_not_null(hit, "no error at %s\n--- document\n%s--- errors\n%s", at, doc, e);
    size_t n = strcspn(hit, "\n");
    cr_assert(memmem(hit, n, what, strlen(what)), "error at %s lacks '%s'\n%s--- errors\n%s", at,
              what, doc, e);
}

Test(scenario_steps, background_wait_kill_and_wait_trace_fill_the_model)
{
    static scenario sc;
    int rc = load_text(HEAD "  - {run: \"sleep 5\", background: load, may_outlive: true,\n"
                            "     expect: {exit: 143, timeout: 30}}\n"
                            "  - wait_trace: {device: d0, op: READ_10, status: GOOD, lba: 8,\n"
                            "                 count: 3, timeout: 20, since: step}\n"
                            "  - {kill: load, signal: KILL}\n"
                            "  - kill: load\n"
                            "  - {kill: load, signal: SIGUSR1}\n"
                            "  - {kill: load, signal: 10}\n"
                            "  - wait: load\n"
                            "  - wait_trace: {device: t0, tmr: ABORT_TASK}\n",
                       &sc);
    cr_assert_eq(rc, 0, "%s", sc_errors(&sc));
    cr_assert_eq(sc.n_steps, 8);
    const sc_step *s = sc.steps;
    cr_assert_eq(s[0].kind, SC_RUN);
    cr_assert_str_eq(s[0].bg, "load");
    cr_assert(s[0].may_outlive);
    cr_assert_eq(s[0].expect_exit, 143);
    cr_assert_eq(s[0].timeout_s, 30);
    cr_assert_eq(s[1].kind, SC_WAIT_TRACE);
    cr_assert_str_eq(s[1].device, "d0");
    cr_assert_str_eq(s[1].wait.op, "READ_10");
    cr_assert_eq(s[1].wait.status, 0);
    cr_assert(s[1].wait.lba_set && s[1].wait.lba == 8);
    cr_assert_eq(s[1].wait.count, 3);
    cr_assert_eq(s[1].wait_timeout_s, 20);
    cr_assert_eq(s[1].wait_since, SC_SINCE_STEP);
    cr_assert_eq(s[2].kind, SC_KILL);
    cr_assert_eq(s[2].signal, SIGKILL);
    cr_assert_eq(s[2].bg_step, 0);
    cr_assert_eq(s[3].signal, SIGTERM, "TERM unless given");
    cr_assert_eq(s[4].signal, SIGUSR1);
    cr_assert_eq(s[5].signal, 10);
    cr_assert_eq(s[6].kind, SC_WAIT);
    cr_assert_eq(s[6].bg_step, 0);
    /* defaults: one entry, the run's 60 s, counting on from the previous wait_trace */
    cr_assert_str_eq(s[7].wait.tmr, "ABORT_TASK");
    cr_assert_eq(s[7].wait.count, 1);
    cr_assert_eq(s[7].wait.status, -1);
    cr_assert_eq(s[7].wait_timeout_s, 60);
    cr_assert_eq(s[7].wait_since, SC_SINCE_PREVIOUS);
    sc_free(&sc);
}

Test(scenario_steps, misuse_of_background_steps_is_a_located_error)
{
    static const struct {
        const char *steps;
        int line, col; /* HEAD is 5 lines: the first step is line 6 */
        const char *what;
    } cases[] = {
        {"  - wait: bg\n", 6, 11, "wait: no step before this one starts a background named 'bg'"},
        {"  - kill: bg\n  - {run: \"true\", background: bg}\n", 6, 11,
         "kill: no step before this one starts a background named 'bg'"},
        {"  - {run: \"true\", background: bg}\n  - {run: \"true\", background: bg}\n", 7, 31,
         "background 'bg' is already the name of the step at line 6"},
        {"  - {run: \"true\", background: bg}\n  - wait: bg\n  - wait: bg\n", 8, 11,
         "wait: background 'bg' is already waited for at line 7"},
        {"  - {run: \"true\", background: bg}\n  - wait: bg\n  - kill: bg\n", 8, 11,
         "kill: background 'bg' was waited for at line 7: it is not running"},
        {"  - {run: \"true\", background: bg}\n  - {kill: bg, expect: {exit: 0}}\n", 7, 16,
         "expect goes with run"},
        {"  - {run: \"true\", background: bg}\n  - {wait: bg, expect: {exit: 1}}\n", 7, 16,
         "expect goes with run"},
        {"  - {run: \"true\", signal: TERM}\n", 6, 19, "signal goes with kill"},
        {"  - {run: \"true\", may_outlive: true}\n", 6, 19, "may_outlive goes with background"},
        {"  - {sleep_ms: 1, background: bg}\n", 6, 19, "background goes with run"},
        {"  - {run: \"true\", background: bg}\n  - {run: \"true\", wait: bg}\n", 7, 19,
         "a step does one thing: 'run' and 'wait' make two steps"},
        {"  - {run: \"true\", background: bg}\n  - {kill: bg, signal: TRM}\n", 7, 24,
         "'TRM' is not a signal"},
        {"  - {run: \"true\", background: bg}\n  - {kill: bg, signal: 99}\n", 7, 24,
         "out of range"},
        {"  - {run: \"true\", background: \"a b\"}\n", 6, 31,
         "background name 'a b': only letters, digits"},
        {"  - {run: \"true\", background: \"\"}\n", 6, 31, "a background name is empty"},
        {"  - wait_trace: {op: READ_10}\n", 6, 5, "wait_trace needs a device"},
        {"  - wait_trace: {device: nosuch}\n", 6, 26, "no device named 'nosuch'"},
        {"  - wait_trace: {device: d0, count: 0}\n", 6, 37, "out of range"},
        {"  - wait_trace: {device: d0, timeout: 86401}\n", 6, 39,
         "timeout: '86401' is not a number of seconds from 0 to 86400 (fractions allowed"},
        {"  - wait_trace: {device: d0, timeout: -0.5}\n", 6, 39, "is not a number of seconds"},
        {"  - wait_trace: {device: d0, tmr: RESET}\n", 6, 35,
         "'RESET' is not a TMR type (like ABORT_TASK, LUN_RESET)"},
        {"  - wait_trace: {device: d0, since: later}\n", 6, 37,
         "since: 'later' is not previous, step or start"},
        {"  - wait_trace: {device: d0, min: 1}\n", 6, 30, "unknown key 'min' in wait_trace"},
        {"  - wait_trace: {device: d0, op: NOPE}\n", 6, 34, "'NOPE' is not an opcode name"},
        {"  - {}\n", 6, 5, "a step needs run,"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[1024];
        snprintf(doc, sizeof(doc), HEAD "%s", cases[i].steps);
        static scenario sc;
        cr_assert_eq(load_text(doc, &sc), -EINVAL, "accepted:\n%s", doc);
        assert_located(&sc, cases[i].line, cases[i].col, cases[i].what, doc);
        sc_free(&sc);
    }
}

/* expect_trace reads wait's filters with wait's parser: a TMR, op or status it would refuse
 * in a wait is refused here too (a misspelt TMR once matched nothing, silently). */
Test(scenario_steps, expect_trace_filters_are_checked_as_wait_checks_them)
{
    static const struct {
        const char *expect;
        int col;
        const char *what;
    } cases[] = {
        {"  - {device: d0, tmr: RESET, count: 1}\n", 23,
         "'RESET' is not a TMR type (like ABORT_TASK, LUN_RESET)"},
        {"  - {device: d0, op: NOPE, count: 1}\n", 22, "'NOPE' is not an opcode name"},
        {"  - {device: nosuch, count: 1}\n", 14, "no device named 'nosuch'"},
        {"  - {device: d0, timeout: 1, count: 1}\n", 18, "unknown key 'timeout'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[1024];
        snprintf(doc, sizeof(doc), HEAD "  - {sleep_ms: 1}\nexpect_trace:\n%s", cases[i].expect);
        static scenario sc;
        cr_assert_eq(load_text(doc, &sc), -EINVAL, "accepted:\n%s", doc);
        assert_located(&sc, 8, cases[i].col, cases[i].what, doc);
        sc_free(&sc);
    }
    static scenario ok;
    cr_assert_eq(load_text(HEAD "  - {sleep_ms: 1}\nexpect_trace:\n"
                                "  - {device: d0, tmr: abort_task, count: 0}\n",
                           &ok),
                 0, "%s", sc_errors(&ok));
    cr_assert_str_eq(ok.expects[0].tmr, "ABORT_TASK");
    sc_free(&ok);
}

/* The example value of a step key, from the parser's own table. */
static const char *example(const char *key)
{
    for (size_t i = 0; i < sc_keys_step.n; i++)
        if (!strcmp(sc_keys_step.keys[i].name, key)) return sc_keys_step.keys[i].example;
    cr_assert_fail("no step key '%s'", key);
    return NULL;
}

Test(scenario_steps, every_step_kind_with_another_kind_is_an_error_at_the_second)
{
    for (size_t a = 0; a < sc_n_actions; a++) {
        char doc[1024];
        const char *first = sc_actions[a].key, *second = a ? "run" : "sleep_ms";
        snprintf(doc, sizeof(doc),
                 HEAD "  - {run: \"true\", background: bg}\n  - %s: %s\n    %s: %s\n", first,
                 example(first), second, example(second));
        static scenario sc;
        cr_assert_eq(load_text(doc, &sc), -EINVAL, "accepted:\n%s", doc);
        char what[128];
        snprintf(what, sizeof(what), "a step does one thing: '%s' and '%s'", first, second);
        assert_located(&sc, 8, 5, what, doc);
        sc_free(&sc);
    }
}

/* The process management, through sc_run on a scenario without devices. */

Test(scenario_steps, a_background_command_left_running_fails_and_is_stopped)
{
    char doc[512];
    snprintf(doc, sizeof(doc),
             NODEV
             "  - {run: \"sleep 100 & echo $! > %s; wait\", background: idle}\n" STARTED("%s"),
             new_pidfile(), pidfile);
    sc_result res;
    cr_assert_eq(run_text(doc, &res, NULL), 1);
    cr_assert(strstr(res.message, "step 1 (line 4) `sleep 100 & echo $! >"), "%s", res.message);
    cr_assert(strstr(res.message, "(background 'idle'): still running at the end of the scenario"),
              "%s", res.message);
    cr_assert(strstr(res.message, "`may_outlive: true` on the step allows that"), "%s",
              res.message);
    pid_t pid = read_pid(pidfile);
    cr_assert_gt(pid, 0);
    cr_assert_not(alive(pid), "the background's child %d was left running", (int)pid);
}

Test(scenario_steps, may_outlive_lets_a_background_run_to_the_end_and_it_is_still_stopped)
{
    char doc[512];
    snprintf(doc, sizeof(doc),
             NODEV "  - {run: \"sleep 100 & echo $! > %s; wait\", background: idle, "
                   "may_outlive: true}\n" STARTED("%s"),
             new_pidfile(), pidfile);
    sc_result res;
    cr_assert_eq(run_text(doc, &res, NULL), 0, "%s", res.message);
    pid_t pid = read_pid(pidfile);
    cr_assert_gt(pid, 0);
    cr_assert_not(alive(pid), "%d was left running", (int)pid);
}

Test(scenario_steps, wait_applies_the_expect_of_the_background_step)
{
    sc_result res;
    cr_assert_eq(run_text(NODEV
                          "  - {run: \"echo hello; exit 3\", background: b, expect: {exit: 3, "
                          "stdout: \"^hello$\"}}\n  - wait: b\n",
                          &res, NULL),
                 0, "%s", res.message);
    cr_assert_eq(run_text(NODEV "  - {run: \"echo hello; exit 3\", background: b}\n"
                                "  - run: \"true\"\n  - wait: b\n",
                          &res, NULL),
                 1);
    cr_assert(strstr(res.message,
                     "step 3 (line 6) wait: step 1 (line 4) `echo hello; exit 3` "
                     "(background 'b'): exit status 3, expected 0\n--- stdout\nhello\n"),
              "%s", res.message);
    cr_assert_eq(run_text(NODEV "  - {run: \"echo oops >&2\", background: b, "
                                "expect: {stderr: \"^fine$\"}}\n  - wait: b\n",
                          &res, NULL),
                 1);
    cr_assert(strstr(res.message, "stderr does not match /^fine$/"), "%s", res.message);
}

Test(scenario_steps, a_wait_is_bounded_by_the_expect_timeout_and_stops_the_command)
{
    char doc[512];
    snprintf(doc, sizeof(doc),
             NODEV "  - {run: \"sleep 100 & echo $! > %s; wait\", background: slow, "
                   "expect: {timeout: 1}}\n  - wait: slow\n",
             new_pidfile());
    sc_result res;
    cr_assert_eq(run_text(doc, &res, NULL), 1);
    cr_assert(strstr(res.message, "step 2 (line 5) wait: step 1 (line 4)"), "%s", res.message);
    cr_assert(
        strstr(res.message, "still running after the wait's 1 s (its expect's timeout); killed"),
        "%s", res.message);
    pid_t pid = read_pid(pidfile);
    cr_assert_gt(pid, 0);
    cr_assert_not(alive(pid));
}

Test(scenario_steps, kill_signals_the_process_group_and_wait_sees_the_signal)
{
    sc_result res;
    /* the shell and its sleep both get the signal: the shell dies of it, 128 + 15 */
    cr_assert_eq(run_text(NODEV "  - {run: \"sleep 100; echo survived\", background: b, "
                                "expect: {exit: 143, stdout: \"^$\"}}\n"
                                "  - kill: b\n  - wait: b\n",
                          &res, NULL),
                 0, "%s", res.message);
    char doc[512];
    snprintf(doc, sizeof(doc),
             NODEV "  - {run: \"trap 'echo got-int; exit 7' INT; sleep 100 & echo $! > %s; wait\", "
                   "background: b, expect: {exit: 7, stdout: got-int}}\n" STARTED(
                       "%s") "  - {kill: b, signal: INT}\n  - wait: b\n",
             new_pidfile(), pidfile);
    cr_assert_eq(run_text(doc, &res, NULL), 0, "%s", res.message);
    pid_t pid = read_pid(pidfile);
    cr_assert_gt(pid, 0);
    cr_assert_not(alive(pid), "the sleep (which ignores INT) was left running");
}

/* The steps one by one, with the command's end awaited in between (no race with it). */
Test(scenario_steps, a_kill_after_the_command_ended_is_no_failure_and_the_wait_checks_it)
{
    static scenario sc;
    cr_assert_eq(
        load_text(NODEV "  - {run: \"exit 0\", background: b}\n  - kill: b\n  - wait: b\n", &sc), 0,
        "%s", sc_errors(&sc));
    sc_bgs b;
    sc_bgs_init(&b);
    sc_result res = {.passed = true};
    sc_bg_start(&b, &sc.steps[0], 0, NULL, NULL, &res, NULL); /* no {dev.field}: no session */
    cr_assert(sc_proc_wait(&b.procs[0], sc_now() + 30, NULL));
    sc_bg_kill(&b, &sc, 1, NULL);
    sc_bg_wait(&b, &sc, 2, &res, NULL, NULL);
    cr_assert(res.passed, "%s", res.message);
    sc_bgs_finish(&b, &sc, &res, NULL, false);
    sc_bgs_free(&b, &sc, &res);
    cr_assert(res.passed, "%s", res.message);
    sc_free(&sc);
}

static void ended_unwaited(const char *text, sc_result *res)
{
    static scenario sc;
    cr_assert_eq(load_text(text, &sc), 0, "%s", sc_errors(&sc));
    sc_bgs b;
    sc_bgs_init(&b);
    *res = (sc_result){.passed = true};
    sc_bg_start(&b, &sc.steps[0], 0, NULL, NULL, res, NULL);
    cr_assert(sc_proc_wait(&b.procs[0], sc_now() + 30, NULL));
    sc_bgs_finish(&b, &sc, res, NULL, false);
    sc_bgs_free(&b, &sc, res);
    sc_free(&sc);
}

Test(scenario_steps, a_background_that_ended_unwaited_gets_its_expect_checked_at_the_end)
{
    sc_result res;
    ended_unwaited(NODEV "  - {run: \"exit 4\", background: b}\n", &res);
    cr_assert_not(res.passed);
    cr_assert(strstr(res.message, "at the end of the scenario: step 1 (line 4) `exit 4` "
                                  "(background 'b'): exit status 4, expected 0"),
              "%s", res.message);
    ended_unwaited(NODEV "  - {run: \"exit 4\", background: b, may_outlive: true, "
                         "expect: {exit: 4}}\n",
                   &res);
    cr_assert(res.passed, "%s", res.message);
    ended_unwaited(NODEV "  - {run: \"exit 4\", background: b, may_outlive: true}\n", &res);
    cr_assert_not(res.passed, "may_outlive allows running on, not a wrong outcome");
}

Test(scenario_steps, a_failing_step_still_stops_every_background_command)
{
    char doc[512];
    snprintf(doc, sizeof(doc),
             NODEV "  - {run: \"sleep 100 & echo $! > %s; wait\", background: a}\n"
                   "  - {run: \"sleep 100\", background: b}\n" STARTED(
                       "%s") "  - run: \"exit 1\"\n  - wait: a\n",
             new_pidfile(), pidfile);
    sc_result res;
    cr_assert_eq(run_text(doc, &res, NULL), 1);
    cr_assert(strstr(res.message, "step 4 (line 7) `exit 1`: exit status 1, expected 0"), "%s",
              res.message);
    pid_t pid = read_pid(pidfile);
    cr_assert_gt(pid, 0);
    cr_assert_not(alive(pid));
}

/* A command that ignores SIGTERM is still stopped (SIGKILL after the grace). */
Test(scenario_steps, a_command_that_ignores_sigterm_is_killed)
{
    char doc[512];
    snprintf(doc, sizeof(doc),
             NODEV "  - {run: \"trap '' TERM; sleep 100 & echo $! > %s; wait\", background: "
                   "stubborn, may_outlive: true}\n" STARTED("%s"),
             new_pidfile(), pidfile);
    sc_result res;
    cr_assert_eq(run_text(doc, &res, NULL), 0, "%s", res.message);
    pid_t pid = read_pid(pidfile);
    cr_assert_gt(pid, 0);
    cr_assert_not(alive(pid));
}

Test(scenario_steps, wait_trace_counts_on_from_the_previous_one_and_a_timeout_says_what_it_saw)
{
    static trace_rig r;
    rig_open(&r,
             "  - wait_trace: {device: d0, op: TEST_UNIT_READY, count: 2}\n"
             "  - wait_trace: {device: d0, op: TEST_UNIT_READY, timeout: 1}\n"
             "  - wait_trace: {device: d0, op: TEST_UNIT_READY, count: 3, since: start}\n",
             NULL);
    tur(&r);
    tur(&r); /* before the step: not lost */
    sc_result res = {.passed = true};
    sc_wait_trace(&r.st, 0, &res);
    cr_assert(res.passed, "%s", res.message);
    tur(&r);
    sc_wait_trace(&r.st, 1, &res); /* the third TUR: after the two the first counted */
    cr_assert(res.passed, "%s", res.message);
    sc_wait_trace(&r.st, 2, &res); /* all three, from the start */
    cr_assert(res.passed, "%s", res.message);
    sc_wait_trace(&r.st, 1, &res); /* nothing new since the last one */
    cr_assert_not(res.passed);
    cr_assert(strstr(res.message, "step 2 (line 6) wait_trace: 0 of 1 matching entries for "
                                  "device=d0 op=TEST_UNIT_READY in 1 s (counting from the "
                                  "previous wait_trace, trace entry 3)\n--- last trace lines\n"),
              "%s", res.message);
    cr_assert(strstr(res.message, "\"op\":\"TEST_UNIT_READY\""), "%s", res.message);
    rig_close(&r);
}
