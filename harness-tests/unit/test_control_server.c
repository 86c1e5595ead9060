/* The control server over a session without the kernel: requests and responses, the
 * socket path's rules, and clients that misbehave. Threaded: in the TSan lane too. */
#include <pthread.h>
#include <sys/stat.h>
#include "control_rig.h"
#include "th/version.h"

/* What a request could change, as the server reports it. */
static char *snapshot(ctl_rig *r)
{
    static const char *const asks[] = {
        "{\"request\":\"devices\"}", "{\"request\":\"list_rules\",\"device\":\"d0\"}",
        "{\"request\":\"list_rules\",\"device\":\"t0\"}", "{\"request\":\"stats\"}"};
    size_t cap = 1 << 16, len = 0;
    char *all = calloc(1, cap);
    int fd = ctl_connect(r->path);
    for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
        char *resp = ctl_ask(fd, asks[i]);
        cr_assert(!strncmp(resp, "{\"ok\":true", 10), "%s: %s", asks[i], resp);
        len += (size_t)snprintf(all + len, cap - len, "%s\n", resp);
        free(resp);
    }
    close(fd);
    return all;
}

Test(control_server, version_and_ids)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    int fd = ctl_connect(r.path);
    char *v = ctl_ask(fd, "{\"request\":\"version\",\"id\":{\"n\":[1,\"é\"]}}");
    char want[160];
    snprintf(want, sizeof(want),
             "{\"ok\":true,\"id\":{\"n\":[1,\"é\"]},\"protocol\":2,\"version\":\"%s\","
             "\"instance\":\"%08x\",\"pid\":%ld}",
             th_version(), th_ctx_instance(sc_session_ctx(r.s)), (long)getpid());
    cr_assert_str_eq(v, want);
    free(v);
    v = ctl_ask(fd, "{\"request\":\"nope\",\"id\":\"x\"}");
    cr_assert(
        !strncmp(v, "{\"ok\":false,\"id\":\"x\",\"error\":\"request:1:12: unknown request 'nope'",
                 66),
        "%s", v);
    free(v);
    v = ctl_ask(fd, "{\"request\":\"devices\"}");
    cr_assert(!strncmp(v, "{\"ok\":true,\"id\":null,\"devices\":[{", 33), "%s", v);
    cr_assert(strstr(v, "\"name\":\"d0\"") && strstr(v, "\"name\":\"t0\""), "%s", v);
    free(v);
    close(fd);
    ctl_rig_down(&r);
}

/* Requests that fail, for reasons of form or of state, and what they must say. */
static const struct refused {
    const char *req, *msg;
} refused[] = {
    {"", "request:1:1: empty request"},
    {"not json", "request:1:1: not JSON: a value is a string in double quotes"},
    {"[\"op\", \"devices\"]", "request:1:1: a request is one JSON object"},
    {"{\"request\":\"add_rule\",\"device\":\"d0\",\"name\":\"x\",\"match\":{\"op\":\"NOPE\"}}",
     "request:1:62: 'NOPE' is not an opcode name"},
    {"{\"request\":\"add_rule\",\"device\":\"d0\",\"name\":\"x\",\"times\":1,\"times\":2}",
     "key 'times' repeated in add_rule"},
    {"{\"request\":\"add_rule\",\"device\":\"d0\",\"name\":\"x\",\"bogus\":1}",
     "unknown key 'bogus' in add_rule"},
    {"{\"request\":\"add_rule\",\"device\":\"d9\",\"name\":\"x\"}", "no device named 'd9'"},
    {"{\"request\":\"remove_rule\",\"device\":\"d0\",\"name\":\"r9\"}",
     "device d0 has no rule 'r9'"},
    {"{\"request\":\"set_capacity\",\"device\":\"t0\",\"size\":\"1M\"}",
     "set_capacity is for a disk; 't0' is a tape"},
    {"{\"request\":\"set_capacity\",\"device\":\"d0\",\"size\":\"1T\"}", "larger than the backing"},
    {"{\"request\":\"load\",\"device\":\"d0\"}", "load is for a tape; 'd0' is a disk"},
    {"{\"request\":\"queue_ua\",\"device\":\"d0\",\"sense\":{\"asc\":41}}", "sense needs a key"},
    {"{\"request\":\"add_device\",\"device\":{\"name\":\"d0\"}}", "device name 'd0' is used twice"},
    {"{\"request\":\"add_device\",\"device\":{\"name\":\"d1\",\"size\":\"1000\"}}",
     "size is not a multiple of block_size"},
    {"{\"request\":\"remove_device\",\"device\":\"d9\"}", "no device named 'd9'"},
    {"{\"request\":\"offline\",\"device\":\"d0\",\"extra\":1}", "unknown key 'extra' in offline"},
    {"{\"request\":\"devices\",\"id\":&a 1}", "not JSON: anchors"},
    {"{\"request\":\"shutdown\",\"now\":true}", "unknown key 'now' in shutdown"},
    {"{\"request\":\"wait\",\"device\":\"d0\",\"timeout\":0}", "wait: 0 of 1 matching entries"},
    {"{\"request\":\"trace\",\"max\":-1}", "-1 is out of range"},
    {"\xff\xfe{}", "not UTF-8"},
};

