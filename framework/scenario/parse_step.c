/* Scenario steps (commands to run, device actions) and trace expectations. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "parse_internal.h"
#include "sc_regex.h"

static const yt_key remove_rule_keys[] = {{"device", YT_TEXT, "d0"}, {"name", YT_TEXT, "r0"}};
static const yt_key queue_ua_keys[] = {{"device", YT_TEXT, "d0"},
                                       {"sense", YT_MAP, "{key: UNIT_ATTENTION, asc: 0x29}"}};
static const yt_key set_state_keys[] = {{"device", YT_TEXT, "d0"}, {"state", YT_TEXT, "healed"}};
static const yt_key set_capacity_keys[] = {{"device", YT_TEXT, "d0"}, {"size", YT_TYPED, "512K"}};
static const yt_key any_device_keys[] = {{"device", YT_TEXT, "d0"}};
static const yt_key tape_keys[] = {{"device", YT_TEXT, "t0"}};
/* The shared filter (parse_internal.h) and where the step starts counting. */
static const yt_key wait_trace_keys[] = {SC_WAIT_FILTER_KEYS, {"since", YT_TYPED, "\"step\""}};
static const yt_keys remove_rule_t = YT_KEYS("remove_rule", remove_rule_keys),
                     queue_ua_t = YT_KEYS("queue_ua", queue_ua_keys),
                     set_state_t = YT_KEYS("set_state", set_state_keys),
                     set_capacity_t = YT_KEYS("set_capacity", set_capacity_keys),
                     offline_t = YT_KEYS("offline", any_device_keys),
                     online_t = YT_KEYS("online", any_device_keys),
                     load_t = YT_KEYS("load", tape_keys), unload_t = YT_KEYS("unload", tape_keys),
                     wait_trace_t = YT_KEYS("wait_trace", wait_trace_keys);

/* One list for the step keys and the kinds they make: key, kind, the device types it
 * applies to, the value's shape and an example, the action's own keys. */
#define SC_STEP_KINDS(X)                                                                           \
    X("run", SC_RUN, SC_ON_NONE, YT_TEXT, "\"true\"", NULL)                                        \
    X("add_rule", SC_ADD_RULE, SC_ON_ANY, YT_MAP, "{device: d0, name: r1}", &sc_keys_add_rule)     \
    X("remove_rule", SC_REMOVE_RULE, SC_ON_ANY, YT_MAP, "{device: d0, name: r0}", &remove_rule_t)  \
    X("queue_ua", SC_QUEUE_UA, SC_ON_ANY, YT_MAP, "{device: d0, sense: {key: 6}}", &queue_ua_t)    \
    X("set_state", SC_SET_STATE, SC_ON_ANY, YT_MAP, "{device: d0, state: s}", &set_state_t)        \
    X("set_capacity", SC_SET_CAPACITY, SC_ON_DISK, YT_MAP, "{device: d0, size: 512K}",             \
      &set_capacity_t)                                                                             \
    X("offline", SC_OFFLINE, SC_ON_ANY, YT_MAP, "{device: d0}", &offline_t)                        \
    X("online", SC_ONLINE, SC_ON_ANY, YT_MAP, "{device: d0}", &online_t)                           \
    X("load", SC_LOAD, SC_ON_TAPE, YT_MAP, "{device: t0}", &load_t)                                \
    X("unload", SC_UNLOAD, SC_ON_TAPE, YT_MAP, "{device: t0}", &unload_t)                          \
    X("sleep_ms", SC_SLEEP, SC_ON_NONE, YT_TYPED, "1", NULL)                                       \
    X("wait", SC_WAIT, SC_ON_NONE, YT_TEXT, "bg", NULL)                                            \
    X("kill", SC_KILL, SC_ON_NONE, YT_TEXT, "bg", NULL)                                            \
    X("wait_trace", SC_WAIT_TRACE, SC_ON_ANY, YT_MAP, "{device: d0, op: READ_10, count: 3}",       \
      &wait_trace_t)

const char *sc_step_key(sc_kind kind)
{
#define KEY_OF(key, k, on, shape, example, keys)                                                   \
    if (kind == k) return key;
    SC_STEP_KINDS(KEY_OF)
#undef KEY_OF
    return "?";
}

/* The keys that qualify a step of some kind, and the key each one goes with (the parser's
 * "X goes with Y" and the tests' valid documents both come from here). */
