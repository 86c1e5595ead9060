/* The session: one ctx, one trace and the list of live devices, which control clients
 * change while steps act and devices serve. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mem_budget.h"
#include "session_internal.h"
#include "../core/pool.h"
#include "th/log.h"

double sc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int sc_session_new(const sc_session_opts *o, sc_session **out, char *err, size_t cap)
{
    sc_session *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, cap, "out of memory");
        return -ENOMEM;
    }
    s->kernel = o->kernel;
    s->t0 = sc_now();
    int rc = sc_env_flag("TCMU_HARNESS_TIMING", &s->timing, err, cap);
    if (rc) {
        free(s);
        return rc;
    }
    if ((rc = th_ctx_new(&s->ctx))) {
        /* th_ctx_new refuses a bad instance with -EINVAL; anything else is getrandom's. */
        if (rc == -EINVAL)
            snprintf(err, cap,
                     "TCMU_HARNESS_INSTANCE='%.40s': 1 to 8 hex digits or unset was "
                     "expected",
                     getenv("TCMU_HARNESS_INSTANCE"));
        else
            snprintf(err, cap, "no random instance id: %s", strerror(-rc));
        free(s);
        return rc;
    }
    if (o->log_stderr) th_ctx_set_logger(s->ctx, th_log_stderr, NULL, (th_log_level)o->log_level);
    rc = sc_trace_new(o->trace_path, o->keep, &s->trace, err, cap);
    if (rc) {
        th_ctx_free(s->ctx);
        free(s);
        return rc;
    }
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return 0;
}

/* One line per phase for bench/lifecycle: where a scenario's start and end go. */
static void timing(const sc_session *s, const char *what, double since, int n)
{
    if (s->timing)
        fprintf(stderr, "tcmu-harness timing: %s %.3f s (%d devices)\n", what, sc_now() - since, n);
}

static void free_entries(sc_live **l, int n)
{
    for (int i = 0; i < n; i++) {
        sc_device_clear(&l[i]->cfg);
        free(l[i]);
    }
}

/* Devices built or torn down together: each on a thread of the pool, each with its own
 * result and message. */
typedef struct batch {
    sc_session *s;
    sc_live **l;
    int n;
    int *rc;
    char (*why)[SC_WHY_MAX];
    atomic_bool failed; /* a build failed: the ones not yet begun are not */
    atomic_int first;   /* the index of the build that failed first in time, or -1 */
} batch;

static void teardown_one(void *arg, int i)
{
    batch *b = arg;
    b->rc[i] = sc_live_teardown(b->s, b->l[i], b->why[i], sizeof(b->why[i]));
}

static void build_one(void *arg, int i)
{
    batch *b = arg;
    if (atomic_load(&b->failed)) {
        b->rc[i] = -ECANCELED;
        return;
    }
    b->rc[i] = sc_live_build(b->s, b->l[i], b->why[i], sizeof(b->why[i]));
    if (b->rc[i]) {
        int none = -1;
        atomic_compare_exchange_strong(&b->first, &none, i);
        atomic_store(&b->failed, true);
    }
}

static int batch_init(batch *b, sc_session *s, sc_live **l, int n)
{
    memset(b, 0, sizeof(*b));
    b->s = s, b->l = l, b->n = n;
    atomic_init(&b->failed, false);
    atomic_init(&b->first, -1);
    b->rc = calloc((size_t)(n ? n : 1), sizeof(*b->rc));
    b->why = calloc((size_t)(n ? n : 1), sizeof(*b->why));
    if (b->rc && b->why) return 0;
    free(b->rc), free(b->why);
    return -ENOMEM;
}

static void batch_free(batch *b)
{
    free(b->rc), free(b->why);
}

/* Tears l[0..n) down on the pool (newest first where it runs on one thread); 0, or the
 * first failure among the newest first in err. Frees the entries. */
