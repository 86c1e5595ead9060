/* Review of protocol 2 (rev-proto): defects proven in the shared trace filter. */
#include "scenario/parse_internal.h"
#include "scenario/request.h"
#include "steps_rig.h"

#define live rig_live_d0

#define DOC "name: t\ndevices:\n  - {name: d0, size: 1M}\n"

/* Defect: parse_internal.h says op and tmr are read "as every trace filter reads them
 * (expect_trace too)", and docs/scenario-format.md that wait_trace takes "the same keys and
 * values as in expect_trace". wait_trace and wait check tmr and keep it as the trace writes
 * it ("lun-reset" -> "LUN_RESET"); expect_trace still copies it raw: a name wait_trace
 * takes never matches there (the matcher strcmp's th_tmr_name), and a wrong one is not
 * refused, so `count: 0` of a misspelt TMR passes vacuously. */
Test(review_proto, expect_trace_reads_tmr_as_wait_trace_does)
{
    static scenario sc;
    cr_assert_eq(load_text(DOC "steps:\n  - wait_trace: {device: d0, tmr: lun-reset, timeout: 0}\n"
                               "expect_trace:\n  - {device: d0, tmr: lun-reset, count: 0}\n",
                           &sc),
                 0, "%s", sc_errors(&sc));
    cr_assert_str_eq(sc.steps[0].wait.tmr, "LUN_RESET");
    cr_expect_str_eq(sc.expects[0].tmr, sc.steps[0].wait.tmr,
                     "expect_trace keeps '%s', wait_trace '%s'", sc.expects[0].tmr,
                     sc.steps[0].wait.tmr);
    sc_free(&sc);
    cr_expect_neq(load_text(DOC "expect_trace:\n  - {device: d0, tmr: BOGUS, count: 0}\n", &sc), 0,
                  "expect_trace took tmr: BOGUS");
    sc_free(&sc);
}

#include "control_rig.h"

/* Defect (minor): the timeout check `d >= 0` lets -0 through as -0.0, and the refusal
 * then says "within -0 s"; a timeout of 0 to 86400 is echoed with a sign it cannot have. */
Test(review_proto, a_wait_timeout_of_minus_zero_is_reported_as_0_s)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    char *v = ctl_ask1(&r, "{\"request\":\"wait\",\"device\":\"d0\",\"timeout\":-0}");
    cr_expect(strstr(v, "wait: 0 of 1 matching entries within 0 s"), "%s", v);
    free(v);
    ctl_rig_down(&r);
}

/* Defect (minor): with tmr, the matcher (trace.c) counts TMRs only and a TMR entry matches
 * only when op, lba, status and rule are all unset. A wait (or wait_trace step) with tmr
 * and one of them is accepted, can never match, and sits out its timeout: the very case
 * the change refuses for an after beyond the cursor. */
Test(review_proto, a_wait_with_tmr_and_a_command_filter_is_refused)
{
    static const char *const reqs[] = {
        "{\"request\":\"wait\",\"device\":\"d0\",\"tmr\":\"LUN_RESET\",\"op\":\"READ_10\"}",
        "{\"request\":\"wait\",\"device\":\"d0\",\"tmr\":\"LUN_RESET\",\"lba\":0}",
        "{\"request\":\"wait\",\"device\":\"d0\",\"tmr\":\"LUN_RESET\",\"status\":\"GOOD\"}",
    };
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        sc_request rq;
        char err[512];
        int rc = sc_request_parse(reqs[i], strlen(reqs[i]), live, NULL, &rq, err, sizeof(err));
        sc_request_free(&rq);
        cr_expect_neq(rc, 0, "accepted, can never match: %s", reqs[i]);
    }
}

/* Defect (the promise predates protocol 2): docs/control-protocol.md says "A wait whose
 * server stops is answered `wait: the server is stopping`" and control.h that a blocked
 * wait answers so. ctl_server_stop shuts every connection down (SHUT_RDWR) before it wakes
 * the waiters, so the answer can never be written: the client reads end of file (the
 * Python client: ConnectionLost "closed the connection before answering"). The existing
 * stop_ends_a_wait accepts no answer at all. */
Test(review_proto, a_wait_whose_server_stops_is_answered_stopping)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    const char *req = "{\"request\":\"wait\",\"device\":\"d0\",\"timeout\":600}\n";
    int fd = ctl_connect(r.path);
    cr_assert(ctl_send(fd, req, strlen(req)));
    ctl_rig_await_waiting(&r, 1);
    ctl_server_stop(r.srv);
    char *resp = ctl_read_line(fd);
    cr_expect(resp && strstr(resp, "wait: the server is stopping"), "the answer: %s",
              resp ? resp : "(none: end of file)");
    free(resp);
    close(fd);
    char err[256];
    cr_assert_eq(sc_session_close(r.s, err, sizeof(err)), 0, "%s", err);
    rmdir(r.dir);
}
