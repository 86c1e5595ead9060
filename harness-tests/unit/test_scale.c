/* No toy limits: what a user's data decides the size of (devices, rules, steps, trace
 * expectations, a tape's media records) is bounded by the memory, not by a constant, on
 * every path that builds the model: YAML, SPEC strings, control requests, the session. */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include "control_rig.h"
#include "model_rig.h"
#include "scenario/device_keys.h"
#include "scenario/request.h"
#include "scenario/spec.h"

#define N_DEV    256
#define N_RULES  10000 /* as many as fit a scenario file (1 MiB) with room to spare */
#define N_STEPS  2000
#define N_EXPECT 1000
#define N_MEDIA  300

/* text into a scenario file, loaded; the file is gone after. */
static int load(const char *text, scenario *sc)
{
    char path[] = "/tmp/th-scale-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    size_t n = strlen(text);
    cr_assert_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
    int rc = sc_load(path, sc);
    unlink(path);
    return rc;
}

/* A growing text (open_memstream would do, but the sizes are asserted on). */
typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (b->p && (size_t)w < b->cap - b->n) {
            b->n += (size_t)w;
            return;
        }
        b->cap = (b->cap + (size_t)w + 1) * 2;
        b->p = realloc(b->p, b->cap);
        cr_assert_not_null(b->p);
    }
}

Test(scale, a_scenario_of_256_devices_and_thousands_of_rules_steps_and_expectations)
{
    buf b = {0};
    put(&b, "name: big\ndevices:\n");
    for (int i = 0; i < N_DEV; i++)
        put(&b, "  - {name: d%d, size: 1MiB, target: naa.50014050000000%02x, lun: %d}\n", i,
            i / 100, i % 100 * 100);
    put(&b, "rules:\n");
    for (int i = 0; i < N_RULES; i++)
        put(&b, "  - {device: d%d, name: r%d, match: {lba: %d}}\n", i % N_DEV, i, i);
    put(&b, "steps:\n");
    for (int i = 0; i < N_STEPS; i++)
        if (i % 2)
            put(&b, "  - {remove_rule: {device: d%d, name: r%d}}\n", i % N_DEV, i % N_RULES);
        else
            put(&b, "  - {sleep_ms: %d}\n", i);
    put(&b, "expect_trace:\n");
    for (int i = 0; i < N_EXPECT; i++)
        put(&b, "  - {device: d%d, lba: %d, min: 0%s}\n", i % N_DEV, i, i ? ", after: 1" : "");
    cr_assert_lt(b.n, 1u << 20, "%zu bytes: over the 1 MiB a scenario file may have", b.n);

    scenario *sc = calloc(1, sizeof(*sc));
    cr_assert_not_null(sc);
    cr_assert_eq(load(b.p, sc), 0, "%s", sc_errors(sc));
    cr_assert_eq(sc->n_devices, N_DEV);
    cr_assert_eq(sc->n_rules, N_RULES);
    cr_assert_eq(sc->n_steps, N_STEPS);
    cr_assert_eq(sc->n_expects, N_EXPECT);
    /* every item is its own, in order (not the first 64 repeated or the last overwritten) */
    for (int i = 0; i < N_DEV; i++) {
        char name[16];
        snprintf(name, sizeof(name), "d%d", i);
        cr_assert_str_eq(sc->devices[i].name, name);
        cr_assert_eq(sc->devices[i].lun, i % 100 * 100);
    }
    for (int i = 0; i < N_RULES; i += 997) {
        cr_assert_eq(sc->rules[i].rule.match.lba_lo, (uint64_t)i, "rule %d", i);
        cr_assert_eq(atoi(sc->rules[i].device + 1), i % N_DEV, "rule %d", i);
    }
    cr_assert_eq(sc->rules[N_RULES - 1].rule.match.lba_lo, N_RULES - 1);
    cr_assert_eq(sc->steps[N_STEPS - 1].kind, SC_REMOVE_RULE);
    cr_assert_eq(sc->steps[N_STEPS - 2].sleep_ms, N_STEPS - 2);
    cr_assert_eq(sc->expects[N_EXPECT - 1].lba, N_EXPECT - 1);
    cr_assert_eq(sc->expects[N_EXPECT - 1].after, 1);
    sc_free(sc);
    cr_assert_eq(sc->n_devices + sc->n_rules + sc->n_steps + sc->n_expects, 0);
    cr_assert_null(sc->devices);

    /* The errors are located as ever in a large file: the last device's duplicate name. */
    put(&b, "  - {device: d0, count: 0, after: %d}\n", N_EXPECT + 1);
    cr_assert_eq(load(b.p, sc), -EINVAL);
    char want[80];
    snprintf(want, sizeof(want), "after names expectation %d, which is not an earlier one",
             N_EXPECT + 1);
    cr_assert(strstr(sc_errors(sc), want), "%s", sc_errors(sc));
    sc_free(sc);
    free(sc);
    free(b.p);
}

