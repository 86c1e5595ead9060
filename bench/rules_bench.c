/* Microbenchmark: the response table's cost per command through the library. Fake
 * 4 KiB READ(10)s go through th_rules_handle in front of a memory disk, with 0 to
 * 100,000 LBA-range rules that the commands fall between (each command lands in a gap
 * of the ranges, so the interval search goes all the way down), and with the same
 * rules plus one at the end of the table that matches every command. Then the cost of
 * adding and removing rules at run time with 100,000 in the table.
 *
 *   bench-rules [SECONDS]            the table (commands per CPU-second, best of three
 *                                    cells, and ratios vs 1 rule; 1 s a row by default)
 *   bench-rules --only N --commands M   M commands against N rules, nothing printed but
 *                                    a line; for callgrind --toggle-collect=run_cmds */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "th/th.h"

#define STRIDE   16   /* rule i covers [STRIDE*i + 8, STRIDE*i + 15] */
#define CMD_LBAS 8192 /* commands read [STRIDE*j, STRIDE*j + 7], j < CMD_LBAS */

/* The thread's CPU time: on a shared machine, time spent descheduled is not ours. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct rig {
    th_backend *be;
    th_disk *disk;
    th_rules *rules;
    th_cmd *cmd[CMD_LBAS];
} rig;

static void die(const char *what)
{
    fprintf(stderr, "bench-rules: %s\n", what);
    exit(1);
}

static th_rule range_rule(size_t i)
{
    th_rule x;
    th_rule_init(&x);
    snprintf(x.name, sizeof(x.name), "r%zu", i);
    x.match.op = 0x28;
    x.match.lba_set = true;
    x.match.lba_lo = STRIDE * (uint64_t)i + 8;
    x.match.lba_hi = x.match.lba_lo + 7;
    x.action.pass = false;
    x.action.sense_set = true;
    x.action.sense = (th_sense){.key = 0x3, .asc = 0x11};
    return x;
}

static void rig_open(rig *g, size_t n_rules, bool one_matches)
{
    char err[256];
    if (th_backend_memory_new((uint64_t)STRIDE * CMD_LBAS * 512, &g->be, err, sizeof(err)))
        die(err);
    th_disk_config dc;
    th_disk_config_init(&dc);
    if (th_disk_new(&dc, g->be, &g->disk, err, sizeof(err))) die(err);
    if (th_rules_new(NULL, &g->rules, "bench", th_disk_handle, g->disk, 512, NULL))
        die("th_rules_new");
    for (size_t i = 0; i < n_rules; i++) {
        th_rule x = range_rule(i);
        if (th_rules_add(g->rules, &x, -1) < 0) die("th_rules_add");
    }
    if (one_matches) {
        th_rule x;
        th_rule_init(&x);
        snprintf(x.name, sizeof(x.name), "all");
        x.match.op = 0x28;
        x.action.pass = false;
        x.action.status = 0; /* GOOD, without the disk: the rule's own cost */
        if (th_rules_add(g->rules, &x, -1) < 0) die("th_rules_add");
    }
    for (size_t j = 0; j < CMD_LBAS; j++) {
        uint8_t cdb[16];
        size_t len = th_cdb_read(cdb, 10, STRIDE * j, 8);
        if (!(g->cmd[j] = th_fake_cmd_new(cdb, len, NULL, 0, 4096))) die("th_fake_cmd_new");
    }
}

static void rig_close(rig *g)
{
    for (size_t j = 0; j < CMD_LBAS; j++) th_fake_cmd_free(g->cmd[j]);
    th_rules_free(g->rules);
    th_disk_free(g->disk); /* and its backend */
}

/* The measured loop (callgrind collects only this function with --toggle-collect). */
__attribute__((noinline)) uint64_t run_cmds(rig *g, uint64_t count)
{
    uint64_t bad = 0;
    for (uint64_t k = 0; k < count; k++) {
        th_cmd *c = g->cmd[k % CMD_LBAS];
        th_fake_cmd_run(c, th_rules_handle, g->rules);
        bad += th_cmd_get_status(c) != 0;
    }
    return bad;
}

