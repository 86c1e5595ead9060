/* The trace on its way out: JSON lines formatted as entries merge, written by the writer
 * thread in large writes (no fflush per line, nothing on the serving thread); the
 * expectations' tallies; tails and dumps of the kept entries for failure messages. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "th/version.h"
#include "trace_internal.h"

/* How long written lines may wait for the next round while commands trickle in. */
#define ROUND_MS 50

bool sc_trace_out_full(const sc_trace *t)
{
    return t->fd >= 0 && t->out_len >= OUT_MAX;
}

/* Room for n more bytes in out; false without memory. */
static bool out_room(sc_trace *t, size_t n)
{
    if (t->out_cap - t->out_len >= n) return true;
    size_t c = t->out_cap ? t->out_cap : 65536;
    while (c - t->out_len < n) c *= 2;
    char *p = realloc(t->out, c);
    if (!p) return false;
    t->out = p;
    t->out_cap = c;
    return true;
}

void sc_trace_out_entry(sc_trace *t, uint64_t seq, const rec *r, const slot *s)
{
    for (size_t i = 0; i < t->n_tallies; i++) {
        tally *y = &t->tallies[i];
        if (!sc_trace_matches(&y->f, r)) continue;
        if (!(*y->count)++) *y->first = seq;
    }
    if (t->fd < 0) return;
    th_trace_entry e = sc_trace_entry_of(r, s->all_ids, s->n_all);
    char line[1024];
    size_t n = th_trace_entry_json(&e, t->t0, line, sizeof(line));
    if (n < sizeof(line) && out_room(t, n)) {
        memcpy(t->out + t->out_len, line, n);
        t->out_len += n;
    } else if (n >= sizeof(line) && out_room(t, n + 1)) { /* a TMR naming many commands */
        t->out_len += th_trace_entry_json(&e, t->t0, t->out + t->out_len, n + 1);
    } else { /* no memory for the whole line: the shortened one, still one line */
        n = th_trace_entry_json_fit(&e, t->t0, line, sizeof(line));
        if (out_room(t, n)) memcpy(t->out + t->out_len, line, n), t->out_len += n;
    }
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One round: merge, take the lines, write them; again while the buffer was full. True
 * if anything was merged. */
static bool round_out(sc_trace *t)
{
    bool moved = false;
    pthread_mutex_lock(&t->flock);
    for (bool full = true; full;) {
        pthread_mutex_lock(&t->lock);
        moved |= sc_trace_merge_locked(t);
        full = sc_trace_out_full(t);
        char *p = t->wbuf;
        size_t cap = t->wbuf_cap, len = t->out_len;
        t->wbuf = t->out, t->wbuf_cap = t->out_cap;
        t->out = p, t->out_cap = cap, t->out_len = 0;
        pthread_mutex_unlock(&t->lock);
        int rc = len && !t->write_err ? write_all(t->fd, t->wbuf, len) : 0;
        if (rc) {
            t->write_err = rc;
            fprintf(stderr, "tcmu-harness: trace %s: write failed: %s (later lines are lost)\n",
                    t->path, strerror(-rc));
        }
    }
    pthread_mutex_unlock(&t->flock);
    return moved;
}

int sc_trace_flush(sc_trace *t)
{
    round_out(t);
    pthread_mutex_lock(&t->flock);
    int rc = t->write_err;
    pthread_mutex_unlock(&t->flock);
    /* Whoever waited for room while this merged may go on. */
    pthread_mutex_lock(&t->wlock);
    if (t->space_waiters) pthread_cond_broadcast(&t->space);
    pthread_mutex_unlock(&t->wlock);
    return rc;
}

static bool pending(sc_trace *t)
{
    bool any = false;
    pthread_mutex_lock(&t->lock);
    for (lane *l = t->lanes; l && !any; l = l->next)
        any = atomic_load(&l->head) != atomic_load(&l->tail);
    pthread_mutex_unlock(&t->lock);
    return any;
}

static struct timespec in_ms(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)ms * 1000000;
    ts.tv_sec += ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    return ts;
}

/* Rounds every ROUND_MS while entries come (with a file), at once when a lane is half
 * full or a producer waits for room; asleep without a timeout when nothing comes (the
 * next entry wakes it, through t->idle). Without a file it only keeps lanes from
 * filling: readers merge what they read themselves. */