static int teardown_all(sc_session *s, sc_live **l, int n, char *err, size_t cap)
{
    int rc = 0;
    batch b;
    if (batch_init(&b, s, l, n)) {
        for (int i = n - 1; i >= 0; i--) { /* no memory for a pool: one by one */
            char why[SC_WHY_MAX];
            int r = sc_live_teardown(s, l[i], why, sizeof(why));
            if (r && !rc) rc = r, snprintf(err, cap, "%s", why); /* the message with its rc */
        }
    } else {
        th_pool_run(n, SC_POOL_THREADS, teardown_one, &b);
        for (int i = n - 1; i >= 0 && !rc; i--)
            if ((rc = b.rc[i])) snprintf(err, cap, "%s", b.why[i]);
        batch_free(&b);
    }
    free_entries(l, n);
    return rc;
}

int sc_session_close(sc_session *s, char *err, size_t cap)
{
    if (!s) return 0;
    double t0 = sc_now();
    int n = s->n;
    /* Nothing else may call in by now. */
    int rc = teardown_all(s, s->devs, s->n, err, cap);
    free(s->devs);
    timing(s, "close", t0, n);
    sc_trace_free(s->trace);
    pthread_mutex_destroy(&s->lock);
    th_ctx_free(s->ctx);
    free(s);
    return rc;
}

th_ctx *sc_session_ctx(sc_session *s)
{
    return s->ctx;
}

sc_trace *sc_session_trace(sc_session *s)
{
    return s->trace;
}

sc_live *sc_session_find_locked(sc_session *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (s->devs[i]->ready && !strcmp(s->devs[i]->cfg.name, name)) return s->devs[i];
    return NULL;
}

static int index_locked(sc_session *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->devs[i]->cfg.name, name)) return i;
    return -1;
}

static void unlist_locked(sc_session *s, int i)
{
    memmove(s->devs + i, s->devs + i + 1, (size_t)(s->n - i - 1) * sizeof(*s->devs));
    s->n--;
}

/* Reserves the names of devs[0..n) in order, as new entries l[0..n) at the end of the
 * list, so that two clients adding one name race to one -EEXIST; nothing is reserved
 * on a failure. */
static int reserve(sc_session *s, const sc_device *devs, int n, sc_live **l, char *err, size_t cap)
{
    for (int i = 0; i < n; i++) {
        l[i] = calloc(1, sizeof(*l[i]));
        if (!l[i] || sc_device_copy(&l[i]->cfg, &devs[i])) {
            free(l[i]);
            free_entries(l, i);
            snprintf(err, cap, "device %s: out of memory", devs[i].name);
            return -ENOMEM;
        }
    }
    int rc = 0, listed = 0;
    pthread_mutex_lock(&s->lock);
    if (s->n + n > s->cap) {
        int ncap = s->cap ? s->cap : 8;
        while (ncap < s->n + n) ncap *= 2;
        sc_live **p = realloc(s->devs, (size_t)ncap * sizeof(*p));
        if (!p)
            rc = -ENOMEM, snprintf(err, cap, "%d devices: out of memory", n);
        else
            s->devs = p, s->cap = ncap;
    }
    for (; !rc && listed < n; listed++) {
        if (index_locked(s, devs[listed].name) >= 0) {
            rc = -EEXIST;
            snprintf(err, cap, "a device named '%s' already exists", devs[listed].name);
            break;
        }
        s->devs[s->n++] = l[listed];
    }
    if (rc) s->n -= listed; /* the newest entries are ours: the lock was held throughout */
    pthread_mutex_unlock(&s->lock);
    if (rc) free_entries(l, n);
    return rc;
}

/* Removes the batch's entries (the newest n, in order) from the list. */
static void unlist_batch(sc_session *s, sc_live **l, int n)
{
    pthread_mutex_lock(&s->lock);
    for (int k = 0; k < n; k++) {
        int i = index_locked(s, l[k]->cfg.name);
        if (i >= 0 && s->devs[i] == l[k]) unlist_locked(s, i);
    }
    pthread_mutex_unlock(&s->lock);
}