/* 300 records on a tape: the YAML list and the SPEC's repeated key both keep every one,
 * and so do the copies the session makes. */
Test(scale, a_tape_keeps_300_media_records_in_both_spellings)
{
    buf y = {0}, s = {0};
    put(&y, "name: tape\ndevices:\n  - name: t0\n    type: tape\n    media:\n");
    put(&s, "name=t0,type=tape");
    for (int i = 0; i < N_MEDIA; i++) {
        if (i % 3 == 0)
            put(&y, "      - {record: %d}\n", i + 1), put(&s, ",media=record:%d", i + 1);
        if (i % 3 == 1) put(&y, "      - {text: r%d}\n", i), put(&s, ",media=text:r%d", i);
        if (i % 3 == 2) put(&y, "      - {filemark: 1}\n"), put(&s, ",media=filemark:1");
    }
    scenario sc;
    cr_assert_eq(load(y.p, &sc), 0, "%s", sc_errors(&sc));
    sc_device d;
    char err[320];
    cr_assert_eq(sc_spec_parse(s.p, &d, err, sizeof(err)), 0, "%s", err);
    const sc_device *from[] = {&sc.devices[0], &d};
    sc_device copy;
    cr_assert_eq(sc_device_copy(&copy, &d), 0);
    for (int k = 0; k < 3; k++) {
        const sc_device *t = k < 2 ? from[k] : &copy;
        cr_assert_eq(t->n_media, N_MEDIA, "spelling %d", k);
        for (int i = 0; i < N_MEDIA; i++) {
            const struct sc_media *m = &t->media[i];
            if (i % 3 == 0) cr_assert(!m->filemark && !m->text && m->len == (uint32_t)i + 1);
            if (i % 3 == 2) cr_assert(m->filemark && m->len == 1);
            if (i % 3 == 1) {
                char want[16];
                snprintf(want, sizeof(want), "r%d", i);
                cr_assert_str_eq(m->text, want);
            }
        }
    }
    cr_assert_neq(copy.media, d.media, "a deep copy");
    cr_assert_neq(copy.media[1].text, d.media[1].text);
    /* and the tape they build has them all: a record, a text, a filemark, ... to the end */
    th_tape *tape;
    cr_assert_eq(sc_tape_new(&copy, 0x3000000000000001ull, &tape, err, sizeof(err)), 0, "%s", err);
    th_tape_free(tape);
    sc_device_clear(&copy);
    sc_device_clear(&d);
    cr_assert_null(d.media);
    sc_free(&sc);
    free(y.p);
    free(s.p);
}

/* The session and its snapshots (the control channel's model and names) take every live
 * device, not the first 64. */
Test(scale, a_session_of_256_devices_lists_them_all)
{
    sc_session *s = rig_session();
    char err[256];
    for (int i = 0; i < N_DEV; i++) {
        char name[16];
        snprintf(name, sizeof(name), "d%d", i);
        cr_assert_eq(rig_add(s, name, i % 2 ? "tape" : "disk", err, sizeof(err)), 0, "%s", err);
    }
    scenario *m = calloc(1, sizeof(*m));
    cr_assert_eq(sc_session_model(s, m), 0);
    cr_assert_eq(m->n_devices, N_DEV);
    cr_assert_str_eq(m->devices[N_DEV - 1].name, "d255");
    cr_assert_str_eq(m->devices[N_DEV - 1].type, "tape");
    cr_assert_eq(sc_session_model(s, m), 0, "a second snapshot reuses the first's model");
    cr_assert_eq(m->n_devices, N_DEV);
    sc_free(m);
    free(m);
    char(*names)[65] = calloc(N_DEV, sizeof(*names));
    cr_assert_eq(sc_session_names(s, names, 10), N_DEV, "how many there are, past max");
    cr_assert_eq(sc_session_names(s, names, N_DEV), N_DEV);
    cr_assert_str_eq(names[200], "d200");
    free(names);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0, "%s", err);
}

/* 100,000 rules on one device through a control request each (parsed as the channel
 * parses them, then the session's add), all kept in order; the last is found by name. */
