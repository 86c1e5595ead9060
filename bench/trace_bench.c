/* Microbenchmark: the scenario path (rules in front of the disk, every command recorded in a
 * session trace, with and without its JSON-lines file) against the bare path (the disk's
 * handler alone), on the fake kernel. Prints commands/s and each path's ratio to the bare
 * one, for 4 KiB READs in batches of 64 per notification and one at a time (qd1).
 *
 *   bench-trace [SECONDS [ROUNDS]]  the table: medians of ROUNDS rounds (default 3 of 1 s)
 *   bench-trace --count N PATH QD   exactly N commands of one path (bare, rules, trace,
 *                                   file) at QD (1 or 64): for callgrind, run twice with
 *                                   two N and divide the difference by theirs
 *
 * The fake kernel's queueing and reaping is inside the timing (the same for every path), so
 * a ratio understates the difference in the user-space work alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "scenario/trace.h"
#include "th/th.h"

typedef enum { BARE, RULES, TRACE, FILED } path_kind;
static const char *const names[] = {"bare", "rules", "trace", "file"};
static const char *const labels[] = {
    "bare (disk handler only)",
    "rules, no trace",
    "rules + session trace in memory",
    "rules + session trace + file",
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct rig {
    th_ctx *ctx;
    th_fake_kernel *fk;
    th_backend *be;
    th_disk *disk;
    th_rules *rules;
    sc_trace *trace;
    th_device *dev;
    char path[64];
} rig;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench-trace: %s: %s\n", what, why);
    exit(1);
}

static void rig_open(rig *g, path_kind k, int spin)
{
    memset(g, 0, sizeof(*g));
    char err[256];
    if (th_ctx_new(&g->ctx) || th_fk_new(&g->fk, 1 << 20, 8 << 20, 0x0f) ||
        th_backend_memory_new(64 << 20, &g->be, err, sizeof(err)))
        die("setup", "out of memory");
    th_disk_config dc;
    th_disk_config_init(&dc);
    if (th_disk_new(&dc, g->be, &g->disk, err, sizeof(err))) die("disk", err);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = "bench";
    cfg.size = 64 << 20;
    cfg.spin_polls = spin;
    cfg.fake_kernel = g->fk;
    cfg.handler = th_disk_handle;
    cfg.handler_arg = g->disk;
    if (k != BARE) {
        if (th_rules_new(g->ctx, &g->rules, "d0", th_disk_handle, g->disk, 512, th_disk_op_name))
            die("rules", th_ctx_errmsg(g->ctx));
        cfg.handler = th_rules_handle;
        cfg.handler_arg = g->rules;
    }
    if (k == FILED) {
        snprintf(g->path, sizeof(g->path), "/tmp/bench-trace-XXXXXX");
        int fd = mkstemp(g->path);
        if (fd < 0) die("mkstemp", strerror(errno));
        close(fd);
    }
    if (k >= TRACE) {
        if (sc_trace_new(k == FILED ? g->path : NULL, 0, &g->trace, err, sizeof(err)))
            die("trace", err);
        sc_trace_attach(g->trace, g->rules);
    }
    if (th_device_open(g->ctx, &cfg, &g->dev)) die("open", th_ctx_errmsg(g->ctx));
}

static void rig_close(rig *g)
{
    th_device_close(g->dev);
    if (g->trace) sc_trace_attach(NULL, g->rules);
    sc_trace_free(g->trace);
    th_rules_free(g->rules);
    th_disk_free(g->disk);
    th_fk_free(g->fk);
    th_ctx_free(g->ctx);
    if (g->path[0]) unlink(g->path);
}

/* One batch of qd 4 KiB READs: queued, one notification, all reaped. */
static void batch(rig *g, int qd, uint64_t *lba)
{
    uint8_t cdb[16];
    th_fk_completion comp[64];
    for (int i = 0; i < qd; i++) {
        size_t n = th_cdb_read(cdb, 10, (*lba)++ * 8 % 131000, 8);
        if (th_fk_queue_cmd(g->fk, cdb, n, NULL, 0, 4096, NULL)) die("queue", "ring full");
    }
    th_fk_notify(g->fk);
    for (int got = 0; got < qd;) {
        int k = th_fk_reap(g->fk, comp, 64, 1000);
        if (k < 0) die("reap", th_fk_errmsg(g->fk));
        if (k == 0) die("reap", "no completion within 1 s");
        for (int i = 0; i < k; i++)
            if (comp[i].status) die("reap", "a READ failed");
        got += k;
    }
}

static double rate(path_kind k, int qd, double seconds)
{
    rig g;
    rig_open(&g, k, 5000);
    uint64_t lba = 0, done = 0;
    for (int i = 0; i < 256 / qd; i++) batch(&g, qd, &lba); /* warm: pages, caches */
    double t0 = now(), t;
    do {
        for (int i = 0; i < 1024 / qd; i++) batch(&g, qd, &lba);
        done += 1024;
        t = now();
    } while (t - t0 < seconds);
    rig_close(&g);
    return (double)done / (t - t0);
}

static double median(double *v, int n)
{
    for (int i = 1; i < n; i++) /* a handful: insertion sort */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "--count")) {
        long n = atol(argv[2]);
        int qd = atoi(argv[4]);
        int k = -1;
        for (int i = 0; i < 4; i++)
            if (!strcmp(argv[3], names[i])) k = i;
        if (n <= 0 || k < 0 || (qd != 1 && qd != 64))
            die("usage", "--count N bare|rules|trace|file 1|64");
        rig g;
        rig_open(&g, (path_kind)k, 0); /* no spinning: callgrind counts work, not polls */
        uint64_t lba = 0;
        for (long i = 0; i < n / qd; i++) batch(&g, qd, &lba);
        rig_close(&g);
        return 0;
    }
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    if (rounds < 1 || rounds > 15) die("usage", "[SECONDS [ROUNDS (1-15)]]");
    printf("4 KiB READ(10) from a memory disk on the fake kernel, spin 5000; %d rounds of %.1f s "
           "cells, the paths in turn in each; medians\n",
           rounds, secs);
    double cells[4][2][15];
    for (int i = 0; i < rounds; i++)
        for (int k = 0; k < 4; k++)
            cells[k][0][i] = rate((path_kind)k, 64, secs),
            cells[k][1][i] = rate((path_kind)k, 1, secs);
    printf("%-36s %14s %7s %14s %7s\n", "path", "qd64 cmds/s", "ratio", "qd1 cmds/s", "ratio");
    double med[4][2];
    for (int k = 0; k < 4; k++)
        for (int q = 0; q < 2; q++) med[k][q] = median(cells[k][q], rounds);
    for (int k = 0; k < 4; k++)
        printf("%-36s %14.0f %7.2f %14.0f %7.2f\n", labels[k], med[k][0], med[k][0] / med[0][0],
               med[k][1], med[k][1] / med[0][1]);
    return 0;
}