static const struct {
    const char *key, *needs;
} step_needs[] = {
    {"expect", "run"},
    {"background", "run"},
    {"may_outlive", "background"},
    {"signal", "kill"},
};

#define AS_KEY(key, kind, on, shape, example, keys)    {key, shape, example},
#define AS_ACTION(key, kind, on, shape, example, keys) {key, kind, on, keys},
static const yt_key step_keys[] = {SC_STEP_KINDS(AS_KEY){"expect", YT_MAP, "{exit: 0}"},
                                   {"background", YT_TEXT, "bg2"},
                                   {"may_outlive", YT_TYPED, "true"},
                                   {"signal", YT_TYPED, "INT"}};
const yt_keys sc_keys_step = YT_KEYS("a step", step_keys);
const sc_action sc_actions[] = {SC_STEP_KINDS(AS_ACTION)};
const size_t sc_n_actions = sizeof(sc_actions) / sizeof(sc_actions[0]);

const char *sc_step_needs(const char *key)
{
    for (size_t i = 0; i < sizeof(step_needs) / sizeof(step_needs[0]); i++)
        if (!strcmp(step_needs[i].key, key)) return step_needs[i].needs;
    return NULL;
}

/* Signals by name (with or without SIG) for kill steps; the ones a test would send. */
static const struct {
    const char *name;
    int sig;
} signals[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
               {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT},
               {"STOP", SIGSTOP}, {"ALRM", SIGALRM}, {"PIPE", SIGPIPE}};

static bool parse_signal(yt *t, yaml_node_t *v, int *out)
{
    const char *s = yt_str(t, v);
    if (!s) return false;
    const char *bare = strncmp(s, "SIG", 3) ? s : s + 3;
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        if (!strcmp(bare, signals[i].name)) return *out = signals[i].sig, true;
    if (*s >= '0' && *s <= '9') {
        long long n;
        if (!yt_int(t, v, 1, SIGRTMAX, &n)) return false;
        *out = (int)n;
        return true;
    }
    yt_error(t, v,
             "'%.40s' is not a signal (TERM, KILL, INT, HUP, QUIT, USR1, USR2, ... or a number)",
             s);
    return false;
}

static const yt_key expect_keys[] = {
    {"exit", YT_TYPED, "0"},
    {"stdout", YT_TEXT, "\"^$\""},
    {"stderr", YT_TEXT, "\"^$\""},
    {"timeout", YT_TYPED, "10"},
};
const yt_keys sc_keys_expect = YT_KEYS("expect", expect_keys);

static const yt_key trace_keys[] = {
    {"device", YT_TEXT, "d0"}, {"op", YT_TYPED, "READ_10"},  {"tmr", YT_TEXT, "ABORT_TASK"},
    {"lba", YT_TYPED, "10"},   {"status", YT_TYPED, "GOOD"}, {"rule", YT_TEXT, "r0"},
    {"count", YT_TYPED, "0"},  {"min", YT_TYPED, "0"},       {"after", YT_TYPED, "1"},
    {"max", YT_TYPED, "9"},
};
const yt_keys sc_keys_trace = YT_KEYS("expect_trace", trace_keys);

static const char *type_word(unsigned on)
{
    return on == SC_ON_DISK ? "a disk" : on == SC_ON_TAPE ? "a tape" : "a disk or a tape";
}

static void expect_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    sc_step *s = arg;
    long long n;
    if (!strcmp(key, "exit")) {
        if (yt_int(t, v, 0, 255, &n)) s->expect_exit = (int)n, s->expect_exit_set = true;
    } else if (!strcmp(key, "stdout") || !strcmp(key, "stderr")) {
        const char *str = yt_str(t, v);
        regex_t re;
        char why[300];
        /* Compiled now, as the step will compile it: a bad one fails validate. */
        if (str && sc_regex_compile(&re, str, REG_NOSUB | REG_NEWLINE, why, sizeof(why)))
            yt_error(t, v, "%s: %s", key, why);
        else if (str)
            regfree(&re), *(key[3] == 'o' ? &s->expect_stdout : &s->expect_stderr) = strdup(str);
    } else if (!strcmp(key, "timeout")) {
        if (yt_int(t, v, 1, 3600, &n)) s->timeout_s = (int)n;
    } else {
        yt_unhandled(t, k, &sc_keys_expect);
    }
}

typedef struct step_ctx {
    scenario *sc;
    sc_step *s;
    const sc_action *action;
    const char *kind_key;     /* the key that made the step's kind (one per step) */
    yaml_node_t *present[24]; /* each step key given, by its index in step_keys */
    yaml_node_t *bg_value;    /* the value of background, wait or kill */
    yaml_node_t *op_node;     /* wait_trace's op, resolved by the device's type at the end */
} step_ctx;

