/* The serving thread reads the ring and either runs each handler itself or hands
 * commands to worker threads; completions go back into the ring from whichever thread
 * answers (ring.c puts out-of-order completions in order).
 *
 * Per command the hot path takes no lock of its own: the id table is an array of
 * atomic slots, the serving thread keeps a private free list that its own completions
 * refill, and the kick (a system call) is made once per batch. Workers get commands in
 * batches under one lock and give the finished ones back in batches. */
#include <errno.h>
#include "../kernel/tcmu_uapi.h"
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "server.h"

/* The ring and the command model meet here: their bounds must agree. */
_Static_assert(TH_RING_CDB_MAX == TH_CDB_MAX, "ring and command CDB bounds differ");
/* The id table's slots are atomic pointers read and written from signal-free threads
 * only, but close scans all of them: they must not hide a lock. */
_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "atomic pointers take a lock here");
_Static_assert(TH_RING_STATUS_CHECK_CONDITION == TH_STATUS_CHECK_CONDITION, "SAM status");

/* A handler costing less than this runs on the serving thread even with workers: a
 * handoff (queue lock, a wakeup, the command's cache lines moving to another CPU) costs
 * a few microseconds, so cheaper work is done sooner where it is. Above it, workers run
 * commands in parallel and the serving thread goes back to the ring. */
#define HANDOFF_NS 4000u
/* Commands the serving thread collects before handing them off at once. */
#define HANDOFF_BATCH 16u
/* The most one worker takes from the queue at a time. */
#define TAKE_MAX 32u
/* How long a command a worker answered may wait for its kick while the worker's take
 * goes on (the serving thread's watch). */
#define KICK_WATCH_MS 1
/* One slot per possible cmd_id (16 bits on the wire). */
#define INFLIGHT_BYTES (65536u * sizeof(_Atomic(th_cmd *)))

/* The thread working through a batch for a server: its completions are kicked once at
 * the batch's end, and the commands go back to the free list in one step. */
typedef struct batch_tls {
    th_server *s;
    bool serving;  /* the serving thread: freed commands go to its private list */
    th_cmd *freed; /* a worker's, given back at the end of its batch */
} batch_tls;
static _Thread_local batch_tls tls;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void flush_kick(th_server *s)
{
    if (atomic_exchange(&s->unkicked, 0)) {
        th_ring_kick(&s->ring);
        atomic_fetch_add(&s->kicks, 1);
    }
}

/* A joiner waits on fcond for slots to clear and completions to end; it sets stopping
 * before it looks, and completers look at stopping after they changed what it waits
 * for (both sequentially consistent), so one of the two always sees the other. */
static void wake_joiner(th_server *s)
{
    if (!atomic_load(&s->stopping)) return;
    pthread_mutex_lock(&s->flock);
    pthread_cond_broadcast(&s->fcond);
    pthread_mutex_unlock(&s->flock);
}

static void give_back(th_server *s, th_cmd *head, th_cmd *tail, bool completing)
{
    pthread_mutex_lock(&s->flock);
    th_cmd_set_link(tail, s->free_list);
    s->free_list = head;
    if (completing) atomic_fetch_sub(&s->completing, 1);
    if (atomic_load(&s->stopping)) pthread_cond_broadcast(&s->fcond);
    pthread_mutex_unlock(&s->flock);
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
    bool batch = tls.s == s;
    /* A completion from outside (a timer thread, close) still uses s after the ring
     * has it: th_server_join waits for `completing`. A batch thread is joined first. */
    if (!batch) atomic_fetch_add(&s->completing, 1);
    /* Off the id table before the completion is in the ring: from then on any thread's
     * kick lets the kernel reuse the id, and the next entry with it must find the slot
     * free. */
    th_cmd *expect = cmd;
    atomic_compare_exchange_strong(&s->inflight[th_cmd_id(cmd)], &expect, NULL);
    wake_joiner(s);
    complete_in_ring(s, cmd);
    atomic_fetch_add_explicit(&s->served, 1, memory_order_relaxed);
    atomic_fetch_add(&s->unkicked, 1);
    if (batch && tls.serving) {
        th_cmd_set_link(cmd, s->local_free);
        s->local_free = cmd;
    } else if (batch) {
        th_cmd_set_link(cmd, tls.freed);
        tls.freed = cmd;
    } else {
        flush_kick(s);
        give_back(s, cmd, cmd, true); /* last: then th_server_join may free s */
    }
}