Test(control_server, a_refused_request_changes_nothing)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    char *before = snapshot(&r);
    int fd = ctl_connect(r.path);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char *resp = ctl_ask(fd, refused[i].req);
        cr_assert(!strncmp(resp, "{\"ok\":false,", 12), "%s: %s", refused[i].req, resp);
        cr_assert(strstr(resp, refused[i].msg), "%s:\n  got %s\n  want %s", refused[i].req, resp,
                  refused[i].msg);
        free(resp);
    }
    close(fd);
    char *after = snapshot(&r);
    cr_assert_str_eq(before, after);
    free(before);
    free(after);
    cr_assert_eq(r.shutdowns, 0);
    ctl_rig_down(&r);
}

Test(control_server, fault_actions_and_rules)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    int fd = ctl_connect(r.path);
    char *v = ctl_ask(fd, "{\"request\":\"add_rule\",\"id\":1,\"device\":\"d0\",\"name\":\"first\","
                          "\"position\":0,\"match\":{\"op\":\"TEST_UNIT_READY\"},"
                          "\"respond\":{\"status\":\"TASK_SET_FULL\"},\"times\":1}");
    cr_assert_str_eq(v, "{\"ok\":true,\"id\":1,\"rule\":\"first\"}");
    free(v);
    cr_assert_eq(rig_tur(r.s, "d0"), 0, "TASK SET FULL: a status, no sense");
    v = ctl_ask(fd, "{\"request\":\"list_rules\",\"device\":\"d0\"}");
    cr_assert(strstr(v, "\"name\":\"first\",\"index\":0,\"fired\":1,\"times\":1,\"spent\":true"),
              "%s", v);
    cr_assert(strstr(v, "\"name\":\"r0\",\"index\":1,\"fired\":0"), "%s", v);
    free(v);
    v = ctl_ask(fd, "{\"request\":\"add_rule\",\"device\":\"t0\"}");
    cr_assert_str_eq(v, "{\"ok\":true,\"id\":null,\"rule\":\"rule-1\"}", "unnamed: rule-N");
    free(v);
    v = ctl_ask(fd, "{\"request\":\"add_rule\",\"device\":\"t0\"}");
    cr_assert_str_eq(v, "{\"ok\":true,\"id\":null,\"rule\":\"rule-2\"}");
    free(v);
    free(ctl_ask(fd, "{\"request\":\"remove_rule\",\"device\":\"t0\",\"name\":\"rule-1\"}"));
    free(ctl_ask(fd, "{\"request\":\"remove_rule\",\"device\":\"t0\",\"name\":\"rule-2\"}"));
    v = ctl_ask(fd, "{\"request\":\"remove_rule\",\"device\":\"d0\",\"name\":\"first\"}");
    cr_assert_str_eq(v, "{\"ok\":true,\"id\":null}");
    free(v);
    v = ctl_ask(fd, "{\"request\":\"offline\",\"device\":\"d0\"}");
    cr_assert_str_eq(v, "{\"ok\":true,\"id\":null}");
    free(v);
    cr_assert_eq(rig_tur(r.s, "d0"), TH_KEY_NOT_READY);
    free(ctl_ask(fd, "{\"request\":\"online\",\"device\":\"d0\"}"));
    cr_assert_eq(rig_tur(r.s, "d0"), TH_KEY_UNIT_ATTENTION, "online: NOT READY TO READY");
    free(ctl_ask(fd, "{\"request\":\"queue_ua\",\"device\":\"t0\",\"sense\":{\"key\":"
                     "\"UNIT_ATTENTION\",\"asc\":\"0x29\"}}"));
    cr_assert_eq(rig_tur(r.s, "t0"), TH_KEY_UNIT_ATTENTION);
    v = ctl_ask(fd, "{\"request\":\"set_state\",\"device\":\"d0\",\"state\":\"armed\"}");
    cr_assert_str_eq(v, "{\"ok\":true,\"id\":null}");
    free(v);
    char state[64];
    cr_assert_eq(sc_session_field(r.s, "d0", "state", state, sizeof(state)), 0);
    v = ctl_ask(fd, "{\"request\":\"unload\",\"device\":\"t0\"}");
    cr_assert_str_eq(v, "{\"ok\":true,\"id\":null}");
    free(v);
    cr_assert_eq(rig_tur(r.s, "t0"), TH_KEY_NOT_READY, "unloaded: MEDIUM NOT PRESENT");
    free(ctl_ask(fd, "{\"request\":\"load\",\"device\":\"t0\"}"));
    v = ctl_ask(fd, "{\"request\":\"stats\"}");
    cr_assert(!strncmp(v, "{\"ok\":true,\"id\":null,\"devices\":{", 32), "%s", v);
    free(v);
    close(fd);
    ctl_rig_down(&r);
}

