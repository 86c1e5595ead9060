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

/* A thread's own last failure belongs to one ctx, not to an address: freed by another
 * thread, the next ctx may come back at that address (glibc's tcache gives it back at
 * once), and its reader must see that ctx's message, not the old one's. */
static th_ctx *shared_ctx;
static pthread_barrier_t two;
static char seen_msg[256];

static void *fail_then_read(void *arg)
{
    (void)arg;
    th_fail(shared_ctx, -EIO, "old failure on the first ctx");
    pthread_barrier_wait(&two); /* the main thread frees it, makes another, fails on it */
    pthread_barrier_wait(&two);
    snprintf(seen_msg, sizeof(seen_msg), "%s", th_ctx_errmsg(shared_ctx));
    return NULL;
}

Test(ctx, a_freed_ctx_s_error_does_not_reach_a_new_ctx_at_its_address)
{
    th_ctx *first;
    cr_assert_eq(th_ctx_new(&first), 0);
    shared_ctx = first;
    pthread_barrier_init(&two, NULL, 2);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, fail_then_read, NULL), 0);
    pthread_barrier_wait(&two);
    uintptr_t first_at = (uintptr_t)first;
    th_ctx_free(first);
    th_ctx *second;
    cr_assert_eq(th_ctx_new(&second), 0);
    shared_ctx = second;
    th_fail(second, -EINVAL, "new failure on the second ctx");
    pthread_barrier_wait(&two);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&two);
    cr_assert(strstr(seen_msg, "new failure"), "the other thread read \"%s\" (same address: %d)",
              seen_msg, first_at == (uintptr_t)second);
    th_ctx_free(second);
}
