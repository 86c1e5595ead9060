/* A scenario's devices: built from their declarations, served, armed, torn down. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "run_internal.h"

live *sc_live_find(live *l, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(l[i].cfg->name, name)) return &l[i];
    return NULL;
}

const char *sc_live_field(live *d, const char *f)
{
    if (!strcmp(f, "sg")) return th_device_node(d->dev, TH_NODE_SG);
    if (!strcmp(f, "sd")) return th_device_node(d->dev, TH_NODE_SD);
    if (!strcmp(f, "st")) return th_device_node(d->dev, TH_NODE_ST);
    if (!strcmp(f, "nst")) return th_device_node(d->dev, TH_NODE_NST);
    if (!strcmp(f, "backstore")) return th_device_backstore_path(d->dev);
    if (!strcmp(f, "address")) return th_device_scsi_address(d->dev);
    if (!strcmp(f, "name")) return d->cfg->name;
    if (!strcmp(f, "size")) return d->size;
    if (!strcmp(f, "block_size")) return d->bs;
    if (!strcmp(f, "wwn")) return d->wwn;
    if (!strcmp(f, "sdname")) return d->sdname[0] ? d->sdname : NULL;
    if (!strcmp(f, "iscsi")) return d->exp ? th_iscsi_url(d->exp) : NULL;
    return NULL;
}
/* A tape from its declaration: parameters, an image, then the declared media. */
int sc_tape_new(const sc_device *c, uint64_t wwn, th_tape **out, char *err, size_t cap)
{
    th_tape_config tc;
    th_tape_config_init(&tc);
    tc.capacity = c->size;
    if (c->early_warning)
        tc.early_warning = c->early_warning;
    else if (tc.early_warning >= tc.capacity)
        tc.early_warning = tc.capacity / 8;
    tc.partition1 = c->second_partition;
    tc.write_protect = c->write_protect;
    tc.loaded = !c->unloaded;
    tc.wwn = wwn;
    tc.vendor = c->vendor[0] ? c->vendor : NULL;
    tc.product = c->product[0] ? c->product : NULL;
    tc.serial = c->serial[0] ? c->serial : NULL;
    th_tape *t;
    char why[256];
    int rc = th_tape_new(&tc, &t, why, sizeof(why));
    if (rc) {
        snprintf(err, cap, "device %s: %s", c->name, why);
        return rc;
    }
    if (c->image[0] && (rc = th_tape_load_image(t, c->image, why, sizeof(why))))
        snprintf(err, cap, "device %s: image: %s", c->name, why);
    for (int i = 0; i < c->n_media && !rc; i++) {
        const struct sc_media *m = &c->media[i];
        if (m->filemark) {
            for (uint32_t k = 0; k < m->len && !rc; k++) rc = th_tape_append_filemark(t);
        } else if (m->text) {
            rc = th_tape_append_record(t, m->text, strlen(m->text));
        } else {
            uint8_t *buf = malloc(m->len ? m->len : 1);
            for (uint32_t k = 0; buf && k < m->len; k++)
                buf[k] = (uint8_t)((k * 7 + (uint32_t)i) % 251);
            rc = buf ? th_tape_append_record(t, buf, m->len) : -ENOMEM;
            free(buf);
        }
        if (rc) snprintf(err, cap, "device %s: media: %s", c->name, strerror(-rc));
    }
    if (rc) {
        th_tape_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

static int open_tape(live *d, uint64_t wwn, sc_result *res)
{
    char err[600];
    int rc = sc_tape_new(d->cfg, wwn, &d->tape, err, sizeof(err));
    if (rc) sc_fail(res, "%s", err);
    return rc;
}

static int open_device(live *d, FILE *trace, double t0, th_ctx *ctx, sc_result *res)
{
    const sc_device *c = d->cfg;
    bool tape = !strcmp(c->type, "tape");
    th_backend *be = NULL;
    char why[256];
    uint64_t wwn = c->wwn ? c->wwn : th_device_wwn_for(ctx, c->name);
    int rc = tape ? open_tape(d, wwn, res)
             : !strcmp(c->backing, "memory")
                 ? th_backend_memory_new(c->size, &be, why, sizeof(why))
                 : th_backend_file_open(c->backing + 5, c->size, true, &be, why, sizeof(why));
    if (rc) {
        if (!tape) sc_fail(res, "device %s: backing %s: %s", c->name, c->backing, why);
        return rc;
    }
    th_disk_config dc;
    th_disk_config_init(&dc);
    dc.block_size = c->block_size;
    dc.wwn = wwn;
    dc.vendor = c->vendor[0] ? c->vendor : NULL;
    dc.product = c->product[0] ? c->product : NULL;
    dc.revision = c->revision[0] ? c->revision : NULL;
    dc.serial = c->serial[0] ? c->serial : NULL;
    if (!tape && (rc = th_disk_new(&dc, be, &d->disk, why, sizeof(why)))) {
        th_backend_free(be);
        sc_fail(res, "device %s: %s", c->name, why);
        return rc;
    }
    if (tape)
        rc = th_rules_new(ctx, &d->rules, c->name, th_tape_handle, d->tape, 0, sc_op_name);
    else
        rc = th_rules_new(ctx, &d->rules, c->name, th_disk_handle, d->disk, c->block_size,
                          sc_op_name);
    if (rc) {
        sc_fail(res, "device %s: %s", c->name, th_ctx_errmsg(ctx));
        return rc;
    }
    th_rules_set_trace(d->rules, trace, t0);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = c->name;
    cfg.size = c->size - c->size % c->block_size;
    cfg.block_size = c->block_size;
    cfg.type = tape ? TH_TYPE_TAPE : TH_TYPE_DISK;
    cfg.external_fabric = c->iscsi;
    cfg.wwn = dc.wwn;
    cfg.workers = c->workers;
    cfg.handler = th_rules_handle;
    cfg.handler_arg = d->rules;
    cfg.on_tmr = th_rules_on_tmr;
    cfg.tmr_arg = d->rules;
    if ((rc = th_device_open(ctx, &cfg, &d->dev))) {
        sc_fail(res, "device %s: %s", c->name, th_ctx_errmsg(ctx));
        return rc;
    }
    if (c->iscsi) {
        th_iscsi_opts io;
        th_iscsi_opts_init(&io);
        io.iqn = c->iqn[0] ? c->iqn : NULL;
        io.portal = c->portal[0] ? c->portal : NULL;
        io.chap_user = c->chap_user[0] ? c->chap_user : NULL;
        io.chap_password = c->chap_password[0] ? c->chap_password : NULL;
        const char *inis[SC_MAX_INITIATORS];
        for (int i = 0; i < c->n_initiators; i++) inis[i] = c->initiators[i];
        io.initiators = inis;
        io.n_initiators = (size_t)c->n_initiators;
        if ((rc = th_iscsi_export(ctx, d->dev, &io, &d->exp))) {
            sc_fail(res, "device %s: iSCSI export: %s", c->name, th_ctx_errmsg(ctx));
            return rc;
        }
    }

    snprintf(d->size, sizeof(d->size), "%llu", (unsigned long long)c->size);
    snprintf(d->bs, sizeof(d->bs), "%u", c->block_size);
    snprintf(d->wwn, sizeof(d->wwn), "naa.%016llx", (unsigned long long)dc.wwn);
    const char *sd = th_device_node(d->dev, TH_NODE_SD);
    if (sd) snprintf(d->sdname, sizeof(d->sdname), "%s", strrchr(sd, '/') + 1);
    return 0;
}

/* The kernel probes a new device (INQUIRY, READ CAPACITY, the partition table...):
 * once every device has been quiet for a moment, the rules go in, so that occurrence
 * counts and states start with the scenario's own traffic. */
void sc_settle_and_arm(const scenario *sc, live *l, int opened, sc_result *res)
{
    for (double quiet_since = sc_now(), end = sc_now() + 10; res->passed && sc_now() < end;) {
        uint64_t before = 0, after = 0;
        for (int i = 0; i < opened; i++) before += l[i].dev ? th_device_cmds_served(l[i].dev) : 0;
        usleep(50000);
        for (int i = 0; i < opened; i++) after += l[i].dev ? th_device_cmds_served(l[i].dev) : 0;
        if (after != before) quiet_since = sc_now();
        if (sc_now() - quiet_since > 0.3) break;
    }
    for (int k = 0; k < sc->n_rules && res->passed; k++) {
        live *d = sc_live_find(l, opened, sc->rules[k].device);
        if (d && d->rules) th_rules_add(d->rules, &sc->rules[k].rule, -1);
    }
}

int sc_open_all(const scenario *sc, live *l, FILE *trace, double t0, th_ctx *ctx, sc_result *res)
{
    int opened = 0;
    for (int i = 0; i < sc->n_devices && res->passed; i++, opened++) {
        l[i].cfg = &sc->devices[i];
        if (open_device(&l[i], trace, t0, ctx, res)) {
            opened++;
            break;
        }
    }
    return opened;
}

void sc_close_all(live *l, int opened, th_ctx *ctx, sc_result *res)
{
    for (int i = opened - 1; i >= 0; i--) {
        if (l[i].rules) th_rules_release_all(l[i].rules);
        if (l[i].exp && th_iscsi_close(l[i].exp))
            sc_fail(res, "unexporting %s: %s", l[i].cfg->name, th_ctx_errmsg(ctx));
        if (l[i].dev && th_device_close(l[i].dev))
            sc_fail(res, "closing %s: %s", l[i].cfg->name, th_ctx_errmsg(ctx));
        if (l[i].rules) th_rules_set_trace(l[i].rules, NULL, 0);
        th_rules_free(l[i].rules);
        th_disk_free(l[i].disk);
        th_tape_free(l[i].tape);
    }
}