Test(control_server, add_and_remove_devices)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    char *v =
        ctl_ask1(&r, "{\"request\":\"add_device\",\"device\":{\"name\":\"d1\",\"size\":\"1MiB\","
                     "\"block_size\":4096}}");
    cr_assert(!strncmp(v, "{\"ok\":true,\"id\":null,\"device\":{", 31), "%s", v);
    cr_assert(strstr(v, "\"name\":\"d1\"") && strstr(v, "\"block_size\":4096"), "%s", v);
    free(v);
    cr_assert_eq(rig_tur(r.s, "d1"), 0);
    v = ctl_ask1(&r, "{\"request\":\"devices\"}");
    cr_assert(strstr(v, "\"name\":\"d1\""), "%s", v);
    free(v);
    v = ctl_ask1(&r, "{\"request\":\"remove_device\",\"device\":\"d1\"}");
    cr_assert_str_eq(v, "{\"ok\":true,\"id\":null}");
    free(v);
    cr_assert(sc_session_rules(r.s, "d1") == NULL);
    v = ctl_ask1(&r, "{\"request\":\"remove_device\",\"device\":\"d1\"}");
    cr_assert(strstr(v, "no device named 'd1'"), "%s", v);
    free(v);
    ctl_rig_down(&r);
}

/* cursor: where the trace is; an after beyond it (entries that do not exist yet) is
 * refused by trace and wait alike, at once, not after the wait's timeout. */
Test(control_server, cursor_and_an_after_in_the_future)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    uint64_t start = sc_trace_cursor(sc_session_trace(r.s));
    char want[128], req[160];
    snprintf(want, sizeof(want), "{\"ok\":true,\"id\":4,\"next\":%llu}", (unsigned long long)start);
    char *v = ctl_ask1(&r, "{\"request\":\"cursor\",\"id\":4}");
    cr_assert_str_eq(v, want);
    free(v);
    rig_tur(r.s, "d0");
    snprintf(want, sizeof(want), "{\"ok\":true,\"id\":null,\"next\":%llu}",
             (unsigned long long)start + 1);
    v = ctl_ask1(&r, "{\"request\":\"cursor\"}");
    cr_assert_str_eq(v, want);
    free(v);
    /* the cursor itself is fine: nothing yet (trace), or what comes (wait) */
    snprintf(req, sizeof(req), "{\"request\":\"trace\",\"after\":%llu}",
             (unsigned long long)start + 1);
    v = ctl_ask1(&r, req);
    cr_assert(strstr(v, "\"ok\":true,\"id\":null,\"entries\":[]"), "%s", v);
    free(v);
    static const char *const reqs[] = {"trace", "wait"};
    for (int i = 0; i < 2; i++) {
        snprintf(req, sizeof(req), "{\"request\":\"%s\",\"after\":%llu,%s\"id\":1}", reqs[i],
                 (unsigned long long)start + 2, i ? "\"timeout\":2," : "");
        snprintf(want, sizeof(want),
                 "{\"ok\":false,\"id\":1,\"error\":\"%s: after %llu is beyond the trace's cursor "
                 "%llu (",
                 reqs[i], (unsigned long long)start + 2, (unsigned long long)start + 1);
        v = ctl_ask1(&r, req); /* wait: refused, not "0 of 1 matching entries within 2 s" */
        cr_assert(!strncmp(v, want, strlen(want)), "%s\nwant %s", v, want);
        free(v);
    }
    ctl_rig_down(&r);
}