typedef char target_name[40];

/* Refuses a batch the kernel's memory cannot hold before any of it is made; where
 * MemAvailable cannot be read there is nothing to judge by. */
static int preflight(sc_session *s, const sc_device *devs, int n, char *err, size_t cap)
{
    uint64_t avail;
    if (!s->kernel || sc_mem_available("/proc/meminfo", &avail)) return 0;
    target_name *names = malloc(((size_t)n + 1) * sizeof(*names));
    const char **batch = malloc(((size_t)n + 1) * sizeof(*batch));
    target_name *lnames = NULL;
    const char **live = NULL;
    int n_live = 0, rc = 0;
    if (!names || !batch) goto out; /* no memory to judge by: the builds will tell */
    for (int i = 0; i < n; i++) {
        uint64_t wwn = devs[i].wwn ? devs[i].wwn : th_device_wwn_for(s->ctx, devs[i].name);
        batch[i] = sc_mem_target_name(&devs[i], wwn, names[i]) ? names[i] : NULL;
    }
    /* The live ones' names, copied under the lock (reserved entries count too). */
    pthread_mutex_lock(&s->lock);
    lnames = malloc(((size_t)s->n + 1) * sizeof(*lnames));
    live = malloc(((size_t)s->n + 1) * sizeof(*live));
    for (int i = 0; lnames && live && i < s->n; i++, n_live++) {
        const sc_live *l = s->devs[i];
        uint64_t wwn = l->wwn ? l->wwn : th_device_wwn_for(s->ctx, l->cfg.name);
        live[i] = sc_mem_target_name(&l->cfg, wwn, lnames[i]) ? lnames[i] : NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (!lnames || !live) goto out;
    int targets = sc_mem_targets(batch, n, live, n_live);
    rc = sc_mem_check(sc_mem_need(n, targets), avail, n, targets, err, cap);
out:
    free(names), free(batch), free(lnames), free(live);
    return rc;
}

int sc_session_add_devices(sc_session *s, const sc_device *devs, int n, char *err, size_t cap)
{
    if (n <= 0) return 0;
    int prc = preflight(s, devs, n, err, cap);
    if (prc) return prc;
    double t0 = sc_now();
    sc_live **l = calloc((size_t)n, sizeof(*l));
    batch b;
    if (!l || batch_init(&b, s, l, n)) {
        free(l);
        snprintf(err, cap, "%d devices: out of memory", n);
        return -ENOMEM;
    }
    int rc = reserve(s, devs, n, l, err, cap);
    if (rc) {
        batch_free(&b);
        free(l);
        return rc;
    }
    th_pool_run(n, SC_POOL_THREADS, build_one, &b);
    /* The failure that came first in time is the cause: a later one in the batch may be
     * its knock-on (a rollback removing what another build was using), and where it
     * stands in the list says nothing. */
    int first = atomic_load(&b.first);
    if (first >= 0) rc = b.rc[first], snprintf(err, cap, "%s", b.why[first]);
    if (rc) {
        unlist_batch(s, l, n);
        /* Each failed build undid itself; the others go, on the pool as they came. */
        int built = 0;
        for (int i = 0; i < n; i++) {
            if (!b.rc[i])
                l[built++] = l[i];
            else
                free_entries(&l[i], 1);
        }
        char ignored[SC_WHY_MAX];
        teardown_all(s, l, built, ignored, sizeof(ignored));
    } else {
        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < n; i++) l[i]->ready = true;
        pthread_mutex_unlock(&s->lock);
    }
    batch_free(&b);
    free(l);
    timing(s, "open", t0, n);
    return rc;
}

int sc_session_add_device(sc_session *s, const sc_device *d, char *err, size_t cap)
{
    return sc_session_add_devices(s, d, 1, err, cap);
}

