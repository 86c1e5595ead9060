/* The session's memory trace (sc_trace): entries from real commands through rules,
 * read by cursor, waited on with expect_trace's filter, from several threads at once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include "trace_fixture.h"

TestSuite(trace_hub, .init = trace_setup, .fini = trace_teardown);

static void run_op(th_rules *rules, uint8_t op, uint64_t lba)
{
    uint8_t cdb[16];
    size_t n = op == 0x28 ? th_cdb_read(cdb, 10, lba, 1) : th_cdb_write(cdb, 10, lba, 1);
    static const uint8_t zero[512];
    th_cmd *c = op == 0x28 ? th_fake_cmd_new(cdb, n, NULL, 0, 512)
                           : th_fake_cmd_new(cdb, n, zero, sizeof(zero), 0);
    cr_assert_not_null(c);
    th_fake_cmd_run(c, th_rules_handle, rules);
    th_fake_cmd_free(c);
}

/* The file's entry lines: what follows its header line (checked to be there). */
static char *slurp(const char *p)
{
    /* The writer thread writes the file in rounds: what was recorded is there after this. */
    if (t) cr_assert_eq(sc_trace_flush(t), 0);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    static const char head[] = "{\"header\":{\"tcmu_harness_version\":";
    cr_assert(!strncmp(buf, head, sizeof(head) - 1), "%.200s", buf);
    char *nl = strchr(buf, '\n');
    cr_assert_not_null(nl);
    return nl + 1;
}

/* The first line says which harness and which kernel the entries came from. */
Test(trace_hub, the_file_starts_with_the_harness_and_kernel)
{
    setenv("TCMU_HARNESS_KERNEL_RELEASE", "6.1.0-57-amd64", 1);
    setenv("TCMU_HARNESS_KERNEL_PACKAGE", "linux-image-6.1.0-57-amd64 6.1.192-3", 1);
    new_trace(0);
    unsetenv("TCMU_HARNESS_KERNEL_RELEASE");
    unsetenv("TCMU_HARNESS_KERNEL_PACKAGE");
    run_op(r, 0x28, 1);
    cr_assert_eq(sc_trace_flush(t), 0);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[512];
    cr_assert_not_null(fgets(line, sizeof(line), f));
    fclose(f);
    cr_assert_str_eq(line, "{\"header\":{\"tcmu_harness_version\":\"0.2.0\",\"kernel_release\":"
                           "\"6.1.0-57-amd64\",\"kernel_package\":\"linux-image-6.1.0-57-amd64 "
                           "6.1.192-3\"}}\n");
    uint64_t next;
    char *lines;
    /* not an entry: the memory trace and its cursors start at the first command */
    cr_assert_eq(sc_trace_read(t, 0, 0, &lines, &next), 0);
    cr_assert(strstr(lines, "\"op\":\"READ_10\"") && !strstr(lines, "header"), "%s", lines);
    cr_assert_eq(next, 1);
    free(lines);
}

/* The read's lines without their "seq" field are the file's lines. */
static void strip_seq(char *s, uint64_t first)
{
    char *o = s;
    for (uint64_t seq = first; *s; seq++) {
        char want[40];
        int n = snprintf(want, sizeof(want), "{\"seq\":%llu,", (unsigned long long)seq);
        cr_assert_eq(strncmp(s, want, (size_t)n), 0, "%s", s);
        s += n;
        *o++ = '{';
        char *nl = strchr(s, '\n');
        cr_assert_not_null(nl);
        size_t len = (size_t)(nl - s) + 1;
        memmove(o, s, len);
        o += len;
        s = nl + 1;
    }
    *o = '\0';
}

Test(trace_hub, read_with_cursors_gives_the_file_lines_with_their_seq)
{
    new_trace(0);
    cr_assert_eq(sc_trace_cursor(t), 0);
    for (int i = 0; i < 5; i++) run_op(r, 0x28, (uint64_t)i);
    uint16_t id = 4;
    th_rules_on_tmr(r, TH_TMR_ABORT_TASK, &id, 1);
    cr_assert_eq(sc_trace_cursor(t), 6);
    char *lines;
    uint64_t next;
    cr_assert_eq(sc_trace_read(t, 0, 0, &lines, &next), 0);
    cr_assert_eq(next, 6);
    strip_seq(lines, 0);
    cr_assert_str_eq(lines, slurp(path));
    free(lines);

    cr_assert_eq(sc_trace_read(t, 3, 2, &lines, &next), 0);
    cr_assert_eq(next, 5);
    cr_assert_eq(strncmp(lines, "{\"seq\":3,\"t\":", 13), 0, "%s", lines);
    cr_assert(strstr(lines, "\"lba\":3,"), "%s", lines);
    cr_assert(strstr(lines, "{\"seq\":4,"), "%s", lines);
    cr_assert(!strstr(lines, "{\"seq\":5,"), "%s", lines);
    free(lines);

    cr_assert_eq(sc_trace_read(t, 5, 0, &lines, &next), 0);
    cr_assert(strstr(lines, "\"tmr\":\"ABORT_TASK\",\"ids\":[4]}"), "%s", lines);
    free(lines);
    cr_assert_eq(sc_trace_read(t, 6, 0, &lines, &next), 0);
    cr_assert_str_eq(lines, "");
    cr_assert_eq(next, 6);
    free(lines);
}

