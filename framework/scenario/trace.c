/* The session's trace: a ring of fixed records that the rules' sinks fill, read by cursor
 * and waited on; one mutex guards it, one condvar wakes the waiters. The file gets each
 * line as it comes. */
#include "trace.h"
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "th/version.h"

/* What the JSON line and the filters need of one entry, copied. */
typedef struct rec {
    uint64_t t_ns, lba;
    size_t data_in, buffer;
    th_sense decoded;
    int rule_id;
    uint32_t blocks, n_ids, ids_total;
    uint16_t id, sa;
    uint16_t ids[SC_TRACE_IDS];
    uint8_t op, status, tmr_type, cdb_len, unit;
    bool is_tmr, has_lba, sense_ok, aborted;
    uint8_t cdb[32];
    char device[65];
    char op_name[40]; /* "" when the rules had no name: the JSON says 0xC1 */
    char rule[64];    /* "" none or unnamed */
} rec;

struct sc_trace {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* an entry came, or sc_trace_wake */
    rec *ring;
    size_t keep;
    uint64_t next; /* index of the next entry; ring[i % keep] holds entry i */
    FILE *file;
    double t0;
};

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

int sc_trace_new(const char *path, size_t keep, sc_trace **out, char *err, size_t cap)
{
    *out = NULL;
    sc_trace *t = calloc(1, sizeof(*t));
    if (t) t->keep = keep ? keep : SC_TRACE_KEEP;
    if (t) t->ring = calloc(t->keep, sizeof(rec));
    if (!t || !t->ring) {
        snprintf(err, cap, "trace: out of memory for %zu entries", keep ? keep : SC_TRACE_KEEP);
        if (t) free(t->ring);
        free(t);
        return -ENOMEM;
    }
    if (path && !(t->file = fopen(path, "w"))) {
        int e = errno;
        snprintf(err, cap, "trace: cannot open %s: %s", path, strerror(e));
        free(t->ring);
        free(t);
        return -e;
    }
    if (t->file) { /* the first line says which harness and kernel the rest came from */
        th_kernel_id k;
        char id[600];
        th_kernel_id_get(&k);
        th_kernel_id_json(&k, id, sizeof(id));
        fprintf(t->file, "{\"header\":%s}\n", id);
        fflush(t->file);
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    t->t0 = (double)mono_ns() / 1e9;
    *out = t;
    return 0;
}

void sc_trace_free(sc_trace *t)
{
    if (!t) return;
    if (t->file) fclose(t->file);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t->ring);
    free(t);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

static void fill(rec *r, const th_trace_entry *e)
{
    r->t_ns = e->t_ns;
    r->is_tmr = e->is_tmr;
    copy_str(r->device, sizeof(r->device), e->device);
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
    copy_str(r->rule, sizeof(r->rule), e->rule_name);
    r->aborted = e->aborted;
}

/* The entry a record stands for (its pointers into r). */
static th_trace_entry entry_of(const rec *r)
{
    th_trace_entry e = {.t_ns = r->t_ns, .device = r->device, .is_tmr = r->is_tmr};
    if (r->is_tmr) {
        e.rule_id = -1;
        e.tmr_type = r->tmr_type;
        e.ids = r->ids;
        e.n_ids = r->n_ids;
        e.ids_total = r->ids_total;
        return e;
    }
    e.id = r->id;
    e.op = r->op;
    e.sa = r->sa;
    e.op_name = r->op_name[0] ? r->op_name : NULL;
    e.cdb = r->cdb;
    e.cdb_len = r->cdb_len;
    e.has_lba = r->has_lba;
    e.lba = r->lba;
    e.blocks = r->blocks;
    e.unit = (th_xfer_unit)r->unit;
    e.status = r->status;
    e.sense_ok = r->sense_ok;
    e.decoded = r->decoded;
    e.data_in = r->data_in;
    e.buffer = r->buffer;
    e.rule_id = r->rule_id;
    e.rule_name = r->rule[0] ? r->rule : NULL;
    e.aborted = r->aborted;
    return e;
}

static void hub_sink(void *arg, const th_trace_entry *e)
{
    sc_trace *t = arg;
    char line[1024], *big = NULL;
    size_t n = 0;
    if (t->file) { /* formatted before the lock: other devices' entries need not wait */
        n = th_trace_entry_json(e, t->t0, line, sizeof(line));
        if (n >= sizeof(line) && (big = malloc(n + 1))) th_trace_entry_json(e, t->t0, big, n + 1);
        if (n >= sizeof(line) && !big) n = th_trace_entry_json_fit(e, t->t0, line, sizeof(line));
    }
    pthread_mutex_lock(&t->lock);
    fill(&t->ring[t->next % t->keep], e);
    t->next++;
    if (t->file) {
        fwrite(big ? big : line, 1, n, t->file);
        fflush(t->file);
    }
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    free(big);
}

void sc_trace_attach(sc_trace *t, th_rules *r)
{
    th_rules_set_trace_sink(r, t ? hub_sink : NULL, t);
}

static uint64_t oldest_locked(const sc_trace *t)
{
    return t->next > t->keep ? t->next - t->keep : 0;
}

uint64_t sc_trace_cursor(sc_trace *t)
{
    pthread_mutex_lock(&t->lock);
    uint64_t n = t->next;
    pthread_mutex_unlock(&t->lock);
    return n;
}

uint64_t sc_trace_oldest(sc_trace *t)
{
    pthread_mutex_lock(&t->lock);
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

/* As expect_trace matches a line: the same fields, a command's fields never match a TMR. */
static bool matches(const sc_trace_filter *f, const rec *r)
{
    if (!f) return !r->is_tmr;
    if (f->device[0] && strcmp(f->device, r->device)) return false;
    if (f->tmr[0]) {
        if (!r->is_tmr || strcmp(f->tmr, th_tmr_name(r->tmr_type))) return false;
    } else if (r->is_tmr) {
        return false;
    }
    if (r->is_tmr) return !f->op[0] && !f->lba_set && f->status < 0 && !f->rule[0];
    if (f->op[0]) {
        char hex[5] = {'0', 'x', "0123456789ABCDEF"[r->op >> 4], "0123456789ABCDEF"[r->op & 15]};
        if (strcmp(f->op, r->op_name[0] ? r->op_name : hex)) return false;
    }
    if (f->lba_set && (!r->has_lba || r->lba != f->lba)) return false;
    if (f->status >= 0 && f->status != r->status) return false;
    if (f->rule[0] && strcmp(f->rule, r->rule)) return false;
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
    pthread_mutex_lock(&t->lock);
    for (;;) {
        if (pos < oldest_locked(t)) {
            rc = -ERANGE;
            break;
        }
        for (; m < count && pos < t->next; pos++) {
            if (!matches(f, &t->ring[pos % t->keep])) continue;
            m++;
            after = pos + 1;
        }
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
        if (timeout_ms < 0)
            pthread_cond_wait(&t->cond, &t->lock);
        else
            timed_out = pthread_cond_timedwait(&t->cond, &t->lock, &end) == ETIMEDOUT;
    }
    pthread_mutex_unlock(&t->lock);
    if (matched) *matched = m;
    if (next) *next = after;
    return rc;
}

void sc_trace_wake(sc_trace *t)
{
    pthread_mutex_lock(&t->lock);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

/* Appends {"seq":N, + the entry's line minus its "{"; 0 or -ENOMEM. */
static int append(char **s, size_t *len, size_t *cap, uint64_t seq, const rec *r, double t0)
{
    th_trace_entry e = entry_of(r);
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
    /* Copied out in chunks, formatted without the lock: commands do not wait on a read. */
    static_assert(sizeof(rec) * READ_CHUNK <= 16384, "a chunk fits the stack");
    rec chunk[READ_CHUNK];
    for (;;) {
        pthread_mutex_lock(&t->lock);
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
