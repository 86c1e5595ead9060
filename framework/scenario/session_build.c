/* The one builder: a device description to a live device (backend, emulation, rules wired
 * to the trace, then with the kernel the TCMU device and its export), and back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "session_internal.h"

void sc_tape_config(const sc_device *c, uint64_t wwn, th_tape_config *out)
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
    *out = tc;
}

/* A tape from its declaration: parameters, an image, then the declared media. */
int sc_tape_new(const sc_device *c, uint64_t wwn, th_tape **out, char *err, size_t cap)
{
    th_tape_config tc;
    sc_tape_config(c, wwn, &tc);
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

static int build_disk(sc_live *d, char *err, size_t cap)
{
    const sc_device *c = &d->cfg;
    th_backend *be = NULL;
    char why[256];
    int rc = !strcmp(c->backing, "memory")
                 ? th_backend_memory_new(c->size, &be, why, sizeof(why))
                 : th_backend_file_open(c->backing + 5, c->size, true, &be, why, sizeof(why));
    if (rc) {
        snprintf(err, cap, "device %s: backing %s: %s", c->name, c->backing, why);
        return rc;
    }
    th_disk_config dc;
    th_disk_config_init(&dc);
    dc.block_size = c->block_size;
    dc.wwn = d->wwn;
    dc.vendor = c->vendor[0] ? c->vendor : NULL;
    dc.product = c->product[0] ? c->product : NULL;
    dc.revision = c->revision[0] ? c->revision : NULL;
    dc.serial = c->serial[0] ? c->serial : NULL;
    if ((rc = th_disk_new(&dc, be, &d->disk, why, sizeof(why)))) {
        th_backend_free(be);
        snprintf(err, cap, "device %s: %s", c->name, why);
    }
    return rc;
}

/* TMRs reach the rules (which answer hung commands) through here, counted for stats. */
static void on_tmr(void *arg, uint8_t type, const uint16_t *ids, uint32_t n)
{
    sc_live *d = arg;
    atomic_fetch_add_explicit(&d->tmrs, 1, memory_order_relaxed);
    th_rules_on_tmr(d->rules, type, ids, n);
}

static int export_iscsi(sc_session *s, sc_live *d, char *err, size_t cap)
{
    const sc_device *c = &d->cfg;
    th_iscsi_opts io;
    th_iscsi_opts_init(&io);
    io.iqn = c->iqn[0] ? c->iqn : NULL;
    io.portal = c->portal[0] ? c->portal : NULL;
    io.lun = c->lun;
    io.chap_user = c->chap_user[0] ? c->chap_user : NULL;
    io.chap_password = c->chap_password[0] ? c->chap_password : NULL;
    io.initiators = (const char *const *)c->initiators;
    io.n_initiators = (size_t)c->n_initiators;
    int rc = th_iscsi_export(s->ctx, d->dev, &io, &d->exp);
    if (rc) snprintf(err, cap, "device %s: iSCSI export: %s", c->name, th_ctx_errmsg(s->ctx));
    return rc;
}

static int open_device(sc_session *s, sc_live *d, char *err, size_t cap)
{
    const sc_device *c = &d->cfg;
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = c->name;
    cfg.size = c->size - c->size % c->block_size;
    cfg.block_size = c->block_size;
    cfg.type = d->tape ? TH_TYPE_TAPE : TH_TYPE_DISK;
    cfg.external_fabric = c->iscsi || c->external;
    cfg.wwn = d->wwn;
    cfg.workers = c->workers;
    cfg.lun = c->lun;
    cfg.hba = c->hba;
    cfg.spin_polls = c->spin;
    cfg.loop_target = c->target[0] ? c->target : NULL;
    cfg.handler = th_rules_handle;
    cfg.handler_arg = d->rules;
    cfg.on_tmr = on_tmr;
    cfg.tmr_arg = d;
    int rc = th_device_open(s->ctx, &cfg, &d->dev);
    if (rc) snprintf(err, cap, "device %s: %s", c->name, th_ctx_errmsg(s->ctx));
    return rc;
}

/* The rules turn a fixed-mode tape's block counts into bytes by the tape's current size. */
static uint32_t tape_block_size(void *tape)
{
    return th_tape_block_size(tape);
}

int sc_live_build(sc_session *s, sc_live *d, char *err, size_t cap)
{
    const sc_device *c = &d->cfg;
    bool tape = !strcmp(c->type, "tape");
    d->wwn = c->wwn ? c->wwn : th_device_wwn_for(s->ctx, c->name);
    int rc = tape ? sc_tape_new(c, d->wwn, &d->tape, err, cap) : build_disk(d, err, cap);
    if (!rc) {
        /* Names by the device's own command set: 0x01 is REWIND on a tape, REZERO UNIT
         * on a disk. */
        rc = tape ? th_rules_new(s->ctx, &d->rules, c->name, th_tape_handle, d->tape, 0,
                                 th_tape_op_name)
                  : th_rules_new(s->ctx, &d->rules, c->name, th_disk_handle, d->disk, c->block_size,
                                 th_disk_op_name);
        if (rc) snprintf(err, cap, "device %s: %s", c->name, th_ctx_errmsg(s->ctx));
    }
    if (!rc && tape) th_rules_set_kind(d->rules, TH_CDB_TAPE, tape_block_size, d->tape);
    if (!rc && (rc = sc_trace_attach(s->trace, d->rules)))
        snprintf(err, cap, "device %s: trace: out of memory", c->name);
    if (!rc && s->kernel) rc = open_device(s, d, err, cap);
    if (!rc && s->kernel && c->iscsi) rc = export_iscsi(s, d, err, cap);
    if (rc) {
        char ignored[8];
        sc_live_teardown(s, d, ignored, sizeof(ignored));
    }
    return rc;
}

int sc_live_teardown(sc_session *s, sc_live *d, char *err, size_t cap)
{
    int rc = 0;
    if (d->rules) th_rules_release_all(d->rules);
    if (d->exp && (rc = th_iscsi_close(d->exp)))
        snprintf(err, cap, "unexporting %s: %s", d->cfg.name, th_ctx_errmsg(s->ctx));
    int dc = d->dev ? th_device_close(d->dev) : 0;
    if (dc && !rc) snprintf(err, cap, "closing %s: %s", d->cfg.name, th_ctx_errmsg(s->ctx));
    if (d->rules) sc_trace_attach(NULL, d->rules);
    th_rules_free(d->rules);
    th_disk_free(d->disk);
    th_tape_free(d->tape);
    d->exp = NULL, d->dev = NULL, d->rules = NULL, d->disk = NULL, d->tape = NULL;
    return rc ? rc : dc;
}