static void wait_trace_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg);

static void action_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    step_ctx *c = arg;
    if (!strcmp(key, "device")) {
        if (!yt_copy(t, v, c->s->device, sizeof(c->s->device))) return;
        const sc_device *d = sc_find_device(c->sc, c->s->device);
        if (!d)
            yt_error(t, v, "no device named '%s'", c->s->device);
        else if (!(sc_device_on(d) & c->action->on))
            yt_error(t, v, "%s is for %s; '%s' is %s", c->action->key, type_word(c->action->on),
                     d->name, type_word(sc_device_on(d)));
    } else if (!strcmp(key, "size")) {
        yt_size(t, v, &c->s->size);
    } else if (!strcmp(key, "state")) {
        /* The rules' state is shorter than the step's name field: a 40-character state
         * validated, then failed when the step ran. */
        char state[sizeof(c->s->name)];
        if (yt_copy(t, v, state, sizeof(((th_rule_match *)0)->state)))
            snprintf(c->s->name, sizeof(c->s->name), "%s", state);
    } else if (!strcmp(key, "name")) {
        yt_copy(t, v, c->s->name, sizeof(c->s->name));
    } else if (!strcmp(key, "sense")) {
        sc_parse_sense(t, v, &c->s->ua, NULL);
    } else {
        yt_unhandled(t, k, c->action->keys);
    }
}

/* A background name: the characters of a device name. */
static void copy_bg_name(yt *t, yaml_node_t *v, step_ctx *c)
{
    c->bg_value = v;
    if (!yt_copy(t, v, c->s->bg, sizeof(c->s->bg))) return;
    if (!c->s->bg[0]) yt_error(t, v, "a background name is empty");
    for (const char *p = c->s->bg; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.", *p)) {
            yt_error(t, v, "background name '%s': only letters, digits, '_', '-', '.'", c->s->bg);
            break;
        }
}

static void step_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    step_ctx *c = arg;
    sc_step *s = c->s;
    long long n;
    bool b;
    const sc_action *a = NULL;
    for (size_t i = 0; i < sc_n_actions; i++)
        if (!strcmp(key, sc_actions[i].key)) a = &sc_actions[i];
    for (size_t i = 0; i < sc_keys_step.n && i < sizeof(c->present) / sizeof(c->present[0]); i++)
        if (!strcmp(key, sc_keys_step.keys[i].name)) c->present[i] = k;
    if (a && c->kind_key) {
        yt_error(t, k, "a step does one thing: '%s' and '%s' make two steps", c->kind_key, key);
        return;
    }
    if (a) c->kind_key = a->key;
    if (!strcmp(key, "run")) {
        const char *str = yt_str(t, v);
        if (str) s->run = strdup(str), s->kind = SC_RUN, sc_check_placeholders(t, c->sc, v, str);
    } else if (!strcmp(key, "expect")) {
        yt_map(t, v, &sc_keys_expect, expect_pair, s);
    } else if (!strcmp(key, "add_rule")) {
        sc_parse_rule_at(t, c->sc, v, &s->rule, &s->position);
        s->kind = SC_ADD_RULE;
    } else if (a && a->kind == SC_WAIT_TRACE) {
        s->kind = a->kind;
        c->action = a;
        yt_map(t, v, a->keys, wait_trace_pair, c);
        sc_op_by_device(t, c->sc, c->op_node, &s->wait);
        snprintf(s->device, sizeof(s->device), "%s", s->wait.device);
    } else if (a && a->keys) {
        s->kind = a->kind;
        c->action = a;
        yt_map(t, v, a->keys, action_pair, c);
    } else if (!strcmp(key, "sleep_ms")) {
        if (yt_int(t, v, 0, 600000, &n)) s->sleep_ms = (int)n, s->kind = SC_SLEEP;
    } else if (a && (a->kind == SC_WAIT || a->kind == SC_KILL)) {
        s->kind = a->kind;
        copy_bg_name(t, v, c);
    } else if (!strcmp(key, "background")) {
        copy_bg_name(t, v, c);
    } else if (!strcmp(key, "may_outlive")) {
        if (yt_bool(t, v, &b)) s->may_outlive = b;
    } else if (!strcmp(key, "signal")) {
        parse_signal(t, v, &s->signal);
    } else {
        yt_unhandled(t, k, &sc_keys_step);
    }
}

