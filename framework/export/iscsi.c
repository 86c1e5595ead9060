/* LIO iSCSI export: target/iscsi/<iqn>/tpgt_1/{lun,np,acls,attrib,auth}. It sits
 * above the device layer (it exports a th_device) and uses kernel/'s configfs
 * helpers, so nothing in kernel/ depends on devices. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../kernel/configfs.h"
#include "th/iscsi.h"

struct th_iscsi {
    th_ctx *ctx;
    th_objects objects;
    char tpg[TH_PATH_MAX];
    char url[TH_PATH_MAX];
};

void th_iscsi_opts_init(th_iscsi_opts *o)
{
    memset(o, 0, sizeof(*o));
}

static int set_attr(th_ctx *ctx, const char *tpg, const char *attr, const char *v)
{
    char p[TH_PATH_MAX + 64];
    snprintf(p, sizeof(p), "%s/%s", tpg, attr);
    return th_cfs_write(ctx, p, v);
}

static bool valid_token(const char *s, const char *extra)
{
    if (!s || !*s) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(extra, *s)))
            return false;
    return true;
}

int th_iscsi_export(th_ctx *ctx, th_device *dev, const th_iscsi_opts *o, th_iscsi **out)
{
    *out = NULL;
    char iqn[224], portal[64];
    if (o->iqn)
        snprintf(iqn, sizeof(iqn), "%s", o->iqn);
    else
        snprintf(iqn, sizeof(iqn), "iqn.2026-11.org.tcmu-harness:%08x-%s", th_ctx_instance(ctx),
                 th_device_name(dev)); /* another harness's name too */
    snprintf(portal, sizeof(portal), "%s", o->portal ? o->portal : "127.0.0.1:3260");
    for (char *p = iqn; *p; p++) *p = (char)(*p == '_' ? '-' : *p); /* IQNs have no '_' */
    if (strncmp(iqn, "iqn.", 4) || !valid_token(iqn, ".:-"))
        return th_fail(ctx, -EINVAL, "'%s' is not an iSCSI qualified name", iqn);
    if (!valid_token(portal, ".:[]") || !strchr(portal, ':'))
        return th_fail(ctx, -EINVAL, "portal '%s' is not IP:PORT", portal);
    if (o->lun < 0 || o->lun > TH_LUN_MAX)
        return th_fail(ctx, -EINVAL, "lun %d out of range (0..%d)", o->lun, TH_LUN_MAX);
    if ((o->chap_user == NULL) != (o->chap_password == NULL))
        return th_fail(ctx, -EINVAL, "CHAP needs both a user and a password");
    th_iscsi *e = calloc(1, sizeof(*e));
    if (!e) return -ENOMEM;
    e->ctx = ctx;
    char base[TH_PATH_MAX], tpg[TH_PATH_MAX], p[TH_PATH_MAX * 2];
    snprintf(base, sizeof(base), "%s/target/iscsi", ctx->configfs);
    /* The fabric registers when its folder is made; shared, never removed. */
    if (!th_path_exists(base) && mkdir(base, 0755) && errno != EEXIST) {
        int rc = th_fail(ctx, -errno, "mkdir %s: %s (is iscsi_target_mod loaded?)", base,
                         strerror(errno));
        free(e);
        return rc;
    }
    snprintf(tpg, sizeof(tpg), "%s/%s/tpgt_1", base, iqn);
    snprintf(p, sizeof(p), "%s/%s", base, iqn);
    int rc = th_cfs_mkdir(ctx, &e->objects, p, true, NULL);
    if (!rc) rc = th_cfs_mkdir(ctx, &e->objects, tpg, true, NULL);
    if (!rc) {
        snprintf(p, sizeof(p), "%s/lun/lun_%d", tpg, o->lun);
        rc = th_cfs_mkdir(ctx, &e->objects, p, false, NULL);
    }
    if (!rc) {
        char link[TH_PATH_MAX * 2 + 80];
        const char *bs = th_device_backstore_path(dev);
        snprintf(link, sizeof(link), "%s/%s", p, strrchr(bs, '/') + 1);
        rc = th_cfs_symlink(ctx, &e->objects, bs, link);
    }
    if (!rc) {
        snprintf(p, sizeof(p), "%s/np/%s", tpg, portal);
        rc = th_cfs_mkdir(ctx, &e->objects, p, true, NULL);
    }
    bool demo = o->n_initiators == 0;
    for (size_t i = 0; !rc && i < o->n_initiators; i++) {
        if (!valid_token(o->initiators[i], ".:-")) {
            rc = th_fail(ctx, -EINVAL, "initiator '%s' is not an IQN", o->initiators[i]);
            break;
        }
        snprintf(p, sizeof(p), "%s/acls/%s", tpg, o->initiators[i]);
        rc = th_cfs_mkdir(ctx, &e->objects, p, true, NULL);
        char mapped[TH_PATH_MAX * 2 + 32];
        snprintf(mapped, sizeof(mapped), "%s/lun_%d", p, o->lun);
        if (!rc) rc = th_cfs_mkdir(ctx, &e->objects, mapped, false, NULL);
        if (!rc) {
            char target[TH_PATH_MAX * 2 + 32], link[TH_PATH_MAX * 3];
            snprintf(target, sizeof(target), "%s/lun/lun_%d", tpg, o->lun);
            snprintf(link, sizeof(link), "%s/lun_%d", mapped, o->lun);
            rc = th_cfs_symlink(ctx, &e->objects, target, link);
        }
        if (!rc && o->chap_user) {
            snprintf(mapped, sizeof(mapped), "%s/auth/userid", p);
            rc = th_cfs_write(ctx, mapped, o->chap_user);
            snprintf(mapped, sizeof(mapped), "%s/auth/password", p);
            if (!rc) rc = th_cfs_write(ctx, mapped, o->chap_password);
        }
    }
    if (!rc) rc = set_attr(ctx, tpg, "attrib/authentication", o->chap_user ? "1" : "0");
    if (!rc && demo) {
        rc = set_attr(ctx, tpg, "attrib/generate_node_acls", "1");
        if (!rc) rc = set_attr(ctx, tpg, "attrib/demo_mode_write_protect", "0");
        if (!rc) rc = set_attr(ctx, tpg, "attrib/cache_dynamic_acls", "1");
        if (!rc && o->chap_user) {
            rc = set_attr(ctx, tpg, "auth/userid", o->chap_user);
            if (!rc) rc = set_attr(ctx, tpg, "auth/password", o->chap_password);
        }
    }
    if (!rc) rc = set_attr(ctx, tpg, "enable", "1");
    if (rc) {
        char msg[TH_ERR_MAX];
        snprintf(msg, sizeof(msg), "%s", ctx->err);
        th_cfs_undo(ctx, &e->objects);
        th_fail(ctx, rc, "%s", msg);
        free(e);
        return rc;
    }
    /* A wildcard portal (for initiators outside, e.g. through the VM's forwarded port)
       is reached locally at the loopback address. */
    const char *port = strrchr(portal, ':');
    if (!strncmp(portal, "0.0.0.0:", 8))
        snprintf(e->url, sizeof(e->url), "iscsi://127.0.0.1%s/%s/%d", port, iqn, o->lun);
    else
        snprintf(e->url, sizeof(e->url), "iscsi://%s/%s/%d", portal, iqn, o->lun);
    snprintf(e->tpg, sizeof(e->tpg), "%s", tpg);
    th_log(ctx, TH_LOG_INFO, "exported over iSCSI", "device", th_device_name(dev), "url", e->url,
           NULL);
    *out = e;
    return 0;
}

