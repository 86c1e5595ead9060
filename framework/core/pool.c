#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "pool.h"

typedef struct pool {
    atomic_int next;
    int n;
    void (*fn)(void *arg, int i);
    void *arg;
} pool;

static void *worker(void *arg)
{
    pool *p = arg;
    for (int i; (i = atomic_fetch_add(&p->next, 1)) < p->n;) p->fn(p->arg, i);
    return NULL;
}

void th_pool_run(int n, int max_threads, void (*fn)(void *arg, int i), void *arg)
{
    pool p = {.n = n, .fn = fn, .arg = arg};
    atomic_init(&p.next, 0);
    int extra = (max_threads < n ? max_threads : n) - 1;
    pthread_t *t = extra > 0 ? malloc((size_t)extra * sizeof(*t)) : NULL;
    int started = 0;
    if (t) {
        pthread_attr_t attr;
        /* The items wait on the kernel; they need no deep stacks, and hundreds of default
         * 8 MiB reservations would crowd a small guest's address space for nothing. */
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 512 * 1024);
        while (started < extra && !pthread_create(&t[started], &attr, worker, &p)) started++;
        pthread_attr_destroy(&attr);
    }
    worker(&p);
    for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
    free(t);
}