/* remove_rule names a rule the device has by then: declared, added or "offline". */
static bool rule_known(const scenario *sc, int upto, const char *device, const char *name)
{
    for (int i = 0; i < sc->n_rules; i++)
        if (!strcmp(sc->rules[i].device, device) && !strcmp(sc->rules[i].rule.name, name))
            return true;
    for (int i = 0; i < upto; i++) {
        const sc_step *s = &sc->steps[i];
        if (s->kind == SC_ADD_RULE && !strcmp(s->rule.device, device) &&
            !strcmp(s->rule.rule.name, name))
            return true;
        if (s->kind == SC_OFFLINE && !strcmp(s->device, device) && !strcmp(name, "offline"))
            return true;
    }
    return false;
}

/* The earlier step of `kind` that names background `name` (the background itself: SC_RUN),
 * or -1. */
static int bg_find(const scenario *sc, int upto, sc_kind kind, const char *name)
{
    for (int i = 0; i < upto; i++)
        if (sc->steps[i].kind == kind && !strcmp(sc->steps[i].bg, name)) return i;
    return -1;
}

/* background names are unique; wait and kill name an earlier background that no wait has
 * collected yet (a background is waited for at most once). */
static void check_background(yt *t, scenario *sc, int i, yaml_node_t *v)
{
    sc_step *s = &sc->steps[i];
    if (!s->bg[0] || !v) return;
    int start = bg_find(sc, i, SC_RUN, s->bg);
    if (s->kind == SC_RUN) {
        if (start >= 0)
            yt_error(t, v, "background '%s' is already the name of the step at line %d", s->bg,
                     sc->steps[start].line);
        return;
    }
    const char *what = s->kind == SC_WAIT ? "wait" : "kill";
    int waited = bg_find(sc, i, SC_WAIT, s->bg);
    if (start < 0)
        yt_error(t, v, "%s: no step before this one starts a background named '%s'", what, s->bg);
    else if (waited >= 0 && s->kind == SC_WAIT)
        yt_error(t, v, "wait: background '%s' is already waited for at line %d", s->bg,
                 sc->steps[waited].line);
    else if (waited >= 0)
        yt_error(t, v, "kill: background '%s' was waited for at line %d: it is not running", s->bg,
                 sc->steps[waited].line);
    else
        s->bg_step = start;
}

/* Whether the step mapping n has a key that is an action (one yt_map refused for its
 * shape, so step_pair never saw it). */
static bool names_an_action(yt *t, yaml_node_t *n)
{
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&t->doc, p->key);
        if (!k || k->type != YAML_SCALAR_NODE) continue;
        for (size_t i = 0; i < sc_n_actions; i++)
            if (!strcmp((const char *)k->data.scalar.value, sc_actions[i].key)) return true;
    }
    return false;
}

void sc_each_step(yt *t, scenario *sc, yaml_node_t *n, int i)
{
    sc_step *s = sc_steps_add(sc);
    if (!s) {
        yt_error(t, n, "out of memory for step %d", sc->n_steps + 1);
        return;
    }
    i = sc->n_steps - 1;
    s->timeout_s = 60;
    s->wait_timeout_s = 60;
    s->signal = SIGTERM;
    s->bg_step = -1;
    s->wait.status = -1;
    s->wait.count = 1;
    s->wait.min = s->wait.max = -1;
    s->line = (int)n->start_mark.line + 1;
    step_ctx c = {sc, s, NULL, NULL, {0}, NULL, NULL};
    s->kind = (sc_kind)-1;
    int before = t->errors;
    if (!yt_map(t, n, &sc_keys_step, step_pair, &c)) return;
    if (!c.kind_key) {
        /* `unload: d0` was told it must be a mapping, and then that a step needs unload:
         * a second message for the same mistake, one that contradicts the file. */
        if (t->errors != before && names_an_action(t, n)) return;
        yt_error(t, n,
                 "a step needs run, add_rule, remove_rule, queue_ua, set_state, set_capacity, "
                 "offline, online, load, unload, sleep_ms, wait, kill or wait_trace");
        return;
    }
    for (size_t k = 0; k < sc_keys_step.n && k < sizeof(c.present) / sizeof(c.present[0]); k++) {
        const char *key = sc_keys_step.keys[k].name, *needs = sc_step_needs(key);
        if (!c.present[k] || !needs) continue;
        bool with = false;
        for (size_t j = 0; j < sc_keys_step.n; j++)
            if (!strcmp(sc_keys_step.keys[j].name, needs)) with = c.present[j] != NULL;
        if (!with) yt_error(t, c.present[k], "%s goes with %s", key, needs);
    }
    check_background(t, sc, i, c.bg_value);
    if (s->kind == SC_SET_CAPACITY && !s->size) yt_error(t, n, "set_capacity needs a size");
    if (!c.action || (int)s->kind < 0 || s->kind != c.action->kind) return;
    if (!s->device[0]) {
        yt_error(t, n, "%s needs a device", c.action->key);
    } else if (s->kind == SC_REMOVE_RULE && sc_find_device(sc, s->device) &&
               !rule_known(sc, i, s->device, s->name)) {
        yt_error(t, n, "device '%s' has no rule named '%s' at this step", s->device, s->name);
    }
}

