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

/* The server is closing with cmd still here: drop it unless a taker already holds it. */
static bool revoke(th_cmd *cmd, void *arg)
{
    th_rules *r = arg;
    bool dropped = false;
    pthread_mutex_lock(&r->lock);
    for (pending **pp = &r->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->cmd != cmd) continue;
        pending *p = *pp;
        *pp = p->next;
        free(p);
        dropped = true;
        break;
    }
    pthread_mutex_unlock(&r->lock);
    return dropped;
}

static int start_timer_locked(th_rules *r)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&r->cond);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->timer, NULL, timer_main, r)) return -EAGAIN;
    r->timer_running = true;
    return 0;
}

int th_rules_defer(th_rules *r, th_cmd *cmd, uint64_t due_ns)
{
    pending *p = calloc(1, sizeof(*p));
    if (!p) return -ENOMEM;
    p->cmd = cmd;
    p->due_ns = due_ns;
    pthread_mutex_lock(&r->lock);
    /* Checked under the lock th_rules_on_tmr takes after the server marked the
     * command: a TMR is either seen here or finds the command in the list. */
    int rc = th_cmd_is_aborted(cmd) ? -ECANCELED : 0;
    /* A release is joining the timer: a new entry would sit on a dead thread's list. */
    if (!rc && r->releasing) rc = -ECANCELED;
    if (!rc && !r->timer_running) rc = start_timer_locked(r);
    if (rc) {
        pthread_mutex_unlock(&r->lock);
        free(p);
        return rc;
    }
    th_cmd_set_revoke(cmd, revoke, r);
    p->next = r->pending;
    r->pending = p;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

/* Takes the pending entries listed in ids (all of them if all) out of the list. */
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
    /* Every TMR entry lists the commands it aborts (target_core_user's tcmu_tmr_notify
     * fills it for ABORT TASK, the task-set TMRs and the resets alike): an ABORT TASK
     * SET from one initiator leaves another initiator's commands alone. */
    pthread_mutex_lock(&r->lock);
    pending *list = take(r, ids, n, false);
    pthread_mutex_unlock(&r->lock);
    answer_aborted(list);
}

void th_rules_release_all(th_rules *r)
{
    pthread_mutex_lock(&r->lock);
    pending *list = take(r, NULL, 0, true);
    /* One caller joins the thread; deferrals until the last release ends answer at
     * once, and the next one after it starts a fresh timer. */
    r->releasing++;
    bool join = r->timer_running;
    pthread_t timer = r->timer;
    r->timer_running = false;
    r->stopping = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (join) pthread_join(timer, NULL);
    pthread_mutex_lock(&r->lock);
    if (--r->releasing == 0) r->stopping = false;
    pthread_mutex_unlock(&r->lock);
    answer_aborted(list);
}
