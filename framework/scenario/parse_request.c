/* Control requests: a JSON line is a YAML flow mapping, so the scenario parser reads it.
 * "request" and "id" are the envelope (protocol 2; protocol 1's envelope key was "op",
 * which is now wait's opcode filter, as in the wait_trace step); the rest is the mapping of the
 * step of the same name (add_rule, remove_rule, ...), the device mapping (add_device) or the
 * request's own keys, checked against the live devices. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "parse_internal.h"
#include "request.h"
#include "spec.h"
#include "th/tmr.h"

typedef struct req_ctx {
    sc_request *rq;
    sc_request_model_fn model_fn;
    void *model_arg;
    scenario *model;
    scenario none; /* the model when there was no memory for the snapshot (oom) */
    bool device_set, spec_set, since_set, oom;
    yaml_node_t *op_node; /* wait's opcode, resolved by the device's type in finish */
} req_ctx;

static scenario *model_of(req_ctx *c)
{
    if (!c->model && !(c->model = c->model_fn(c->model_arg))) c->oom = true, c->model = &c->none;
    return c->model;
}

/* A device the request names: one that is serving now. */
static void live_device(yt *t, req_ctx *c, yaml_node_t *v, char *dst, size_t cap)
{
    if (yt_copy(t, v, dst, cap) && !sc_find_device(model_of(c), dst))
        yt_error(t, v, "no device named '%s'", dst);
}

static void add_device_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    req_ctx *c = arg;
    if (!strcmp(key, "device")) {
        scenario *m = model_of(c);
        c->device_set = true;
        int errors = t->errors, i = m->n_devices;
        sc_each_device(t, m, v, i);
        if (m->n_devices == i) return; /* out of memory: sc_each_device said so */
        /* Its lists are the request's now, whether it goes on or not; a spec given too
         * (refused below) had filled the request's device: release that first. */
        sc_device_clear(&c->rq->device);
        c->rq->device = m->devices[i];
        m->devices[i].media = NULL;
        m->devices[i].n_media = m->devices[i].cap_media = 0;
        m->devices[i].initiators = NULL;
        m->devices[i].n_initiators = m->devices[i].cap_initiators = 0;
        if (t->errors != errors) m->n_devices = i;
    } else if (!strcmp(key, "spec")) {
        c->spec_set = true;
        const char *spec = yt_str(t, v);
        scenario *m = model_of(c);
        char why[320];
        if (!spec) return;
        sc_device_clear(&c->rq->device); /* a "device" given before it (refused below) */
        if (sc_spec_parse(spec, &c->rq->device, why, sizeof(why)))
            yt_error(t, v, "spec: %s", why);
        else if (sc_find_device(m, c->rq->device.name))
            yt_error(t, v, "spec: device name '%s' is used twice", c->rq->device.name);
    } else {
        yt_error(t, k, "unknown key '%s' in add_device", key);
    }
}

static void name_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    req_ctx *c = arg;
    (void)key, (void)k;
    c->device_set = true;
    live_device(t, c, v, c->rq->name, sizeof(c->rq->name));
}

static void trace_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    sc_request *rq = ((req_ctx *)arg)->rq;
    long long n;
    (void)k;
    if (!strcmp(key, "after"))
        rq->after_set = yt_u64(t, v, &rq->after);
    else if (yt_int(t, v, 1, SC_REQ_TRACE_MAX, &n))
        rq->max = (long)n;
}

static const yt_keys wait_t;

/* The filter keys are the wait_trace step's (parse_wait.c); after is the cursor to
 * start from, as in trace. */
static void wait_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    req_ctx *c = arg;
    sc_request *rq = c->rq;
    /* the live devices only for the key that needs them (model_of takes a snapshot) */
    const scenario *m = !strcmp(key, "device") ? model_of(c) : NULL;
    if (sc_wait_filter_pair(t, m, key, v, &rq->wait, &rq->timeout_s, &c->op_node)) return;
    if (!strcmp(key, "after"))
        rq->after_set = yt_u64(t, v, &rq->after);
    else
        yt_unhandled(t, k, &wait_t);
}

