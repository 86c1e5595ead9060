#include <errno.h>
#include "../kernel/tcmu_uapi.h"
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "server.h"

/* The ring and the command model meet here: their bounds must agree. */
_Static_assert(TH_RING_CDB_MAX == TH_CDB_MAX, "ring and command CDB bounds differ");
_Static_assert(TH_RING_STATUS_CHECK_CONDITION == TH_STATUS_CHECK_CONDITION, "SAM status");

/* The server whose batch the current thread is working through; completions made
 * inside a batch are kicked once at its end, others at once. */
static _Thread_local th_server *tls_batch;

static void flush_kick(th_server *s)
{
    if (atomic_exchange(&s->unkicked, 0)) {
        th_ring_kick(&s->ring);
        atomic_fetch_add(&s->kicks, 1);
    }
}

/* completing: the command left the id table in server_done and is still on its way out
 * (join waits for those, as they still use s). */
static void release(th_server *s, th_cmd *cmd, bool completing)
{
    pthread_mutex_lock(&s->qlock);
    uint16_t id = th_cmd_id(cmd);
    if (s->inflight[id] == cmd) {
        s->inflight[id] = NULL;
        s->n_inflight--;
    }
    if (completing) s->completing--;
    th_cmd_set_link(cmd, s->free_list);
    s->free_list = cmd;
    pthread_cond_broadcast(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
}

static void complete_in_ring(th_server *s, const th_cmd *cmd)
{
    th_cmd_response c;
    th_cmd_get_response(cmd, &c);
    th_ring_response rsp = {
        .id = c.id,
        .status = c.status,
        .uflags = c.uflags,
        .data_in_set = c.data_in_set,
        .data_in_len = c.data_in_len,
        .data_in_cap = c.data_in_cap,
        .sense = c.sense,
        .sense_len = c.sense_len,
    };
    th_ring_complete(&s->ring, &rsp);
}

static void server_done(th_cmd *cmd)
{
    th_server *s = th_cmd_owner(cmd);
    /* Off the id table before the completion is in the ring: from then on any thread's
     * kick lets the kernel reuse the id, and the next entry with it must find the slot
     * free. `completing` keeps th_server_join waiting until this thread is done with s. */
    pthread_mutex_lock(&s->qlock);
    uint16_t id = th_cmd_id(cmd);
    if (s->inflight[id] == cmd) {
        s->inflight[id] = NULL;
        s->n_inflight--;
    }
    s->completing++;
    pthread_cond_broadcast(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
    complete_in_ring(s, cmd);
    atomic_fetch_add(&s->served, 1);
    atomic_fetch_add(&s->unkicked, 1);
    if (tls_batch != s) flush_kick(s);
    /* Last: once nothing is completing, th_server_join may free s. */
    release(s, cmd, true);
}

static th_cmd *get_cmd(th_server *s)
{
    pthread_mutex_lock(&s->qlock);
    th_cmd *cmd = s->free_list;
    if (cmd) s->free_list = th_cmd_link(cmd);
    pthread_mutex_unlock(&s->qlock);
    if (!cmd) cmd = th_cmd_alloc();
    /* Never an empty array: a command without data still has a valid iovec base. */
    if (cmd && th_cmd_reserve_iov(cmd, 1)) {
        th_cmd_free(cmd);
        cmd = NULL;
    }
    if (!cmd) return NULL;
    th_cmd_reset(cmd);
    th_cmd_set_done(cmd, server_done, s, s->user);
    return cmd;
}

static void run_handler(th_server *s, th_cmd *cmd)
{
    int rc = s->fn(cmd, s->arg);
    if (rc != TH_CMD_DEFERRED) th_cmd_complete(cmd);
}

static void handle_tmr(th_server *s)
{
    th_ring_tmr *t = &s->tmr;
    pthread_mutex_lock(&s->qlock);
    for (uint32_t i = 0; i < t->n; i++) {
        th_cmd *c = s->inflight[t->ids[i]];
        if (c) th_cmd_set_aborted(c);
    }
    pthread_mutex_unlock(&s->qlock);
    char type[8], n[12];
    snprintf(type, sizeof(type), "%u", t->type);
    snprintf(n, sizeof(n), "%u", t->n);
    th_log(s->ctx, TH_LOG_INFO, "task management request", "device", s->name, "type",
           th_tmr_name(t->type), "commands", n, NULL);
    if (s->on_tmr) s->on_tmr(s->tmr_arg, t->type, t->ids, t->n);
}

/* Reads the next entry; a command entry lands in cmd, whose iovec array the ring
 * fills in place (grown when an entry has more iovecs than it holds). */
static th_entry_kind next_entry(th_server *s, th_cmd *cmd)
{
    th_ring_cmd rc;
    rc.no_grow = false;
    rc.iov = th_cmd_iovecs(cmd, &rc.iov_cap);
    th_entry_kind k;
    /* Ends: the array only grows, and an entry holds a bounded number of iovecs. */
    while ((k = th_ring_next(&s->ring, &rc, &s->tmr)) == TH_ENTRY_NEED_IOV) {
        /* Out of memory: the ring fails the entry, as it cannot be served. */
        if (th_cmd_reserve_iov(cmd, rc.iov_need)) rc.no_grow = true;
        rc.iov = th_cmd_iovecs(cmd, &rc.iov_cap);
    }
    if (k == TH_ENTRY_CMD || k == TH_ENTRY_BAD_CMD || k == TH_ENTRY_UNKNOWN) {
        th_cmd_set_id(cmd, rc.id);
        th_cmd_set_cdb(cmd, rc.cdb, rc.cdb_len); /* cannot fail: the bounds agree */
        th_cmd_set_data_dirs(cmd, rc.out_cnt, rc.in_first, rc.in_cnt);
    }
    return k;
}

/* Reads everything queued; false once the ring is broken. */
static bool drain(th_server *s)
{
    for (;;) {
        th_cmd *cmd = get_cmd(s);
        if (!cmd) {
            th_log(s->ctx, TH_LOG_ERROR, "out of memory for a command", "device", s->name, NULL);
            return true; /* the entry stays queued; the next wakeup retries */
        }
        th_entry_kind k = next_entry(s, cmd);
        if (k != TH_ENTRY_CMD) {
            if (k == TH_ENTRY_BAD_CMD || k == TH_ENTRY_UNKNOWN) {
                char id[8];
                snprintf(id, sizeof(id), "%u", th_cmd_id(cmd));
                th_log(s->ctx, TH_LOG_ERROR,
                       k == TH_ENTRY_BAD_CMD ? "malformed ring entry; failed"
                                             : "unknown ring entry op; answered UNKNOWN_OP",
                       "device", s->name, "cmd_id", id, "why",
                       k == TH_ENTRY_BAD_CMD && s->ring.bad ? s->ring.bad : "-", NULL);
                if (k == TH_ENTRY_UNKNOWN) th_cmd_set_uflags(cmd, TCMU_UFLAG_UNKNOWN_OP);
                th_cmd_check(cmd, TH_KEY_HARDWARE_ERROR, TH_ASC_INTERNAL_TARGET_FAILURE);
                th_cmd_complete(cmd);
                continue;
            }
            release(s, cmd, false);
            if (k == TH_ENTRY_TMR) {
                handle_tmr(s);
                continue;
            }
            if (k == TH_ENTRY_BROKEN) {
                atomic_store(&s->broken, true);
                th_log(s->ctx, TH_LOG_ERROR, s->ring.err, "device", s->name, NULL);
                return false;
            }
            return true; /* TH_ENTRY_NONE */
        }
        pthread_mutex_lock(&s->qlock);
        uint16_t id = th_cmd_id(cmd);
        if (s->inflight[id]) {
            /* A kernel never reuses an id in flight; taking the slot would orphan the
             * first command (close would not find it, its late completion would
             * reach a freed server). */
            pthread_mutex_unlock(&s->qlock);
            release(s, cmd, false);
            th_ring_set_broken(&s->ring, "entry reuses a cmd_id still in flight", id);
            atomic_store(&s->broken, true);
            th_log(s->ctx, TH_LOG_ERROR, s->ring.err, "device", s->name, NULL);
            return false;
        }
        s->n_inflight++;
        s->inflight[id] = cmd;
        if (s->n_workers) {
            if (s->qtail)
                th_cmd_set_link(s->qtail, cmd);
            else
                s->qhead = cmd;
            s->qtail = cmd;
            pthread_cond_signal(&s->qcond);
        }
        pthread_mutex_unlock(&s->qlock);
        if (!s->n_workers) run_handler(s, cmd);
    }
}

/* After a batch, more commands usually follow within microseconds: look at cmd_head
 * for a short while before paying for a sleep and a wakeup through the UIO fd. */
static bool spin_for_work(th_server *s)
{
    for (int i = 0; i < s->spin; i++) {
        if (__atomic_load_n(&s->ring.mb->cmd_head, __ATOMIC_ACQUIRE) !=
            __atomic_load_n(&s->ring.seen, __ATOMIC_RELAXED))
            return true;
        __builtin_ia32_pause();
    }
    return false;
}

static void *poll_main(void *arg)
{
    th_server *s = arg;
    bool ok = true;
    tls_batch = s;
    for (;;) {
        if (ok && s->spin && spin_for_work(s)) {
            ok = drain(s);
            flush_kick(s);
            continue;
        }
        struct pollfd p[2] = {{s->ring.fd, POLLIN, 0}, {s->stop_fd, POLLIN, 0}};
        /* A broken ring is not read again; only a stop ends the wait. */
        int rc = poll(ok ? p : p + 1, ok ? 2 : 1, -1);
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0 || (p[1].revents & POLLIN)) break;
        if (ok && (p[0].revents & POLLIN)) {
            uint32_t ev;
            if (read(s->ring.fd, &ev, sizeof(ev)) < 0 && errno != EAGAIN && errno != EINTR) break;
            ok = drain(s);
            flush_kick(s);
        }
    }
    tls_batch = NULL;
    return NULL;
}

static void *worker_main(void *arg)
{
    th_server *s = arg;
    tls_batch = s;
    pthread_mutex_lock(&s->qlock);
    for (;;) {
        while (!s->qhead && !s->stopping) pthread_cond_wait(&s->qcond, &s->qlock);
        th_cmd *cmd = s->qhead;
        if (!cmd) break; /* stopping with an empty queue: everything queued was served */
        s->qhead = th_cmd_link(cmd);
        if (!s->qhead) s->qtail = NULL;
        pthread_mutex_unlock(&s->qlock);
        run_handler(s, cmd);
        pthread_mutex_lock(&s->qlock);
        /* Judged after this completion: another worker may have flushed before it. */
        if (!s->qhead) {
            pthread_mutex_unlock(&s->qlock);
            flush_kick(s);
            pthread_mutex_lock(&s->qlock);
        }
    }
    pthread_mutex_unlock(&s->qlock);
    flush_kick(s);
    tls_batch = NULL;
    return NULL;
}

int th_server_start(th_server *s, th_ctx *ctx, const char *name, void *map, size_t size, int fd,
                    const th_device_config *cfg)
{
    memset(s, 0, sizeof(*s));
    s->ctx = ctx;
    s->name = name;
    s->fn = cfg->handler;
    s->arg = cfg->handler_arg;
    s->user = cfg->handler_arg;
    s->on_tmr = cfg->on_tmr;
    s->tmr_arg = cfg->tmr_arg;
    s->n_workers = cfg->workers > 1 ? cfg->workers : 0;
    s->stop_fd = -1;
    s->spin = cfg->spin_polls;
    pthread_mutex_init(&s->qlock, NULL);
    pthread_cond_init(&s->qcond, NULL);
    int rc = th_ring_init(&s->ring, map, size, fd);
    if (rc) return th_fail(ctx, rc, "%s: %s", name, s->ring.err);
    if (!(s->ring.flags & TCMU_MAILBOX_FLAG_CAP_READ_LEN))
        th_log(ctx, TH_LOG_WARN, "kernel lacks READ_LEN: short reads are reported as full",
               "device", name, NULL);
    s->inflight = calloc(65536, sizeof(th_cmd *));
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!s->inflight || s->stop_fd < 0) {
        th_server_join(s);
        return th_fail(ctx, -ENOMEM, "%s: cannot allocate the server", name);
    }
    if (s->n_workers) {
        s->workers = calloc((size_t)s->n_workers, sizeof(pthread_t));
        if (!s->workers) {
            s->n_workers = 0; /* else commands would queue for workers that never ran */
            th_server_join(s);
            return th_fail(ctx, -ENOMEM, "%s: cannot allocate the worker threads", name);
        }
        for (int i = 0; i < s->n_workers; i++) {
            if (pthread_create(&s->workers[i], NULL, worker_main, s)) {
                s->n_workers = i;
                th_server_join(s);
                return th_fail(ctx, -EAGAIN, "%s: cannot start worker threads", name);
            }
        }
    }
    if (pthread_create(&s->poll_thread, NULL, poll_main, s)) {
        th_server_join(s);
        return th_fail(ctx, -EAGAIN, "%s: cannot start the serving thread", name);
    }
    s->started = true;
    return 0;
}

