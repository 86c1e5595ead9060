/* The session: one ctx, one trace and the list of live devices, which control clients
 * change while steps act and devices serve. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "session_internal.h"
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
    const char *timing = getenv("TCMU_HARNESS_TIMING");
    s->timing = timing && *timing && strcmp(timing, "0");
    if (th_ctx_new(&s->ctx)) {
        snprintf(err, cap, "TCMU_HARNESS_INSTANCE must be 1 to 8 hex digits or unset");
        free(s);
        return -EINVAL;
    }
    if (o->log_stderr) th_ctx_set_logger(s->ctx, th_log_stderr, NULL, (th_log_level)o->log_level);
    int rc = sc_trace_new(o->trace_path, 0, &s->trace, err, cap);
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

int sc_session_close(sc_session *s, char *err, size_t cap)
{
    if (!s) return 0;
    int rc = 0;
    double t0 = sc_now();
    int n = s->n;
    char why[512];
    /* Nothing else may call in by now; newest first, as they were stacked up. */
    for (int i = s->n - 1; i >= 0; i--) {
        int r = sc_live_teardown(s, s->devs[i], why, sizeof(why));
        if (r && !rc) rc = r, snprintf(err, cap, "%s", why);
        sc_device_clear(&s->devs[i]->cfg);
        free(s->devs[i]);
    }
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

int sc_session_add_device(sc_session *s, const sc_device *d, char *err, size_t cap)
{
    sc_live *l = calloc(1, sizeof(*l));
    if (!l || sc_device_copy(&l->cfg, d)) {
        free(l);
        snprintf(err, cap, "device %s: out of memory", d->name);
        return -ENOMEM;
    }
    /* The name is reserved first, so that two clients adding it race to one -EEXIST. */
    pthread_mutex_lock(&s->lock);
    int rc = index_locked(s, d->name) >= 0 ? -EEXIST : 0;
    if (rc) {
        snprintf(err, cap, "a device named '%s' already exists", d->name);
    } else if (s->n == s->cap) {
        int ncap = s->cap ? s->cap * 2 : 8;
        sc_live **p = realloc(s->devs, (size_t)ncap * sizeof(*p));
        if (!p)
            rc = -ENOMEM, snprintf(err, cap, "device %s: out of memory", d->name);
        else
            s->devs = p, s->cap = ncap;
    }
    if (!rc) s->devs[s->n++] = l;
    pthread_mutex_unlock(&s->lock);
    if (!rc && (rc = sc_live_build(s, l, err, cap))) {
        pthread_mutex_lock(&s->lock);
        unlist_locked(s, index_locked(s, d->name));
        pthread_mutex_unlock(&s->lock);
    }
    if (rc) {
        sc_device_clear(&l->cfg);
        free(l);
        return rc;
    }
    pthread_mutex_lock(&s->lock);
    l->ready = true;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int sc_session_add_devices(sc_session *s, const sc_device *devs, int n, char *err, size_t cap)
{
    double t0 = sc_now();
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) rc = sc_session_add_device(s, &devs[i], err, cap);
    timing(s, "open", t0, n);
    return rc;
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

void sc_session_settle(sc_session *s, double quiet_s, double max_s)
{
    if (!s->kernel) return; /* nothing probes devices without the kernel */
    double t0 = sc_now();
    for (double quiet_since = sc_now(), end = sc_now() + max_s; sc_now() < end;) {
        pthread_mutex_lock(&s->lock);
        uint64_t before = served_locked(s);
        pthread_mutex_unlock(&s->lock);
        usleep(50000);
        pthread_mutex_lock(&s->lock);
        uint64_t after = served_locked(s);
        pthread_mutex_unlock(&s->lock);
        if (after != before) quiet_since = sc_now();
        if (sc_now() - quiet_since > quiet_s) break;
    }
    timing(s, "settle", t0, s->n);
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
