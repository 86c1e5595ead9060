/* The memory preflight: what a batch of devices is judged to need (each device, each
 * loopback target it makes, counted once), MemAvailable as /proc/meminfo gives it, and a
 * refusal that gives the figures and the two ways out. */
#include <fcntl.h>
#include <unistd.h>
#include "helpers.h"
#include "scenario/mem_budget.h"

static sc_device dev(const char *target, bool iscsi)
{
    sc_device d;
    memset(&d, 0, sizeof(d));
    snprintf(d.target, sizeof(d.target), "%s", target);
    d.iscsi = iscsi;
    d.external = iscsi;
    return d;
}

Test(mem_budget, each_own_target_counts_and_a_shared_one_counts_once)
{
    sc_device d[6] = {dev("", false),       dev("", false),       dev("naa.t2", false),
                      dev("naa.t2", false), dev("naa.t1", false), dev("", true)};
    char names[6][40];
    const char *batch[6];
    for (int i = 0; i < 6; i++)
        batch[i] = sc_mem_target_name(&d[i], 0x5001405000000a00ull + (uint64_t)i, names[i])
                       ? names[i]
                       : NULL;
    cr_assert_str_eq(names[0], "naa.5001405000000a00",
                     "a device's own target, as device.c names it");
    cr_assert_null(batch[5], "an iSCSI export makes no loopback target");
    const char *live[] = {"naa.t1", NULL};
    /* two own, t2 once, t1 is a live device's, the iSCSI one makes none */
    cr_assert_eq(sc_mem_targets(batch, 6, live, 2), 3);
    cr_assert_eq(sc_mem_targets(batch, 6, NULL, 0), 4, "t1 is new without live devices");
    cr_assert_eq(sc_mem_targets(batch, 0, live, 2), 0);
    cr_assert_eq(sc_mem_need(6, 3), 6ull * SC_MEM_DEVICE + 3ull * SC_MEM_TARGET);
}

/* A device that names another's own target (naa.<its WWN>) shares it in the kernel: one
 * target, whether the other is in the batch or already live (the review's finding B). */
Test(mem_budget, naming_another_devices_own_target_shares_it)
{
    sc_device first = dev("", false), second = dev("naa.5001405000000b01", false);
    char a[40], b[40];
    const char *batch[2] = {NULL, NULL};
    cr_assert(sc_mem_target_name(&first, 0x5001405000000b01ull, a));
    cr_assert(sc_mem_target_name(&second, 0x5001405000000b02ull, b));
    batch[0] = a, batch[1] = b;
    cr_assert_eq(sc_mem_targets(batch, 2, NULL, 0), 1);
    const char *live[] = {a};
    cr_assert_eq(sc_mem_targets(batch + 1, 1, live, 1), 0);
}

/* Counted by sorting, not by comparing every pair: 60,000 devices (a scenario the model's
 * name index was built for) of their own targets, and as many again behind one. */
Test(mem_budget, sixty_thousand_targets_are_counted)
{
    enum { N = 60000 };
    static char names[2 * N][40];
    static const char *batch[2 * N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], 40, "naa.%016x", i);
        snprintf(names[N + i], 40, "naa.shared");
        batch[i] = names[i], batch[N + i] = names[N + i];
    }
    cr_assert_eq(sc_mem_targets(batch, 2 * N, NULL, 0), N + 1);
    cr_assert_eq(sc_mem_targets(batch, 2 * N, batch, N), 1, "only the shared one is new");
}

Test(mem_budget, memavailable_is_read_from_meminfo)
{
    char path[] = "/tmp/th-meminfo-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char text[] = "MemTotal:        1012345 kB\nMemFree:          500000 kB\n"
                        "MemAvailable:     861234 kB\nBuffers: 1 kB\n";
    cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
    close(fd);
    uint64_t avail = 0;
    cr_assert_eq(sc_mem_available(path, &avail), 0);
    cr_assert_eq(avail, 861234ull * 1024);
    /* a file without the line (an old kernel): no figure, not a guess */
    fd = open(path, O_WRONLY | O_TRUNC);
    cr_assert_eq(write(fd, "MemTotal: 1 kB\n", 15), 15);
    close(fd);
    cr_assert_eq(sc_mem_available(path, &avail), -ENODATA);
    unlink(path);
    cr_assert_eq(sc_mem_available("/nonexistent-th/meminfo", &avail), -ENOENT);
}

Test(mem_budget, a_batch_past_the_available_memory_is_refused_with_the_figures)
{
    char err[600] = "";
    uint64_t avail = 861234ull * 1024; /* the 1 GiB guest */
    /* 100 disks behind shared targets fit, 256 with their own targets do not */
    cr_assert_eq(sc_mem_check(sc_mem_need(100, 2), avail, 100, 2, err, sizeof(err)), 0);
    cr_assert_eq(sc_mem_check(sc_mem_need(256, 256), avail, 256, 256, err, sizeof(err)), -ENOMEM);
    cr_assert(strstr(err, "256 devices"), "%s", err);
    cr_assert(strstr(err, "921 MB"), "the need: %s", err);
    cr_assert(strstr(err, "814 MB is available"), "the room: %s", err);
    cr_assert(strstr(err, "--mem") && strstr(err, "target:"), "the ways out: %s", err);
    /* the reserve is kept: exactly the available memory is already too much */
    cr_assert_eq(sc_mem_check(avail, avail, 1, 0, err, sizeof(err)), -ENOMEM);
    cr_assert_eq(sc_mem_check(avail - SC_MEM_RESERVE, avail, 1, 0, err, sizeof(err)), 0);
    cr_assert_eq(sc_mem_check(1, SC_MEM_RESERVE / 2, 1, 0, err, sizeof(err)), -ENOMEM);
}