Test(trace_hub, after_wraparound_old_cursors_are_out_of_range)
{
    new_trace(4);
    for (int i = 0; i < 10; i++) run_op(r, 0x28, (uint64_t)i);
    cr_assert_eq(sc_trace_cursor(t), 10);
    cr_assert_eq(sc_trace_oldest(t), 6);
    char *lines = NULL;
    uint64_t next;
    cr_assert_eq(sc_trace_read(t, 5, 0, &lines, &next), -ERANGE);
    char msg[160];
    sc_trace_range_msg(t, 5, msg, sizeof(msg));
    cr_assert_str_eq(msg, "trace entry 5 is no longer kept: the oldest is 6 (the trace keeps 4 "
                          "entries)");
    cr_assert_eq(sc_trace_read(t, 6, 0, &lines, &next), 0);
    cr_assert_eq(next, 10);
    cr_assert(strstr(lines, "{\"seq\":6,") == lines, "%s", lines);
    cr_assert(strstr(lines, "\"lba\":9,"), "%s", lines);
    free(lines);
    long m;
    cr_assert_eq(sc_trace_wait(t, NULL, 0, 1, 0, NULL, &m, &next), -ERANGE);
    cr_assert_eq(sc_trace_wait(t, NULL, 6, 4, 0, NULL, &m, &next), 0);
    cr_assert_eq(m, 4);
    cr_assert_eq(next, 10);
    /* Every entry went to the file, not only the kept ones. */
    char *file = slurp(path);
    int n = 0;
    for (char *p = file; (p = strchr(p, '\n')); p++) n++;
    cr_assert_eq(n, 10);
}

Test(trace_hub, a_wait_counts_entries_already_there)
{
    new_trace(0);
    run_op(r, 0x28, 1);
    run_op(r, 0x2a, 2);
    run_op(r, 0x28, 3);
    sc_trace_filter f;
    sc_trace_filter_init(&f);
    snprintf(f.op, sizeof(f.op), "READ_10");
    long m;
    uint64_t next;
    cr_assert_eq(sc_trace_wait(t, &f, 0, 2, 0, NULL, &m, &next), 0);
    cr_assert_eq(m, 2);
    cr_assert_eq(next, 3);
    cr_assert_eq(sc_trace_wait(t, &f, 0, 1, 0, NULL, &m, &next), 0);
    cr_assert_eq(next, 1);
    /* Continuing from there: one more. */
    cr_assert_eq(sc_trace_wait(t, &f, next, 1, 0, NULL, &m, &next), 0);
    cr_assert_eq(next, 3);
    cr_assert_eq(sc_trace_wait(t, &f, 0, 0, 0, NULL, &m, &next), 0);
    cr_assert_eq(m, 0);
    cr_assert_eq(next, 0);
}

Test(trace_hub, a_wait_that_nothing_satisfies_times_out)
{
    new_trace(0);
    run_op(r, 0x28, 1);
    sc_trace_filter f;
    sc_trace_filter_init(&f);
    snprintf(f.op, sizeof(f.op), "WRITE_10");
    long m = -1;
    uint64_t next = 99;
    cr_assert_eq(sc_trace_wait(t, &f, 0, 1, 30, NULL, &m, &next), -ETIMEDOUT);
    cr_assert_eq(m, 0);
    cr_assert_eq(next, 0);
    snprintf(f.op, sizeof(f.op), "READ_10");
    cr_assert_eq(sc_trace_wait(t, &f, 0, 2, 0, NULL, &m, &next), -ETIMEDOUT);
    cr_assert_eq(m, 1);
    cr_assert_eq(next, 1);
}

typedef struct later {
    th_rules *rules;
    sc_trace *t;
    int n;
} later;

