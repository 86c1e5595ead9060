/* A device served over the fake kernel with a rules engine in front of a memory disk:
 * the threaded tests' fixture (server, rules deferrals and TMRs, teardown). */
#ifndef TH_TEST_DEVICE_RIG_H
#define TH_TEST_DEVICE_RIG_H
#include <pthread.h>
#include <unistd.h>
#include "helpers.h"

typedef struct dev_rig {
    th_ctx *ctx;
    th_fake_kernel *fk;
    th_disk *disk;
    th_rules *rules;
    th_device *dev;
} dev_rig;

/* handler: what the device calls with the rules as its argument (th_rules_handle, or a
 * wrapper of it that costs more). */
static inline void dev_rig_up_with(dev_rig *g, int workers, th_handler_fn handler)
{
    memset(g, 0, sizeof(*g));
    cr_assert_eq(th_ctx_new(&g->ctx), 0);
    cr_assert_eq(th_fk_new(&g->fk, 1 << 16, 1 << 20, 0x0f), 0);
    g->disk = test_disk(2048, 512);
    cr_assert_eq(th_rules_new(NULL, &g->rules, "rig", th_disk_handle, g->disk, 512, NULL), 0);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = "rig";
    cfg.size = 2048 * 512;
    cfg.handler = handler;
    cfg.handler_arg = g->rules;
    cfg.on_tmr = th_rules_on_tmr;
    cfg.tmr_arg = g->rules;
    cfg.workers = workers;
    cfg.fake_kernel = g->fk;
    cr_assert_eq(th_device_open(g->ctx, &cfg, &g->dev), 0);
}

static inline void dev_rig_up(dev_rig *g, int workers)
{
    dev_rig_up_with(g, workers, th_rules_handle);
}

/* Frees what is left; dev and rules may have been closed and freed (set to NULL). */
static inline void dev_rig_down(dev_rig *g)
{
    if (g->dev) cr_assert_eq(th_device_close(g->dev), 0);
    th_rules_free(g->rules);
    th_fk_free(g->fk);
    th_disk_free(g->disk);
    th_ctx_free(g->ctx);
}

/* A rule that hangs (or delays) READ(10). */
static inline void dev_rig_rule(dev_rig *g, const char *name, bool hang, uint32_t delay_ms)
{
    th_rule x;
    th_rule_init(&x);
    snprintf(x.name, sizeof(x.name), "%s", name);
    x.match.op = 0x28;
    x.action.hang = hang;
    x.action.delay_ms = delay_ms;
    cr_assert_geq(th_rules_add(g->rules, &x, -1), 0);
}

static inline uint16_t dev_rig_read(dev_rig *g, uint64_t lba)
{
    uint8_t cdb[16];
    uint16_t id;
    size_t n = th_cdb_read(cdb, 10, lba, 1);
    cr_assert_eq(th_fk_queue_cmd(g->fk, cdb, n, NULL, 0, 512, &id), 0);
    return id;
}

/* n READs of blocks 0..n-1 that a "hang" rule holds, each followed in the same batch by
 * an ABORT TASK of it, then one notification: most commands are still queued (for a
 * worker, or in the ring) when their TMR is read. */
static inline void dev_rig_hang_and_abort(dev_rig *g, uint16_t *ids, int n)
{
    dev_rig_rule(g, "hang", true, 0);
    for (int i = 0; i < n; i++) ids[i] = dev_rig_read(g, (uint64_t)i);
    for (int i = 0; i < n; i++)
        cr_assert_eq(th_fk_queue_tmr(g->fk, TH_TMR_ABORT_TASK, &ids[i], 1), 0);
    th_fk_notify(g->fk);
}

/* Reaps until n completions arrived or timeout_ms passed; returns how many. */
static inline int dev_rig_reap(dev_rig *g, th_fk_completion *out, int n, int timeout_ms)
{
    int got = 0;
    for (int waited = 0; got < n && waited < timeout_ms; waited += 10) {
        int k = th_fk_reap(g->fk, out + got, (size_t)(n - got), 10);
        cr_assert_geq(k, 0, "%s", th_fk_errmsg(g->fk));
        got += k;
    }
    return got;
}

/* Waits until rule i fired n times (commands reached it). */
static inline void dev_rig_wait_fired(dev_rig *g, size_t i, uint64_t n)
{
    for (int t = 0; t < 2000 && th_rules_fired(g->rules, i) < n; t++) usleep(1000);
    cr_assert_eq(th_rules_fired(g->rules, i), n);
}

#endif