static void kmsg_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    req_ctx *c = arg;
    sc_request *rq = c->rq;
    (void)k;
    if (!strcmp(key, "since")) {
        c->since_set = yt_u64(t, v, &rq->since);
        return;
    }
    sc_parse_kmsg_list(t, v,
                       !strcmp(key, "allow")    ? &rq->allow
                       : !strcmp(key, "expect") ? &rq->expect
                                                : &rq->forbid);
}

static const yt_key add_device_keys[] = {{"device", YT_MAP, "{name: d1, size: 8MiB}"},
                                         {"spec", YT_TEXT, "\"name=d1,size=8MiB\""}};
static const yt_key name_keys[] = {{"device", YT_TEXT, "\"d0\""}};
static const yt_key trace_keys[] = {{"after", YT_TYPED, "0"}, {"max", YT_TYPED, "1000"}};
static const yt_key wait_keys[] = {SC_WAIT_FILTER_KEYS, {"after", YT_TYPED, "0"}};
static const yt_key kmsg_check_keys[] = {{"since", YT_TYPED, "1234"},
                                         {"allow", YT_LIST, "[\"WARNING: .* at drivers/scsi/\"]"},
                                         {"expect", YT_LIST, "[\"Attached SCSI disk\"]"},
                                         {"forbid", YT_LIST, "[\"I/O error\"]"}};
static const yt_keys version_t = {"version", NULL, 0}, cursor_t = {"cursor", NULL, 0},
                     devices_t = {"devices", NULL, 0}, stats_t = {"stats", NULL, 0},
                     shutdown_t = {"shutdown", NULL, 0}, kmsg_mark_t = {"kmsg_mark", NULL, 0},
                     kmsg_check_t = YT_KEYS("kmsg_check", kmsg_check_keys),
                     add_device_t = YT_KEYS("add_device", add_device_keys),
                     remove_device_t = YT_KEYS("remove_device", name_keys),
                     list_rules_t = YT_KEYS("list_rules", name_keys),
                     trace_t = YT_KEYS("trace", trace_keys), wait_t = YT_KEYS("wait", wait_keys);

static void no_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    (void)t, (void)key, (void)k, (void)v, (void)arg; /* tables without keys: never called */
}

/* The requests that are not fault actions; those come from sc_actions (the steps). */
static const struct req_op {
    const char *name;
    sc_req_kind kind;
    const yt_keys *keys;
    yt_pair_fn pair;
} req_ops[] = {
    {"version", SC_REQ_VERSION, &version_t, no_pair},
    {"cursor", SC_REQ_CURSOR, &cursor_t, no_pair},
    {"devices", SC_REQ_DEVICES, &devices_t, no_pair},
    {"add_device", SC_REQ_ADD_DEVICE, &add_device_t, add_device_pair},
    {"remove_device", SC_REQ_REMOVE_DEVICE, &remove_device_t, name_pair},
    {"list_rules", SC_REQ_LIST_RULES, &list_rules_t, name_pair},
    {"trace", SC_REQ_TRACE, &trace_t, trace_pair},
    {"wait", SC_REQ_WAIT, &wait_t, wait_pair},
    {"stats", SC_REQ_STATS, &stats_t, no_pair},
    {"shutdown", SC_REQ_SHUTDOWN, &shutdown_t, no_pair},
    {"kmsg_mark", SC_REQ_KMSG_MARK, &kmsg_mark_t, no_pair},
    {"kmsg_check", SC_REQ_KMSG_CHECK, &kmsg_check_t, kmsg_pair},
};
#define N_REQ_OPS (sizeof(req_ops) / sizeof(req_ops[0]))

