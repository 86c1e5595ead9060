/* Scenario steps (commands to run, device actions) and trace expectations. */
#include <stdlib.h>
#include <string.h>
#include "parse_internal.h"

static const yt_key remove_rule_keys[] = {{"device", YT_TEXT, "d0"}, {"name", YT_TEXT, "r0"}};
static const yt_key queue_ua_keys[] = {{"device", YT_TEXT, "d0"},
                                       {"sense", YT_MAP, "{key: UNIT_ATTENTION, asc: 0x29}"}};
static const yt_key set_state_keys[] = {{"device", YT_TEXT, "d0"}, {"state", YT_TEXT, "healed"}};
static const yt_key set_capacity_keys[] = {{"device", YT_TEXT, "d0"}, {"size", YT_TYPED, "512K"}};
static const yt_key any_device_keys[] = {{"device", YT_TEXT, "d0"}};
static const yt_key tape_keys[] = {{"device", YT_TEXT, "t0"}};
static const yt_keys remove_rule_t = YT_KEYS("remove_rule", remove_rule_keys),
                     queue_ua_t = YT_KEYS("queue_ua", queue_ua_keys),
                     set_state_t = YT_KEYS("set_state", set_state_keys),
                     set_capacity_t = YT_KEYS("set_capacity", set_capacity_keys),
                     offline_t = YT_KEYS("offline", any_device_keys),
                     online_t = YT_KEYS("online", any_device_keys),
                     load_t = YT_KEYS("load", tape_keys), unload_t = YT_KEYS("unload", tape_keys);

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
    X("sleep_ms", SC_SLEEP, SC_ON_NONE, YT_TYPED, "1", NULL)

#define AS_KEY(key, kind, on, shape, example, keys)    {key, shape, example},
#define AS_ACTION(key, kind, on, shape, example, keys) {key, kind, on, keys},
static const yt_key step_keys[] = {SC_STEP_KINDS(AS_KEY){"expect", YT_MAP, "{exit: 0}"}};
const yt_keys sc_keys_step = YT_KEYS("a step", step_keys);
const sc_action sc_actions[] = {SC_STEP_KINDS(AS_ACTION)};
const size_t sc_n_actions = sizeof(sc_actions) / sizeof(sc_actions[0]);

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
        if (str) *(key[3] == 'o' ? &s->expect_stdout : &s->expect_stderr) = strdup(str);
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
} step_ctx;

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
    } else if (!strcmp(key, "state") || !strcmp(key, "name")) {
        yt_copy(t, v, c->s->name, sizeof(c->s->name));
    } else if (!strcmp(key, "sense")) {
        sc_parse_sense(t, v, &c->s->ua, NULL);
    } else {
        yt_unhandled(t, k, c->action->keys);
    }
}

