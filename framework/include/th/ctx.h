/* A context owns the logger and the kernel paths; there is no global state. */
#ifndef TH_CTX_H
#define TH_CTX_H
#include <stdint.h>
#include "th/log.h"
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef struct th_ctx th_ctx;

/* Fails with -EINVAL when TCMU_HARNESS_INSTANCE is set but not 1 to 8 hex digits. */
int th_ctx_new(th_ctx **out);
void th_ctx_free(th_ctx *ctx);
/* Messages above max_level are dropped before formatting. */
void th_ctx_set_logger(th_ctx *ctx, th_log_fn fn, void *arg, th_log_level max_level);
/* Defaults: /sys/kernel/config, /sys, /dev. Tests point these elsewhere. */
int th_ctx_set_paths(th_ctx *ctx, const char *configfs, const char *sysfs, const char *dev);
/* The instance id: what keeps the kernel objects and identifiers of devices that two
 * harness processes both call "d0" apart (configfs th-<id>-d0, WWN, serial). Random
 * per context (getrandom), or TCMU_HARNESS_INSTANCE (hex) when set; the setter pins
 * it, for tests, before any device is opened. */
uint32_t th_ctx_instance(const th_ctx *ctx);
void th_ctx_set_instance(th_ctx *ctx, uint32_t instance);
/* Text of the last error returned by a call that took this context: the last one this
 * thread raised on it (threads failing at once each keep their own), else the last one
 * any thread raised; valid until this thread's next call on the context. */
const char *th_ctx_errmsg(const th_ctx *ctx);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