static void *issue_later(void *arg)
{
    later *x = arg;
    /* Start after the wait: the cursor says nothing came yet; the wait cannot be seen
     * blocking, so this gives it a head start (the result is the same either way). */
    usleep(20000);
    for (int i = 0; i < x->n; i++) run_op(x->rules, 0x2a, (uint64_t)i);
    return NULL;
}

Test(trace_hub, a_wait_is_satisfied_by_commands_from_another_thread)
{
    new_trace(0);
    run_op(r, 0x2a, 0); /* before the wait's cursor: does not count */
    uint64_t from = sc_trace_cursor(t);
    later x = {r, t, 3};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, issue_later, &x), 0);
    sc_trace_filter f;
    sc_trace_filter_init(&f);
    snprintf(f.device, sizeof(f.device), "d0");
    snprintf(f.op, sizeof(f.op), "WRITE_10");
    long m;
    uint64_t next;
    int rc = sc_trace_wait(t, &f, from, 3, 60000, NULL, &m, &next);
    pthread_join(th, NULL);
    cr_assert_eq(rc, 0);
    cr_assert_eq(m, 3);
    cr_assert_eq(next, 4);
}

typedef struct waiter {
    sc_trace *t;
    volatile int stop;
    int rc;
    long m;
} waiter;

static void *wait_forever(void *arg)
{
    waiter *w = arg;
    uint64_t next;
    sc_trace_filter f;
    sc_trace_filter_init(&f);
    snprintf(f.op, sizeof(f.op), "WRITE_10");
    w->rc = sc_trace_wait(w->t, &f, 0, 1000, -1, &w->stop, &w->m, &next);
    return NULL;
}

Test(trace_hub, a_stop_flag_and_a_wake_end_a_wait)
{
    new_trace(0);
    waiter w = {.t = t};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, wait_forever, &w), 0);
    run_op(r, 0x2a, 0);
    __atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
    sc_trace_wake(t);
    pthread_join(th, NULL);
    cr_assert_eq(w.rc, -EINTR);
    cr_assert_leq(w.m, 1);
}

static long count(const sc_trace_filter *f)
{
    long m;
    uint64_t next;
    int rc = sc_trace_wait(t, f, 0, 1000, 0, NULL, &m, &next);
    cr_assert_eq(rc, -ETIMEDOUT);
    return m;
}

Test(trace_hub, filters_match_as_expect_trace_does)
{
    new_trace(0);
    th_rules *k;
    cr_assert_eq(th_rules_new(NULL, &k, "d1", th_disk_handle, d, 512, NULL), 0);
    sc_trace_attach(t, k);
    th_rule x;
    th_rule_init(&x);
    snprintf(x.name, sizeof(x.name), "busy7");
    x.match.lba_set = true;
    x.match.lba_lo = x.match.lba_hi = 7;
    x.action.status = TH_STATUS_BUSY;
    cr_assert_geq(th_rules_add(r, &x, -1), 0);
    run_op(r, 0x28, 7);  /* busy7 */
    run_op(r, 0x28, 1);  /* good */
    run_op(r, 0x2a, 7);  /* busy7 */
    run_op(k, 0x28, 70); /* d1, op 0x28 unnamed */
    th_sense ua = th_sense_make(TH_KEY_UNIT_ATTENTION, TH_ASC_CAPACITY_CHANGED);
    th_rules_queue_ua(r, &ua);
    run_op(r, 0x28, 2); /* unit_attention */
    uint16_t ids[] = {1, 2};
    th_rules_on_tmr(r, TH_TMR_ABORT_TASK, ids, 2);
    th_rules_on_tmr(k, TH_TMR_LUN_RESET, ids, 0);
    sc_trace_attach(NULL, k);
    th_rules_free(k);

    sc_trace_filter f;
    sc_trace_filter_init(&f);
    cr_assert_eq(count(&f), 5); /* commands only */
    snprintf(f.device, sizeof(f.device), "d0");
    cr_assert_eq(count(&f), 4);
    snprintf(f.op, sizeof(f.op), "READ_10");
    cr_assert_eq(count(&f), 3);
    f.lba_set = true;
    f.lba = 7;
    cr_assert_eq(count(&f), 1);
    f.lba_set = false;
    f.status = TH_STATUS_BUSY;
    cr_assert_eq(count(&f), 1);
    f.op[0] = '\0';
    cr_assert_eq(count(&f), 2);
    snprintf(f.rule, sizeof(f.rule), "busy7");
    cr_assert_eq(count(&f), 2);
    f.status = -1;
    snprintf(f.rule, sizeof(f.rule), "unit_attention");
    cr_assert_eq(count(&f), 1);
    snprintf(f.rule, sizeof(f.rule), "busy");
    cr_assert_eq(count(&f), 0);

    sc_trace_filter_init(&f);
    snprintf(f.device, sizeof(f.device), "d1");
    snprintf(f.op, sizeof(f.op), "0x28"); /* d1 has no op names */
    cr_assert_eq(count(&f), 1);
    snprintf(f.op, sizeof(f.op), "READ_10");
    cr_assert_eq(count(&f), 0);

    sc_trace_filter_init(&f);
    snprintf(f.tmr, sizeof(f.tmr), "ABORT_TASK");
    cr_assert_eq(count(&f), 1);
    snprintf(f.tmr, sizeof(f.tmr), "LUN_RESET");
    cr_assert_eq(count(&f), 1);
    snprintf(f.device, sizeof(f.device), "d0");
    cr_assert_eq(count(&f), 0);
    f.device[0] = '\0';
    f.status = 0; /* a command's field never matches a TMR */
    cr_assert_eq(count(&f), 0);
}

