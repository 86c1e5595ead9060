/* Delayed and hung commands: a timer thread answers them when due; a TMR or closing
 * the device answers the hung ones. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include "rules_internal.h"

uint64_t th_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *timer_main(void *arg)
{
    th_rules *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        uint64_t now = th_now_ns(), next = 0;
        pending **pp = &r->pending, *due = NULL;
        while (*pp) {
            pending *p = *pp;
            if (p->due_ns && p->due_ns <= now) {
                *pp = p->next;
                p->next = due;
                due = p;
                continue;
            }
            if (p->due_ns && (!next || p->due_ns < next)) next = p->due_ns;
            pp = &p->next;
        }
        if (due) {
            pthread_mutex_unlock(&r->lock);
            while (due) {
                pending *p = due;
                due = p->next;
                th_cmd_complete(p->cmd);
                free(p);
            }
            pthread_mutex_lock(&r->lock);
            continue;
        }
        if (next) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t wait = next - now;
            ts.tv_sec += (time_t)(wait / 1000000000u);
            ts.tv_nsec += (long)(wait % 1000000000u);
            if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        } else {
            pthread_cond_wait(&r->cond, &r->lock);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

int th_rules_defer(th_rules *r, th_cmd *cmd, uint64_t due_ns)
{
    pending *p = calloc(1, sizeof(*p));
    if (!p) return -ENOMEM;
    p->cmd = cmd;
    p->due_ns = due_ns;
    pthread_mutex_lock(&r->lock);
    if (!r->timer_running) {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_destroy(&r->cond);
        pthread_cond_init(&r->cond, &ca);
        pthread_condattr_destroy(&ca);
        if (pthread_create(&r->timer, NULL, timer_main, r)) {
            pthread_mutex_unlock(&r->lock);
            free(p);
            return -EAGAIN;
        }
        r->timer_running = true;
    }
    p->next = r->pending;
    r->pending = p;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* Takes the pending entries for which pred holds out of the list. */
static pending *take(th_rules *r, const uint16_t *ids, uint32_t n, bool all)
{
    pending *out = NULL, **pp = &r->pending;
    while (*pp) {
        pending *p = *pp;
        bool hit = all;
        for (uint32_t i = 0; !hit && i < n; i++) hit = th_cmd_id(p->cmd) == ids[i];
        if (hit) {
            *pp = p->next;
            p->next = out;
            out = p;
        } else {
            pp = &p->next;
        }
    }
    return out;
}

static void answer_aborted(pending *list)
{
    while (list) {
        pending *p = list;
        list = p->next;
        if (!p->due_ns) th_cmd_status(p->cmd, TH_STATUS_TASK_ABORTED); /* a hung one */
        th_cmd_complete(p->cmd);
        free(p);
    }
}

void th_rules_on_tmr(void *arg, uint8_t type, const uint16_t *ids, uint32_t n)
{
    th_rules *r = arg;
    th_rules_trace_tmr(r, type, ids, n);
    bool all = type == 5 || type == 6 || type == 7 || type == 2 || type == 4; /* resets, task set */
    pthread_mutex_lock(&r->lock);
    pending *list = take(r, ids, n, all);
    pthread_mutex_unlock(&r->lock);
    answer_aborted(list);
}

void th_rules_release_all(th_rules *r)
{
    pthread_mutex_lock(&r->lock);
    pending *list = take(r, NULL, 0, true);
    bool running = r->timer_running;
    r->stopping = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (running) pthread_join(r->timer, NULL);
    pthread_mutex_lock(&r->lock);
    r->timer_running = false;
    r->stopping = false;
    pthread_mutex_unlock(&r->lock);
    answer_aborted(list);
}