/* Serving thread only. */
static th_cmd *get_cmd(th_server *s)
{
    if (!s->local_free) {
        pthread_mutex_lock(&s->flock);
        s->local_free = s->free_list;
        s->free_list = NULL;
        pthread_mutex_unlock(&s->flock);
    }
    th_cmd *cmd = s->local_free;
    if (cmd) s->local_free = th_cmd_link(cmd);
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

static void put_cmd(th_server *s, th_cmd *cmd)
{
    th_cmd_set_link(cmd, s->local_free);
    s->local_free = cmd;
}

/* Smoothed over eight samples, each capped at four times the threshold: a thread
 * preempted while it was being timed must not hand everything off on its own. */
static void note_cost(th_server *s, uint64_t ns)
{
    if (ns > 4 * HANDOFF_NS) ns = 4 * HANDOFF_NS;
    uint64_t c = atomic_load_explicit(&s->cost_ns, memory_order_relaxed);
    atomic_store_explicit(&s->cost_ns, (7 * c + ns) / 8, memory_order_relaxed);
}

static void run_handler(th_server *s, th_cmd *cmd)
{
    int rc = s->fn(cmd, s->arg);
    if (rc != TH_CMD_DEFERRED) th_cmd_complete(cmd);
}

static void handle_tmr(th_server *s)
{
    th_ring_tmr *t = &s->tmr;
    /* Only this thread reuses commands, so one in the table stays that command while
     * it is marked (it may be completing: marking a finished one is harmless). */
    for (uint32_t i = 0; i < t->n; i++) {
        th_cmd *c = atomic_load(&s->inflight[t->ids[i]]);
        if (c) th_cmd_set_aborted(c);
    }
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

/* Commands the serving thread collected for the workers. */
typedef struct handoff {
    th_cmd *head, *tail;
    uint32_t n;
} handoff;

static void hand_off(th_server *s, handoff *h)
{
    if (!h->n) return;
    pthread_mutex_lock(&s->qlock);
    if (s->qtail)
        th_cmd_set_link(s->qtail, h->head);
    else
        s->qhead = h->head;
    s->qtail = h->tail;
    s->qlen += h->n;
    atomic_fetch_add(&s->handed_pending, h->n);
    atomic_fetch_add_explicit(&s->handed_off, h->n, memory_order_relaxed);
    /* As many workers as there are commands for, not all of them. */
    uint32_t wake = h->n < (uint32_t)s->n_idle ? h->n : (uint32_t)s->n_idle;
    for (uint32_t i = 0; i < wake; i++) pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
    *h = (handoff){0};
}

/* Runs cmd here (timing a sample of them when workers could take over) or collects it
 * for the workers. */
static void dispatch(th_server *s, th_cmd *cmd, handoff *h)
{
    if (!s->n_workers) {
        run_handler(s, cmd);
        return;
    }
    uint64_t cost = atomic_load_explicit(&s->cost_ns, memory_order_relaxed);
    if (cost < HANDOFF_NS) {
        /* One in 16 is timed, every one once the cost nears the threshold. */
        if (cost < HANDOFF_NS / 2 && s->n_inline++ % 16) {
            run_handler(s, cmd);
            return;
        }
        uint64_t t0 = now_ns();
        run_handler(s, cmd);
        note_cost(s, now_ns() - t0);
        return;
    }
    th_cmd_set_link(cmd, NULL);
    if (h->tail)
        th_cmd_set_link(h->tail, cmd);
    else
        h->head = cmd;
    h->tail = cmd;
    if (++h->n >= HANDOFF_BATCH) hand_off(s, h);
}

static void fail_entry(th_server *s, th_cmd *cmd, th_entry_kind k)
{
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
}

/* Reads everything queued; false once the ring is broken. */
static bool drain_into(th_server *s, handoff *h)
{
    for (;;) {
        /* A stop ends the read at once: an initiator that keeps the ring full would
         * otherwise keep the stop waiting as long as its load lasts. */
        if (atomic_load_explicit(&s->stop_req, memory_order_relaxed)) return true;
        th_cmd *cmd = get_cmd(s);
        if (!cmd) {
            th_log(s->ctx, TH_LOG_ERROR, "out of memory for a command", "device", s->name, NULL);
            return true; /* the entry stays queued; the next wakeup retries */
        }
        th_entry_kind k = next_entry(s, cmd);
        if (k != TH_ENTRY_CMD) {
            if (k == TH_ENTRY_BAD_CMD || k == TH_ENTRY_UNKNOWN) {
                fail_entry(s, cmd, k);
                continue;
            }
            put_cmd(s, cmd);
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
        th_cmd *none = NULL;
        uint16_t id = th_cmd_id(cmd);
        if (!atomic_compare_exchange_strong(&s->inflight[id], &none, cmd)) {
            /* A kernel never reuses an id in flight; taking the slot would orphan the
             * first command (close would not find it, its late completion would
             * reach a freed server). */
            put_cmd(s, cmd);
            th_ring_set_broken(&s->ring, "entry reuses a cmd_id still in flight", id);
            atomic_store(&s->broken, true);
            th_log(s->ctx, TH_LOG_ERROR, s->ring.err, "device", s->name, NULL);
            return false;
        }
        dispatch(s, cmd, h);
    }
}

static bool drain(th_server *s)
{
    handoff h = {0};
    bool ok = drain_into(s, &h);
    hand_off(s, &h);
    return ok;
}

/* Looks at cmd_head until work is there, the budget is spent or spin_polls looks were
 * made (spin.c has the policy); between looks a pause, and every 64 a sched_yield so
 * that a runnable initiator on this CPU gets it. */
static bool spin_for_work(th_server *s, uint64_t *waited)
{
    uint64_t t0 = now_ns();
    for (int i = 1; i <= s->spin_polls; i++) {
        if (i % 64 == 0 && atomic_load_explicit(&s->stop_req, memory_order_relaxed)) break;
        if (__atomic_load_n(&s->ring.mb->cmd_head, __ATOMIC_ACQUIRE) !=
            __atomic_load_n(&s->ring.seen, __ATOMIC_RELAXED)) {
            *waited = now_ns() - t0;
            return true;
        }
        if (i % 64 == 0) {
            if (now_ns() - t0 >= s->spin.budget_ns) break;
            sched_yield();
        } else {
            __builtin_ia32_pause();
        }
    }
    *waited = now_ns() - t0;
    return false;
}

/* True: work is there (the spin found it). */
static bool spin_step(th_server *s)
{
    if (!s->spin.budget_ns) return false;
    /* Workers busy with what was handed off need the CPUs; their completions do not
     * need this thread. Not a failed spin: the policy is left as it is. */
    if (atomic_load_explicit(&s->handed_pending, memory_order_relaxed)) return false;
    uint64_t waited;
    bool found = spin_for_work(s, &waited);
    th_spin_after(&s->spin, found, waited);
    return found;
}

static void *poll_main(void *arg)
{
    th_server *s = arg;
    bool ok = true;
    tls = (batch_tls){.s = s, .serving = true};
    for (;;) {
        if (atomic_load(&s->stop_req)) break;
        if (ok && spin_step(s)) {
            ok = drain(s);
            flush_kick(s);
            continue;
        }
        struct pollfd p[2] = {{s->ring.fd, POLLIN, 0}, {s->stop_fd, POLLIN, 0}};
        /* While workers hold commands, wake every KICK_WATCH_MS to kick what they
         * answered: a worker kicks at the end of its take, and a command it finished
         * must not wait for the rest of the take when a later handler blocks (a slow
         * backing file). Kicking before every handler instead cost a kick a command.
         * A broken ring is not read again; only a stop ends the wait. */
        int timeout = atomic_load(&s->handed_pending) ? KICK_WATCH_MS : -1;
        int rc = poll(ok ? p : p + 1, ok ? 2 : 1, timeout);
        if (rc == 0) {
            flush_kick(s);
            continue;
        }
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0 || (p[1].revents & POLLIN)) break;
        if (ok && (p[0].revents & POLLIN)) {
            uint32_t ev;
            if (read(s->ring.fd, &ev, sizeof(ev)) < 0 && errno != EAGAIN && errno != EINTR) break;
            th_spin_slept(&s->spin);
            ok = drain(s);
            flush_kick(s);
        }
    }
    tls = (batch_tls){0};
    return NULL;
}

/* Gives a worker's finished commands back in one step. */
static void give_back_freed(th_server *s)
{
    th_cmd *head = tls.freed, *tail = head;
    if (!head) return;
    while (th_cmd_link(tail)) tail = th_cmd_link(tail);
    tls.freed = NULL;
    give_back(s, head, tail, false);
}

static void *worker_main(void *arg)
{
    th_server *s = arg;
    tls = (batch_tls){.s = s};
    pthread_mutex_lock(&s->qlock);
    for (;;) {
        while (!s->qhead && !s->q_stop) {
            s->n_idle++;
            pthread_cond_wait(&s->qcond, &s->qlock);
            s->n_idle--;
        }
        if (!s->qhead) break; /* stopping with an empty queue: everything queued was served */
        /* A share of what is queued, so that the others get theirs. */
        uint32_t take = s->qlen / (2u * (uint32_t)s->n_workers);
        take = take < 1 ? 1 : take > TAKE_MAX ? TAKE_MAX : take;
        th_cmd *head = s->qhead, *last = head;
        for (uint32_t i = 1; i < take; i++) last = th_cmd_link(last);
        s->qhead = th_cmd_link(last);
        if (!s->qhead) s->qtail = NULL;
        s->qlen -= take;
        pthread_mutex_unlock(&s->qlock);
        th_cmd_set_link(last, NULL);
        uint64_t t0 = now_ns();
        for (th_cmd *c = head, *next; c; c = next) {
            next = th_cmd_link(c); /* before the handler: completing relinks it */
            run_handler(s, c);
        }
        note_cost(s, (now_ns() - t0) / take);
        atomic_fetch_sub(&s->handed_pending, take);
        give_back_freed(s);
        flush_kick(s); /* the take's last: before the worker takes more */
        pthread_mutex_lock(&s->qlock);
    }
    pthread_mutex_unlock(&s->qlock);
    give_back_freed(s);
    flush_kick(s);
    tls = (batch_tls){0};
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
    s->spin_polls = cfg->spin_polls > 0 ? cfg->spin_polls : 0;
    th_spin_init(&s->spin, s->spin_polls > 0);
    pthread_mutex_init(&s->qlock, NULL);
    pthread_cond_init(&s->qcond, NULL);
    pthread_mutex_init(&s->flock, NULL);
    pthread_cond_init(&s->fcond, NULL);
    int rc = th_ring_init(&s->ring, map, size, fd);
    if (rc) return th_fail(ctx, rc, "%s: %s", name, s->ring.err);
    if (!(s->ring.flags & TCMU_MAILBOX_FLAG_CAP_READ_LEN))
        th_log(ctx, TH_LOG_WARN, "kernel lacks READ_LEN: short reads are reported as full",
               "device", name, NULL);
    /* Mapped, not calloc'd: its zero pages become resident only where the kernel's
     * ids land (the lowest free ones), while glibc would serve 512 KiB from the heap,
     * resident, once a free has raised its mmap threshold. */
    void *tab =
        mmap(NULL, INFLIGHT_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    s->inflight = tab == MAP_FAILED ? NULL : tab;
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!s->inflight || s->stop_fd < 0) {
        th_server_join(s);
        return th_fail(ctx, -ENOMEM, "%s: cannot allocate the server", name);
    }
    /* No atomic_init loop over the table: fresh anonymous pages already are NULL
     * pointers (all-bits-zero on every target ABI), and touching all 512 KiB made every
     * device cost that much resident memory. */
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
    atomic_store(&s->stop_req, true); /* lock-free (asserted above): signal-safe */
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
    th_cmd *c = atomic_load(&s->inflight[id]);
    if (!c) return;
    /* Threads are joined: revoke was set (or not) before the handler returned. */
    bool ours = th_cmd_revoke(c);
    if (ours && th_cmd_claim(c)) {
        th_sense sense = th_sense_make(TH_KEY_ABORTED_COMMAND, TH_ASC_NONE);
        th_cmd_set_data_in_len(c, 0);
        th_cmd_check_condition(c, &sense);
        th_cmd_finish(c);
    }
    /* Claimed elsewhere: wait until that completion took it off the table. */
    pthread_mutex_lock(&s->flock);
    while (atomic_load(&s->inflight[id]) == c) pthread_cond_wait(&s->fcond, &s->flock);
    pthread_mutex_unlock(&s->flock);
}

static void free_list(th_cmd *c)
{
    while (c) {
        th_cmd *next = th_cmd_link(c);
        th_cmd_free(c);
        c = next;
    }
}

void th_server_join(th_server *s)
{
    if (s->started) {
        th_server_request_stop(s);
        pthread_join(s->poll_thread, NULL);
        s->started = false;
    }
    pthread_mutex_lock(&s->qlock);
    s->q_stop = true;
    pthread_cond_broadcast(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
    for (int i = 0; s->workers && i < s->n_workers; i++) pthread_join(s->workers[i], NULL);
    free(s->workers);
    s->workers = NULL;
    atomic_store(&s->stopping, true);
    for (size_t id = 0; s->inflight && id < 65536; id++) fail_unanswered(s, (uint16_t)id);
    pthread_mutex_lock(&s->flock);
    while (atomic_load(&s->completing)) pthread_cond_wait(&s->fcond, &s->flock);
    pthread_mutex_unlock(&s->flock);
    flush_kick(s);
    free_list(s->free_list);
    free_list(s->local_free);
    s->free_list = s->local_free = NULL;
    if (s->inflight) munmap((void *)s->inflight, INFLIGHT_BYTES);
    s->inflight = NULL;
    if (s->stop_fd >= 0) close(s->stop_fd);
    s->stop_fd = -1;
    th_ring_destroy(&s->ring);
    pthread_cond_destroy(&s->fcond);
    pthread_mutex_destroy(&s->flock);
    pthread_cond_destroy(&s->qcond);
    pthread_mutex_destroy(&s->qlock);
}
