/* The fault actions, the same calls for a scenario step and a control request: one
 * function per kind, under the session's lock (each is short: no kernel work). */
#include <errno.h>
#include <string.h>
#include "session_internal.h"
#include "th/sense.h"

typedef int (*act_fn)(sc_live *d, const sc_step *st, char *err, size_t cap);

static int add_rule(sc_live *d, const sc_step *st, char *err, size_t cap)
{
    int rc = th_rules_add(d->rules, &st->rule.rule, st->position);
    if (rc < 0)
        snprintf(err, cap, "device %s: no room for rule '%s'", d->cfg.name, st->rule.rule.name);
    return rc < 0 ? rc : 0;
}

static int remove_rule(sc_live *d, const sc_step *st, char *err, size_t cap)
{
    int rc = th_rules_remove(d->rules, st->name);
    if (rc) snprintf(err, cap, "device %s has no rule '%s'", d->cfg.name, st->name);
    if (!rc && !strcmp(st->name, "offline")) d->offline = false;
    return rc;
}

static int queue_ua(sc_live *d, const sc_step *st, char *err, size_t cap)
{
    (void)err, (void)cap;
    th_rules_queue_ua(d->rules, &st->ua);
    return 0;
}

static int set_state(sc_live *d, const sc_step *st, char *err, size_t cap)
{
    int rc = th_rules_set_state(d->rules, st->name);
    if (rc) snprintf(err, cap, "device %s: state '%.40s' is too long", d->cfg.name, st->name);
    return rc;
}

static int set_capacity(sc_live *d, const sc_step *st, char *err, size_t cap)
{
    if (th_disk_set_blocks(d->disk, st->size / d->cfg.block_size)) {
        snprintf(err, cap, "set_capacity %llu is larger than the backing of %s",
                 (unsigned long long)st->size, d->cfg.name);
        return -ENOSPC;
    }
    th_sense ua = th_sense_make(TH_KEY_UNIT_ATTENTION, TH_ASC_CAPACITY_CHANGED);
    th_rules_queue_ua(d->rules, &ua);
    return 0;
}

/* NOT READY to everything, first in the table; once, however often it is asked for. */
static int offline(sc_live *d, const sc_step *st, char *err, size_t cap)
{
    (void)st;
    if (d->offline) return 0;
    th_rule off;
    th_rule_init(&off);
    snprintf(off.name, sizeof(off.name), "offline");
    off.action.pass = false;
    off.action.sense_set = true;
    off.action.sense = th_sense_make(TH_KEY_NOT_READY, 0x0400);
    int rc = th_rules_add(d->rules, &off, 0);
    if (rc < 0) {
        snprintf(err, cap, "device %s: no room for the offline rule", d->cfg.name);
        return rc;
    }
    d->offline = true;
    return 0;
}

static int online(sc_live *d, const sc_step *st, char *err, size_t cap)
{
    (void)st, (void)err, (void)cap;
    if (d->offline) th_rules_remove(d->rules, "offline");
    d->offline = false;
    th_sense ua = th_sense_make(TH_KEY_UNIT_ATTENTION, TH_ASC_NOT_READY_TO_READY);
    th_rules_queue_ua(d->rules, &ua);
    return 0;
}

static int load(sc_live *d, const sc_step *st, char *err, size_t cap)
{
    (void)err, (void)cap;
    th_tape_set_loaded(d->tape, st->kind == SC_LOAD);
    return 0;
}

#define ON_DISK 1u
#define ON_TAPE 2u
static const struct {
    sc_kind kind;
    const char *name;
    unsigned on;
    act_fn fn;
} acts[] = {
    {SC_ADD_RULE, "add_rule", ON_DISK | ON_TAPE, add_rule},
    {SC_REMOVE_RULE, "remove_rule", ON_DISK | ON_TAPE, remove_rule},
    {SC_QUEUE_UA, "queue_ua", ON_DISK | ON_TAPE, queue_ua},
    {SC_SET_STATE, "set_state", ON_DISK | ON_TAPE, set_state},
    {SC_SET_CAPACITY, "set_capacity", ON_DISK, set_capacity},
    {SC_OFFLINE, "offline", ON_DISK | ON_TAPE, offline},
    {SC_ONLINE, "online", ON_DISK | ON_TAPE, online},
    {SC_LOAD, "load", ON_TAPE, load},
    {SC_UNLOAD, "unload", ON_TAPE, load},
};

int sc_session_act(sc_session *s, const sc_step *st, char *err, size_t cap)
{
    size_t i = 0;
    while (i < sizeof(acts) / sizeof(acts[0]) && acts[i].kind != st->kind) i++;
    if (i == sizeof(acts) / sizeof(acts[0])) {
        snprintf(err, cap, "step kind %d is not a device action", (int)st->kind);
        return -EINVAL;
    }
    const char *name = st->kind == SC_ADD_RULE ? st->rule.device : st->device;
    pthread_mutex_lock(&s->lock);
    sc_live *d = sc_session_find_locked(s, name);
    int rc = 0;
    if (!d) {
        snprintf(err, cap, "no device named '%s'", name);
        rc = -ENOENT;
    } else if (!((d->tape ? ON_TAPE : ON_DISK) & acts[i].on)) {
        snprintf(err, cap, "%s is for a %s; '%s' is a %s", acts[i].name,
                 acts[i].on == ON_DISK ? "disk" : "tape", name, d->cfg.type);
        rc = -EINVAL;
    } else {
        rc = acts[i].fn(d, st, err, cap);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}
