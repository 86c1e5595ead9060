#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "ctx_internal.h"

/* TCMU_HARNESS_INSTANCE=<1..8 hex digits> pins the id (reproducible names); anything
 * else in it is refused rather than silently replaced by a random id. */
static int initial_instance(uint32_t *out)
{
    const char *env = getenv("TCMU_HARNESS_INSTANCE");
    if (env && *env) {
        size_t len = strlen(env);
        if (len > 8 || strspn(env, "0123456789abcdefABCDEF") != len) return -EINVAL;
        *out = (uint32_t)strtoul(env, NULL, 16);
        return 0;
    }
    uint32_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) return errno ? -errno : -EIO;
    *out = v;
    return 0;
}

/* The last failure this thread raised, and on which context: threads that fail at once
 * (devices opened in parallel) each read their own message, not the newest of all. */
static _Thread_local struct {
    const th_ctx *ctx;
    uint64_t gen; /* the address alone is not enough: another thread may free the ctx and
                   * a new one come back at the same address */
    char msg[TH_ERR_MAX];
} own;

static _Atomic uint64_t next_gen = 1;

int th_ctx_new(th_ctx **out)
{
    uint32_t instance = 0;
    int rc = initial_instance(&instance);
    if (rc) return rc;
    th_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) return -ENOMEM;
    ctx->instance = instance;
    ctx->log_max = TH_LOG_ERROR;
    ctx->gen = atomic_fetch_add(&next_gen, 1);
    pthread_mutex_init(&ctx->err_lock, NULL);
    th_ctx_set_paths(ctx, NULL, NULL, NULL);
    *out = ctx;
    return 0;
}

void th_ctx_free(th_ctx *ctx)
{
    if (!ctx) return;
    pthread_mutex_destroy(&ctx->err_lock);
    free(ctx);
}

void th_ctx_set_logger(th_ctx *ctx, th_log_fn fn, void *arg, th_log_level max_level)
{
    ctx->log_fn = fn;
    ctx->log_arg = arg;
    ctx->log_max = max_level;
}

static int set_path(char *dst, const char *src, const char *dflt)
{
    const char *p = src ? src : dflt;
    if (strlen(p) >= TH_ROOT_MAX) return -ENAMETOOLONG;
    strcpy(dst, p);
    return 0;
}

int th_ctx_set_paths(th_ctx *ctx, const char *configfs, const char *sysfs, const char *dev)
{
    int rc = set_path(ctx->configfs, configfs, "/sys/kernel/config");
    if (!rc) rc = set_path(ctx->sysfs, sysfs, "/sys");
    if (!rc) rc = set_path(ctx->dev, dev, "/dev");
    return rc;
}

uint32_t th_ctx_instance(const th_ctx *ctx)
{
    return ctx->instance;
}

void th_ctx_set_instance(th_ctx *ctx, uint32_t instance)
{
    ctx->instance = instance;
}

const char *th_ctx_errmsg(const th_ctx *ctx)
{
    if (own.ctx == ctx && own.gen == ctx->gen) return own.msg;
    /* A copy per thread, taken under the lock: another thread's th_fail cannot tear
     * it, and it stays valid until this thread asks again. */
    static _Thread_local char copy[TH_ERR_MAX];
    pthread_mutex_lock((pthread_mutex_t *)&ctx->err_lock);
    memcpy(copy, ctx->err, sizeof(copy));
    pthread_mutex_unlock((pthread_mutex_t *)&ctx->err_lock);
    return copy;
}

void th_log(const th_ctx *ctx, th_log_level level, const char *msg, ...)
{
    if (!ctx || !ctx->log_fn || level > ctx->log_max) return;
    th_log_field fields[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        if (n < 16) fields[n++] = (th_log_field){k, v ? v : ""};
    }
    va_end(ap);
    ctx->log_fn(ctx->log_arg, level, msg, fields, n);
}

int th_fail(th_ctx *ctx, int err, const char *fmt, ...)
{
    char buf[TH_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&ctx->err_lock);
    memcpy(ctx->err, buf, sizeof(buf));
    pthread_mutex_unlock(&ctx->err_lock);
    own.ctx = ctx;
    own.gen = ctx->gen;
    memcpy(own.msg, buf, sizeof(buf));
    th_log(ctx, TH_LOG_ERROR, buf, "errno", strerror(-err), NULL);
    return err;
}
