/* Serves one ring: reads entries, runs the handler, completes, kicks. */
#ifndef TH_SERVER_H
#define TH_SERVER_H
#include <pthread.h>
#include <stdatomic.h>
#include "../cmd/cmd_source.h"
#include "../core/ctx_internal.h"
#include "../kernel/ring.h"
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
    pthread_t poll_thread;
    bool started;
    int n_workers;
    int spin;
    pthread_t *workers;
    pthread_mutex_t qlock; /* queue, free list, in-flight table */
    pthread_cond_t qcond;
    th_cmd *qhead, *qtail;
    th_cmd *free_list;
    th_cmd **inflight; /* by cmd id */
    size_t n_inflight;
    bool stopping;
    uint32_t completing; /* off the id table, completion not yet done (qlock) */
    atomic_uint unkicked;
    _Atomic uint64_t served;
    _Atomic uint64_t kicks;
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
