/* The session's trace: lanes the rules' sinks fill (one per device, no shared lock), merged
 * in index order into a ring of kept records that is read by cursor and waited on. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "th/version.h"
#include "../rules/rules_trace.h"
#include "trace_internal.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sc_trace_filter_init(sc_trace_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->status = -1;
}

static void cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
}

/* The first line says which harness and kernel the rest came from. */
static int write_header(int fd)
{
    th_kernel_id k;
    char id[600], line[700];
    th_kernel_id_get(&k);
    th_kernel_id_json(&k, id, sizeof(id));
    int n = snprintf(line, sizeof(line), "{\"header\":%s}\n", id);
    return write(fd, line, (size_t)n) == n ? 0 : -errno;
}

int sc_trace_new(const char *path, size_t keep, sc_trace **out, char *err, size_t cap)
{
    *out = NULL;
    sc_trace *t = calloc(1, sizeof(*t));
    if (t) t->keep = keep ? keep : SC_TRACE_KEEP;
    if (t) t->ring = calloc(t->keep, sizeof(rec));
    if (t) t->win = calloc(WINDOW, sizeof(stage));
    if (!t || !t->ring || !t->win) {
        snprintf(err, cap, "trace: out of memory for %zu entries", keep ? keep : SC_TRACE_KEEP);
        if (t) free(t->ring), free(t->win);
        free(t);
        return -ENOMEM;
    }
    t->fd = -1;
    if (path) {
        snprintf(t->path, sizeof(t->path), "%s", path);
        t->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        int e = t->fd < 0 ? errno : -write_header(t->fd);
        if (e) {
            snprintf(err, cap, "trace: cannot %s %s: %s", t->fd < 0 ? "open" : "write", path,
                     strerror(e));
            if (t->fd >= 0) close(t->fd);
            free(t->ring);
            free(t->win);
            free(t);
            return -e;
        }
    }
    t->refs = 1;
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_init(&t->wlock, NULL);
    pthread_mutex_init(&t->flock, NULL);
    cond_init_mono(&t->wcond);
    cond_init_mono(&t->work);
    cond_init_mono(&t->space);
    t->t0 = (double)mono_ns() / 1e9;
    int rc = pthread_create(&t->writer, NULL, sc_trace_writer, t);
    if (rc) {
        snprintf(err, cap, "trace: cannot start its writer thread: %s", strerror(rc));
        t->refs = 0;
        sc_trace_free(t);
        return -rc;
    }
    t->writer_running = true;
    *out = t;
    return 0;
}

void sc_trace_hold(sc_trace *t)
{
    pthread_mutex_lock(&t->lock);
    t->refs++;
    pthread_mutex_unlock(&t->lock);
}

/* The writer thread's last round, then it is gone and everything is in the file. */
static void stop_writer(sc_trace *t)
{
    if (!t->writer_running) return;
    pthread_mutex_lock(&t->wlock);
    t->stop = t->kick = true;
    pthread_cond_signal(&t->work);
    pthread_mutex_unlock(&t->wlock);
    pthread_join(t->writer, NULL);
    t->writer_running = false;
    sc_trace_flush(t); /* whatever a lane published after its last look */
}

void sc_trace_free(sc_trace *t)
{
    if (!t) return;
    pthread_mutex_lock(&t->lock);
    int refs = t->refs ? --t->refs : 0;
    pthread_mutex_unlock(&t->lock);
    stop_writer(t);
    if (refs) return;
    if (t->fd >= 0) close(t->fd);
    for (lane *l = t->lanes, *n; l; l = n) { /* attached still: a caller's bug, not a leak */
        n = l->next;
        free(l->ring);
        free(l);
    }
    free(t->tallies);
    free(t->wbuf);
    pthread_cond_destroy(&t->wcond);
    pthread_cond_destroy(&t->work);
    pthread_cond_destroy(&t->space);
    pthread_mutex_destroy(&t->flock);
    pthread_mutex_destroy(&t->wlock);
    pthread_mutex_destroy(&t->lock);
    free(t->out);
    free(t->win);
    free(t->ring);
    free(t);
}