const char *th_iscsi_url(const th_iscsi *e)
{
    return e->url;
}

static int luns_in(const char *tpg)
{
    char p[TH_PATH_MAX + 8];
    snprintf(p, sizeof(p), "%s/lun", tpg);
    DIR *d = opendir(p);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d))) n += !strncmp(de->d_name, "lun_", 4);
    if (d) closedir(d);
    return n;
}

int th_iscsi_close(th_iscsi *e)
{
    if (!e) return 0;
    if (luns_in(e->tpg) <= 1) {
        /* The last LUN: the target group is disabled, then it and its portal go. */
        char en[TH_PATH_MAX + 16];
        snprintf(en, sizeof(en), "%s/enable", e->tpg);
        FILE *f = fopen(en, "w");
        if (f) {
            fputs("0", f);
            fclose(f);
        }
    } else {
        /* Other LUNs still use the target: keep the portal, the group and the target. */
        for (int i = 0; i < e->objects.n; i++)
            if (e->objects.items[i].kind == TH_UNDO_RMDIR_IF_EMPTY &&
                !strstr(e->objects.items[i].path, "/acls/"))
                e->objects.items[i].path[0] = 0;
    }
    int rc = th_cfs_undo(e->ctx, &e->objects);
    free(e);
    return rc;
}
