/* cleanup: remove what a crashed harness left in configfs. Our objects are the
 * backstores named th-* and the loopback LUNs that link to them. A backstore whose
 * UIO device a live process holds belongs to a running harness and is kept.
 * A dead harness's LUN has commands nobody will answer, and removing the SCSI
 * device would wait for them; so cleanup resets the orphaned ring and answers
 * everything itself while it removes the LUN. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../kernel/configfs.h"
#include "cli.h"
#include "th/device.h"

#define CFS "/sys/kernel/config/target"

static int removed, failed;

static void rm(const char *path, bool link, bool quiet_if_busy)
{
    if ((link ? unlink(path) : rmdir(path)) == 0) {
        printf("removed %s\n", path);
        removed++;
    } else if (!(quiet_if_busy && (errno == ENOTEMPTY || errno == EBUSY)) && errno != ENOENT) {
        fprintf(stderr, "tcmu-harness cleanup: %s: %s\n", path, strerror(errno));
        failed++;
    }
}

static pid_t holder(const char *uio_dev)
{
    DIR *proc = opendir("/proc");
    struct dirent *p;
    pid_t found = 0;
    while (proc && !found && (p = readdir(proc))) {
        pid_t pid = (pid_t)atoi(p->d_name);
        if (pid <= 0 || pid == getpid()) continue;
        char fddir[64];
        snprintf(fddir, sizeof(fddir), "/proc/%d/fd", pid);
        DIR *fds = opendir(fddir);
        struct dirent *f;
        while (fds && !found && (f = readdir(fds))) {
            char l[PATH_MAX + 300], target[PATH_MAX];
            snprintf(l, sizeof(l), "%s/%s", fddir, f->d_name);
            ssize_t n = readlink(l, target, sizeof(target) - 1);
            if (n > 0) {
                target[n] = 0;
                if (!strcmp(target, uio_dev)) found = pid;
            }
        }
        if (fds) closedir(fds);
    }
    if (proc) closedir(proc);
    return found;
}

static bool uio_name(const char *prefix, char *out, size_t cap)
{
    DIR *d = opendir("/sys/class/uio");
    struct dirent *de;
    bool ok = false;
    while (d && !ok && (de = readdir(d))) {
        char p[PATH_MAX], v[256];
        snprintf(p, sizeof(p), "/sys/class/uio/%s/name", de->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        if (fgets(v, sizeof(v), f) && !strncmp(v, prefix, strlen(prefix))) {
            snprintf(out, cap, "/dev/%s", de->d_name);
            ok = true;
        }
        fclose(f);
    }
    if (d) closedir(d);
    return ok;
}

/* In one target group's lun/ folder, removes each LUN whose link <name> points at
 * .../core/<hba>/<name> (calling before() first, for what hangs off it); true if any. */
static bool remove_linked_luns(const char *lundir, const char *name, const char *suffix,
                               void (*before)(const char *lun, void *arg), void *arg)
{
    DIR *l = opendir(lundir);
    struct dirent *lun;
    bool touched = false;
    while (l && (lun = readdir(l))) {
        if (strncmp(lun->d_name, "lun_", 4)) continue;
        char link[PATH_MAX * 3], target[PATH_MAX];
        snprintf(link, sizeof(link), "%s/%s/%s", lundir, lun->d_name, name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0) continue;
        target[n] = 0;
        size_t tl = strlen(target), sl = strlen(suffix);
        if (tl < sl || strcmp(target + tl - sl, suffix)) continue;
        if (before) before(lun->d_name, arg);
        rm(link, true, false);
        snprintf(link, sizeof(link), "%s/%s", lundir, lun->d_name);
        rm(link, false, false);
        touched = true;
    }
    if (l) closedir(l);
    return touched;
}

/* Removes every loopback LUN linking to core/<hba>/<name>. */
static void remove_luns(const char *hba, const char *name)
{
    char suffix[600];
    snprintf(suffix, sizeof(suffix), "/core/%s/%s", hba, name);
    DIR *t = opendir(CFS "/loopback");
    struct dirent *naa;
    while (t && (naa = readdir(t))) {
        if (strncmp(naa->d_name, "naa.", 4)) continue;
        char lundir[PATH_MAX];
        snprintf(lundir, sizeof(lundir), CFS "/loopback/%s/tpgt_1/lun", naa->d_name);
        if (remove_linked_luns(lundir, name, suffix, NULL, NULL)) {
            char p[PATH_MAX + 300];
            snprintf(p, sizeof(p), CFS "/loopback/%s/tpgt_1", naa->d_name);
            rm(p, false, true);
            snprintf(p, sizeof(p), CFS "/loopback/%s", naa->d_name);
            rm(p, false, true);
        }
    }
    if (t) closedir(t);
}