void *sc_trace_writer(void *arg)
{
    sc_trace *t = arg;
    bool moved = true;
    pthread_mutex_lock(&t->wlock);
    for (;;) {
        if (!t->kick && !t->stop) {
            bool timed = t->fd >= 0 && moved;
            if (t->fd >= 0 && !moved) {
                atomic_store(&t->idle, true); /* then look: an entry either is seen or wakes */
                pthread_mutex_unlock(&t->wlock);
                timed = pending(t);
                pthread_mutex_lock(&t->wlock);
                if (timed) atomic_store(&t->idle, false);
            }
            if (!t->kick && !t->stop) {
                struct timespec ts = in_ms(ROUND_MS);
                if (timed)
                    pthread_cond_timedwait(&t->work, &t->wlock, &ts);
                else
                    pthread_cond_wait(&t->work, &t->wlock);
            }
        }
        bool stop = t->stop;
        t->kick = false;
        pthread_mutex_unlock(&t->wlock);
        moved = round_out(t);
        pthread_mutex_lock(&t->wlock);
        if (t->space_waiters) pthread_cond_broadcast(&t->space);
        if (stop) break;
    }
    atomic_store(&t->idle, false);
    pthread_mutex_unlock(&t->wlock);
    return NULL;
}

int sc_trace_tally(sc_trace *t, const sc_trace_filter *f, size_t n, long *count, uint64_t *first)
{
    pthread_mutex_lock(&t->lock);
    tally *p = realloc(t->tallies, (t->n_tallies + n) * sizeof(*p));
    if (!p && n) {
        pthread_mutex_unlock(&t->lock);
        return -ENOMEM;
    }
    t->tallies = p;
    sc_trace_merge_locked(t); /* what came before is not counted */
    for (size_t i = 0; i < n; i++) {
        count[i] = 0;
        first[i] = UINT64_MAX;
        t->tallies[t->n_tallies++] = (tally){f[i], &count[i], &first[i]};
    }
    pthread_mutex_unlock(&t->lock);
    return 0;
}

#define TAIL_MAX 10

void sc_trace_tail(sc_trace *t, const char *device, char *out, size_t cap, int max)
{
    if (max > TAIL_MAX) max = TAIL_MAX;
    rec last[TAIL_MAX];
    int n = 0;
    pthread_mutex_lock(&t->lock);
    sc_trace_merge_locked(t);
    uint64_t oldest = t->next > t->keep ? t->next - t->keep : 0;
    for (uint64_t i = t->next; i > oldest && n < max; i--) {
        const rec *r = &t->ring[(i - 1) % t->keep];
        if (!device[0] || !strcmp(r->device, device)) last[n++] = *r;
    }
    pthread_mutex_unlock(&t->lock);
    size_t len = strlen(out);
    for (int i = n - 1; i >= 0 && len + 1 < cap; i--) {
        th_trace_entry e = sc_trace_entry_of(&last[i], NULL, 0);
        size_t w = th_trace_entry_json_fit(&e, t->t0, out + len, cap - len);
        len += w;
    }
}

int sc_trace_dump(sc_trace *t, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        int e = errno;
        snprintf(err, cap, "trace: cannot open %s: %s", path, strerror(e));
        return -e;
    }
    th_kernel_id k;
    char id[600], line[1024];
    th_kernel_id_get(&k);
    th_kernel_id_json(&k, id, sizeof(id));
    fprintf(f, "{\"header\":%s}\n", id);
    uint64_t pos = sc_trace_oldest(t);
    if (pos) fprintf(f, "{\"not_kept\":{\"entries\":%llu}}\n", (unsigned long long)pos);
    for (;;) {
        rec r;
        pthread_mutex_lock(&t->lock);
        bool have = pos < t->next && pos >= (t->next > t->keep ? t->next - t->keep : 0);
        if (have) r = t->ring[pos % t->keep];
        pthread_mutex_unlock(&t->lock);
        if (!have) break;
        th_trace_entry e = sc_trace_entry_of(&r, NULL, 0);
        fwrite(line, 1, th_trace_entry_json_fit(&e, t->t0, line, sizeof(line)), f);
        pos++;
    }
    if (fclose(f)) {
        int e = errno;
        snprintf(err, cap, "trace: cannot write %s: %s", path, strerror(e));
        return -e;
    }
    return 0;
}
