/* A context owns the logger and the kernel paths; there is no global state. */
#ifndef TH_CTX_H
#define TH_CTX_H
#include "th/log.h"

typedef struct th_ctx th_ctx;

int th_ctx_new(th_ctx **out);
void th_ctx_free(th_ctx *ctx);
/* Messages above max_level are dropped before formatting. */
void th_ctx_set_logger(th_ctx *ctx, th_log_fn fn, void *arg, th_log_level max_level);
/* Defaults: /sys/kernel/config, /sys, /dev. Tests point these elsewhere. */
int th_ctx_set_paths(th_ctx *ctx, const char *configfs, const char *sysfs, const char *dev);
/* Text of the last error returned by a call that took this context: a copy made for
 * the calling thread, valid until its next th_ctx_errmsg call. */
const char *th_ctx_errmsg(const th_ctx *ctx);

#endif