Test(control_server, trace_and_wait)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    uint64_t start = sc_trace_cursor(sc_session_trace(r.s));
    rig_tur(r.s, "d0");
    rig_tur(r.s, "t0");
    char req[256];
    snprintf(req, sizeof(req), "{\"request\":\"trace\",\"after\":%llu}", (unsigned long long)start);
    char *v = ctl_ask1(&r, req);
    cr_assert(strstr(v, "\"entries\":[{\"seq\":"), "%s", v);
    cr_assert(strstr(v, "\"device\":\"d0\"") && strstr(v, "\"device\":\"t0\""), "%s", v);
    char next[64];
    snprintf(next, sizeof(next), "\"next\":%llu}", (unsigned long long)start + 2);
    cr_assert(strstr(v, next), "%s", v);
    free(v);
    /* Both commands are there already: the wait is over at once. */
    snprintf(req, sizeof(req),
             "{\"request\":\"wait\",\"device\":\"d0\",\"op\":\"TEST_UNIT_READY\",\"status\":"
             "\"BUSY\",\"rule\":\"r0\",\"after\":%llu}",
             (unsigned long long)start);
    v = ctl_ask1(&r, req);
    snprintf(next, sizeof(next), "{\"ok\":true,\"id\":null,\"matched\":1,\"next\":%llu}",
             (unsigned long long)start + 1);
    cr_assert_str_eq(v, next);
    free(v);
    snprintf(req, sizeof(req),
             "{\"request\":\"wait\",\"device\":\"t0\",\"count\":2,\"timeout\":0,"
             "\"after\":%llu}",
             (unsigned long long)start);
    v = ctl_ask1(&r, req);
    cr_assert(strstr(v, "\"ok\":false") && strstr(v, "wait: 1 of 2 matching entries within 0 s") &&
                  strstr(v, "\"matched\":1"),
              "%s", v);
    free(v);
    ctl_rig_down(&r);
}

typedef struct waiter {
    ctl_rig *r;
    const char *req;
    char *resp;
} waiter;

static void *ask_thread(void *arg)
{
    waiter *w = arg;
    w->resp = ctl_ask1(w->r, w->req);
    return NULL;
}

/* A wait from now on blocks its client only; commands that come later end it. */
Test(control_server, wait_blocks_only_its_client)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    char req[160];
    snprintf(req, sizeof(req),
             "{\"request\":\"wait\",\"device\":\"t0\",\"count\":3,\"after\":%llu}",
             (unsigned long long)sc_trace_cursor(sc_session_trace(r.s)));
    waiter w = {&r, req, NULL};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, ask_thread, &w), 0);
    ctl_rig_await_clients(&r, 1);
    char *v = ctl_ask1(&r, "{\"request\":\"version\"}"); /* not held up by the wait */
    cr_assert(!strncmp(v, "{\"ok\":true", 10), "%s", v);
    free(v);
    for (int i = 0; i < 3; i++) rig_tur(r.s, "t0");
    pthread_join(th, NULL);
    cr_assert(!strncmp(w.resp, "{\"ok\":true,\"id\":null,\"matched\":3,", 33), "%s", w.resp);
    free(w.resp);
    ctl_rig_down(&r);
}

Test(control_server, a_client_that_hangs_up_during_wait)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    int fd = ctl_connect(r.path);
    const char *req = "{\"request\":\"wait\",\"device\":\"d0\",\"timeout\":600}\n";
    cr_assert(ctl_send(fd, req, strlen(req)));
    ctl_rig_await_waiting(&r, 1);
    close(fd);
    ctl_rig_await_clients(&r, 0); /* its thread saw the hang-up, long before the timeout */
    char *v = ctl_ask1(&r, "{\"request\":\"version\"}");
    cr_assert(!strncmp(v, "{\"ok\":true", 10), "%s", v);
    free(v);
    ctl_rig_down(&r);
}

