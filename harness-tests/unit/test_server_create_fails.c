/* Threads that cannot be started (pthread_create failing midway, as it does when a CI
 * container's pids limit is reached): open fails with a message and leaves nothing
 * running, and the pool runs every item anyway. pthread_create is interposed in this
 * process only while a test asks it to fail (fail_after >= 0). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include "core/pool.h"
#include "device_rig.h"

static atomic_int fail_after = -1; /* creates left before they fail; -1: never */

int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
    static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
    int left = atomic_load(&fail_after);
    if (left == 0) return EAGAIN;
    if (left > 0) atomic_fetch_sub(&fail_after, 1);
    return real(t, a, fn, arg);
}

Test(server_create_fails, open_with_the_kth_thread_failing_leaves_nothing)
{
    /* 4 workers, then the serving thread: k = 0..4 fails each in turn. */
    for (int k = 0; k <= 4; k++) {
        th_ctx *ctx;
        th_fake_kernel *fk;
        cr_assert_eq(th_ctx_new(&ctx), 0);
        cr_assert_eq(th_fk_new(&fk, 1 << 16, 1 << 20, 0x0f), 0);
        th_disk *disk = test_disk(2048, 512);
        th_device_config cfg = test_disk_device("c", 2048 * 512, disk, fk);
        cfg.workers = 4;
        th_device *dev = NULL;
        atomic_store(&fail_after, k);
        int rc = th_device_open(ctx, &cfg, &dev);
        atomic_store(&fail_after, -1);
        cr_assert_eq(rc, -EAGAIN, "k=%d: rc %d", k, rc);
        cr_assert_null(dev);
        cr_assert(strstr(th_ctx_errmsg(ctx), k < 4 ? "worker threads" : "serving thread"),
                  "k=%d: %s", k, th_ctx_errmsg(ctx));
        th_fk_free(fk);
        th_disk_free(disk);
        th_ctx_free(ctx);
    }
}

static atomic_int ran[100];

static void count_item(void *arg, int i)
{
    (void)arg;
    atomic_fetch_add(&ran[i], 1);
}

Test(server_create_fails, the_pool_runs_every_item_when_threads_fail)
{
    for (int k = 0; k <= 3; k++) {
        for (int i = 0; i < 100; i++) atomic_store(&ran[i], 0);
        atomic_store(&fail_after, k);
        th_pool_run(100, 8, count_item, NULL);
        atomic_store(&fail_after, -1);
        for (int i = 0; i < 100; i++) cr_assert_eq(atomic_load(&ran[i]), 1, "k=%d item %d", k, i);
    }
}
