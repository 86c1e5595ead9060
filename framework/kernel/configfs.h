/* Kernel objects a device creates, recorded so that close (or a failed open) removes
 * exactly those, newest first. */
#ifndef TH_CONFIGFS_H
#define TH_CONFIGFS_H
#include <stdbool.h>
#include "../core/ctx_internal.h"

typedef enum { TH_UNDO_RMDIR, TH_UNDO_UNLINK, TH_UNDO_RMDIR_IF_EMPTY } th_undo_kind;

/* Longer than any path built under a root of TH_ROOT_MAX; a longer one is refused
 * before anything is created, never recorded cut short. */
#define TH_CFS_PATH_MAX 1024

typedef struct th_undo {
    th_undo_kind kind;
    char path[TH_CFS_PATH_MAX];
} th_undo;

/* Grows as objects are made: an entry that is not recorded would never be removed.
 * Zero-initialised is empty; th_cfs_undo releases the storage. */
typedef struct th_objects {
    th_undo *items;
    int n, cap;
} th_objects;

int th_cfs_write(th_ctx *ctx, const char *path, const char *value);
int th_cfs_read(th_ctx *ctx, const char *path, char *buf, size_t cap);
/* mkdir; records it for removal. *existed (may be NULL) tells EEXIST apart. */
int th_cfs_mkdir(th_ctx *ctx, th_objects *o, const char *path, bool shared, bool *existed);
int th_cfs_symlink(th_ctx *ctx, th_objects *o, const char *target, const char *path);
/* Removes what was recorded, newest first, and frees the log; returns the first error. */
int th_cfs_undo(th_ctx *ctx, th_objects *o);
/* Removes only the newest recorded object (none: 0). */
int th_cfs_undo_last(th_ctx *ctx, th_objects *o);
bool th_path_exists(const char *path);

#endif