const char *sc_request_ops(void)
{
    return "version, cursor, devices, add_device, remove_device, add_rule, remove_rule, "
           "list_rules, "
           "set_state, queue_ua, offline, online, set_capacity, load, unload, trace, wait, "
           "stats, kmsg_mark, kmsg_check, shutdown";
}

static const sc_action *action_of(const char *op)
{
    for (size_t i = 0; i < sc_n_actions; i++)
        if (!strcmp(sc_actions[i].key, op) && sc_actions[i].on != SC_ON_NONE) return &sc_actions[i];
    return NULL;
}

/* The byte offset of a mark's character index (marks count characters, not bytes). */
static size_t byte_of(const char *line, size_t len, size_t ci)
{
    size_t b = 0;
    for (; ci && b < len; ci--) {
        unsigned char c = (unsigned char)line[b];
        b += c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    }
    return b < len ? b : len;
}

/* Takes the envelope's pairs (request, id) out of the root mapping, so what is left is
 * exactly the mapping of the step, device or request. old_op: an "op" key, left in place
 * (wait's filter), remembered for protocol 1's envelope message. */
typedef struct envelope {
    yaml_node_t *op, *id, *old_op;
} envelope;

static void take_envelope(yt *t, yaml_node_t *root, envelope *e)
{
    yaml_node_pair_t *keep = root->data.mapping.pairs.start;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&t->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&t->doc, p->value);
        const char *name =
            k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
        yaml_node_t **slot = !strcmp(name, "request") ? &e->op
                             : !strcmp(name, "id")    ? &e->id
                                                      : NULL;
        if (!strcmp(name, "op") && !e->old_op) e->old_op = v;
        if (!slot) {
            *keep++ = *p;
            continue;
        }
        if (*slot) {
            yt_error(t, k, "key '%s' repeated in a request (first at column %zu)", name,
                     (*slot)->start_mark.column + 1);
            continue;
        }
        *slot = v;
    }
    root->data.mapping.pairs.top = keep;
}

/* The id's JSON text as sent (the line is JSON, so the slice is too). */
static void copy_id(yt *t, sc_request *rq, const yaml_node_t *id, const char *line, size_t len)
{
    size_t a = byte_of(line, len, id->start_mark.index), b = byte_of(line, len, id->end_mark.index);
    if (b <= a || b - a > SC_REQ_ID_MAX) {
        yt_error(t, id, "id is longer than %d characters", SC_REQ_ID_MAX);
        return;
    }
    memcpy(rq->id, line + a, b - a);
    rq->id[b - a] = 0;
}

static void parse_op(yt *t, req_ctx *c, yaml_node_t *root, const envelope *e)
{
    sc_request *rq = c->rq;
    const char *op = yt_str(t, e->op);
    if (!op) return;
    if (strlen(op) < sizeof(rq->op)) strcpy(rq->op, op);
    for (size_t i = 0; i < N_REQ_OPS; i++) {
        if (strcmp(op, req_ops[i].name)) continue;
        rq->kind = req_ops[i].kind;
        yt_map(t, root, req_ops[i].keys, req_ops[i].pair, c);
        return;
    }
    const sc_action *a = action_of(op);
    if (!a) {
        yt_error(t, e->op, "unknown request '%.40s' (known: %s)", op, sc_request_ops());
        return;
    }
    rq->kind = SC_REQ_ACTION;
    sc_step *s = &rq->step;
    s->line = 1;
    s->kind = a->kind;
    if (a->kind == SC_ADD_RULE) {
        sc_parse_rule_at(t, model_of(c), root, &s->rule, &s->position);
    } else {
        sc_parse_action(t, model_of(c), a, root, s);
    }
}

