/* The VM code's error convention: negative errno, message in the context. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "vm_internal.h"

void th_vm_ctx_init(th_vm_ctx *vc, th_vm_progress_fn progress, void *arg)
{
    memset(vc, 0, sizeof(*vc));
    vc->progress = progress;
    vc->progress_arg = arg;
}

const char *th_vm_errmsg(const th_vm_ctx *vc)
{
    return vc->err;
}

int th_vm_fail(th_vm_ctx *vc, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vc->err, sizeof(vc->err), fmt, ap);
    va_end(ap);
    return rc;
}

void th_vm_progress(th_vm_ctx *vc, const char *fmt, ...)
{
    if (!vc->progress) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    vc->progress(vc->progress_arg, line);
}

int th_vm_exit_status(const th_vm_ctx *vc, int rc)
{
    if (rc >= 0) return rc;
    if (rc == -ETIMEDOUT) return 124;
    if (rc == -EINTR && vc->signal > 0) return 128 + vc->signal;
    return 125;
}