Test(scale, one_device_takes_100000_rules_from_requests)
{
    sc_session *s = rig_session();
    char err[512];
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0, "%s", err);
    scenario *model = calloc(1, sizeof(*model));
    cr_assert_not_null(model);
    rig_model_add(model, "d0", "disk");
    sc_request *rq = malloc(sizeof(*rq));
    cr_assert_not_null(rq);
    enum { N = 100000 };
    for (int i = 0; i < N; i++) {
        char line[160];
        int n = snprintf(line, sizeof(line),
                         "{\"request\":\"add_rule\",\"device\":\"d0\",\"name\":\"r%d\","
                         "\"match\":{\"lba\":%d},\"respond\":{\"status\":\"BUSY\"}}",
                         i, i);
        cr_assert_eq(sc_request_parse(line, (size_t)n, rig_model_same, model, rq, err, sizeof(err)),
                     0, "%s", err);
        cr_assert_eq(sc_session_act(s, &rq->step, err, sizeof(err)), 0, "rule %d: %s", i, err);
        sc_request_free(rq);
    }
    th_rules *r = sc_session_rules(s, "d0");
    cr_assert_eq(th_rules_count(r), N);
    th_rule got;
    uint64_t fired;
    cr_assert_eq(th_rules_get(r, N - 1, &got, &fired), 0);
    cr_assert_str_eq(got.name, "r99999");
    cr_assert_eq(got.match.lba_lo, N - 1);
    sc_step rm = rig_step(SC_REMOVE_RULE, "d0", "r99999");
    cr_assert_eq(sc_session_act(s, &rm, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(th_rules_count(r), N - 1);
    free(rq);
    sc_free(model);
    free(model);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0, "%s", err);
}

/* add_device over the control channel past the old 64: all 256 are served and listed. */
Test(scale, the_control_channel_adds_and_lists_256_devices)
{
    ctl_rig r;
    ctl_rig_up(&r, 4);
    int fd = ctl_connect(r.path);
    for (int i = 0; i < N_DEV; i++) {
        char req[160];
        if (i % 2)
            snprintf(req, sizeof(req),
                     "{\"request\":\"add_device\",\"device\":{\"name\":\"x%d\",\"size\":\"1MiB\"}}",
                     i);
        else
            snprintf(req, sizeof(req),
                     "{\"request\":\"add_device\",\"spec\":\"name=x%d,size=1MiB,type=tape\"}", i);
        char *resp = ctl_ask(fd, req);
        cr_assert(strstr(resp, "\"ok\":true"), "device %d: %s", i, resp);
        free(resp);
    }
    char *resp = ctl_ask(fd, "{\"request\":\"devices\"}");
    int listed = 0;
    for (const char *p = resp; (p = strstr(p, "\"name\":\"")); p++) listed++;
    cr_assert_eq(listed, N_DEV + 2, "d0, t0 and the 256 added: %.300s", resp);
    cr_assert(strstr(resp, "\"name\":\"x255\""), "%.300s", resp);
    free(resp);
    /* and a request that names the last one is checked against a model that has it */
    resp = ctl_ask(fd, "{\"request\":\"list_rules\",\"device\":\"x255\"}");
    cr_assert(strstr(resp, "\"ok\":true"), "%s", resp);
    free(resp);
    close(fd);
    ctl_rig_down(&r);
}

/* The kernel's memory per device: TCMU's command ring, 1 MiB by default (the kernel's 8
 * made 100 devices take 834 MB of vmalloc); more than the kernel's largest is refused. */
Test(scale, the_command_ring_is_one_mib_by_default_and_at_most_eight)
{
    th_device_config cfg;
    th_device_config_init(&cfg);
    cr_assert_eq(cfg.cmd_ring_size_mb, 1);
    th_ctx *ctx;
    cr_assert_eq(th_ctx_new(&ctx), 0);
    cfg.name = "ring";
    cfg.size = 1 << 20;
    cfg.handler = th_disk_handle;
    cfg.cmd_ring_size_mb = 9;
    th_device *dev;
    cr_assert_eq(th_device_open(ctx, &cfg, &dev), -EINVAL);
    cr_assert(strstr(th_ctx_errmsg(ctx), "cmd_ring_size_mb 9 is not 0..8"), "%s",
              th_ctx_errmsg(ctx));
    th_ctx_free(ctx);
}

/* Names are checked through an index (a file of 60,000 devices took 40 s by pairs): a
 * repeat far apart is still found and located, and rules find their device. */
Test(scale, a_repeated_name_among_thousands_of_devices_is_located)
{
    buf b = {0};
    put(&b, "name: names\ndevices:\n");
    for (int i = 0; i < 5000; i++) put(&b, "  - {name: n%d}\n", i);
    put(&b, "  - {name: n3}\nrules:\n  - {device: n4999, name: r}\n  - {device: n5000}\n");
    scenario sc;
    cr_assert_eq(load(b.p, &sc), -EINVAL);
    cr_assert(strstr(sc_errors(&sc), ":5003:5: device name 'n3' is used twice"), "%s",
              sc_errors(&sc));
    cr_assert(strstr(sc_errors(&sc), ":5006:14: no device named 'n5000'"), "%s", sc_errors(&sc));
    cr_assert(!strstr(sc_errors(&sc), "'n4999'"), "%s", sc_errors(&sc));
    sc_free(&sc);
    free(b.p);
}
