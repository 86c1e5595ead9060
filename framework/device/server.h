/* Serves one ring: reads entries, runs the handler, completes, kicks. */
#ifndef TH_SERVER_H
#define TH_SERVER_H
#include <pthread.h>
#include <stdatomic.h>
#include "../cmd/cmd_source.h"
#include "../core/ctx_internal.h"
#include "../kernel/ring.h"
#include "spin.h"
#include "th/device.h"

typedef struct th_server {
    th_ring ring;
    th_ctx *ctx;
    const char *name;
    th_handler_fn fn;
    void *arg;
    void *user;
    th_tmr_fn on_tmr;
    void *tmr_arg;
    int stop_fd;
    atomic_bool stop_req; /* seen by the spin path, which does not poll stop_fd */
    pthread_t poll_thread;
    bool started;
    int spin_polls; /* the most polls one spin makes; 0: never spin */
    th_spin spin;   /* serving thread only */
    /* Workers: commands the serving thread hands off, in batches. */
    int n_workers;
    pthread_t *workers;
    pthread_mutex_t qlock; /* qhead..q_stop */
    pthread_cond_t qcond;
    th_cmd *qhead, *qtail;
    uint32_t qlen;
    int n_idle;                 /* workers waiting on qcond */
    bool q_stop;                /* workers finish the queue, then exit */
    atomic_uint handed_pending; /* handed off, not yet run to the end */
    /* What a handler costs (ns, smoothed; measured on samples): decides between running
     * on the serving thread and handing off. Written racily by several threads: a hint. */
    _Atomic uint64_t cost_ns;
    uint32_t n_inline; /* serving thread only: picks the samples */
    /* Commands: the id table and the free lists. */
    pthread_mutex_t flock; /* free_list, and the joiner's waits on fcond */
    pthread_cond_t fcond;
    th_cmd *free_list;
    th_cmd *local_free;          /* serving thread only: no lock per command */
    _Atomic(th_cmd *) *inflight; /* by cmd id */
    atomic_uint completing;      /* off the id table, completion not yet done */
    atomic_bool stopping;        /* join waits: completers wake it */
    atomic_uint unkicked;
    _Atomic uint64_t served;
    _Atomic uint64_t kicks;
    _Atomic uint64_t handed_off;
    atomic_bool broken;
    th_ring_tmr tmr;
} th_server;

int th_server_start(th_server *s, th_ctx *ctx, const char *name, void *map, size_t size, int fd,
                    const th_device_config *cfg);
/* Async-signal-safe. */
void th_server_request_stop(th_server *s);
/* Waits for the threads, fails whatever is still in flight, frees everything. */
void th_server_join(th_server *s);

#endif