Test(control_server, stop_ends_a_wait)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    waiter w = {&r, "{\"request\":\"wait\",\"device\":\"d0\",\"timeout\":600}", NULL};
    int fd = ctl_connect(r.path);
    cr_assert(ctl_send(fd, w.req, strlen(w.req)) && ctl_send(fd, "\n", 1));
    ctl_rig_await_waiting(&r, 1);
    ctl_server_stop(r.srv); /* joins the waiting client's thread */
    char *resp = ctl_read_line(fd);
    cr_assert(!resp || strstr(resp, "the server is stopping"), "%s", resp);
    free(resp);
    close(fd);
    struct stat st;
    cr_assert_neq(lstat(r.path, &st), 0, "the socket is gone");
    char err[256];
    cr_assert_eq(sc_session_close(r.s, err, sizeof(err)), 0, "%s", err);
    rmdir(r.dir);
}

Test(control_server, oversized_line_closes_only_that_connection)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    char *before = snapshot(&r);
    size_t n = SC_REQ_LINE_MAX + 100;
    char *big = malloc(n);
    memset(big, 'x', n);
    memcpy(big, "{\"request\":\"add_rule\",\"device\":\"d0\",\"name\":\"", 39);
    int fd = ctl_connect(r.path);
    ctl_send(fd, big, n); /* may fail part-way once the server closes */
    char *resp = ctl_read_line(fd);
    cr_assert_not_null(resp);
    cr_assert_str_eq(resp, "{\"ok\":false,\"id\":null,\"error\":\"request:1:1: a request line is "
                           "longer than 1048576 bytes; closing the connection\"}");
    free(resp);
    cr_assert(ctl_read_line(fd) == NULL, "then the connection is closed");
    close(fd);
    free(big);
    char *after = snapshot(&r);
    cr_assert_str_eq(before, after);
    free(before);
    free(after);
    ctl_rig_down(&r);
}

Test(control_server, junk_and_half_lines)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    char *before = snapshot(&r);
    unsigned seed = 7;
    int fd = ctl_connect(r.path);
    for (int i = 0; i < 200; i++) {
        char junk[200];
        size_t n = 1 + (size_t)(rand_r(&seed) % (sizeof(junk) - 1));
        for (size_t k = 0; k < n; k++) {
            junk[k] = (char)(rand_r(&seed) & 0xff);
            if (junk[k] == '\n') junk[k] = '{';
        }
        cr_assert(ctl_send(fd, junk, n) && ctl_send(fd, "\n", 1));
        char *resp = ctl_read_line(fd);
        cr_assert(resp && !strncmp(resp, "{\"ok\":false,\"id\":", 17), "junk %d: %s", i, resp);
        free(resp);
    }
    close(fd);
    /* Half a request, then gone: it is no request. */
    fd = ctl_connect(r.path);
    const char *half = "{\"request\":\"add_rule\",\"device\":\"d0\",\"name\":\"half\"}";
    cr_assert(ctl_send(fd, half, strlen(half)));
    ctl_rig_await_clients(&r, 1);
    close(fd);
    ctl_rig_await_clients(&r, 0);
    char *after = snapshot(&r);
    cr_assert_str_eq(before, after);
    free(before);
    free(after);
    ctl_rig_down(&r);
}

/* Pipelined requests on one connection: answered in order. */
Test(control_server, pipelined)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    int fd = ctl_connect(r.path);
    const char *reqs = "{\"request\":\"version\",\"id\":1}\n{\"op\":\"nope\",\"id\":2}\r\n"
                       "{\"request\":\"devices\",\"id\":3}\n";
    cr_assert(ctl_send(fd, reqs, strlen(reqs)));
    for (int i = 1; i <= 3; i++) {
        char *resp = ctl_read_line(fd), want[32];
        snprintf(want, sizeof(want), "\"id\":%d,", i);
        cr_assert(resp && strstr(resp, want), "%d: %s", i, resp);
        free(resp);
    }
    close(fd);
    ctl_rig_down(&r);
}

#define CLIENTS 50
#define ROUNDS  20

