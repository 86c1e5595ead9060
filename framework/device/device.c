/* Device lifecycle: backstore, ring, export, teardown; one path for the real kernel
 * and the fake kernel. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../kernel/configfs.h"
#include "../kernel/loopback.h"
#include "../kernel/uio.h"
#include "server.h"
#include "th/fake_kernel.h"
#include "th/wwn.h"

/* Backstores are th-<instance>-<name>: another harness's "d0" has another instance id.
 * cleanup knows ours (old th-<name> ones too) by the "th-" prefix. */
#define NAME_PREFIX "th-"

struct th_device {
    th_ctx *ctx;
    th_device_config cfg;
    char name[80]; /* configfs name: "th-" + 8 hex + "-" + user name */
    char user_name[65];
    char backstore[TH_PATH_MAX];
    char target[40];
    char loop_target[40];
    th_objects objects;
    th_uio uio;
    th_server server;
    bool serving;
    th_nodes nodes;
    /* Where an open's time went (the info-level "device ready" line): backstore, ring,
     * LUN link (the kernel's synchronous SCSI scan), /dev nodes (the async sd probe). */
    double t_backstore, t_ring, t_link, t_nodes;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

_Static_assert(TH_NODE_SD == (int)TH_LOOP_SD && TH_NODE_SG == (int)TH_LOOP_SG &&
                   TH_NODE_ST == (int)TH_LOOP_ST && TH_NODE_NST == (int)TH_LOOP_NST &&
                   TH_NODE_COUNT == (int)TH_LOOP_NODES,
               "th_node indexes th_nodes.path");

void th_device_config_init(th_device_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->hba = 1;
    cfg->block_size = 512;
    cfg->max_data_area_mb = 8;
    cfg->cmd_ring_size_mb = 1;
    cfg->node_timeout_ms = 10000;
    cfg->spin_polls = 5000;
}

static int check_config(th_ctx *ctx, const th_device_config *c)
{
    if (!c->name || !*c->name || strlen(c->name) > 64)
        return th_fail(ctx, -EINVAL, "device name must be 1 to 64 characters");
    for (const char *p = c->name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return th_fail(ctx, -EINVAL, "device name '%s': only letters, digits, '_', '-', '.'",
                           c->name);
    if (!c->handler) return th_fail(ctx, -EINVAL, "%s: no handler", c->name);
    uint32_t bs = c->block_size;
    if (bs < 512 || bs > 65536 || (bs & (bs - 1)))
        return th_fail(ctx, -EINVAL, "%s: block size %u is not a power of two in 512..65536",
                       c->name, bs);
    if (!c->size || c->size % bs)
        return th_fail(ctx, -EINVAL, "%s: size %llu is not a positive multiple of %u", c->name,
                       (unsigned long long)c->size, bs);
    if (c->hba < 0 || c->lun < 0 || c->lun > TH_LUN_MAX || c->workers < 0 || c->workers > 64)
        return th_fail(ctx, -EINVAL, "%s: hba, lun (0..%d) or workers (0..64) out of range",
                       c->name, TH_LUN_MAX);
    if (c->cmd_ring_size_mb < 0 || c->cmd_ring_size_mb > 8)
        return th_fail(ctx, -EINVAL,
                       "%s: cmd_ring_size_mb %d is not 0..8 (MiB; 8: the kernel's most)", c->name,
                       c->cmd_ring_size_mb);
    if (c->loop_target && (strncmp(c->loop_target, "naa.", 4) || strlen(c->loop_target) != 20))
        return th_fail(ctx, -EINVAL, "%s: loop_target must be naa. and 16 hex digits", c->name);
    return 0;
}

static int create_backstore(th_device *d)
{
    th_ctx *ctx = d->ctx;
    const th_device_config *c = &d->cfg;
    char p[TH_PATH_MAX], v[128];
    snprintf(p, sizeof(p), "%s/target/core", ctx->configfs);
    if (!th_path_exists(p))
        return th_fail(ctx, -ENODEV,
                       "%s is missing: this kernel has no configfs target core loaded "
                       "(modprobe target_core_user tcm_loop, or run inside 'tcmu-harness vm')",
                       p);
    snprintf(p, sizeof(p), "%s/target/core/user_%d", ctx->configfs, c->hba);
    int rc = th_cfs_mkdir(ctx, &d->objects, p, true, NULL);
    if (rc) return rc;
    snprintf(d->backstore, sizeof(d->backstore), "%s/%s", p, d->name);
    if ((rc = th_cfs_mkdir(ctx, &d->objects, d->backstore, false, NULL))) return rc;
    struct {
        const char *file, *fmt;
        long long val;
        bool when;
    } sets[] = {
        {"control", "dev_size=%lld", (long long)c->size, true},
        {"control", "hw_block_size=%lld", c->block_size, true},
        {"control", "max_data_area_mb=%lld", c->max_data_area_mb, c->max_data_area_mb > 0},
        {"control", "cmd_ring_size_mb=%lld", c->cmd_ring_size_mb, c->cmd_ring_size_mb > 0},
        {"control", "hw_max_sectors=%lld", c->hw_max_sectors, c->hw_max_sectors > 0},
        /* Never wait for a netlink daemon: there is none. */
        {"control", "nl_reply_supported=%lld", -1, true},
        {"attrib/cmd_time_out", "%lld", c->cmd_time_out, c->cmd_time_out > 0},
        {"attrib/tmr_notification", "%lld", 1, true},
    };
    snprintf(v, sizeof(v), "dev_config=th/%s", c->name);
    snprintf(p, sizeof(p), "%s/control", d->backstore);
    if ((rc = th_cfs_write(ctx, p, v))) return rc;
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        if (!sets[i].when) continue;
        snprintf(p, sizeof(p), "%s/%s", d->backstore, sets[i].file);
        snprintf(v, sizeof(v), sets[i].fmt, sets[i].val);
        if ((rc = th_cfs_write(ctx, p, v))) return rc;
    }
    snprintf(p, sizeof(p), "%s/wwn/vpd_unit_serial", d->backstore);
    snprintf(v, sizeof(v), "%016llx", (unsigned long long)c->wwn);
    th_cfs_write(ctx, p, v); /* cosmetic (LIO's own view); the handler answers VPD */
    snprintf(p, sizeof(p), "%s/enable", d->backstore);
    return th_cfs_write(ctx, p, "1");
}

static int open_kernel(th_device *d, void **map, size_t *size, int *fd)
{
    double t0 = mono_s();
    int rc = create_backstore(d);
    if (rc) return rc;
    double t1 = mono_s();
    d->t_backstore = t1 - t0;
    char prefix[160];
    snprintf(prefix, sizeof(prefix), "tcm-user/%d/%s/", d->cfg.hba, d->name);
    rc = th_uio_open(d->ctx, prefix, 5000, &d->uio);
    d->t_ring = mono_s() - t1;
    if (rc) return rc;
    *map = d->uio.map;
    *size = d->uio.size;
    *fd = d->uio.fd;
    return 0;
}

static int export_loopback(th_device *d)
{
    const th_device_config *c = &d->cfg;
    if (c->loop_target)
        snprintf(d->target, sizeof(d->target), "%s", c->loop_target);
    else
        snprintf(d->target, sizeof(d->target), "naa.%016llx", (unsigned long long)c->wwn);
    char nexus[40];
    /* Any other WWN names the initiator side. */
    snprintf(nexus, sizeof(nexus), "naa.%016llx",
             (unsigned long long)(c->wwn ^ 0x0f0f0f0f0f0f0f0full));
    double t0 = mono_s();
    int rc = th_loop_export(d->ctx, &d->objects, d->target, nexus, c->lun, d->backstore, d->name);
    double t1 = mono_s();
    d->t_link = t1 - t0;
    if (rc) return rc;
    rc = th_loop_find_nodes(d->ctx, d->target, c->lun, c->type == TH_TYPE_TAPE, c->node_timeout_ms,
                            &d->nodes);
    d->t_nodes = mono_s() - t1;
    if (!rc && th_log_on(d->ctx, TH_LOG_INFO)) {
        char ms[4][24];
        double t[4] = {d->t_backstore, d->t_ring, d->t_link, d->t_nodes};
        for (int i = 0; i < 4; i++) snprintf(ms[i], sizeof(ms[i]), "%.1f", t[i] * 1e3);
        th_log(d->ctx, TH_LOG_INFO, "device ready", "device", d->user_name, "address",
               d->nodes.address, "sg", d->nodes.path[TH_NODE_SG], "backstore_ms", ms[0], "ring_ms",
               ms[1], "link_ms", ms[2], "nodes_ms", ms[3], NULL);
    }
    return rc;
}

static void teardown(th_device *d, int *first)
{
    double t0 = mono_s();
    /* The LUN goes first while commands are still served: the SCSI device's removal
     * sends SYNCHRONIZE CACHE and such, and they must be answered. */
    while (d->objects.n > 0 && strstr(d->objects.items[d->objects.n - 1].path, "/loopback/")) {
        int rc = th_cfs_undo_last(d->ctx, &d->objects);
        if (rc && !*first) *first = rc;
    }
    double t1 = mono_s();
    if (d->serving) {
        th_server_join(&d->server);
        d->serving = false;
    }
    th_uio_close(&d->uio);
    double t2 = mono_s();
    int rc = th_cfs_undo(d->ctx, &d->objects);
    if (rc && !*first) *first = rc;
    if (th_log_on(d->ctx, TH_LOG_INFO)) {
        char ms[3][24];
        double t[3] = {t1 - t0, t2 - t1, mono_s() - t2};
        for (int i = 0; i < 3; i++) snprintf(ms[i], sizeof(ms[i]), "%.1f", t[i] * 1e3);
        th_log(d->ctx, TH_LOG_INFO, "device removed", "device", d->user_name, "unexport_ms", ms[0],
               "stop_ms", ms[1], "backstore_ms", ms[2], NULL);
    }
}

int th_device_open(th_ctx *ctx, const th_device_config *cfg, th_device **out)
{
    *out = NULL;
    int rc = check_config(ctx, cfg);
    if (rc) return rc;
    th_device *d = calloc(1, sizeof(*d));
    if (!d) return th_fail(ctx, -ENOMEM, "out of memory");
    d->ctx = ctx;
    d->cfg = *cfg;
    d->uio.fd = -1;
    snprintf(d->user_name, sizeof(d->user_name), "%s", cfg->name);
    snprintf(d->name, sizeof(d->name), NAME_PREFIX "%08x-%s", th_ctx_instance(ctx), cfg->name);
    d->cfg.name = d->user_name;
    d->cfg.loop_target = NULL;
    if (cfg->loop_target) {
        snprintf(d->loop_target, sizeof(d->loop_target), "%s", cfg->loop_target);
        d->cfg.loop_target = d->loop_target;
    }
    if (!d->cfg.wwn) d->cfg.wwn = th_device_wwn_for(ctx, cfg->name);
    if (d->cfg.node_timeout_ms <= 0) d->cfg.node_timeout_ms = 10000;

    void *map;
    size_t size;
    int fd;
    if (cfg->fake_kernel) {
        th_fk_mapping(cfg->fake_kernel, &map, &size, &fd);
        rc = 0;
    } else {
        rc = open_kernel(d, &map, &size, &fd);
    }
    if (!rc) {
        rc = th_server_start(&d->server, ctx, d->user_name, map, size, fd, &d->cfg);
        d->serving = rc == 0;
    }
    if (!rc && !cfg->fake_kernel && !cfg->external_fabric) rc = export_loopback(d);
    if (rc) {
        char msg[TH_ERR_MAX];
        snprintf(msg, sizeof(msg), "%s", th_ctx_errmsg(ctx));
        int ignored = 0;
        teardown(d, &ignored);
        /* The first failure is the one worth reporting, not a teardown echo. */
        th_fail(ctx, rc, "%s", msg);
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

uint64_t th_device_wwn_for(const th_ctx *ctx, const char *name)
{
    return th_wwn_for(th_ctx_instance(ctx), name);
}

void th_device_stop(th_device *d)
{
    if (d && d->serving) th_server_request_stop(&d->server);
}

int th_device_close(th_device *d)
{
    if (!d) return 0;
    int first = 0;
    teardown(d, &first); /* th_ctx_errmsg(ctx) keeps the first failure's text */
    free(d);
    return first;
}

const char *th_device_name(const th_device *d)
{
    return d->user_name;
}
const char *th_device_backstore_path(const th_device *d)
{
    return d->backstore;
}

const char *th_device_node(const th_device *d, th_node node)
{
    if ((unsigned)node >= TH_NODE_COUNT || !d->nodes.path[node][0]) return NULL;
    return d->nodes.path[node];
}

const char *th_device_scsi_address(const th_device *d)
{
    return d->nodes.address[0] ? d->nodes.address : NULL;
}

const char *th_device_errmsg(const th_device *d)
{
    return th_ctx_errmsg(d->ctx);
}
uint64_t th_device_cmds_served(const th_device *d)
{
    return atomic_load(&d->server.served);
}
uint64_t th_device_kicks(const th_device *d)
{
    return atomic_load(&d->server.kicks);
}
uint64_t th_device_cmds_handed_off(const th_device *d)
{
    return atomic_load(&d->server.handed_off);
}

struct th_refuser {
    char name[72];
    th_uio uio;
    th_server server;
};

static int refuse_all(th_cmd *cmd, void *arg)
{
    (void)arg;
    th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_LU_NOT_SUPPORTED);
    return 0;
}

int th_device_refuse_open(th_ctx *ctx, int hba, const char *backstore, th_refuser **out)
{
    *out = NULL;
    th_refuser *f = calloc(1, sizeof(*f));
    if (!f) return th_fail(ctx, -ENOMEM, "out of memory");
    f->uio.fd = -1;
    snprintf(f->name, sizeof(f->name), "%s", backstore);
    char prefix[160];
    snprintf(prefix, sizeof(prefix), "tcm-user/%d/%s/", hba, backstore);
    int rc = th_uio_open(ctx, prefix, 1000, &f->uio);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.handler = refuse_all;
    if (!rc)
        rc = th_server_start(&f->server, ctx, f->name, f->uio.map, f->uio.size, f->uio.fd, &cfg);
    if (rc) {
        th_uio_close(&f->uio);
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void th_device_refuse_close(th_refuser *f)
{
    if (!f) return;
    th_server_join(&f->server);
    th_uio_close(&f->uio);
    free(f);
}
