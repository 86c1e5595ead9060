/* Devices built and torn down in parallel (a bounded pool over the devices): a batch comes
 * up whole or not at all, a failure names its own device, and each thread's error stays
 * its own. Also in threaded-tests (TSan). */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include "core/pool.h"
#include "session_rig.h"

typedef struct visits {
    atomic_int count[1000];
    pthread_mutex_t lock;
    pthread_t seen[64];
    int n_seen;
} visits;

static void visit(void *arg, int i)
{
    visits *v = arg;
    atomic_fetch_add(&v->count[i], 1);
    pthread_mutex_lock(&v->lock);
    bool known = false;
    for (int k = 0; k < v->n_seen; k++) known |= pthread_equal(v->seen[k], pthread_self());
    if (!known && v->n_seen < 64) v->seen[v->n_seen++] = pthread_self();
    pthread_mutex_unlock(&v->lock);
    if (i % 50 == 0) usleep(1000); /* let the others take items meanwhile */
}

Test(pool, runs_every_item_once_on_at_most_the_threads_asked_for)
{
    static visits v;
    memset(&v, 0, sizeof(v));
    pthread_mutex_init(&v.lock, NULL);
    th_pool_run(1000, 8, visit, &v);
    for (int i = 0; i < 1000; i++) cr_assert_eq(atomic_load(&v.count[i]), 1, "item %d", i);
    cr_assert_leq(v.n_seen, 8);
    cr_assert_gt(v.n_seen, 1, "the items ran on the caller's thread alone");
    memset(&v, 0, sizeof(v));
    th_pool_run(3, 16, visit, &v); /* more threads than items */
    for (int i = 0; i < 3; i++) cr_assert_eq(atomic_load(&v.count[i]), 1);
    cr_assert_leq(v.n_seen, 3);
    th_pool_run(0, 4, visit, &v);
    pthread_mutex_destroy(&v.lock);
}

/* n disks d0..; those in bad[] are on a file in a directory that does not exist. */
static sc_device *batch_of(int n, const int *bad, int n_bad)
{
    sc_device *d = calloc((size_t)n, sizeof(*d));
    cr_assert_not_null(d);
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "d%d", i);
        d[i] = rig_device(name, i % 7 == 3 ? "tape" : "disk");
    }
    for (int k = 0; k < n_bad; k++)
        snprintf(d[bad[k]].backing, sizeof(d[bad[k]].backing), "file:/nonexistent-th/%d.img",
                 bad[k]);
    return d;
}

static int live_names(sc_session *s)
{
    static char names[512][65];
    return sc_session_names(s, names, 512);
}

Test(lifecycle_parallel, a_batch_of_300_devices_comes_up_in_order_and_goes)
{
    sc_session *s = rig_session();
    sc_device *d = batch_of(300, NULL, 0);
    char err[600] = "";
    cr_assert_eq(sc_session_add_devices(s, d, 300, err, sizeof(err)), 0, "%s", err);
    static char names[300][65];
    cr_assert_eq(sc_session_names(s, names, 300), 300);
    for (int i = 0; i < 300; i++) cr_assert_str_eq(names[i], d[i].name, "creation order");
    cr_assert_eq(rig_tur(s, "d299"), 0);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0, "%s", err);
    free(d);
}

Test(lifecycle_parallel, a_failure_mid_batch_leaves_nothing_and_names_its_own_device)
{
    sc_session *s = rig_session();
    char err[600] = "";
    cr_assert_eq(rig_add(s, "before", "disk", err, sizeof(err)), 0, "%s", err);
    /* Two fail, far apart: the one that failed first in time is reported (a later one may
     * be its knock-on), whole and with its own path, never a mix of the two. */
    int bad[] = {57, 120};
    sc_device *d = batch_of(150, bad, 2);
    for (int round = 0; round < 5; round++) {
        cr_assert_neq(sc_session_add_devices(s, d, 150, err, sizeof(err)), 0);
        bool d57 = strstr(err, "device d57:") && strstr(err, "/nonexistent-th/57.img");
        bool d120 = strstr(err, "device d120:") && strstr(err, "/nonexistent-th/120.img");
        cr_assert(d57 != d120, "one failure, whole: %s", err);
        cr_assert(!strstr(err, d57 ? "120" : "57."), "another device's failure leaked in: %s", err);
        cr_assert_eq(live_names(s), 1, "the batch left devices behind");
        cr_assert_eq(rig_tur(s, "before"), 0);
    }
    /* Its names are free again: the same batch, healed, comes up. */
    snprintf(d[57].backing, sizeof(d[57].backing), "memory");
    snprintf(d[120].backing, sizeof(d[120].backing), "memory");
    cr_assert_eq(sc_session_add_devices(s, d, 150, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(live_names(s), 151);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0, "%s", err);
    free(d);
}

Test(lifecycle_parallel, a_name_taken_or_given_twice_reserves_nothing)
{
    sc_session *s = rig_session();
    char err[600] = "";
    cr_assert_eq(rig_add(s, "d5", "disk", err, sizeof(err)), 0, "%s", err);
    sc_device *d = batch_of(20, NULL, 0);
    cr_assert_eq(sc_session_add_devices(s, d, 20, err, sizeof(err)), -EEXIST);
    cr_assert(strstr(err, "'d5' already exists"), "%s", err);
    cr_assert_eq(live_names(s), 1);
    snprintf(d[5].name, sizeof(d[5].name), "d6"); /* now twice in the batch itself */
    cr_assert_eq(sc_session_add_devices(s, d, 20, err, sizeof(err)), -EEXIST);
    cr_assert(strstr(err, "'d6' already exists"), "%s", err);
    cr_assert_eq(live_names(s), 1);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0, "%s", err);
    free(d);
}

