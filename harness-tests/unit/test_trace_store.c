/* The trace store behind sc_trace: devices' lanes merged into one order (the reads' and
 * the file's), the writer thread's file complete at free, a full lane that blocks its
 * device instead of losing entries, no wake per command without a waiter, expectations
 * counted beyond what the ring keeps, tails and dumps from memory. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include "scenario/trace_internal.h"
#include "trace_fixture.h"

TestSuite(trace_store, .init = trace_setup, .fini = trace_teardown);

static void run_read(th_rules *rules, uint64_t lba)
{
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 10, lba, 1);
    th_cmd *c = th_fake_cmd_new(cdb, n, NULL, 0, 512);
    cr_assert_not_null(c);
    th_fake_cmd_run(c, th_rules_handle, rules);
    th_fake_cmd_free(c);
}

/* The file without its header line, malloc'd. */
static char *file_entries(const char *p)
{
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (size_t n; (n = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        len += n;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    fclose(f);
    cr_assert(!strncmp(buf, "{\"header\":", 10), "%.100s", buf);
    char *nl = strchr(buf, '\n');
    memmove(buf, nl + 1, strlen(nl + 1) + 1);
    return buf;
}

static long lines_in(const char *s)
{
    long n = 0;
    for (; (s = strchr(s, '\n')); s++) n++;
    return n;
}

/* The read's lines without "seq", checked to run from first on. */
static void strip_seq(char *s, uint64_t first)
{
    char *o = s;
    for (uint64_t seq = first; *s; seq++) {
        char want[40];
        int n = snprintf(want, sizeof(want), "{\"seq\":%llu,", (unsigned long long)seq);
        cr_assert_eq(strncmp(s, want, (size_t)n), 0, "%.80s", s);
        s += n;
        *o++ = '{';
        char *nl = strchr(s, '\n');
        size_t len = (size_t)(nl - s) + 1;
        memmove(o, s, len);
        o += len;
        s = nl + 1;
    }
    *o = '\0';
}

#define N_DEV  3
#define N_CMDS 2000 /* several lanes' worth per device */

typedef struct issuer {
    th_rules *rules;
    int n;
} issuer;

static void *issue(void *arg)
{
    issuer *x = arg;
    for (int i = 0; i < x->n; i++) run_read(x->rules, (uint64_t)i % 1024);
    return NULL;
}

/* Devices on their own threads: one order for all, each device's entries in the order it
 * answered them, the reads' lines (minus seq) exactly the file's. */
Test(trace_store, devices_on_threads_merge_into_one_order_that_the_file_has_too)
{
    new_trace(1 << 16);
    th_rules *rs[N_DEV];
    th_disk *ds[N_DEV];
    issuer xs[N_DEV];
    pthread_t th[N_DEV];
    for (int i = 0; i < N_DEV; i++) {
        char name[8];
        snprintf(name, sizeof(name), "m%d", i);
        ds[i] = test_disk(1024, 512);
        cr_assert_eq(th_rules_new(NULL, &rs[i], name, th_disk_handle, ds[i], 512, th_disk_op_name),
                     0);
        cr_assert_eq(sc_trace_attach(t, rs[i]), 0);
        xs[i] = (issuer){rs[i], N_CMDS};
    }
    for (int i = 0; i < N_DEV; i++) cr_assert_eq(pthread_create(&th[i], NULL, issue, &xs[i]), 0);
    for (int i = 0; i < N_DEV; i++) pthread_join(th[i], NULL);
    cr_assert_eq(sc_trace_cursor(t), (uint64_t)N_DEV * N_CMDS);
    char *lines;
    uint64_t next;
    cr_assert_eq(sc_trace_read(t, 0, 0, &lines, &next), 0);
    cr_assert_eq(next, (uint64_t)N_DEV * N_CMDS);
    /* Per device, its LBAs come in the order it issued them. */
    long expect[N_DEV] = {0};
    for (char *p = lines; *p; p = strchr(p, '\n') + 1) {
        int dev;
        unsigned long long lba;
        char *q = strstr(p, "\"device\":\"m");
        cr_assert_not_null(q);
        dev = q[11] - '0';
        cr_assert(dev >= 0 && dev < N_DEV);
        cr_assert_eq(sscanf(strstr(p, "\"lba\":"), "\"lba\":%llu", &lba), 1);
        cr_assert_eq(lba, (unsigned long long)(expect[dev]++ % 1024));
    }
    for (int i = 0; i < N_DEV; i++) cr_assert_eq(expect[i], N_CMDS);
    strip_seq(lines, 0);
    cr_assert_eq(sc_trace_flush(t), 0);
    char *file = file_entries(path);
    cr_assert_str_eq(lines, file);
    free(file);
    free(lines);
    for (int i = 0; i < N_DEV; i++) {
        sc_trace_attach(NULL, rs[i]);
        th_rules_free(rs[i]);
        th_disk_free(ds[i]);
    }
}

/* The writer writes in rounds; freeing the trace writes the rest: nothing is missing. */
Test(trace_store, free_writes_every_entry_without_a_flush)
{
    new_trace(16); /* far fewer kept than written: the file has them all */
    for (int i = 0; i < 3000; i++) run_read(r, (uint64_t)i % 1024);
    sc_trace_attach(NULL, r);
    sc_trace_free(t);
    t = NULL;
    char *file = file_entries(path);
    cr_assert_eq(lines_in(file), 3000);
    char want[64];
    snprintf(want, sizeof(want), "\"lba\":%d,", 2999 % 1024);
    cr_assert(strstr(file + strlen(file) - 400, want), "%s", file + strlen(file) - 400);
    free(file);
}

typedef struct blocked {
    int n;
    atomic_bool done;
} blocked;

static void *issue_many(void *arg)
{
    blocked *b = arg;
    for (int i = 0; i < b->n; i++) run_read(r, (uint64_t)i % 1024);
    atomic_store(&b->done, true);
    return NULL;
}

/* A writer that cannot write (its file lock held here): the device's lane fills, its
 * serving thread waits for room (counted) instead of dropping entries; once the writer
 * goes on, every entry reaches the file. */
Test(trace_store, a_full_lane_blocks_its_device_and_loses_nothing)
{
    new_trace(0);
    pthread_mutex_lock(&t->flock);
    blocked b = {.n = (int)LANE_SLOTS * 3};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, issue_many, &b), 0);
    while (!sc_trace_stalls(t)) usleep(1000); /* the lane is full: the issuer waits */
    cr_assert(!atomic_load(&b.done));
    cr_assert_leq(sc_trace_cursor(t), LANE_SLOTS);
    pthread_mutex_unlock(&t->flock);
    pthread_join(th, NULL);
    cr_assert_eq(sc_trace_cursor(t), (uint64_t)b.n);
    cr_assert_eq(sc_trace_flush(t), 0);
    char *file = file_entries(path);
    cr_assert_eq(lines_in(file), b.n);
    free(file);
}

