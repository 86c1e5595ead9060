/* The context's error message, read while another thread records failures. */
#include <pthread.h>
#include <stdatomic.h>
#include "core/ctx_internal.h"
#include "helpers.h"

static const char *const msgs[] = {
    "short",
    "a much longer message that overwrites the short one with many more characters than it",
};
static atomic_bool failing;

static void *fail_loop(void *arg)
{
    th_ctx *ctx = arg;
    for (int i = 0; i < 20000; i++) th_fail(ctx, -EIO, "%s", msgs[i & 1]);
    atomic_store(&failing, false);
    return NULL;
}

Test(ctx, errmsg_is_a_whole_message_while_another_thread_fails)
{
    th_ctx *ctx;
    cr_assert_eq(th_ctx_new(&ctx), 0);
    th_fail(ctx, -EIO, "%s", msgs[0]);
    atomic_store(&failing, true);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, fail_loop, ctx), 0);
    int torn = 0;
    while (atomic_load(&failing)) {
        const char *m = th_ctx_errmsg(ctx);
        torn += strcmp(m, msgs[0]) && strcmp(m, msgs[1]);
    }
    pthread_join(t, NULL);
    cr_assert_eq(torn, 0, "%d torn messages", torn);
    th_ctx_free(ctx);
}