void th_server_request_stop(th_server *s)
{
    uint64_t one = 1;
    if (s->stop_fd >= 0) {
        ssize_t n = write(s->stop_fd, &one, sizeof(one));
        (void)n;
    }
}

/* A command still in flight at close belongs to whoever deferred it. The holder gives
 * it back (revoke) or is completing it itself; only a command the server claimed is
 * answered here, and none is freed before its completion left the ring. */
static void fail_unanswered(th_server *s, uint16_t id)
{
    pthread_mutex_lock(&s->qlock);
    th_cmd *c = s->inflight[id];
    pthread_mutex_unlock(&s->qlock);
    if (!c) return;
    /* Threads are joined: revoke was set (or not) before the handler returned. */
    bool ours = th_cmd_revoke(c);
    if (ours && th_cmd_claim(c)) {
        th_sense sense = th_sense_make(TH_KEY_ABORTED_COMMAND, TH_ASC_NONE);
        th_cmd_set_data_in_len(c, 0);
        th_cmd_check_condition(c, &sense);
        th_cmd_finish(c);
    }
    /* Claimed elsewhere: wait until that completion released it. */
    pthread_mutex_lock(&s->qlock);
    while (s->inflight[id] == c) pthread_cond_wait(&s->qcond, &s->qlock);
    pthread_mutex_unlock(&s->qlock);
}

void th_server_join(th_server *s)
{
    if (s->started) {
        th_server_request_stop(s);
        pthread_join(s->poll_thread, NULL);
        s->started = false;
    }
    pthread_mutex_lock(&s->qlock);
    s->stopping = true;
    pthread_cond_broadcast(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
    for (int i = 0; s->workers && i < s->n_workers; i++) pthread_join(s->workers[i], NULL);
    free(s->workers);
    s->workers = NULL;
    for (size_t id = 0; s->inflight && id < 65536; id++) fail_unanswered(s, (uint16_t)id);
    pthread_mutex_lock(&s->qlock);
    while (s->completing) pthread_cond_wait(&s->qcond, &s->qlock);
    pthread_mutex_unlock(&s->qlock);
    flush_kick(s);
    while (s->free_list) {
        th_cmd *c = s->free_list;
        s->free_list = th_cmd_link(c);
        th_cmd_free(c);
    }
    free(s->inflight);
    s->inflight = NULL;
    if (s->stop_fd >= 0) close(s->stop_fd);
    s->stop_fd = -1;
    th_ring_destroy(&s->ring);
    pthread_cond_destroy(&s->qcond);
    pthread_mutex_destroy(&s->qlock);
}