/* Checks that need the whole request. */
static void finish(yt *t, req_ctx *c, yaml_node_t *root)
{
    sc_request *rq = c->rq;
    if (rq->kind == SC_REQ_ADD_DEVICE && c->device_set == c->spec_set)
        yt_error(t, root,
                 c->device_set ? "add_device takes device or spec, not both"
                               : "add_device needs device (a device mapping) or spec (a SPEC "
                                 "string)");
    if (rq->kind == SC_REQ_KMSG_CHECK && !c->since_set)
        yt_error(t, root, "kmsg_check needs since (a mark kmsg_mark gave)");
    if (rq->kind == SC_REQ_WAIT) {
        if (c->op_node && rq->wait.device[0]) /* 0x01 is REWIND on a tape, REZERO_UNIT on a disk */
            sc_op_by_device(t, model_of(c), c->op_node, &rq->wait);
        sc_trace_expect_filter(&rq->wait, &rq->filter);
        rq->count = rq->wait.count;
        rq->timeout_ms = (int)(rq->timeout_s * 1000 + 0.5);
    }
    if ((rq->kind == SC_REQ_REMOVE_DEVICE || rq->kind == SC_REQ_LIST_RULES) && !c->device_set)
        yt_error(t, root, "%s needs a device", rq->op);
}

/* Error lines without the final newline, cut at a line boundary if they do not fit. */
static void take_errors(yt *t, char *err, size_t cap)
{
    const char *m = t->msgs ? t->msgs : "request:1:1: invalid request";
    size_t n = strlen(m);
    while (n && m[n - 1] == '\n') n--;
    if (n >= cap) {
        const char *cut = m + cap - 1;
        while (cut > m && *cut != '\n') cut--;
        n = cut > m ? (size_t)(cut - m) : cap - 1;
    }
    memcpy(err, m, n);
    err[n] = 0;
}

int sc_request_parse(const char *line, size_t len, sc_request_model_fn model, void *arg,
                     sc_request *rq, char *err, size_t cap)
{
    memset(rq, 0, sizeof(*rq));
    rq->step.position = -1;
    rq->max = 1000;
    rq->wait.count = 1;
    rq->wait.status = -1; /* the rest matches anything at 0 */
    rq->wait.min = rq->wait.max = -1;
    rq->timeout_s = 10;
    if (cap) err[0] = 0;
    yt t;
    int rc = yt_load_buffer(&t, "request", line, len, true);
    if (!rc) {
        yaml_node_t *root = yt_root(&t);
        if (root->type != YAML_MAPPING_NODE) {
            yt_error(&t, root, "a request is one JSON object ({\"request\": \"NAME\", ...})");
        } else {
            envelope e = {0};
            take_envelope(&t, root, &e);
            if (e.id) copy_id(&t, rq, e.id, line, len);
            req_ctx c = {.rq = rq, .model_fn = model, .model_arg = arg};
            if (!e.op && e.old_op && e.old_op->type == YAML_SCALAR_NODE)
                yt_error(&t, e.old_op,
                         "the request's name goes in \"request\" now (protocol %d): "
                         "{\"request\": \"%.40s\", ...}; \"op\" is only wait's opcode filter",
                         SC_REQ_PROTOCOL, (const char *)e.old_op->data.scalar.value);
            else if (!e.op)
                yt_error(&t, root, "a request needs \"request\": NAME (one of: %s)",
                         sc_request_ops());
            else if (!t.errors)
                parse_op(&t, &c, root, &e);
            if (!t.errors) finish(&t, &c, root);
            if (c.oom) yt_error(&t, root, "out of memory for a snapshot of the live devices");
            sc_model_free(&c.none);
        }
        yt_free(&t);
        rc = t.errors ? -EINVAL : 0;
    }
    if (rc) take_errors(&t, err, cap);
    free(t.msgs);
    return rc ? -EINVAL : 0; /* too large, not UTF-8, ...: all "not a valid request" */
}

void sc_request_free(sc_request *rq)
{
    sc_rule_clear(&rq->step.rule);
    sc_kmsg_list_free(&rq->allow);
    sc_kmsg_list_free(&rq->expect);
    sc_kmsg_list_free(&rq->forbid);
    sc_device_clear(&rq->device);
}