void sc_parse_action(yt *t, scenario *sc, const sc_action *a, yaml_node_t *n, sc_step *s)
{
    step_ctx c = {.sc = sc, .s = s, .action = a};
    s->kind = a->kind;
    if (yt_map(t, n, a->keys, action_pair, &c) && !s->device[0])
        yt_error(t, n, "%s needs a device", a->key);
    if (s->kind == SC_SET_CAPACITY && !s->size) yt_error(t, n, "set_capacity needs a size");
}

typedef struct trace_ctx {
    const scenario *sc;
    sc_trace_expect *e;
    yaml_node_t *op_node;
} trace_ctx;

static void trace_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    trace_ctx *c = arg;
    sc_trace_expect *e = c->e;
    long long n;
    double no_timeout; /* not a key of expect_trace: the key table refuses it first */
    /* count may be 0 here (a wait needs at least one); the other filters are wait's own. */
    if (!strcmp(key, "count")) {
        if (yt_int(t, v, 0, INT32_MAX, &n)) e->count = (long)n;
    } else if (!strcmp(key, "min")) {
        if (yt_int(t, v, 0, INT32_MAX, &n)) e->min = (long)n;
    } else if (!strcmp(key, "after")) { /* an earlier one: sc_each_expect checks which */
        if (yt_int(t, v, 1, INT32_MAX, &n)) e->after = (int)n;
    } else if (!strcmp(key, "max")) {
        if (yt_int(t, v, 0, INT32_MAX, &n)) e->max = (long)n;
    } else if (!sc_wait_filter_pair(t, c->sc, key, v, e, &no_timeout, &c->op_node))
        yt_unhandled(t, k, &sc_keys_trace);
}

void sc_each_expect(yt *t, scenario *sc, yaml_node_t *n, int i)
{
    sc_trace_expect *e = sc_expects_add(sc);
    if (!e) {
        yt_error(t, n, "out of memory for expectation %d", sc->n_expects + 1);
        return;
    }
    i = sc->n_expects - 1;
    e->status = -1;
    e->count = e->min = e->max = -1;
    e->line = (int)n->start_mark.line + 1;
    trace_ctx c = {sc, e, NULL};
    if (!yt_map(t, n, &sc_keys_trace, trace_pair, &c)) return;
    sc_op_by_device(t, sc, c.op_node, e);
    if (e->after >= i + 1)
        yt_error(t, n, "after names expectation %d, which is not an earlier one", e->after);
    if (e->count < 0 && e->min < 0 && e->max < 0)
        yt_error(t, n, "expect_trace needs count, min or max");
}

static const struct {
    const char *name;
    sc_since since;
} since_names[] = {
    {"previous", SC_SINCE_PREVIOUS}, {"step", SC_SINCE_STEP}, {"start", SC_SINCE_START}};

/* wait_trace: the expect_trace filters, a count of at least one, a timeout, where to start. */
static void wait_trace_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    step_ctx *c = arg;
    if (sc_wait_filter_pair(t, c->sc, key, v, &c->s->wait, &c->s->wait_timeout_s, &c->op_node))
        return;
    if (!strcmp(key, "since")) {
        const char *s = yt_str(t, v);
        size_t i = 0, n_names = sizeof(since_names) / sizeof(since_names[0]);
        while (s && i < n_names && strcmp(s, since_names[i].name)) i++;
        if (s && i == n_names)
            yt_error(t, v, "since: '%.40s' is not previous, step or start", s);
        else if (s)
            c->s->wait_since = since_names[i].since;
    } else {
        yt_unhandled(t, k, c->action->keys);
    }
}
