/* A bounded pool of threads over n items: opening and closing many devices at once, where
 * each item waits on the kernel far longer than it computes. */
#ifndef TH_CORE_POOL_H
#define TH_CORE_POOL_H

/* Calls fn(arg, i) once for every i in [0, n), on up to max_threads threads (the
 * caller's among them), and returns when every call has. Items are handed out in order;
 * fn may run on any of the threads, so what it shares it guards. Where threads cannot be
 * started, fewer (at least the caller's) do the work. */
void th_pool_run(int n, int max_threads, void (*fn)(void *arg, int i), void *arg);

#endif