/* A device's own loopback target is named naa.<its WWN>, which its backstore holds as
 * its unit serial (written before the target is made). Killed between making the target
 * and linking its LUN, or between unlinking the LUN and removing the target, the harness
 * leaves that target without a LUN of ours in it, so remove_luns does not find it: it
 * goes here, if nothing else is in it. */
static void remove_own_target(const char *backstore)
{
    char p[PATH_MAX + 300], serial[64] = "";
    snprintf(p, sizeof(p), "%s/wwn/vpd_unit_serial", backstore);
    FILE *f = fopen(p, "r");
    if (!f) return;
    /* "T10 VPD Unit Serial Number: <serial>" */
    char line[256];
    if (fgets(line, sizeof(line), f)) {
        const char *colon = strrchr(line, ':');
        sscanf(colon ? colon + 1 : line, " %63[0-9a-fA-F]", serial);
    }
    fclose(f);
    if (strlen(serial) != 16) return;
    snprintf(p, sizeof(p), CFS "/loopback/naa.%s/tpgt_1", serial);
    if (!access(p, F_OK)) {
        char lun[PATH_MAX + 320];
        snprintf(lun, sizeof(lun), "%s/lun", p);
        /* A LUN left without its link (killed between unlinking and removing it) goes;
         * one with a link is another device's (rmdir refuses it): the target stays. */
        DIR *d = opendir(lun);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (strncmp(de->d_name, "lun_", 4)) continue;
            char l[PATH_MAX * 2];
            snprintf(l, sizeof(l), "%s/%s", lun, de->d_name);
            rm(l, false, true);
        }
        if (d) closedir(d);
        rm(p, false, true);
    }
    snprintf(p, sizeof(p), CFS "/loopback/naa.%s", serial);
    if (!access(p, F_OK)) rm(p, false, true);
}

static void rm_children(const char *dir, const char *prefix, bool links)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' || (prefix && strncmp(de->d_name, prefix, strlen(prefix))))
            continue;
        char p[PATH_MAX + 300];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        rm(p, links, false);
    }
    if (d) closedir(d);
}

/* An iSCSI target group that has lost its last LUN: disabled, then taken apart. */
static void remove_iscsi_tpg(const char *iqn_dir, const char *tpg_name)
{
    char tpg[PATH_MAX + 300], p[PATH_MAX * 2];
    snprintf(tpg, sizeof(tpg), "%s/%s", iqn_dir, tpg_name);
    snprintf(p, sizeof(p), "%s/lun", tpg);
    DIR *d = opendir(p);
    struct dirent *de;
    int luns = 0;
    while (d && (de = readdir(d))) luns += !strncmp(de->d_name, "lun_", 4);
    if (d) closedir(d);
    if (luns) return;
    snprintf(p, sizeof(p), "%s/enable", tpg);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs("0", f);
        fclose(f);
    }
    snprintf(p, sizeof(p), "%s/np", tpg);
    rm_children(p, NULL, false);
    snprintf(p, sizeof(p), "%s/acls", tpg);
    DIR *a = opendir(p);
    while (a && (de = readdir(a))) {
        if (de->d_name[0] == '.') continue;
        char acl[PATH_MAX * 2 + 300];
        snprintf(acl, sizeof(acl), "%s/%s", p, de->d_name);
        DIR *m = opendir(acl);
        struct dirent *me;
        while (m && (me = readdir(m))) {
            if (strncmp(me->d_name, "lun_", 4)) continue;
            char mapped[PATH_MAX * 3];
            snprintf(mapped, sizeof(mapped), "%s/%s", acl, me->d_name);
            rm_children(mapped, "lun_", true);
            rm(mapped, false, false);
        }
        if (m) closedir(m);
        rm(acl, false, true);
    }
    if (a) closedir(a);
    rm(tpg, false, true);
    rm(iqn_dir, false, true);
}

/* The ACL mappings (acls/<initiator>/<lun>) of a LUN about to go. */
static void remove_acl_mappings(const char *lun, void *acls_dir)
{
    DIR *a = opendir(acls_dir);
    struct dirent *ae;
    while (a && (ae = readdir(a))) {
        if (ae->d_name[0] == '.') continue;
        char mapped[PATH_MAX * 3];
        snprintf(mapped, sizeof(mapped), "%s/%s/%s", (const char *)acls_dir, ae->d_name, lun);
        rm_children(mapped, "lun_", true);
        rm(mapped, false, false);
    }
    if (a) closedir(a);
}