uint64_t sc_trace_stalls(sc_trace *t)
{
    return atomic_load_explicit(&t->stalls, memory_order_relaxed);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

static void fill(body *r, const th_trace_entry *e)
{
    r->t_ns = e->t_ns;
    r->in_ns = e->in_ns;
    r->is_tmr = e->is_tmr;
    if (e->is_tmr) {
        r->tmr_type = e->tmr_type;
        r->n_ids = e->n_ids < SC_TRACE_IDS ? e->n_ids : SC_TRACE_IDS;
        r->ids_total = e->ids_total > e->n_ids ? e->ids_total : e->n_ids;
        /* A TMR naming nothing may come with ids NULL (memcpy's arguments must not be). */
        if (r->n_ids) memcpy(r->ids, e->ids, r->n_ids * sizeof(r->ids[0]));
        return;
    }
    r->id = e->id;
    r->op = e->op;
    r->sa = e->sa;
    copy_str(r->op_name, sizeof(r->op_name), e->op_name);
    r->cdb_len = (uint8_t)(e->cdb_len < sizeof(r->cdb) ? e->cdb_len : sizeof(r->cdb));
    if (r->cdb_len) memcpy(r->cdb, e->cdb, r->cdb_len);
    r->has_lba = e->has_lba;
    r->lba = e->lba;
    r->blocks = e->blocks;
    r->unit = (uint8_t)e->unit;
    r->status = e->status;
    r->sense_ok = e->sense_ok;
    if (e->sense_ok) r->decoded = e->decoded;
    r->data_in = e->data_in;
    r->buffer = e->buffer;
    r->rule_id = e->rule_id;
    if (e->rule_name)
        copy_str(r->rule, sizeof(r->rule), e->rule_name);
    else
        r->rule[0] = '\0';
    r->aborted = e->aborted;
}

th_trace_entry sc_trace_entry_of(const rec *r, const uint16_t *all_ids, uint32_t n_all)
{
    const body *b = &r->b;
    th_trace_entry e = {
        .t_ns = b->t_ns, .in_ns = b->in_ns, .device = r->device, .is_tmr = b->is_tmr};
    if (b->is_tmr) {
        e.rule_id = -1;
        e.tmr_type = b->tmr_type;
        e.ids = all_ids ? all_ids : b->ids;
        e.n_ids = all_ids ? n_all : b->n_ids;
        e.ids_total = b->ids_total;
        return e;
    }
    e.id = b->id;
    e.op = b->op;
    e.sa = b->sa;
    e.op_name = b->op_name[0] ? b->op_name : NULL;
    e.cdb = b->cdb;
    e.cdb_len = b->cdb_len;
    e.has_lba = b->has_lba;
    e.lba = b->lba;
    e.blocks = b->blocks;
    e.unit = (th_xfer_unit)b->unit;
    e.status = b->status;
    e.sense_ok = b->sense_ok;
    e.decoded = b->decoded;
    e.data_in = b->data_in;
    e.buffer = b->buffer;
    e.rule_id = b->rule_id;
    e.rule_name = b->rule[0] ? b->rule : NULL;
    e.aborted = b->aborted;
    return e;
}

/* A full lane: the writer is woken and the producer waits for room (never drops). */
static void wait_for_room(lane *l, uint64_t head)
{
    sc_trace *t = l->t;
    atomic_fetch_add_explicit(&t->stalls, 1, memory_order_relaxed);
    pthread_mutex_lock(&t->wlock);
    t->space_waiters++;
    while (head - atomic_load_explicit(&l->tail, memory_order_acquire) >= LANE_SLOTS) {
        t->kick = true;
        pthread_cond_signal(&t->work);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 10 * 1000000;
        if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
        pthread_cond_timedwait(&t->space, &t->wlock, &ts);
    }
    t->space_waiters--;
    pthread_mutex_unlock(&t->wlock);
}

void sc_trace_kick(sc_trace *t)
{
    pthread_mutex_lock(&t->wlock);
    t->kick = true;
    pthread_cond_signal(&t->work);
    pthread_mutex_unlock(&t->wlock);
}

static void wake_waiters(sc_trace *t)
{
    atomic_fetch_add(&t->gen, 1);
    pthread_mutex_lock(&t->wlock);
    pthread_cond_broadcast(&t->wcond);
    pthread_mutex_unlock(&t->wlock);
}

/* On the serving thread, with the rules' trace lock held (so one producer per lane). */
static void hub_sink(void *arg, const th_trace_entry *e)
{
    lane *l = arg;
    sc_trace *t = l->t;
    uint64_t head = atomic_load_explicit(&l->head, memory_order_relaxed);
    if (head - atomic_load_explicit(&l->tail, memory_order_acquire) >= LANE_SLOTS)
        wait_for_room(l, head);
    slot *s = &l->ring[head % LANE_SLOTS];
    fill(&s->b, e);
    s->all_ids = NULL;
    /* Only a TMR (not a command's path) allocates: its whole id list for the file. */
    if (e->is_tmr && e->n_ids > SC_TRACE_IDS && (s->all_ids = malloc(e->n_ids * sizeof(*e->ids)))) {
        memcpy(s->all_ids, e->ids, e->n_ids * sizeof(*e->ids));
        s->n_all = e->n_ids;
    }
    s->seq = atomic_fetch_add_explicit(&t->seq, 1, memory_order_relaxed);
    /* seq_cst here and on waiters/idle (and the other way round in the waiter and the
     * writer): either they see this slot, or this sees them and wakes them. */
    atomic_store(&l->head, head + 1);
    if (head + 1 - atomic_load_explicit(&l->tail, memory_order_relaxed) == LANE_SLOTS / 2 ||
        (atomic_load(&t->idle) && atomic_exchange(&t->idle, false)))
        sc_trace_kick(t);
    if (atomic_load(&t->waiters)) wake_waiters(t);
}

/* Every slot of l merged (l no longer gets any): then it is unlinked. */
static void retire(lane *l)
{
    sc_trace *t = l->t;
    for (;;) {
        pthread_mutex_lock(&t->lock);
        sc_trace_merge_locked(t);
        bool empty = atomic_load(&l->tail) == atomic_load(&l->head);
        if (empty) {
            lane **p = &t->lanes;
            while (*p != l) p = &(*p)->next;
            *p = l->next;
        }
        pthread_mutex_unlock(&t->lock);
        if (empty) break;
        /* Another device's entry is in flight before ours, or the file's buffer is full. */
        sc_trace_kick(t);
        nanosleep(&(struct timespec){0, 200000}, NULL);
    }
    free(l->ring);
    free(l);
}

int sc_trace_attach(sc_trace *t, th_rules *r)
{
    lane *old = th_rules_trace_sink_arg(r, hub_sink), *l = NULL;
    if (old && old->t == t) return 0;
    int rc = 0;
    if (t) {
        l = calloc(1, sizeof(*l));
        if (l && !(l->ring = calloc(LANE_SLOTS, sizeof(slot)))) free(l), l = NULL;
        if (!l) rc = -ENOMEM;
    }
    if (l) {
        l->t = t;
        l->rules = r;
        snprintf(l->device, sizeof(l->device), "%s", th_rules_device(r));
        pthread_mutex_lock(&t->lock);
        l->next = t->lanes;
        t->lanes = l;
        pthread_mutex_unlock(&t->lock);
    }
    th_rules_set_trace_sink(r, l ? hub_sink : NULL, l);
    if (old) retire(old);
    return rc;
}

bool sc_trace_merge_locked(sc_trace *t)
{
    for (lane *l = t->lanes; l; l = l->next) {
        uint64_t h = atomic_load(&l->head);
        for (; l->scan < h; l->scan++) {
            slot *s = &l->ring[l->scan % LANE_SLOTS];
            if (s->seq - t->next >= WINDOW) break; /* the next merge takes it */
            t->win[s->seq % WINDOW] = (stage){l, s};
        }
    }
    bool moved = false;
    for (stage *g; (g = &t->win[t->next % WINDOW])->s && !sc_trace_out_full(t); moved = true) {
        rec *dst = &t->ring[t->next % t->keep];
        dst->b = g->s->b;
        memcpy(dst->device, g->l->device, sizeof(dst->device));
        sc_trace_out_entry(t, t->next, dst, g->s);
        free(g->s->all_ids);
        g->s->all_ids = NULL;
        atomic_store_explicit(&g->l->tail,
                              atomic_load_explicit(&g->l->tail, memory_order_relaxed) + 1,
                              memory_order_release);
        *g = (stage){NULL, NULL};
        t->next++;
    }
    return moved;
}

static uint64_t oldest_locked(const sc_trace *t)
{
    return t->next > t->keep ? t->next - t->keep : 0;
}

double sc_trace_t0(const sc_trace *t)
{
    return t->t0;
}

uint64_t sc_trace_cursor(sc_trace *t)
{
    return atomic_load(&t->seq);
}

uint64_t sc_trace_oldest(sc_trace *t)
{
    pthread_mutex_lock(&t->lock);
    sc_trace_merge_locked(t);
    uint64_t n = oldest_locked(t);
    pthread_mutex_unlock(&t->lock);
    return n;
}

void sc_trace_range_msg(sc_trace *t, uint64_t from, char *err, size_t cap)
{
    snprintf(err, cap,
             "trace entry %llu is no longer kept: the oldest is %llu (the trace keeps %zu "
             "entries)",
             (unsigned long long)from, (unsigned long long)sc_trace_oldest(t), t->keep);
}

/* The same fields as expect_trace's, and a command's fields never match a TMR. */
bool sc_trace_matches(const sc_trace_filter *f, const rec *r)
{
    const body *b = &r->b;
    if (!f) return !b->is_tmr;
    if (f->device[0] && strcmp(f->device, r->device)) return false;
    if (f->tmr[0]) {
        if (!b->is_tmr || strcmp(f->tmr, th_tmr_name(b->tmr_type))) return false;
    } else if (b->is_tmr) {
        return false;
    }
    if (b->is_tmr) return !f->op[0] && !f->lba_set && f->status < 0 && !f->rule[0];
    if (f->op[0]) {
        char hex[5] = {'0', 'x', "0123456789ABCDEF"[b->op >> 4], "0123456789ABCDEF"[b->op & 15]};
        if (strcmp(f->op, b->op_name[0] ? b->op_name : hex)) return false;
    }
    if (f->lba_set && (!b->has_lba || b->lba != f->lba)) return false;
    if (f->status >= 0 && f->status != b->status) return false;
    if (f->rule[0] && strcmp(f->rule, b->rule)) return false;
    return true;
}

int sc_trace_wait(sc_trace *t, const sc_trace_filter *f, uint64_t from, long count, int timeout_ms,
                  volatile const int *stop, long *matched, uint64_t *next)
{
    long m = 0;
    uint64_t pos = from, after = from;
    struct timespec end;
    if (timeout_ms >= 0) {
        uint64_t ns = mono_ns() + (uint64_t)timeout_ms * 1000000u;
        end.tv_sec = (time_t)(ns / 1000000000u);
        end.tv_nsec = (long)(ns % 1000000000u);
    }
    bool timed_out = false;
    int rc;
    /* Counted before the first look: an entry published after it wakes this one. */
    atomic_fetch_add(&t->waiters, 1);
    for (;;) {
        uint64_t gen = atomic_load(&t->gen);
        pthread_mutex_lock(&t->lock);
        sc_trace_merge_locked(t);
        if (pos < oldest_locked(t)) {
            pthread_mutex_unlock(&t->lock);
            rc = -ERANGE;
            break;
        }
        for (; m < count && pos < t->next; pos++) {
            if (!sc_trace_matches(f, &t->ring[pos % t->keep])) continue;
            m++;
            after = pos + 1;
        }
        pthread_mutex_unlock(&t->lock);
        if (m >= count) {
            rc = 0;
            break;
        }
        if (stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
            rc = -EINTR;
            break;
        }
        if (timed_out) {
            rc = -ETIMEDOUT;
            break;
        }
        pthread_mutex_lock(&t->wlock);
        while (atomic_load(&t->gen) == gen && !timed_out) {
            if (timeout_ms < 0)
                pthread_cond_wait(&t->wcond, &t->wlock);
            else
                timed_out = pthread_cond_timedwait(&t->wcond, &t->wlock, &end) == ETIMEDOUT;
        }
        pthread_mutex_unlock(&t->wlock);
    }
    atomic_fetch_sub(&t->waiters, 1);
    if (matched) *matched = m;
    if (next) *next = after;
    return rc;
}

void sc_trace_wake(sc_trace *t)
{
    wake_waiters(t);
}

/* Appends {"seq":N, + the entry's line minus its "{"; 0 or -ENOMEM. */
static int append(char **s, size_t *len, size_t *cap, uint64_t seq, const rec *r, double t0)
{
    th_trace_entry e = sc_trace_entry_of(r, NULL, 0);
    char seqs[32];
    size_t pl = (size_t)snprintf(seqs, sizeof(seqs), "{\"seq\":%llu,", (unsigned long long)seq);
    for (;;) {
        size_t room = *cap - *len;
        if (room > pl) {
            size_t n = th_trace_entry_json(&e, t0, *s + *len + pl - 1, room - pl + 1);
            if (n < room - pl + 1) {
                memcpy(*s + *len, seqs, pl); /* over the line's "{" */
                *len += pl - 1 + n;
                return 0;
            }
        }
        char *grown = realloc(*s, *cap * 2);
        if (!grown) return -ENOMEM;
        *s = grown;
        *cap *= 2;
    }
}

#define READ_CHUNK 32

int sc_trace_read(sc_trace *t, uint64_t from, size_t max, char **lines, uint64_t *next)
{
    *lines = NULL;
    *next = from;
    size_t cap = 4096, len = 0, done = 0;
    char *s = malloc(cap);
    if (!s) return -ENOMEM;
    s[0] = '\0';
    uint64_t pos = from;
    /* Copied out in chunks, formatted without the lock: merges do not wait on a read. */
    static_assert(sizeof(rec) * READ_CHUNK <= 16384, "a chunk fits the stack");
    rec chunk[READ_CHUNK];
    for (;;) {
        pthread_mutex_lock(&t->lock);
        sc_trace_merge_locked(t);
        if (pos < oldest_locked(t)) {
            pthread_mutex_unlock(&t->lock);
            if (done) break;
            free(s);
            return -ERANGE;
        }
        size_t n = pos < t->next ? (size_t)(t->next - pos) : 0;
        if (n > READ_CHUNK) n = READ_CHUNK;
        if (max && n > max - done) n = max - done;
        for (size_t i = 0; i < n; i++) chunk[i] = t->ring[(pos + i) % t->keep];
        pthread_mutex_unlock(&t->lock);
        if (!n) break;
        for (size_t i = 0; i < n; i++) {
            if (append(&s, &len, &cap, pos + i, &chunk[i], t->t0)) {
                free(s);
                return -ENOMEM;
            }
        }
        pos += n;
        done += n;
        if (max && done >= max) break;
    }
    *lines = s;
    *next = pos;
    return 0;
}
