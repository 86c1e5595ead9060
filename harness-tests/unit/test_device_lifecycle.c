/* Device lifecycle through the fake kernel: open checks, close with commands in
 * flight, stop from a signal handler. */
#include <signal.h>
#include <sys/stat.h>
#include "kernel/uio.h"
#include "ring_rig.h"

Test(device_lifecycle, a_wrong_mailbox_version_fails_open_with_a_message)
{
    th_ctx *ctx;
    th_fake_kernel *fk;
    th_ctx_new(&ctx);
    th_fk_new(&fk, 4096, 1 << 16, ALL_CAPS);
    void *map;
    size_t size;
    int fd;
    th_fk_mapping(fk, &map, &size, &fd);
    ((struct tcmu_mailbox *)map)->version = 1;
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = "v1";
    cfg.size = 4096;
    cfg.handler = th_disk_handle;
    cfg.fake_kernel = fk;
    th_device *dev;
    cr_assert_eq(th_device_open(ctx, &cfg, &dev), -EPROTO);
    cr_assert(strstr(th_ctx_errmsg(ctx), "mailbox version 1"), "%s", th_ctx_errmsg(ctx));
    th_fk_free(fk);
    th_ctx_free(ctx);
}

/* A device whose handler holds the one READ queued. */
static uint16_t hold_one_read(rig *r, holder *h)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    h->disk = test_disk(2048, 512);
    rig_up(r, 4096, 0, hold, h, ALL_CAPS);
    uint16_t id = queue_read(r, 0, 1);
    th_fk_notify(r->fk);
    for (int i = 0; i < 500 && !held_count(h); i++) usleep(1000);
    return id;
}

/* What rig_down frees, after the test closed the device itself. */
static void free_closed(rig *r, holder *h)
{
    th_fk_free(r->fk);
    th_disk_free(r->disk);
    th_disk_free(h->disk);
    th_ctx_free(r->ctx);
}

Test(device_lifecycle, close_fails_commands_still_in_flight)
{
    holder h;
    rig r;
    uint16_t id = hold_one_read(&r, &h);
    cr_assert_eq(th_device_close(r.dev), 0);
    th_fk_completion c;
    cr_assert_eq(th_fk_reap(r.fk, &c, 1, 100), 1);
    cr_assert_eq(c.cmd_id, id);
    cr_assert_eq(c.status, TH_STATUS_CHECK_CONDITION);
    cr_assert_eq(c.sense[2] & 0x0f, TH_KEY_ABORTED_COMMAND);
    free_closed(&r, &h);
}

Test(device_lifecycle, device_config_is_validated)
{
    th_ctx *ctx;
    th_ctx_new(&ctx);
    th_device_config cfg;
    th_device_config_init(&cfg);
    th_device *dev;
    cfg.handler = th_disk_handle;
    cfg.size = 4096;
    cfg.name = "bad/name";
    cr_assert_eq(th_device_open(ctx, &cfg, &dev), -EINVAL);
    cfg.name = "ok";
    cfg.size = 1000;
    cr_assert_eq(th_device_open(ctx, &cfg, &dev), -EINVAL);
    cr_assert(strstr(th_ctx_errmsg(ctx), "multiple"));
    cfg.size = 4096;
    cfg.block_size = 768;
    cr_assert_eq(th_device_open(ctx, &cfg, &dev), -EINVAL);
    th_ctx_free(ctx);
}

Test(device_lifecycle, real_kernel_path_without_configfs_says_what_is_missing)
{
    th_ctx *ctx;
    th_ctx_new(&ctx);
    th_ctx_set_paths(ctx, "/nonexistent-configfs", NULL, NULL);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = "nokernel";
    cfg.size = 4096;
    cfg.handler = th_disk_handle;
    th_device *dev;
    cr_assert_eq(th_device_open(ctx, &cfg, &dev), -ENODEV);
    cr_assert(strstr(th_ctx_errmsg(ctx), "tcmu-harness vm"), "%s", th_ctx_errmsg(ctx));
    th_ctx_free(ctx);
}

static th_device *signal_dev;
static void on_usr1(int sig)
{
    (void)sig;
    th_device_stop(signal_dev);
}

Test(device_lifecycle, stop_from_a_signal_handler_then_close)
{
    holder h;
    rig r;
    uint16_t id = hold_one_read(&r, &h);
    signal_dev = r.dev;
    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    cr_assert_eq(th_device_close(r.dev), 0);
    th_fk_completion c;
    cr_assert_eq(th_fk_reap(r.fk, &c, 1, 200), 1, "the held command is failed, not abandoned");
    cr_assert_eq(c.cmd_id, id);
    free_closed(&r, &h);
}

/* The kernel made no UIO device yet (an empty class/uio): open says so, and nothing
 * reads a list that is not there (UBSan caught qsort(NULL, 0) here). */
Test(device_lifecycle, open_with_no_uio_device_yet_fails_cleanly)
{
    char root[] = "/tmp/th-uio-XXXXXX", p[128];
    cr_assert_not_null(mkdtemp(root));
    snprintf(p, sizeof(p), "%s/class", root);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/class/uio", root);
    cr_assert_eq(mkdir(p, 0755), 0);
    th_ctx *ctx;
    cr_assert_eq(th_ctx_new(&ctx), 0);
    cr_assert_eq(th_ctx_set_paths(ctx, root, root, root), 0);
    th_uio u;
    cr_assert_lt(th_uio_open(ctx, "tcm-user/1/x/", 20, &u), 0);
    th_ctx_free(ctx);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/class", root);
    rmdir(p);
    rmdir(root);
}