Test(trace_hub, a_device_detached_mid_stream_keeps_its_entries)
{
    new_trace(0);
    th_disk *d1 = test_disk(64, 512);
    th_rules *k;
    cr_assert_eq(th_rules_new(NULL, &k, "d1", th_disk_handle, d1, 512, th_disk_op_name), 0);
    sc_trace_attach(t, k);
    run_op(r, 0x28, 0);
    run_op(k, 0x28, 1);
    run_op(k, 0x2a, 2);
    sc_trace_attach(NULL, k);
    run_op(k, 0x28, 3); /* not traced */
    cr_assert_eq(sc_trace_cursor(t), 3);
    th_rules_free(k);
    th_disk_free(d1);
    run_op(r, 0x2a, 4);
    char *lines;
    uint64_t next;
    cr_assert_eq(sc_trace_read(t, 0, 0, &lines, &next), 0);
    cr_assert_eq(next, 4);
    cr_assert(strstr(lines, "{\"seq\":1,") < strstr(lines, "\"device\":\"d1\",\"id\":0,\"op\":"
                                                           "\"READ_10\""),
              "%s", lines);
    cr_assert(strstr(lines, "\"device\":\"d1\",\"id\":0,\"op\":\"WRITE_10\""), "%s", lines);
    cr_assert(!strstr(lines, "\"lba\":3,"), "%s", lines);
    cr_assert(strstr(lines, "{\"seq\":3,") < strstr(lines, "\"lba\":4,"), "%s", lines);
    free(lines);
    sc_trace_filter f;
    sc_trace_filter_init(&f);
    snprintf(f.device, sizeof(f.device), "d1");
    cr_assert_eq(count(&f), 2);
}

Test(trace_hub, a_tmr_keeps_the_first_ids_and_their_total)
{
    new_trace(0);
    uint16_t ids[40];
    for (int i = 0; i < 40; i++) ids[i] = (uint16_t)(100 + i);
    th_rules_on_tmr(r, TH_TMR_ABORT_TASK_SET, ids, 40);
    char *lines;
    uint64_t next;
    cr_assert_eq(sc_trace_read(t, 0, 0, &lines, &next), 0);
    cr_assert(strstr(lines, "[100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115]"
                            ",\"ids_total\":40}\n"),
              "%s", lines);
    free(lines);
    char *file = slurp(path);
    cr_assert(strstr(file, ",138,139]}\n"), "%s", file);
}

Test(trace_hub, a_bad_path_is_an_error_with_the_reason)
{
    char err[256];
    sc_trace *x = NULL;
    cr_assert_eq(sc_trace_new("/nonexistent-dir/trace.jsonl", 0, &x, err, sizeof(err)), -ENOENT);
    cr_assert(x == NULL);
    cr_assert(strstr(err, "/nonexistent-dir/trace.jsonl") && strstr(err, "No such file"), "%s",
              err);
}

/* Threads issuing commands on devices attached to one hub, one device attached and
 * detached over and over, waiters and a reader at once (the TSan lane runs this). */
#define N_DEV  3
#define N_CMDS 300

typedef struct stress {
    sc_trace *t;
    th_rules *rules[N_DEV + 1];
    atomic_bool done;
    atomic_bool writers_gone; /* the reader's end: nothing can add entries any more */
    int wait_rc[N_DEV];
    long wait_m[N_DEV];
    uint64_t read_to;
    int read_bad;
} stress;
static stress S;

static void *stress_issue(void *arg)
{
    th_rules *rules = arg;
    for (int i = 0; i < N_CMDS; i++) run_op(rules, i % 3 ? 0x28 : 0x2a, (uint64_t)(i % 64));
    return NULL;
}

