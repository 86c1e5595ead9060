/* The memory trace at its edges: TMRs naming nothing or every id, a ring small enough
 * to be overtaken by commands from several threads, a trace freed with a delayed command
 * in flight. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include "trace_fixture.h"

TestSuite(review_trace, .init = trace_setup, .fini = trace_teardown);

static char *slurp(const char *p)
{
    /* The writer thread writes the file in rounds: what was recorded is there after this. */
    if (t) cr_assert_eq(sc_trace_flush(t), 0);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* A TMR naming no command may come without an id array (UBSan saw memcpy(ids, NULL, 0)). */
Test(review_trace, an_empty_tmr_without_ids)
{
    new_trace(0);
    th_rules_on_tmr(r, TH_TMR_LUN_RESET, NULL, 0);
    char *lines;
    uint64_t next;
    cr_assert_eq(sc_trace_read(t, 0, 0, &lines, &next), 0);
    cr_assert(strstr(lines, "\"tmr\":\"LUN_RESET\",\"ids\":[]}\n"), "%s", lines);
    free(lines);
}

/* A TMR naming every id: the file has them all, the line is long. */
Test(review_trace, a_tmr_with_thousands_of_ids_is_one_line_in_the_file)
{
    new_trace(0);
    static uint16_t ids[65536];
    for (uint32_t i = 0; i < 65536; i++) ids[i] = (uint16_t)i;
    th_rules_on_tmr(r, TH_TMR_LUN_RESET, ids, 65536);
    char *file = slurp(path);
    cr_assert(strstr(file, ",65535]}\n"), "%.80s", file);
    char *lines;
    uint64_t next;
    cr_assert_eq(sc_trace_read(t, 0, 0, &lines, &next), 0);
    cr_assert(strstr(lines, ",15],\"ids_total\":65536}\n"), "%s", lines);
    free(lines);
}

/* A ring of 8 overtaken by commands answered on the callers' threads and on the rules'
 * timer thread (delayed writes) while one reader and one waiter chase it and the device
 * is attached and detached: reads stay in order, waits end in 0, -ETIMEDOUT or -ERANGE. */
typedef struct chase {
    atomic_bool done;
    int bad;
    long reads, ranges;
} chase;
static chase C;

/* Each thread its own blocks: two writers of one block would race on the backing memory,
 * which is the initiator's business, not the trace's. */
static void *chase_issue(void *arg)
{
    uint64_t base = (uint64_t)(uintptr_t)arg * 64;
    th_cmd *pending[64];
    int n = 0;
    for (int i = 0; i < 400; i++) {
        uint8_t cdb[16];
        static const uint8_t zero[512];
        bool w = i % 4 == 0;
        size_t len = w ? th_cdb_write(cdb, 10, base + (uint64_t)(i % 64), 1)
                       : th_cdb_read(cdb, 10, base + (uint64_t)(i % 64), 1);
        th_cmd *c = w ? th_fake_cmd_new(cdb, len, zero, sizeof(zero), 0)
                      : th_fake_cmd_new(cdb, len, NULL, 0, 512);
        if (th_fake_cmd_run(c, th_rules_handle, r) == TH_CMD_DEFERRED && n < 64) {
            pending[n++] = c;
            continue;
        }
        while (!th_fake_cmd_done(c)) usleep(100);
        th_fake_cmd_free(c);
        if (n == 64 || i == 399) {
            for (int k = 0; k < n; k++) {
                while (!th_fake_cmd_done(pending[k])) usleep(100);
                th_fake_cmd_free(pending[k]);
            }
            n = 0;
        }
    }
    for (int k = 0; k < n; k++) {
        while (!th_fake_cmd_done(pending[k])) usleep(100);
        th_fake_cmd_free(pending[k]);
    }
    return NULL;
}

static void *chase_read(void *arg)
{
    (void)arg;
    uint64_t pos = 0;
    while (!atomic_load(&C.done)) {
        char *lines;
        uint64_t next;
        int rc = sc_trace_read(t, pos, 0, &lines, &next);
        if (rc == -ERANGE) {
            C.ranges++;
            uint64_t o = sc_trace_oldest(t);
            if (o <= pos) C.bad++;
            pos = o;
            continue;
        }
        if (rc) {
            C.bad++;
            break;
        }
        for (char *p = lines; *p; p = strchr(p, '\n') + 1, pos++) {
            char want[40];
            snprintf(want, sizeof(want), "{\"seq\":%llu,", (unsigned long long)pos);
            if (strncmp(p, want, strlen(want))) C.bad++;
        }
        if (pos != next) C.bad++;
        C.reads++;
        free(lines);
    }
    return NULL;
}

static void *chase_wait(void *arg)
{
    (void)arg;
    uint64_t from = 0;
    while (!atomic_load(&C.done)) {
        long m;
        uint64_t next;
        int rc = sc_trace_wait(t, NULL, from, 5, 20, NULL, &m, &next);
        if (rc == -ERANGE) {
            from = sc_trace_oldest(t);
        } else if (rc == 0) {
            if (m != 5 || next <= from) C.bad++;
            from = next;
        } else if (rc != -ETIMEDOUT) {
            C.bad++;
        }
    }
    return NULL;
}