/* Removes the iSCSI LUNs that link to core/<hba>/<name>. */
static void remove_iscsi_luns(const char *hba, const char *name)
{
    char suffix[600];
    snprintf(suffix, sizeof(suffix), "/core/%s/%s", hba, name);
    DIR *t = opendir(CFS "/iscsi");
    struct dirent *iqn;
    while (t && (iqn = readdir(t))) {
        if (strncmp(iqn->d_name, "iqn.", 4)) continue;
        char iqn_dir[PATH_MAX];
        snprintf(iqn_dir, sizeof(iqn_dir), CFS "/iscsi/%s", iqn->d_name);
        DIR *g = opendir(iqn_dir);
        struct dirent *tpg;
        while (g && (tpg = readdir(g))) {
            if (strncmp(tpg->d_name, "tpgt_", 5)) continue;
            char lundir[PATH_MAX * 2], acls[PATH_MAX * 2];
            snprintf(lundir, sizeof(lundir), "%s/%s/lun", iqn_dir, tpg->d_name);
            snprintf(acls, sizeof(acls), "%s/%s/acls", iqn_dir, tpg->d_name);
            if (remove_linked_luns(lundir, name, suffix, remove_acl_mappings, acls))
                remove_iscsi_tpg(iqn_dir, tpg->d_name);
        }
        if (g) closedir(g);
    }
    if (t) closedir(t);
}

static void rescue(th_ctx *ctx, const char *hba, const char *name, const char *path)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof(p), "%s/action/reset_ring", path);
    FILE *f = fopen(p, "w"); /* pending commands end with BUSY; the ring starts clean */
    if (f) {
        fputs("1", f);
        fclose(f);
    }
    th_refuser *refuser = NULL; /* stays NULL when there is no ring to serve */
    th_device_refuse_open(ctx, atoi(hba + 5), name, &refuser);
    remove_luns(hba, name);
    remove_own_target(path);
    remove_iscsi_luns(hba, name);
    th_device_refuse_close(refuser);
    rm(path, false, false);
}

int cmd_cleanup(int argc, char **argv)
{
    if (argc > 1) {
        bool help = !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h");
        if (!help)
            fprintf(stderr, "tcmu-harness cleanup: takes no %s ('%s')\n",
                    argv[1][0] == '-' ? "options" : "arguments", argv[1]);
        fprintf(help ? stdout : stderr,
                "usage: tcmu-harness cleanup\n  removes loopback and iSCSI LUNs and backstores "
                "named th-* that no running harness holds\n");
        return help ? 0 : CLI_USAGE;
    }
    if (access(CFS "/core", F_OK)) {
        printf("nothing to clean: %s does not exist\n", CFS "/core");
        return 0;
    }
    th_ctx *ctx;
    int rc = th_ctx_new(&ctx);
    if (rc) { /* it failed with no word said */
        fprintf(stderr, "tcmu-harness cleanup: %s\n",
                rc == -EINVAL ? "TCMU_HARNESS_INSTANCE: 1 to 8 hex digits or unset was expected"
                              : strerror(-rc));
        return 1;
    }
    DIR *c = opendir(CFS "/core");
    struct dirent *h;
    while (c && (h = readdir(c))) {
        if (strncmp(h->d_name, "user_", 5)) continue;
        char hd[PATH_MAX];
        snprintf(hd, sizeof(hd), CFS "/core/%s", h->d_name);
        DIR *d = opendir(hd);
        struct dirent *b;
        while (d && (b = readdir(d))) {
            if (strncmp(b->d_name, "th-", 3)) continue;
            char path[PATH_MAX + 300], prefix[600], dev[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", hd, b->d_name);
            snprintf(prefix, sizeof(prefix), "tcm-user/%s/%s/", h->d_name + 5, b->d_name);
            pid_t pid = uio_name(prefix, dev, sizeof(dev)) ? holder(dev) : 0;
            if (pid) {
                printf("kept %s (in use by pid %d)\n", path, (int)pid);
                continue;
            }
            rescue(ctx, h->d_name, b->d_name, path);
        }
        if (d) closedir(d);
        rm(hd, false, true);
    }
    if (c) closedir(c);
    th_ctx_free(ctx);
    printf("cleanup: %d removed, %d failed\n", removed, failed);
    return failed ? 1 : 0;
}
