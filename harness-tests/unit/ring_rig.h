/* The fake-kernel rig the ring and device lifecycle tests share: a device served
 * through th_fake_kernel, and a handler that holds commands until released. */
#ifndef TH_TEST_RING_RIG_H
#define TH_TEST_RING_RIG_H
#include "kernel/tcmu_uapi.h"
#include <pthread.h>
#include <unistd.h>
#include "helpers.h"

#define ALL_CAPS 0x0f

typedef struct rig {
    th_ctx *ctx;
    th_fake_kernel *fk;
    th_device *dev;
    th_disk *disk;
} rig;

static inline void rig_up(rig *r, size_t cmdr, int workers, th_handler_fn fn, void *arg,
                          uint16_t caps)
{
    memset(r, 0, sizeof(*r));
    cr_assert_eq(th_ctx_new(&r->ctx), 0);
    cr_assert_eq(th_fk_new(&r->fk, cmdr, 1 << 20, caps), 0);
    r->disk = test_disk(2048, 512);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = "ring";
    cfg.size = 2048 * 512;
    cfg.handler = fn ? fn : th_disk_handle;
    cfg.handler_arg = fn ? arg : r->disk;
    cfg.workers = workers;
    cfg.fake_kernel = r->fk;
    cr_assert_eq(th_device_open(r->ctx, &cfg, &r->dev), 0, "%s", th_ctx_errmsg(r->ctx));
}

static inline void rig_down(rig *r)
{
    cr_assert_eq(th_device_close(r->dev), 0);
    th_fk_free(r->fk);
    th_disk_free(r->disk);
    th_ctx_free(r->ctx);
}

/* Reaps until n completions arrived (or 5 s passed). */
static inline int reap_n(rig *r, th_fk_completion *out, int n)
{
    int got = 0;
    for (int tries = 0; got < n && tries < 500; tries++) {
        int k = th_fk_reap(r->fk, out + got, (size_t)(n - got), 10);
        cr_assert_geq(k, 0, "%s", th_fk_errmsg(r->fk));
        got += k;
    }
    return got;
}

static inline uint16_t queue_read(rig *r, uint64_t lba, uint32_t blocks)
{
    uint8_t cdb[16];
    uint16_t id;
    size_t n = th_cdb_read(cdb, 10, lba, blocks);
    cr_assert_eq(th_fk_queue_cmd(r->fk, cdb, n, NULL, 0, blocks * 512u, &id), 0);
    return id;
}

/* Holds commands until released, then completes them newest first. */
typedef struct holder {
    pthread_mutex_t lock;
    th_cmd *held[64];
    int n;
    th_disk *disk;
} holder;

static inline int hold(th_cmd *cmd, void *arg)
{
    holder *h = arg;
    th_disk_handle(cmd, h->disk); /* answer now, complete later */
    pthread_mutex_lock(&h->lock);
    h->held[h->n++] = cmd;
    pthread_mutex_unlock(&h->lock);
    return TH_CMD_DEFERRED;
}

static inline int held_count(holder *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->n;
    pthread_mutex_unlock(&h->lock);
    return n;
}

static inline void release_reverse(holder *h, int want, uint16_t *order)
{
    for (int tries = 0; tries < 500; tries++) {
        if (held_count(h) >= want) break;
        usleep(10000);
    }
    pthread_mutex_lock(&h->lock);
    cr_assert_eq(h->n, want);
    for (int i = h->n - 1, k = 0; i >= 0; i--, k++) {
        if (order) order[k] = th_cmd_id(h->held[i]);
        th_cmd_complete(h->held[i]);
    }
    h->n = 0;
    pthread_mutex_unlock(&h->lock);
}

#endif