typedef struct client {
    ctl_rig *r;
    int id;
    pthread_barrier_t *all_connected;
    int failures;
} client;

static void *client_main(void *arg)
{
    client *c = arg;
    int fd = ctl_connect(c->r->path);
    pthread_barrier_wait(c->all_connected);
    for (int i = 0; i < ROUNDS; i++) {
        char req[160];
        snprintf(
            req, sizeof(req),
            "{\"request\":\"add_rule\",\"id\":%d,\"device\":\"d0\",\"name\":\"c%d\",\"match\":{"
            "\"op\":\"READ_10\"}}",
            i, c->id);
        char *v = ctl_ask(fd, req), want[64];
        snprintf(want, sizeof(want), "{\"ok\":true,\"id\":%d,\"rule\":\"c%d\"}", i, c->id);
        c->failures += strcmp(v, want) != 0;
        free(v);
        v = ctl_ask(fd, "{\"request\":\"list_rules\",\"device\":\"d0\"}");
        snprintf(want, sizeof(want), "\"name\":\"c%d\"", c->id);
        c->failures += !strstr(v, want);
        free(v);
        snprintf(req, sizeof(req),
                 "{\"request\":\"remove_rule\",\"device\":\"d0\",\"name\":\"c%d\"}", c->id);
        v = ctl_ask(fd, req);
        c->failures += strcmp(v, "{\"ok\":true,\"id\":null}") != 0;
        free(v);
    }
    close(fd);
    return NULL;
}

Test(control_server, fifty_clients_at_once)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    char *before = snapshot(&r);
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, CLIENTS);
    client cs[CLIENTS];
    pthread_t th[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        cs[i] = (client){&r, i, &b, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, client_main, &cs[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(th[i], NULL);
        failures += cs[i].failures;
    }
    pthread_barrier_destroy(&b);
    cr_assert_eq(failures, 0);
    char *after = snapshot(&r);
    cr_assert_str_eq(before, after, "every client removed what it added");
    free(before);
    free(after);
    ctl_rig_down(&r);
}

Test(control_server, clients_beyond_the_cap_are_refused)
{
    ctl_rig r;
    ctl_rig_up(&r, 3);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = ctl_connect(r.path);
        free(ctl_ask(fds[i], "{\"request\":\"version\"}")); /* its thread is up */
    }
    int extra = ctl_connect(r.path);
    char *resp = ctl_read_line(extra);
    cr_assert(resp);
    cr_assert_str_eq(resp, "{\"ok\":false,\"id\":null,\"error\":\"too many clients: at most 3 "
                           "may be connected\"}");
    free(resp);
    cr_assert(ctl_read_line(extra) == NULL);
    close(extra);
    close(fds[0]);
    ctl_rig_await_clients(&r, 2);
    int again = ctl_connect(r.path);
    resp = ctl_ask(again, "{\"request\":\"version\"}");
    cr_assert(!strncmp(resp, "{\"ok\":true", 10), "%s", resp);
    free(resp);
    close(again);
    close(fds[1]);
    close(fds[2]);
    ctl_rig_down(&r);
}

Test(control_server, shutdown)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    char *v = ctl_ask1(&r, "{\"request\":\"shutdown\",\"id\":\"bye\"}");
    cr_assert_str_eq(v, "{\"ok\":true,\"id\":\"bye\"}");
    free(v);
    ctl_rig_await_clients(&r, 0);
    cr_assert_eq(__atomic_load_n(&r.shutdowns, __ATOMIC_RELAXED), 1);
    ctl_rig_down(&r);

    /* A server without a way to shut down says so. */
    ctl_rig_dir(&r);
    r.s = rig_session();
    char err[256];
    cr_assert_eq(ctl_server_start(r.s, r.path, NULL, &r.srv, err, sizeof(err)), 0, "%s", err);
    v = ctl_ask1(&r, "{\"request\":\"shutdown\"}");
    cr_assert(strstr(v, "cannot be shut down remotely"), "%s", v);
    free(v);
    ctl_rig_down(&r);
}

static void kmsg_append(const ctl_rig *r, const char *records)
{
    FILE *f = fopen(r->kmsg, "a");
    cr_assert_not_null(f);
    fputs(records, f);
    fclose(f);
}

