/* Microbenchmark: ring + dispatch + handler on the fake kernel.
 * Prints commands/s for no-data commands (TEST UNIT READY), 4 KiB READs from a memory
 * disk and a handler that costs about 20 us (a busy loop on CLOCK_MONOTONIC, standing
 * for real work), in batches of 64 per notification, on one thread (workers=1) and
 * with 2 and 4 workers, each figure the median of three runs and its ratio to one
 * thread. The fake kernel's own queueing and reaping is included in the time: a bound
 * on what the userspace side costs, not a kernel figure.
 * Usage: bench-ring [SECONDS_PER_RUN [WORKLOAD]] (WORKLOAD: tur, read, 20us). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "th/th.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* About 20 us of work per command, then GOOD. */
static int busy_handler(th_cmd *cmd, void *arg)
{
    (void)arg;
    double until = now() + 20e-6;
    while (now() < until) {
    }
    th_cmd_ok(cmd);
    return 0;
}

typedef enum { W_TUR, W_READ, W_BUSY } workload;
static const char *const names[] = {"TEST UNIT READY", "READ(10) 4 KiB", "20 us handler"};

static double run(workload w, int workers, double seconds, unsigned long long *kicks)
{
    th_ctx *ctx;
    th_fake_kernel *fk;
    th_backend *be;
    th_disk *disk;
    th_device *dev;
    th_ctx_new(&ctx);
    th_fk_new(&fk, 1 << 20, 8 << 20, 0x0f);
    th_backend_memory_new(64 << 20, &be, NULL, 0);
    th_disk_config dc;
    th_disk_config_init(&dc);
    th_disk_new(&dc, be, &disk, NULL, 0);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = "bench";
    cfg.size = 64 << 20;
    cfg.handler = w == W_BUSY ? busy_handler : th_disk_handle;
    cfg.handler_arg = disk;
    cfg.workers = workers;
    cfg.fake_kernel = fk;
    if (th_device_open(ctx, &cfg, &dev)) {
        fprintf(stderr, "open: %s\n", th_ctx_errmsg(ctx));
        exit(1);
    }
    uint8_t cdb[16];
    th_fk_completion comp[64];
    uint64_t done = 0, lba = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 64; i++) {
            size_t n =
                w == W_READ ? th_cdb_read(cdb, 10, (lba++ * 8) % 131000, 8) : th_cdb_tur(cdb);
            if (th_fk_queue_cmd(fk, cdb, n, NULL, 0, w == W_READ ? 4096 : 0, NULL)) exit(2);
        }
        th_fk_notify(fk);
        for (int got = 0; got < 64;) {
            int k = th_fk_reap(fk, comp, 64, 1000);
            if (k < 0) exit(3);
            got += k;
        }
        done += 64;
        t = now();
    } while (t - t0 < seconds);
    *kicks = (unsigned long long)th_device_kicks(dev);
    th_device_close(dev);
    th_disk_free(disk);
    th_fk_free(fk);
    th_ctx_free(ctx);
    return done / (t - t0);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    const char *only = argc > 2 ? argv[2] : NULL;
    static const char *const keys[] = {"tur", "read", "20us"};
    static const int counts[] = {1, 2, 4};
    printf("%-18s %8s %14s %8s %12s\n", "workload", "workers", "commands/s", "x 1 thr",
           "kicks/1000");
    for (int w = 0; w < 3; w++) {
        if (only && strcmp(only, keys[w])) continue;
        double one = 0;
        for (int c = 0; c < 3; c++) {
            double r[3];
            unsigned long long kicks = 0;
            double cmds = 0;
            /* Rounds interleave nothing else: medians of three damp a noisy machine. */
            for (int k = 0; k < 3; k++) {
                r[k] = run((workload)w, counts[c], secs, &kicks);
                cmds = r[k] * secs;
            }
            qsort(r, 3, sizeof(r[0]), cmp);
            if (c == 0) one = r[1];
            printf("%-18s %8d %14.0f %8.2f %12.1f\n", names[w], counts[c], r[1], r[1] / one,
                   cmds > 0 ? kicks * 1000.0 / cmds : 0);
        }
    }
    return 0;
}
