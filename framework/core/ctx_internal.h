#ifndef TH_CTX_INTERNAL_H
#define TH_CTX_INTERNAL_H
#include <pthread.h>
#include <stdbool.h>
#include "th/ctx.h"

#define TH_PATH_MAX 512
/* Roots (configfs, sysfs, /dev) are shorter, so that every object path built under them
 * (an iSCSI ACL's mapped LUN: root + ~480 bytes of IQNs) fits a recorded path. */
#define TH_ROOT_MAX 256
#define TH_ERR_MAX  512

struct th_ctx {
    th_log_fn log_fn;
    void *log_arg;
    th_log_level log_max;
    uint32_t instance;
    char configfs[TH_PATH_MAX];
    char sysfs[TH_PATH_MAX];
    char dev[TH_PATH_MAX];
    pthread_mutex_t err_lock;
    uint64_t gen; /* unique per ctx ever made: a later ctx at a freed one's address differs */
    char err[TH_ERR_MAX];
};

/* Whether th_log at this level reaches the sink: callers that format values first ask. */
static inline bool th_log_on(const th_ctx *ctx, th_log_level level)
{
    return ctx && ctx->log_fn && level <= ctx->log_max;
}
/* fields: key, value pairs ending with NULL. */
void th_log(const th_ctx *ctx, th_log_level level, const char *msg, ...);
/* Formats into ctx->err, logs it at error level, and returns err (a negative errno). */
int th_fail(th_ctx *ctx, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
