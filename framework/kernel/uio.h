#ifndef TH_UIO_H
#define TH_UIO_H
#include <stddef.h>
#include "../core/ctx_internal.h"

typedef struct th_uio {
    int fd;
    void *map;
    size_t size;
    char dev[TH_PATH_MAX];
} th_uio;

/* Finds the UIO device whose name starts with prefix ("tcm-user/<hba>/<name>/"),
 * waiting up to timeout_ms for it and its /dev node to appear, and maps it. */
int th_uio_open(th_ctx *ctx, const char *prefix, int timeout_ms, th_uio *out);
void th_uio_close(th_uio *u);

#endif