static void *stress_toggle(void *arg)
{
    (void)arg;
    for (int i = 0; !atomic_load(&S.done); i++) {
        sc_trace_attach(i % 2 ? NULL : S.t, S.rules[N_DEV]);
        run_op(S.rules[N_DEV], 0x28, 0);
    }
    sc_trace_attach(NULL, S.rules[N_DEV]);
    return NULL;
}

static void *stress_wait(void *arg)
{
    int i = (int)(intptr_t)arg;
    sc_trace_filter f;
    sc_trace_filter_init(&f);
    snprintf(f.device, sizeof(f.device), "s%d", i);
    uint64_t next;
    S.wait_rc[i] = sc_trace_wait(S.t, &f, 0, N_CMDS, 60000, NULL, &S.wait_m[i], &next);
    return NULL;
}

static void *stress_read(void *arg)
{
    (void)arg;
    uint64_t pos = 0;
    while (!atomic_load(&S.writers_gone) || pos < sc_trace_cursor(S.t)) {
        char *lines;
        uint64_t next;
        if (sc_trace_read(S.t, pos, 7, &lines, &next)) {
            S.read_bad++;
            break;
        }
        for (char *p = lines; *p; p = strchr(p, '\n') + 1, pos++) {
            char want[40];
            snprintf(want, sizeof(want), "{\"seq\":%llu,", (unsigned long long)pos);
            if (strncmp(p, want, strlen(want))) S.read_bad++;
        }
        if (pos != next) S.read_bad++;
        free(lines);
    }
    S.read_to = pos;
    return NULL;
}

Test(trace_hub, threads_issue_wait_read_and_attach_at_once)
{
    char err[256];
    cr_assert_eq(sc_trace_new(NULL, 1 << 16, &S.t, err, sizeof(err)), 0, "%s", err);
    th_disk *disks[N_DEV + 1];
    for (int i = 0; i <= N_DEV; i++) {
        char name[8];
        snprintf(name, sizeof(name), "s%d", i);
        disks[i] = test_disk(64, 512);
        cr_assert_eq(
            th_rules_new(NULL, &S.rules[i], name, th_disk_handle, disks[i], 512, th_disk_op_name),
            0);
        if (i < N_DEV) sc_trace_attach(S.t, S.rules[i]);
    }
    pthread_t issuers[N_DEV], waiters[N_DEV], toggler, reader;
    for (int i = 0; i < N_DEV; i++)
        cr_assert_eq(pthread_create(&waiters[i], NULL, stress_wait, (void *)(intptr_t)i), 0);
    cr_assert_eq(pthread_create(&reader, NULL, stress_read, NULL), 0);
    cr_assert_eq(pthread_create(&toggler, NULL, stress_toggle, NULL), 0);
    for (int i = 0; i < N_DEV; i++)
        cr_assert_eq(pthread_create(&issuers[i], NULL, stress_issue, S.rules[i]), 0);
    for (int i = 0; i < N_DEV; i++) pthread_join(issuers[i], NULL);
    for (int i = 0; i < N_DEV; i++) pthread_join(waiters[i], NULL);
    atomic_store(&S.done, true);
    pthread_join(toggler, NULL);
    atomic_store(&S.writers_gone, true);
    pthread_join(reader, NULL);
    for (int i = 0; i < N_DEV; i++) {
        cr_assert_eq(S.wait_rc[i], 0, "waiter %d: %d", i, S.wait_rc[i]);
        cr_assert_eq(S.wait_m[i], N_CMDS);
    }
    cr_assert_eq(S.read_bad, 0);
    uint64_t total = sc_trace_cursor(S.t);
    cr_assert_eq(S.read_to, total);
    sc_trace_filter f;
    sc_trace_filter_init(&f);
    long m;
    uint64_t next;
    cr_assert_eq(sc_trace_wait(S.t, &f, 0, (long)total + 1, 0, NULL, &m, &next), -ETIMEDOUT);
    cr_assert_eq((uint64_t)m, total);
    snprintf(f.device, sizeof(f.device), "s%d", N_DEV);
    cr_assert_eq(sc_trace_wait(S.t, &f, 0, (long)total + 1, 0, NULL, &m, &next), -ETIMEDOUT);
    cr_assert_eq((uint64_t)m, total - N_DEV * N_CMDS);
    for (int i = 0; i <= N_DEV; i++) {
        sc_trace_attach(NULL, S.rules[i]);
        th_rules_free(S.rules[i]);
        th_disk_free(disks[i]);
    }
    sc_trace_free(S.t);
}