static void step_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    step_ctx *c = arg;
    sc_step *s = c->s;
    long long n;
    const sc_action *a = NULL;
    for (size_t i = 0; i < sc_n_actions; i++)
        if (!strcmp(key, sc_actions[i].key)) a = &sc_actions[i];
    if (!strcmp(key, "run")) {
        const char *str = yt_str(t, v);
        if (str) s->run = strdup(str), s->kind = SC_RUN;
    } else if (!strcmp(key, "expect")) {
        yt_map(t, v, &sc_keys_expect, expect_pair, s);
    } else if (!strcmp(key, "add_rule")) {
        sc_parse_rule_at(t, c->sc, v, &s->rule, &s->position);
        s->kind = SC_ADD_RULE;
    } else if (a && a->keys) {
        s->kind = a->kind;
        c->action = a;
        yt_map(t, v, a->keys, action_pair, c);
    } else if (!strcmp(key, "sleep_ms")) {
        if (yt_int(t, v, 0, 600000, &n)) s->sleep_ms = (int)n, s->kind = SC_SLEEP;
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

void sc_each_step(yt *t, scenario *sc, yaml_node_t *n, int i)
{
    sc_step *s = &sc->steps[i];
    memset(s, 0, sizeof(*s));
    s->timeout_s = 60;
    s->line = (int)n->start_mark.line + 1;
    sc->n_steps = i + 1;
    step_ctx c = {sc, s, NULL};
    s->kind = (sc_kind)-1;
    if (!yt_map(t, n, &sc_keys_step, step_pair, &c)) return;
    if ((int)s->kind < 0)
        yt_error(t, n,
                 "a step needs run, add_rule, remove_rule, queue_ua, set_state, set_capacity, "
                 "offline, online, load, unload or sleep_ms");
    if (s->kind != SC_RUN && (s->expect_exit_set || s->expect_stdout || s->expect_stderr))
        yt_error(t, n, "expect goes with run");
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
    step_ctx c = {sc, s, a};
    s->kind = a->kind;
    if (yt_map(t, n, a->keys, action_pair, &c) && !s->device[0])
        yt_error(t, n, "%s needs a device", a->key);
    if (s->kind == SC_SET_CAPACITY && !s->size) yt_error(t, n, "set_capacity needs a size");
}

typedef struct trace_ctx {
    const scenario *sc;
    sc_trace_expect *e;
} trace_ctx;

/* op: a name or a number, kept as the name the trace writes ("READ_10" or "0xC1"). */
static void trace_op(yt *t, yaml_node_t *v, sc_trace_expect *e)
{
    int op, sa;
    if (!yt_copy(t, v, e->op, sizeof(e->op))) return;
    if (sc_op_from_name(e->op, &op, &sa)) {
        yt_error(t, v, "'%s' is not an opcode name", e->op);
        return;
    }
    const char *name = sc_op_name((uint8_t)op, sa < 0 ? 0 : (uint16_t)sa);
    if (name)
        snprintf(e->op, sizeof(e->op), "%s", name);
    else
        snprintf(e->op, sizeof(e->op), "0x%02X", op);
}

static void trace_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    trace_ctx *c = arg;
    sc_trace_expect *e = c->e;
    long long n;
    int st;
    if (!strcmp(key, "device")) {
        if (yt_copy(t, v, e->device, sizeof(e->device)) && !sc_find_device(c->sc, e->device))
            yt_error(t, v, "no device named '%s'", e->device);
    } else if (!strcmp(key, "op"))
        trace_op(t, v, e);
    else if (!strcmp(key, "tmr"))
        yt_copy(t, v, e->tmr, sizeof(e->tmr));
    else if (!strcmp(key, "lba"))
        e->lba_set = yt_u64(t, v, &e->lba);
    else if (!strcmp(key, "status")) {
        if (sc_parse_status(t, v, &st)) e->status = st;
    } else if (!strcmp(key, "rule"))
        yt_copy(t, v, e->rule, sizeof(e->rule));
    else if (!strcmp(key, "count")) {
        if (yt_int(t, v, 0, INT32_MAX, &n)) e->count = (long)n;
    } else if (!strcmp(key, "min")) {
        if (yt_int(t, v, 0, INT32_MAX, &n)) e->min = (long)n;
    } else if (!strcmp(key, "after")) {
        if (yt_int(t, v, 1, SC_MAX, &n)) e->after = (int)n;
    } else if (!strcmp(key, "max")) {
        if (yt_int(t, v, 0, INT32_MAX, &n)) e->max = (long)n;
    } else
        yt_unhandled(t, k, &sc_keys_trace);
}

void sc_each_expect(yt *t, scenario *sc, yaml_node_t *n, int i)
{
    sc_trace_expect *e = &sc->expects[i];
    memset(e, 0, sizeof(*e));
    e->status = -1;
    e->count = e->min = e->max = -1;
    e->line = (int)n->start_mark.line + 1;
    sc->n_expects = i + 1;
    trace_ctx c = {sc, e};
    if (!yt_map(t, n, &sc_keys_trace, trace_pair, &c)) return;
    if (e->after >= i + 1)
        yt_error(t, n, "after names expectation %d, which is not an earlier one", e->after);
    if (e->count < 0 && e->min < 0 && e->max < 0)
        yt_error(t, n, "expect_trace needs count, min or max");
}
