#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "configfs.h"

bool th_path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int th_cfs_write(th_ctx *ctx, const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return th_fail(ctx, -errno, "open %s: %s", path, strerror(errno));
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    int e = n < 0 ? errno : 0;
    close(fd);
    if (n < 0) return th_fail(ctx, -e, "write '%s' to %s: %s", value, path, strerror(e));
    if ((size_t)n != len) return th_fail(ctx, -EIO, "short write of '%s' to %s", value, path);
    th_log(ctx, TH_LOG_DEBUG, "configfs write", "path", path, "value", value, NULL);
    return 0;
}

int th_cfs_read(th_ctx *ctx, const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return th_fail(ctx, -errno, "open %s: %s", path, strerror(errno));
    ssize_t n = read(fd, buf, cap - 1);
    int e = errno;
    close(fd);
    if (n < 0) return th_fail(ctx, -e, "read %s: %s", path, strerror(e));
    buf[n] = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
    return 0;
}

static int record(th_ctx *ctx, th_objects *o, th_undo_kind kind, const char *path)
{
    if (o->n == o->cap) {
        int cap = o->cap ? o->cap * 2 : 16;
        th_undo *items = realloc(o->items, (size_t)cap * sizeof(*items));
        if (!items) return th_fail(ctx, -ENOMEM, "no memory to record %s for removal", path);
        o->items = items;
        o->cap = cap;
    }
    o->items[o->n].kind = kind;
    memcpy(o->items[o->n].path, path, strlen(path) + 1); /* fits: checked before creating */
    o->n++;
    return 0;
}

/* A path cut short would be removed instead of the one created: refuse it up front. */
static int check_len(th_ctx *ctx, const char *path)
{
    if (strlen(path) < TH_CFS_PATH_MAX) return 0;
    return th_fail(ctx, -ENAMETOOLONG, "configfs path longer than %d bytes: %.80s...",
                   TH_CFS_PATH_MAX - 1, path);
}

int th_cfs_mkdir(th_ctx *ctx, th_objects *o, const char *path, bool shared, bool *existed)
{
    if (existed) *existed = false;
    int lrc = check_len(ctx, path);
    if (lrc) return lrc;
    if (mkdir(path, 0755) == 0) {
        th_log(ctx, TH_LOG_DEBUG, "created", "path", path, NULL);
        int rc = record(ctx, o, shared ? TH_UNDO_RMDIR_IF_EMPTY : TH_UNDO_RMDIR, path);
        if (rc) rmdir(path); /* unrecorded, it would outlive its owner */
        return rc;
    }
    int e = errno;
    if (e == EEXIST && shared) {
        if (existed) *existed = true;
        /* Shared parents (user_<hba>, a loopback target) go when their last user does. */
        return record(ctx, o, TH_UNDO_RMDIR_IF_EMPTY, path);
    }
    if (e == EEXIST)
        return th_fail(
            ctx, -e, "%s already exists (left by a crashed run? try 'tcmu-harness cleanup')", path);
    return th_fail(ctx, -e, "mkdir %s: %s", path, strerror(e));
}

int th_cfs_symlink(th_ctx *ctx, th_objects *o, const char *target, const char *path)
{
    int lrc = check_len(ctx, path);
    if (lrc) return lrc;
    if (symlink(target, path))
        return th_fail(ctx, -errno, "link %s -> %s: %s", path, target, strerror(errno));
    th_log(ctx, TH_LOG_DEBUG, "created", "path", path, NULL);
    int rc = record(ctx, o, TH_UNDO_UNLINK, path);
    if (rc) unlink(path);
    return rc;
}

static int undo_one(th_ctx *ctx, const th_undo *u)
{
    if (!u->path[0]) return 0; /* dropped: still used by someone else */
    int rc = u->kind == TH_UNDO_UNLINK ? unlink(u->path) : rmdir(u->path);
    int e = errno;
    if (rc == 0) {
        th_log(ctx, TH_LOG_DEBUG, "removed", "path", u->path, NULL);
        return 0;
    }
    if (u->kind == TH_UNDO_RMDIR_IF_EMPTY && (e == ENOTEMPTY || e == EBUSY || e == ENOENT))
        return 0;
    return th_fail(ctx, -e, "remove %s: %s", u->path, strerror(e));
}

int th_cfs_undo_last(th_ctx *ctx, th_objects *o)
{
    return o->n > 0 ? undo_one(ctx, &o->items[--o->n]) : 0;
}

int th_cfs_undo(th_ctx *ctx, th_objects *o)
{
    int first = 0;
    while (o->n > 0) {
        int err = th_cfs_undo_last(ctx, o);
        if (err && !first) first = err;
    }
    free(o->items);
    o->items = NULL;
    o->cap = 0;
    return first;
}