Test(control_server, kmsg_mark_and_check)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    kmsg_append(&r, "6,1,1000,-;booting\n6,2,2000,-;still booting\n");
    char *v = ctl_ask1(&r, "{\"request\":\"kmsg_mark\"}");
    cr_assert_str_eq(v, "{\"ok\":true,\"id\":null,\"mark\":3}");
    free(v);
    kmsg_append(&r, "4,3,3000500,-;WARNING: CPU: 0 PID: 1 at drivers/scsi/sd.c:1 x\n"
                    "5,4,4000000,-;sd 2:0:0:0: [sdb] Attached SCSI disk\n");
    v = ctl_ask1(&r,
                 "{\"request\":\"kmsg_check\",\"since\":3,\"expect\":[\"Attached SCSI disk\"]}");
    cr_assert(strstr(v, "\"ok\":true,\"id\":null,\"passed\":false,\"failures\":[\""), "%s", v);
    cr_assert(strstr(v, "WARNING: CPU: 0 PID: 1 at drivers/scsi/sd.c:1 x"), "%s", v);
    cr_assert(strstr(v, "\"log\":[\"[    3.000500] WARNING: CPU: 0 PID: 1 at drivers/scsi/sd.c:1 "
                        "x\",\"[    4.000000] sd 2:0:0:0: [sdb] Attached SCSI disk\"]}"),
              "%s", v);
    free(v);
    v = ctl_ask1(&r, "{\"request\":\"kmsg_check\",\"since\":3,\"allow\":[\"WARNING: .* at "
                     "drivers/scsi/\"],\"expect\":[\"Attached SCSI disk\"],\"forbid\":[\"I/O "
                     "error\"]}");
    cr_assert(strstr(v, "\"ok\":true,\"id\":null,\"passed\":true,\"failures\":[],"), "%s", v);
    free(v);
    v = ctl_ask1(&r, "{\"request\":\"kmsg_check\",\"since\":4,\"expect\":[\"booting\"]}");
    cr_assert(strstr(v, "\"passed\":false") && strstr(v, "booting"), "%s", v);
    free(v);
    v = ctl_ask1(&r, "{\"request\":\"kmsg_check\",\"since\":3,\"forbid\":[\"(unclosed\"]}");
    cr_assert(!strncmp(v, "{\"ok\":false,\"id\":null,\"error\":\"request:1:", 37), "%s", v);
    free(v);
    v = ctl_ask1(&r, "{\"request\":\"kmsg_check\"}");
    cr_assert(strstr(v, "kmsg_check needs since"), "%s", v);
    free(v);
    unlink(r.kmsg);
    v = ctl_ask1(&r, "{\"request\":\"kmsg_mark\"}");
    cr_assert(!strncmp(v, "{\"ok\":false,", 12), "an unreadable log is an error: %s", v);
    free(v);
    ctl_rig_down(&r);
}

/* A client that shut down its sending side after its request still gets the answer, even
 * to a wait that is over only later. */
Test(control_server, a_half_closed_client_gets_its_response)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    int fd = ctl_connect(r.path);
    char req[160];
    snprintf(req, sizeof(req), "{\"request\":\"wait\",\"device\":\"t0\",\"after\":%llu}\n",
             (unsigned long long)sc_trace_cursor(sc_session_trace(r.s)));
    cr_assert(ctl_send(fd, req, strlen(req)));
    cr_assert_eq(shutdown(fd, SHUT_WR), 0);
    ctl_rig_await_clients(&r, 1);
    rig_tur(r.s, "t0");
    char *v = ctl_read_line(fd);
    cr_assert(v && !strncmp(v, "{\"ok\":true,\"id\":null,\"matched\":1,", 33), "%s", v);
    free(v);
    close(fd);
    ctl_rig_down(&r);
}

Test(control_server, version_is_th_version)
{
    /* The version request answers control.h's own TH_VERSION_STRING "0.0.0", not the
     * project(VERSION) that th_version() and --version give: two versions for one binary. */
    ctl_rig r;
    ctl_rig_up(&r, 0);
    int fd = ctl_connect(r.path);
    char *v = ctl_ask(fd, "{\"request\":\"version\"}");
    char want[64];
    snprintf(want, sizeof(want), "\"version\":\"%s\"", th_version());
    cr_assert(strstr(v, want), "%s lacks %s", v, want);
    free(v);
    close(fd);
    ctl_rig_down(&r);
}
