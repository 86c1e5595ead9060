#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "configfs.h"
#include "uio.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int by_number_down(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

/* The UIO device named prefix*. The one just made is usually the highest numbered (the
 * kernel hands out the lowest free minor, and devices made at once fill the top), so the
 * names are read from the top down: opening many devices does not read every other
 * device's name for each. */
static int find(th_ctx *ctx, const char *prefix, char *name, size_t cap)
{
    char dir[TH_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/class/uio", ctx->sysfs);
    DIR *d = opendir(dir);
    if (!d) return -ENOENT;
    int *nums = NULL, n = 0, ncap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        if (strncmp(de->d_name, "uio", 3) || !de->d_name[3]) continue;
        long v = strtol(de->d_name + 3, &end, 10);
        if (*end || v < 0 || v > 1 << 20) continue;
        if (n == ncap) {
            int *p = realloc(nums, (size_t)(ncap = ncap ? ncap * 2 : 64) * sizeof(*p));
            if (!p) break;
            nums = p;
        }
        nums[n++] = (int)v;
    }
    closedir(d);
    if (n > 1) qsort(nums, (size_t)n, sizeof(*nums), by_number_down); /* nums is NULL when n == 0 */
    int rc = -ENOENT;
    size_t pl = strlen(prefix);
    for (int i = 0; i < n && rc; i++) {
        char path[TH_PATH_MAX + 64], val[256];
        snprintf(path, sizeof(path), "%s/uio%d/name", dir, nums[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t len = read(fd, val, sizeof(val) - 1);
        close(fd);
        if (len < (ssize_t)pl || strncmp(val, prefix, pl)) continue;
        snprintf(name, cap, "uio%d", nums[i]);
        rc = 0;
    }
    free(nums);
    return rc;
}

int th_uio_open(th_ctx *ctx, const char *prefix, int timeout_ms, th_uio *u)
{
    memset(u, 0, sizeof(*u));
    u->fd = -1;
    char name[64] = "";
    long long deadline = now_ms() + timeout_ms;
    /* The uio device and its /dev node appear asynchronously after enable (on 6.1 before
     * the write returns; others may lag): short polls first, then longer. */
    for (useconds_t pause = 500;; pause = pause < 16000 ? pause * 2 : pause) {
        if (!name[0]) find(ctx, prefix, name, sizeof(name));
        if (name[0]) {
            snprintf(u->dev, sizeof(u->dev), "%s/%s", ctx->dev, name);
            u->fd = open(u->dev, O_RDWR | O_CLOEXEC);
            if (u->fd >= 0) break;
        }
        if (now_ms() > deadline) {
            if (!name[0])
                return th_fail(ctx, -ENODEV, "no UIO device named %s* appeared in %s/class/uio",
                               prefix, ctx->sysfs);
            return th_fail(ctx, -errno, "open %s: %s", u->dev, strerror(errno));
        }
        usleep(pause);
    }
    char path[TH_PATH_MAX + 64], val[64];
    snprintf(path, sizeof(path), "%s/class/uio/%s/maps/map0/size", ctx->sysfs, name);
    int rc = th_cfs_read(ctx, path, val, sizeof(val));
    if (rc) {
        th_uio_close(u);
        return rc;
    }
    u->size = (size_t)strtoull(val, NULL, 0);
    u->map = mmap(NULL, u->size, PROT_READ | PROT_WRITE, MAP_SHARED, u->fd, 0);
    if (u->map == MAP_FAILED) {
        int e = errno;
        u->map = NULL;
        th_uio_close(u);
        return th_fail(ctx, -e, "mmap %s (%zu bytes): %s", u->dev, u->size, strerror(e));
    }
    th_log(ctx, TH_LOG_DEBUG, "mapped", "uio", u->dev, "size", val, NULL);
    return 0;
}

void th_uio_close(th_uio *u)
{
    if (u->map) munmap(u->map, u->size);
    if (u->fd >= 0) close(u->fd);
    u->map = NULL;
    u->fd = -1;
}
