/* Microbenchmark: ring + dispatch + disk emulation on the fake kernel.
 * Prints commands/s for no-data commands (TEST UNIT READY) and 4 KiB READs from a
 * memory disk, in batches of 64 per notification, single-threaded and with workers.
 * The fake kernel's own queueing and reaping is included in the time: a bound on
 * what the userspace side costs, not a kernel figure. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "th/th.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double run(const char *label, bool read4k, int workers, double seconds)
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
    cfg.handler = th_disk_handle;
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
            size_t n = read4k ? th_cdb_read(cdb, 10, (lba++ * 8) % 131000, 8) : th_cdb_tur(cdb);
            if (th_fk_queue_cmd(fk, cdb, n, NULL, 0, read4k ? 4096 : 0, NULL)) exit(2);
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
    double rate = done / (t - t0);
    printf("%-34s %12.0f commands/s  (%llu in %.1f s, %llu kicks)\n", label, rate,
           (unsigned long long)done, t - t0, (unsigned long long)th_device_kicks(dev));
    th_device_close(dev);
    th_disk_free(disk);
    th_fk_free(fk);
    th_ctx_free(ctx);
    return rate;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    run("TEST UNIT READY, 1 thread", false, 0, secs);
    run("READ(10) 4 KiB, 1 thread", true, 0, secs);
    run("TEST UNIT READY, 2 workers", false, 2, secs);
    run("READ(10) 4 KiB, 2 workers", true, 2, secs);
    return 0;
}