typedef struct failer {
    th_ctx *ctx;
    int id;
    int wrong; /* times th_ctx_errmsg showed another thread's failure */
} failer;

static void *fail_often(void *arg)
{
    failer *f = arg;
    char name[32], want[48];
    snprintf(name, sizeof(name), "t%d/x", f->id);
    snprintf(want, sizeof(want), "'t%d/x'", f->id);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = name;
    cfg.handler = th_disk_handle;
    cfg.size = 4096;
    for (int i = 0; i < 300; i++) {
        th_device *dev;
        cr_assert_eq(th_device_open(f->ctx, &cfg, &dev), -EINVAL);
        f->wrong += !strstr(th_ctx_errmsg(f->ctx), want);
    }
    return NULL;
}

Test(lifecycle_parallel, threads_failing_at_once_on_one_ctx_each_read_their_own_error)
{
    th_ctx *ctx;
    cr_assert_eq(th_ctx_new(&ctx), 0);
    failer f[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        f[i] = (failer){.ctx = ctx, .id = i};
        cr_assert_eq(pthread_create(&t[i], NULL, fail_often, &f[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(f[i].wrong, 0, "thread %d read another's error %d times", i, f[i].wrong);
    }
    /* A thread that raised none sees the last one raised. */
    cr_assert(strstr(th_ctx_errmsg(ctx), "/x'"), "%s", th_ctx_errmsg(ctx));
    th_ctx_free(ctx);
}

/* Devices on fake kernels opened and closed by the pool, as the session does. */
typedef struct fleet {
    th_ctx *ctx;
    th_fake_kernel *fk[32];
    th_disk *disk[32];
    th_device *dev[32];
    int rc[32];
} fleet;

static void open_one(void *arg, int i)
{
    fleet *f = arg;
    char name[16];
    snprintf(name, sizeof(name), "f%d", i);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = name;
    cfg.size = 2048 * 512;
    cfg.handler = th_disk_handle;
    cfg.handler_arg = f->disk[i];
    cfg.fake_kernel = f->fk[i];
    cfg.workers = i % 3;
    f->rc[i] = th_device_open(f->ctx, &cfg, &f->dev[i]);
}

static void close_one(void *arg, int i)
{
    fleet *f = arg;
    f->rc[i] = th_device_close(f->dev[i]);
}

Test(lifecycle_parallel, devices_open_serve_and_close_on_the_pool)
{
    static fleet f;
    memset(&f, 0, sizeof(f));
    cr_assert_eq(th_ctx_new(&f.ctx), 0);
    for (int i = 0; i < 32; i++) {
        cr_assert_eq(th_fk_new(&f.fk[i], 1 << 16, 1 << 20, 0x0f), 0);
        f.disk[i] = test_disk(2048, 512);
    }
    th_pool_run(32, 16, open_one, &f);
    for (int i = 0; i < 32; i++) {
        cr_assert_eq(f.rc[i], 0, "f%d: %s", i, th_ctx_errmsg(f.ctx));
        uint8_t cdb[6] = {0}; /* TEST UNIT READY */
        uint16_t id;
        cr_assert_eq(th_fk_queue_cmd(f.fk[i], cdb, 6, NULL, 0, 0, &id), 0);
        th_fk_notify(f.fk[i]);
        th_fk_completion c;
        int got = 0;
        for (int t = 0; t < 200 && !got; t++) got = th_fk_reap(f.fk[i], &c, 1, 10);
        cr_assert_eq(got, 1, "f%d did not answer", i);
        cr_assert_eq(c.status, 0);
    }
    th_pool_run(32, 16, close_one, &f);
    for (int i = 0; i < 32; i++) {
        cr_assert_eq(f.rc[i], 0);
        th_fk_free(f.fk[i]);
        th_disk_free(f.disk[i]);
    }
    th_ctx_free(f.ctx);
}