/* Commands with nobody waiting wake nobody (no broadcast per command); with a waiter
 * they do. */
Test(trace_store, no_waiter_no_wake)
{
    new_trace(0);
    for (int i = 0; i < 100; i++) run_read(r, (uint64_t)i);
    cr_assert_eq(atomic_load(&t->gen), 0);
    cr_assert_eq(atomic_load(&t->waiters), 0);
    long m;
    uint64_t next;
    cr_assert_eq(sc_trace_wait(t, NULL, 0, 100, 0, NULL, &m, &next), 0);
    cr_assert_eq(atomic_load(&t->waiters), 0);
}

typedef struct waiting {
    int rc;
    long m;
} waiting;

static void *wait_two(void *arg)
{
    waiting *w = arg;
    uint64_t next;
    w->rc = sc_trace_wait(t, NULL, 0, 2, 60000, NULL, &w->m, &next);
    return NULL;
}

Test(trace_store, a_waiter_is_woken_by_the_entry_it_waits_for)
{
    new_trace(0);
    run_read(r, 1);
    waiting w = {0};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, wait_two, &w), 0);
    while (!atomic_load(&t->waiters)) usleep(1000);
    run_read(r, 2); /* published after the waiter counted itself: it must wake it */
    pthread_join(th, NULL);
    cr_assert_eq(w.rc, 0);
    cr_assert_eq(w.m, 2);
    cr_assert_gt(atomic_load(&t->gen), 0);
}

