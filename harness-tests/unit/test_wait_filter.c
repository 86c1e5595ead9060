/* The wait_trace step and the wait request read their filter from one key table
 * (sc_wait_filter_keys): every key, with each spelling of its value, parsed both ways
 * gives the same filter, count and timeout, and the same message when it is wrong. */
#include "scenario/parse_internal.h"
#include "scenario/request.h"
#include "steps_rig.h"

#define live rig_live_d0

#define HEAD "name: w\ndevices:\n  - {name: d0, size: 1M}\nsteps:\n  - wait_trace: "

/* The step's filter for `{device: "d0", key: value}`; 0 or -EINVAL with its message. */
static int as_step(const char *key, const char *value, sc_trace_filter *f, long *count,
                   double *timeout, char *err, size_t cap)
{
    char doc[512];
    bool dev = !strcmp(key, "device"); /* the key under test gives it */
    snprintf(doc, sizeof(doc), HEAD "{%s\"%s\": %s}\n", dev ? "" : "\"device\": \"d0\", ", key,
             value);
    static scenario sc;
    int rc = load_text(doc, &sc);
    snprintf(err, cap, "%s", sc_errors(&sc));
    if (!rc) {
        sc_trace_expect_filter(&sc.steps[0].wait, f);
        *count = sc.steps[0].wait.count;
        *timeout = sc.steps[0].wait_timeout_s;
    }
    sc_free(&sc);
    return rc;
}

static int as_request(const char *key, const char *value, sc_trace_filter *f, long *count,
                      double *timeout, char *err, size_t cap)
{
    char line[512];
    snprintf(line, sizeof(line), "{\"request\": \"wait\", %s\"%s\": %s}",
             strcmp(key, "device") ? "\"device\": \"d0\", " : "", key, value);
    sc_request rq;
    int rc = sc_request_parse(line, strlen(line), live, NULL, &rq, err, cap);
    if (!rc) {
        *f = rq.filter;
        *count = rq.count;
        *timeout = rq.timeout_s;
    }
    sc_request_free(&rq);
    return rc;
}

/* The message without its "FILE:LINE:COL: " (the columns differ: the step's mapping is
 * indented). */
static const char *message(const char *err)
{
    const char *p = err;
    for (int colons = 0; *p && colons < 3; p++)
        if (*p == ':') colons++;
    return *p == ' ' ? p + 1 : p;
}

static void same_both_ways(const char *key, const char *value, bool valid)
{
    sc_trace_filter fs, fr;
    long cs = 0, cr = 0;
    double ts = 0, tr = 0;
    char es[1024], er[1024];
    memset(&fs, 0, sizeof(fs));
    memset(&fr, 0, sizeof(fr));
    int rs = as_step(key, value, &fs, &cs, &ts, es, sizeof(es));
    int rr = as_request(key, value, &fr, &cr, &tr, er, sizeof(er));
    cr_assert_eq(rs, valid ? 0 : -EINVAL, "step %s: %s: %s", key, value, es);
    cr_assert_eq(rr, valid ? 0 : -EINVAL, "request %s: %s: %s", key, value, er);
    if (!valid) {
        cr_assert(strstr(es, message(er)), "%s: %s:\n step:    %s\n request: %s", key, value, es,
                  er);
        return;
    }
    cr_assert_str_eq(fs.device, fr.device);
    cr_assert_str_eq(fs.op, fr.op, "%s: %s", key, value);
    cr_assert_str_eq(fs.tmr, fr.tmr, "%s: %s", key, value);
    cr_assert_str_eq(fs.rule, fr.rule);
    cr_assert_eq(fs.status, fr.status, "%s: %s", key, value);
    cr_assert_eq(fs.lba_set, fr.lba_set);
    cr_assert_eq(fs.lba, fr.lba);
    cr_assert_eq(cs, cr, "%s: %s", key, value);
    if (!strcmp(key, "timeout")) cr_assert_eq(ts, tr, "%s: %s", key, value);
}

Test(wait_filter, every_shared_key_reads_the_same_in_the_step_and_the_request)
{
    cr_assert_geq(sc_n_wait_filter_keys, 8);
    for (size_t i = 0; i < sc_n_wait_filter_keys; i++)
        same_both_ways(sc_wait_filter_keys[i].name, sc_wait_filter_keys[i].example, true);
}

Test(wait_filter, values_and_errors_are_the_same_both_ways)
{
    static const struct {
        const char *key, *value;
        bool valid;
    } cases[] = {
        {"op", "40", true},
        {"op", "\"0x28\"", true},
        {"op", "\"READ_10\"", true},
        {"op", "\"0xC1\"", true},
        {"op", "\"READ_11\"", false},
        {"op", "256", false},
        {"tmr", "\"LUN_RESET\"", true},
        {"tmr", "\"RESET\"", false},
        {"status", "2", true},
        {"status", "\"BUSY\"", true},
        {"status", "\"NOPE\"", false},
        {"count", "0", false},
        {"lba", "7", true},
        {"lba", "-1", false},
        {"timeout", "0", true},
        {"timeout", "0.25", true},
        {"timeout", "86400", true},
        {"timeout", "86401", false},
        {"timeout", "-1", false},
        {"timeout", "\"soon\"", false},
        {"device", "\"zz\"", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        same_both_ways(cases[i].key, cases[i].value, cases[i].valid);
}

/* Each context adds only where it starts counting, and takes not the other's. */
Test(wait_filter, the_step_counts_since_and_the_request_after)
{
    sc_trace_filter f;
    long c;
    double t;
    char err[1024];
    cr_assert_eq(as_step("since", "\"start\"", &f, &c, &t, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(as_request("after", "0", &f, &c, &t, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(as_step("after", "0", &f, &c, &t, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "unknown key 'after' in wait_trace"), "%s", err);
    cr_assert_eq(as_request("since", "\"start\"", &f, &c, &t, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "unknown key 'since' in wait"), "%s", err);
}
