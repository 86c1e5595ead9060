#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "loopback.h"

/* Devices sharing a target and opened at once race to make its nexus: losing that race
 * (EEXIST) is fine, the nexus is there, and is no error to log. */
static int write_nexus(th_ctx *ctx, const char *path, const char *nexus)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return th_fail(ctx, -errno, "open %s: %s", path, strerror(errno));
    ssize_t n = write(fd, nexus, strlen(nexus));
    int e = n < 0 ? errno : 0;
    close(fd);
    if (e == EEXIST) return 0;
    if (n < 0) return th_fail(ctx, -e, "write '%s' to %s: %s", nexus, path, strerror(e));
    th_log(ctx, TH_LOG_DEBUG, "configfs write", "path", path, "value", nexus, NULL);
    return 0;
}

int th_loop_export(th_ctx *ctx, th_objects *o, const char *target, const char *nexus, int lun,
                   const char *backstore, const char *link_name)
{
    char p[TH_PATH_MAX], tpg[TH_PATH_MAX];
    snprintf(p, sizeof(p), "%s/target/loopback", ctx->configfs);
    /* LIO registers a fabric when its folder is made; it is shared, never removed. */
    if (!th_path_exists(p) && mkdir(p, 0755) && errno != EEXIST)
        return th_fail(ctx, -errno, "mkdir %s: %s (is tcm_loop loaded?)", p, strerror(errno));
    snprintf(p, sizeof(p), "%s/target/loopback/%s", ctx->configfs, target);
    int rc = th_cfs_mkdir(ctx, o, p, true, NULL);
    if (rc) return rc;
    snprintf(tpg, sizeof(tpg), "%s/tpgt_1", p);
    rc = th_cfs_mkdir(ctx, o, tpg, true, NULL);
    if (rc) return rc;
    /* The nexus must exist before the LUN, or no SCSI device is created. */
    char cur[128] = "";
    snprintf(p, sizeof(p), "%s/nexus", tpg);
    FILE *f = fopen(p, "r"); /* reading fails with ENODEV until a nexus exists */
    if (f) {
        if (!fgets(cur, sizeof(cur), f)) cur[0] = 0;
        fclose(f);
    }
    if (strncmp(cur, "naa.", 4) && (rc = write_nexus(ctx, p, nexus))) return rc;
    snprintf(p, sizeof(p), "%s/lun/lun_%d", tpg, lun);
    if ((rc = th_cfs_mkdir(ctx, o, p, false, NULL))) return rc;
    char link[TH_PATH_MAX + 80];
    snprintf(link, sizeof(link), "%s/%s", p, link_name);
    return th_cfs_symlink(ctx, o, backstore, link);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* First entry of dir whose name starts with prefix (and is not a mode variant). */
static bool first_entry(const char *dir, const char *prefix, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *de;
    bool found = false;
    size_t pl = strlen(prefix);
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, prefix, pl)) continue;
        const char *rest = de->d_name + pl;
        if (!*rest) continue;
        /* "st0", not its mode variants "st0a"/"st0l"/"st0m" (sd names are letters). */
        bool tape = !strcmp(prefix, "st") || !strcmp(prefix, "nst");
        bool digits = true;
        for (const char *c = rest; *c; c++) digits &= *c >= '0' && *c <= '9';
        if (tape && !digits) continue;
        snprintf(out, cap, "%s", de->d_name);
        found = true;
        break;
    }
    closedir(d);
    return found;
}

/* A disk's node is there (device_add) a moment before the kernel makes the disk live
 * (bdev_add, then the partition scan): opened in between it answers ENXIO, which a user
 * who opens it as soon as the device is reported ready must not see (issue 14's soak:
 * 1 create/open in 7 in the TCG guest). Opened without waiting for media (O_NONBLOCK:
 * FMODE_NDELAY); any other error is the caller's to meet, as before. */
static bool disk_live(const char *dev)
{
    int fd = open(dev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return true;
    }
    return errno != ENXIO && errno != ENODEV;
}

int th_loop_find_nodes(th_ctx *ctx, const char *target, int lun, bool tape, int timeout_ms,
                       th_nodes *n)
{
    memset(n, 0, sizeof(*n));
    char p[TH_PATH_MAX], addr[32] = "";
    snprintf(p, sizeof(p), "%s/target/loopback/%s/tpgt_1/address", ctx->configfs, target);
    int rc = th_cfs_read(ctx, p, addr, sizeof(addr));
    if (rc) return rc;
    snprintf(n->address, sizeof(n->address), "%s:%d", addr, lun);
    char sdev[TH_PATH_MAX + 40];
    snprintf(sdev, sizeof(sdev), "%s/bus/scsi/devices/%s", ctx->sysfs, n->address);
    long long deadline = now_ms() + timeout_ms;
    /* sg is there when the LUN's link returns (the SCSI scan is synchronous); sd comes
     * from the kernel's asynchronous probe, tens of ms later: short polls, then longer. */
    for (useconds_t pause = 1000;; pause = pause < 16000 ? pause * 2 : pause) {
        char dir[TH_PATH_MAX + 80], name[64];
        bool done = true;
        struct {
            th_loop_node node;
            const char *sub, *prefix;
            bool want;
        } wants[] = {
            {TH_LOOP_SG, "scsi_generic", "sg", true},
            {TH_LOOP_SD, "block", "sd", !tape},
            {TH_LOOP_ST, "scsi_tape", "st", tape},
            {TH_LOOP_NST, "scsi_tape", "nst", tape},
        };
        for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
            if (!wants[i].want || n->path[wants[i].node][0]) continue;
            snprintf(dir, sizeof(dir), "%s/%s", sdev, wants[i].sub);
            char dev[TH_PATH_MAX + 64];
            if (first_entry(dir, wants[i].prefix, name, sizeof(name))) {
                snprintf(dev, sizeof(dev), "%s/%s", ctx->dev, name);
                if (th_path_exists(dev) && (wants[i].node != TH_LOOP_SD || disk_live(dev))) {
                    snprintf(n->path[wants[i].node], sizeof(n->path[0]), "%s", dev);
                    continue;
                }
            }
            done = false;
        }
        if (done) return 0;
        if (now_ms() > deadline)
            return th_fail(
                ctx, -ETIMEDOUT,
                "SCSI device %s did not get its /dev nodes within %d ms (does the handler "
                "answer INQUIRY?)",
                n->address, timeout_ms);
        usleep(pause);
    }
}