static void *chase_toggle(void *arg)
{
    (void)arg;
    for (int i = 0; !atomic_load(&C.done); i++) {
        sc_trace_attach(i % 3 ? t : NULL, r);
        usleep(200);
    }
    return NULL;
}

Test(review_trace, a_small_ring_overtaken_while_readers_waiters_and_attach_run)
{
    new_trace(8);
    th_rule x;
    th_rule_init(&x);
    x.match.op = 0x2a;
    x.action.pass = true;
    x.action.delay_ms = 1;
    cr_assert_geq(th_rules_add(r, &x, -1), 0);
    pthread_t is[2], rd, wt, tg;
    cr_assert_eq(pthread_create(&rd, NULL, chase_read, NULL), 0);
    cr_assert_eq(pthread_create(&wt, NULL, chase_wait, NULL), 0);
    cr_assert_eq(pthread_create(&tg, NULL, chase_toggle, NULL), 0);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&is[i], NULL, chase_issue, (void *)(uintptr_t)i), 0);
    for (int i = 0; i < 2; i++) pthread_join(is[i], NULL);
    atomic_store(&C.done, true);
    pthread_join(tg, NULL);
    pthread_join(rd, NULL);
    pthread_join(wt, NULL);
    cr_assert_eq(C.bad, 0);
    cr_assert_gt(C.reads, 0);

    /* Detached with a delayed write in flight, the trace freed: the write completes on
     * the timer thread with no sink (ASan would see a freed trace touched). */
    sc_trace_attach(t, r);
    x.action.delay_ms = 30;
    cr_assert_geq(th_rules_add(r, &x, 0), 0);
    uint8_t cdb[16];
    static const uint8_t zero[512];
    th_cmd *c = th_fake_cmd_new(cdb, th_cdb_write(cdb, 10, 1, 1), zero, sizeof(zero), 0);
    cr_assert_eq(th_fake_cmd_run(c, th_rules_handle, r), TH_CMD_DEFERRED);
    sc_trace_attach(NULL, r);
    sc_trace_free(t);
    t = NULL;
    while (!th_fake_cmd_done(c)) usleep(1000);
    th_fake_cmd_free(c);
}

/* Without memory for a long line the sinks wrote the cut line with no "\n", and the next
 * entry ran on in the same line (seen with malloc failing over 1024 bytes); they now
 * write th_trace_entry_json_fit's line, which still parses. */
Test(review_trace, a_line_fit_into_the_sinks_buffer_is_still_one_json_line)
{
    static uint16_t ids[400];
    for (int i = 0; i < 400; i++) ids[i] = (uint16_t)(10000 + i);
    th_trace_entry e = {.t_ns = 2000000000ull,
                        .device = "d0",
                        .is_tmr = true,
                        .rule_id = -1,
                        .tmr_type = TH_TMR_LUN_RESET,
                        .ids = ids,
                        .n_ids = 400,
                        .ids_total = 400};
    char line[1024];
    cr_assert_geq(th_trace_entry_json(&e, 1.0, line, sizeof(line)), sizeof(line));
    size_t n = th_trace_entry_json_fit(&e, 1.0, line, sizeof(line));
    cr_assert_lt(n, sizeof(line));
    cr_assert_eq(n, strlen(line));
    cr_assert(!strncmp(line,
                       "{\"t\":1.000000,\"device\":\"d0\",\"tmr\":\"LUN_RESET\",\"ids\":[10000,",
                       58),
              "%s", line);
    cr_assert(strstr(line, "],\"ids_total\":400}\n") == line + n - 19, "%s", line);
    cr_assert_eq(strchr(line, '\n'), line + n - 1);

    /* A command whose names do not fit: op in hex, then the rule by id. */
    static char name[1500];
    memset(name, 'N', sizeof(name) - 1);
    uint8_t cdb[1] = {0xc1};
    th_trace_entry c = {.device = "d0",
                        .op = 0xc1,
                        .op_name = name,
                        .cdb = cdb,
                        .cdb_len = 1,
                        .rule_id = 3,
                        .rule_name = "r"};
    n = th_trace_entry_json_fit(&c, 0, line, sizeof(line));
    cr_assert_str_eq(line,
                     "{\"t\":0.000000,\"device\":\"d0\",\"id\":0,\"op\":\"0xC1\",\"cdb\":\"c1\","
                     "\"status\":0,\"sense\":null,\"data_in\":0,\"buffer\":0,\"rule\":\"r\","
                     "\"aborted\":false}\n");
    cr_assert_eq(n, strlen(line));
    c.rule_name = name;
    n = th_trace_entry_json_fit(&c, 0, line, sizeof(line));
    cr_assert(strstr(line, ",\"rule\":3,\"aborted\":false}\n"), "%s", line);
    cr_assert_eq(n, strlen(line));

    /* Nothing to drop (a device name longer than the buffer): cut, "\n" last. */
    c.device = name;
    n = th_trace_entry_json_fit(&c, 0, line, sizeof(line));
    cr_assert_eq(n, sizeof(line) - 1);
    cr_assert_eq(strlen(line), n);
    cr_assert_eq(strchr(line, '\n'), line + n - 1);
}