/* Commands per CPU-second, the best of three cells (noise only ever slows a cell). */
static double rate(size_t n_rules, bool one_matches, double seconds)
{
    rig g;
    rig_open(&g, n_rules, one_matches);
    run_cmds(&g, CMD_LBAS); /* warm: every command once */
    double best = 0;
    uint64_t bad = 0;
    for (int cell = 0; cell < 3; cell++) {
        uint64_t done = 0;
        double t0 = cpu_now(), t;
        do {
            bad += run_cmds(&g, 8192);
            done += 8192;
            t = cpu_now();
        } while (t - t0 < seconds / 3);
        if ((double)done / (t - t0) > best) best = (double)done / (t - t0);
    }
    rig_close(&g);
    if (bad) die("a command that should have passed did not");
    return best;
}

/* CPU microseconds per call of add (at index at) followed by remove, with n in the table. */
static void add_remove(size_t n, double seconds)
{
    rig g;
    rig_open(&g, n, false);
    const char *where[] = {"at 0", "in the middle", "at the end"};
    int index[] = {0, (int)(n / 2), -1};
    for (int w = 0; w < 3; w++) {
        th_rule x = range_rule(n + 1);
        snprintf(x.name, sizeof(x.name), "extra");
        uint64_t k = 0;
        double ta = 0, tr = 0, t0 = cpu_now();
        do {
            double a = cpu_now();
            for (int i = 0; i < 256; i++) {
                th_rules_add(g.rules, &x, index[w]);
                th_rules_remove(g.rules, "extra");
            }
            ta += cpu_now() - a;
            k += 256;
        } while (cpu_now() - t0 < seconds);
        /* remove alone: add 256, time removing them */
        double rm = 0;
        for (int rep = 0; rep < 8; rep++) {
            for (int i = 0; i < 256; i++) th_rules_add(g.rules, &x, index[w]);
            double a = cpu_now();
            for (int i = 0; i < 256; i++) th_rules_remove(g.rules, "extra");
            rm += cpu_now() - a;
        }
        tr = rm / (8 * 256);
        printf("  add+remove %-14s %7.2f us   remove alone %6.2f us\n", where[w], ta / k * 1e6,
               tr * 1e6);
    }
    rig_close(&g);
    rig h;
    double a = cpu_now();
    rig_open(&h, n, false);
    printf("  %zu rules added from empty: %.1f ms (%.2f us each, with the rig's setup)\n", n,
           (cpu_now() - a) * 1e3, (cpu_now() - a) / (double)n * 1e6);
    rig_close(&h);
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "--only") && !strcmp(argv[3], "--commands")) {
        rig g;
        size_t n = strtoul(argv[2], NULL, 10);
        uint64_t count = strtoull(argv[4], NULL, 10);
        rig_open(&g, n, false);
        uint64_t bad = run_cmds(&g, count);
        rig_close(&g);
        printf("%zu rules, %llu commands, %llu not GOOD\n", n, (unsigned long long)count,
               (unsigned long long)bad);
        return bad != 0;
    }
    if (argc == 3 && !strcmp(argv[1], "--add-remove")) {
        add_remove(100000, atof(argv[2]));
        return 0;
    }
    double seconds = argc > 1 ? atof(argv[1]) : 1;
    size_t counts[] = {0, 1, 100, 1000, 10000, 100000};
    double base = 0, one_match_base = 0;
    printf("4 KiB READ(10) through th_rules_handle + memory disk, commands per CPU-second,\n"
           "best of 3 cells of %.2f s\n",
           seconds / 3);
    printf("%8s %14s %9s %18s %9s\n", "rules", "none match/s", "vs 1", "last matches/s", "vs 1");
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        double miss = rate(counts[i], false, seconds);
        double hit = rate(counts[i], true, seconds);
        if (counts[i] == 1) base = miss, one_match_base = hit;
        if (counts[i] == 0) {
            printf("%8zu %14.0f %9s %18.0f %9s\n", counts[i], miss, "", hit, "");
            continue;
        }
        printf("%8zu %14.0f %8.2fx %18.0f %8.2fx\n", counts[i], miss, base / miss, hit,
               one_match_base / hit);
    }
    printf("(vs 1: the per-command cost relative to 1 rule; the matching column's 1 rule is\n"
           " the matching one alone)\n");
    printf("add and remove at run time, 100000 rules in the table:\n");
    add_remove(100000, seconds);
    return 0;
}