/* Expectations count every entry, also those the ring no longer keeps. */
Test(trace_store, tallies_count_beyond_the_kept_ring)
{
    new_trace(4);
    sc_trace_filter f[3];
    for (int i = 0; i < 3; i++) sc_trace_filter_init(&f[i]);
    snprintf(f[0].op, sizeof(f[0].op), "READ_10");
    f[1].lba_set = true;
    f[1].lba = 7;
    snprintf(f[2].op, sizeof(f[2].op), "WRITE_10");
    long count[3];
    uint64_t first[3];
    cr_assert_eq(sc_trace_tally(t, f, 3, count, first), 0);
    for (int i = 0; i < 10; i++) run_read(r, (uint64_t)i);
    cr_assert_eq(sc_trace_flush(t), 0);
    cr_assert_eq(count[0], 10);
    cr_assert_eq(first[0], 0);
    cr_assert_eq(count[1], 1);
    cr_assert_eq(first[1], 7);
    cr_assert_eq(count[2], 0);
    cr_assert_eq(first[2], UINT64_MAX);
    cr_assert_eq(sc_trace_oldest(t), 6);
}

/* A held trace outlives one free (a run's checks after its session closed). */
Test(trace_store, tail_and_dump_from_memory_after_a_held_free)
{
    new_trace(4);
    for (int i = 0; i < 10; i++) run_read(r, (uint64_t)i);
    sc_trace_hold(t);
    sc_trace_attach(NULL, r);
    sc_trace_free(t);
    char msg[4096] = "x\n";
    sc_trace_tail(t, "d0", msg, sizeof(msg), 2);
    cr_assert(!strncmp(msg, "x\n{\"t\":", 7), "%s", msg);
    cr_assert(strstr(msg, "\"lba\":8,") && strstr(msg, "\"lba\":9,") && !strstr(msg, "\"lba\":7,"),
              "%s", msg);
    cr_assert(strstr(msg, "\"lba\":8,") < strstr(msg, "\"lba\":9,"));
    msg[0] = '\0';
    sc_trace_tail(t, "nobody", msg, sizeof(msg), 8);
    cr_assert_str_eq(msg, "");
    char dump[64], err[256];
    snprintf(dump, sizeof(dump), "%s.dump", path);
    cr_assert_eq(sc_trace_dump(t, dump, err, sizeof(err)), 0, "%s", err);
    FILE *f = fopen(dump, "r");
    char line[1024];
    cr_assert(fgets(line, sizeof(line), f) && !strncmp(line, "{\"header\":", 10));
    cr_assert(fgets(line, sizeof(line), f));
    cr_assert_str_eq(line, "{\"not_kept\":{\"entries\":6}}\n");
    int n = 0;
    while (fgets(line, sizeof(line), f)) n++;
    fclose(f);
    unlink(dump);
    cr_assert_eq(n, 4);
    sc_trace_free(t);
    t = NULL;
}

/* Attaching to the trace a rules is on changes nothing; to another moves it there. */
Test(trace_store, attach_again_and_move)
{
    new_trace(0);
    run_read(r, 1);
    cr_assert_eq(sc_trace_attach(t, r), 0);
    run_read(r, 2);
    cr_assert_eq(sc_trace_cursor(t), 2);
    char err[256];
    sc_trace *u;
    cr_assert_eq(sc_trace_new(NULL, 0, &u, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sc_trace_attach(u, r), 0);
    run_read(r, 3);
    cr_assert_eq(sc_trace_cursor(t), 2);
    cr_assert_eq(sc_trace_cursor(u), 1);
    char *lines;
    uint64_t next;
    cr_assert_eq(sc_trace_read(t, 0, 0, &lines, &next), 0);
    cr_assert_eq(next, 2); /* the old trace kept what it had */
    free(lines);
    sc_trace_attach(NULL, r);
    sc_trace_free(u);
}
