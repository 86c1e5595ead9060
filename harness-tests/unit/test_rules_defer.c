/* Deferred commands in the rules engine: deferrals racing a release, an inner handler
 * that defers, the trace naming the rule that matched, and the table read while it
 * grows. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include "rules_fixture.h"

TestSuite(rules_defer, .init = rules_setup, .fini = rules_teardown);

static bool wait_done(th_cmd *c, int ms)
{
    for (int i = 0; i < ms * 10 && !th_fake_cmd_done(c); i++) usleep(100);
    return th_fake_cmd_done(c);
}

typedef struct race {
    pthread_barrier_t go;
    int rounds;
} race;

static void *release_loop(void *arg)
{
    race *x = arg;
    for (int i = 0; i < x->rounds; i++) {
        pthread_barrier_wait(&x->go);
        th_rules_release_all(r);
        pthread_barrier_wait(&x->go);
    }
    return NULL;
}

Test(rules_defer, a_deferral_while_release_all_joins_the_timer_is_still_answered)
{
    th_rule x;
    th_rule_init(&x);
    x.action.delay_ms = 1;
    th_rules_add(r, &x, -1);
    race rc = {.rounds = 400};
    pthread_barrier_init(&rc.go, NULL, 2);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, release_loop, &rc), 0);
    int stranded = 0;
    for (int i = 0; i < rc.rounds; i++) {
        th_cmd *warm = new_read(0), *c = new_read(1);
        th_fake_cmd_run(warm, th_rules_handle, r); /* the timer thread is running */
        cr_assert(wait_done(warm, 1000));
        pthread_barrier_wait(&rc.go);
        for (int k = 0; k < i % 50; k++) __asm__ volatile("" ::: "memory");
        th_fake_cmd_run(c, th_rules_handle, r);
        pthread_barrier_wait(&rc.go);
        /* Nothing else is deferred after it: only its own timer can answer it. */
        if (!wait_done(c, 2000)) { /* 1 ms due: a loaded host may take long, never for ever */
            stranded++;
            th_rules_release_all(r);
        }
        th_fake_cmd_free(warm);
        th_fake_cmd_free(c);
    }
    pthread_join(t, NULL);
    pthread_barrier_destroy(&rc.go);
    cr_assert_eq(stranded, 0, "%d of %d delayed commands stranded", stranded, rc.rounds);
}

/* An inner handler that keeps every command and answers it later. */
static th_cmd *kept;
static int keep(th_cmd *cmd, void *arg)
{
    (void)arg;
    kept = cmd;
    return TH_CMD_DEFERRED;
}

Test(rules_defer, a_deferring_inner_handler_keeps_the_command_under_every_action)
{
    th_rules *k;
    cr_assert_eq(th_rules_new(NULL, &k, "k", keep, NULL, 512, NULL), 0);
    /* Actions that run the inner handler: pass, short, corrupt, none at all. */
    for (int kind = 0; kind < 5; kind++) {
        th_rules_clear(k);
        th_rule x;
        th_rule_init(&x);
        x.action.pass = kind == 0;
        if (kind == 1) x.action.short_kind = TH_SHORT_BYTES, x.action.short_value = 10;
        if (kind == 2) x.action.corrupt_bytes = 1;
        if (kind == 3) snprintf(x.action.set_state, sizeof(x.action.set_state), "seen");
        if (kind == 4) x.action.queue_ua = true, x.action.ua_sense = th_sense_make(6, 0x2a09);
        th_rules_add(k, &x, -1);
        kept = NULL;
        th_cmd *c = new_read(0);
        cr_assert_eq(th_fake_cmd_run(c, th_rules_handle, k), TH_CMD_DEFERRED, "kind %d", kind);
        cr_assert(!th_fake_cmd_done(c), "kind %d: completed while the inner handler holds it",
                  kind);
        cr_assert_eq(kept, c);
        th_cmd_ok(c);
        th_cmd_complete(c);
        th_assert_good(c);
        th_fake_cmd_free(c);
    }
    th_rules_free(k);
}

static th_rule named(const char *name, int op, bool hang)
{
    th_rule x;
    th_rule_init(&x);
    snprintf(x.name, sizeof(x.name), "%s", name);
    x.match.op = op;
    x.action.hang = hang;
    return x;
}

static char *trace_of_hung_read(void (*edit)(void))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    th_rules_set_trace(r, f, 0);
    th_rule a = named("A", 0x00, false), b = named("B", 0x28, true);
    th_rules_add(r, &a, -1);
    th_rules_add(r, &b, -1);
    th_cmd *c = new_read(0);
    cr_assert_eq(th_fake_cmd_run(c, th_rules_handle, r), TH_CMD_DEFERRED);
    edit();
    th_rules_release_all(r);
    cr_assert(th_fake_cmd_done(c));
    th_rules_set_trace(r, NULL, 0);
    fclose(f);
    th_fake_cmd_free(c);
    return buf;
}

static void insert_offline_first(void)
{
    th_rule off = named("offline", 0x12, false);
    th_rules_add(r, &off, 0);
}
static void remove_a(void)
{
    cr_assert_eq(th_rules_remove(r, "A"), 0);
}
static void remove_b(void)
{
    cr_assert_eq(th_rules_remove(r, "B"), 0);
}
static void replace_all(void)
{
    th_rules_clear(r);
    th_rule z = named("Z", 0x28, false);
    th_rules_add(r, &z, -1);
}

Test(rules_defer, the_trace_names_the_rule_that_matched_after_the_table_changed)
{
    void (*edits[])(void) = {insert_offline_first, remove_a, remove_b, replace_all};
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        th_rules_clear(r);
        char *buf = trace_of_hung_read(edits[i]);
        cr_assert(strstr(buf, "\"rule\":\"B\""), "edit %zu: %s", i, buf);
        free(buf);
    }
}

static atomic_bool adding;
static void *add_loop(void *arg)
{
    th_rules *rr = arg;
    for (int i = 0; i < 2000; i++) {
        th_rule x = named("n", 0x00, false);
        th_rules_add(rr, &x, 0);
        if (i % 200 == 199) th_rules_clear(rr);
    }
    atomic_store(&adding, false);
    return NULL;
}

Test(rules_defer, count_and_fired_while_another_thread_adds_rules)
{
    atomic_store(&adding, true);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, add_loop, r), 0);
    uint64_t sum = 0;
    while (atomic_load(&adding)) {
        size_t n = th_rules_count(r);
        for (size_t i = 0; i < n + 2; i++) sum += th_rules_fired(r, i);
    }
    pthread_join(t, NULL);
    cr_assert_eq(sum, 0);
}