int sc_session_remove_device(sc_session *s, const char *name, char *err, size_t cap)
{
    pthread_mutex_lock(&s->lock);
    sc_live *l = sc_session_find_locked(s, name);
    if (l) unlist_locked(s, index_locked(s, name));
    pthread_mutex_unlock(&s->lock);
    if (!l) {
        snprintf(err, cap, "no device named '%s'", name);
        return -ENOENT;
    }
    /* Unlisted, no action can reach it any more: the teardown runs without the lock. */
    int rc = sc_live_teardown(s, l, err, cap);
    sc_device_clear(&l->cfg);
    free(l);
    return rc;
}

int sc_session_model(sc_session *s, scenario *out)
{
    sc_free(out);
    memset(out, 0, sizeof(*out));
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->n && !rc; i++) {
        if (!s->devs[i]->ready) continue;
        sc_device *d = sc_devices_add(out);
        if (!d) {
            rc = -ENOMEM;
            break;
        }
        *d = s->devs[i]->cfg;
        d->media = NULL; /* names and types are what the checks need; lists stay ours */
        d->n_media = d->cap_media = 0;
        d->initiators = NULL;
        d->n_initiators = d->cap_initiators = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static uint64_t served_locked(sc_session *s)
{
    uint64_t n = 0;
    for (int i = 0; i < s->n; i++)
        if (s->devs[i]->ready && s->devs[i]->dev) n += th_device_cmds_served(s->devs[i]->dev);
    return n;
}

/* Opens and closes every disk's block node: the open waits for the kernel's partition
 * scan (it holds the disk's open lock while it reads), the last of the probe's commands,
 * and sends none itself (a fixed disk's open and last close issue no command). */
static void wait_partition_scans(sc_session *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->n;
    char(*paths)[64] = calloc((size_t)(n ? n : 1), sizeof(*paths));
    for (int i = 0; paths && i < n; i++) {
        const char *sd = s->devs[i]->ready && s->devs[i]->dev
                             ? th_device_node(s->devs[i]->dev, TH_NODE_SD)
                             : NULL;
        snprintf(paths[i], sizeof(paths[i]), "%s", sd ? sd : "");
    }
    pthread_mutex_unlock(&s->lock);
    for (int i = 0; paths && i < n; i++) {
        if (!paths[i][0]) continue;
        int fd = open(paths[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) close(fd);
    }
    free(paths);
}

void sc_session_settle(sc_session *s, double quiet_s, double max_s)
{
    if (!s->kernel) return; /* nothing probes devices without the kernel */
    double t0 = sc_now();
    wait_partition_scans(s);
    double scanned = sc_now(), last = scanned;
    /* Then a quiet spell: what else probes a new disk (udev's scsi_id and blkid on a
     * host) comes in that window. */
    pthread_mutex_lock(&s->lock);
    uint64_t before = served_locked(s);
    pthread_mutex_unlock(&s->lock);
    for (double end = t0 + max_s; sc_now() < end && sc_now() - last < quiet_s;) {
        usleep(10000);
        pthread_mutex_lock(&s->lock);
        uint64_t after = served_locked(s);
        pthread_mutex_unlock(&s->lock);
        if (after != before) last = sc_now(), before = after;
    }
    if (s->timing)
        fprintf(stderr,
                "tcmu-harness timing: settle %.3f s (%d devices; partition scans %.3f s, then the "
                "last command %.3f s later)\n",
                sc_now() - t0, s->n, scanned - t0, last - scanned);
}

th_rules *sc_session_rules(sc_session *s, const char *name)
{
    pthread_mutex_lock(&s->lock);
    sc_live *l = sc_session_find_locked(s, name);
    th_rules *r = l ? l->rules : NULL; /* read here: a removal frees l after the unlock */
    pthread_mutex_unlock(&s->lock);
    return r;
}

int sc_session_names(sc_session *s, char names[][65], int max)
{
    int n = 0;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->n; i++)
        if (s->devs[i]->ready && n++ < max) snprintf(names[n - 1], 65, "%s", s->devs[i]->cfg.name);
    pthread_mutex_unlock(&s->lock);
    return n;
}
