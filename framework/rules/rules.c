/* Matching and answering: the response table in front of a handler. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "rules_internal.h"
#include "th/ops.h"

void th_rule_init(th_rule *rule)
{
    memset(rule, 0, sizeof(*rule));
    rule->match.op = -1;
    rule->match.sa = -1;
    rule->action.status = -1;
    rule->action.pass = true;
}

/* th_fail when there is a context to describe the failure in. */
#define rules_fail(ctx, err, ...) ((ctx) ? th_fail((ctx), (err), __VA_ARGS__) : (err))

int th_rules_new(th_ctx *ctx, th_rules **out, const char *device, th_handler_fn inner,
                 void *inner_arg, uint32_t block_size, th_op_name_fn op_name)
{
    *out = NULL;
    if (!device) device = "";
    if (!inner) return rules_fail(ctx, -EINVAL, "rules for %s: no handler to wrap", device);
    th_rules *r = calloc(1, sizeof(*r));
    if (!r) return rules_fail(ctx, -ENOMEM, "rules for %s: out of memory", device);
    r->ctx = ctx;
    snprintf(r->device, sizeof(r->device), "%s", device);
    r->inner = inner;
    r->inner_arg = inner_arg;
    r->block_size = block_size ? block_size : 512;
    r->op_name = op_name;
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->trace_lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    *out = r;
    return 0;
}

void th_rules_set_kind(th_rules *r, th_cdb_kind kind, th_block_size_fn block_size, void *arg)
{
    r->kind = kind;
    r->tape_block_size = block_size;
    r->tape_block_size_arg = arg;
}

/* What one block of the command's transfer length is, in bytes; 0 when unknown (a
 * fixed-mode count on a tape in variable mode, which the emulation refuses). */
static uint32_t unit_bytes(const th_rules *r)
{
    if (r->kind != TH_CDB_TAPE) return r->block_size;
    return r->tape_block_size ? r->tape_block_size(r->tape_block_size_arg) : 0;
}

void th_rules_free(th_rules *r)
{
    if (!r) return;
    th_rules_release_all(r);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->trace_lock);
    pthread_cond_destroy(&r->cond);
    free(r->rules);
    free(r->names);
    free(r);
}

/* Grows *arr (of elem-sized items) so that one more fits. */
static int grow(void *arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return 0;
    size_t c = *cap ? *cap * 2 : 8;
    void *p = realloc(*(void **)arr, c * elem);
    if (!p) return -ENOMEM;
    *(void **)arr = p;
    *cap = c;
    return 0;
}

int th_rules_add(th_rules *r, const th_rule *rule, int index)
{
    pthread_mutex_lock(&r->lock);
    if (grow(&r->rules, &r->cap, r->n, sizeof(*r->rules)) ||
        grow(&r->names, &r->cap_names, r->n_names, sizeof(*r->names)) || r->n_names >= INT_MAX) {
        pthread_mutex_unlock(&r->lock);
        return rules_fail(r->ctx, -ENOMEM, "rules for %s: no room for rule %s", r->device,
                          rule->name);
    }
    size_t at = index < 0 || (size_t)index > r->n ? r->n : (size_t)index;
    memmove(r->rules + at + 1, r->rules + at, (r->n - at) * sizeof(*r->rules));
    memset(&r->rules[at], 0, sizeof(r->rules[at]));
    r->rules[at].r = *rule;
    r->rules[at].r.name[sizeof(rule->name) - 1] = 0;
    r->rules[at].id = (int)r->n_names;
    memcpy(r->names[r->n_names++], r->rules[at].r.name, sizeof(*r->names));
    r->rules[at].rng = rule->match.seed ? rule->match.seed : 0x9e3779b97f4a7c15ull;
    r->n++;
    pthread_mutex_unlock(&r->lock);
    return (int)at;
}

const char *th_rules_name_locked(const th_rules *r, int id)
{
    return id >= 0 && (size_t)id < r->n_names ? r->names[id] : "";
}

int th_rules_remove(th_rules *r, const char *name)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->rules[i].r.name, name)) continue;
        memmove(r->rules + i, r->rules + i + 1, (r->n - i - 1) * sizeof(*r->rules));
        r->n--;
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&r->lock);
    if (rc) return rules_fail(r->ctx, rc, "rules for %s: no rule named %s", r->device, name);
    return 0;
}

void th_rules_clear(th_rules *r)
{
    pthread_mutex_lock(&r->lock);
    r->n = 0;
    pthread_mutex_unlock(&r->lock);
}

size_t th_rules_count(const th_rules *r)
{
    pthread_mutex_lock((pthread_mutex_t *)&r->lock);
    size_t n = r->n;
    pthread_mutex_unlock((pthread_mutex_t *)&r->lock);
    return n;
}

uint64_t th_rules_fired(const th_rules *r, size_t i)
{
    pthread_mutex_lock((pthread_mutex_t *)&r->lock);
    uint64_t n = i < r->n ? r->rules[i].fired : 0;
    pthread_mutex_unlock((pthread_mutex_t *)&r->lock);
    return n;
}

int th_rules_get(const th_rules *r, size_t i, th_rule *out, uint64_t *fired)
{
    pthread_mutex_lock((pthread_mutex_t *)&r->lock);
    int rc = i < r->n ? 0 : -ENOENT;
    if (!rc) *out = r->rules[i].r, *fired = r->rules[i].fired;
    pthread_mutex_unlock((pthread_mutex_t *)&r->lock);
    return rc;
}

void th_rules_queue_ua(th_rules *r, const th_sense *ua)
{
    pthread_mutex_lock(&r->lock);
    if (r->n_ua < TH_UA_MAX) r->ua[r->n_ua++] = *ua;
    pthread_mutex_unlock(&r->lock);
}

static bool state_seen(const th_rules *r, const char *s)
{
    for (int i = 0; i < r->n_seen_states; i++)
        if (!strcmp(r->seen_states[i], s)) return true;
    return false;
}

static void set_state_locked(th_rules *r, const char *s)
{
    snprintf(r->state, sizeof(r->state), "%s", s);
    if (!state_seen(r, s) && r->n_seen_states < TH_STATES_MAX)
        snprintf(r->seen_states[r->n_seen_states++], sizeof(r->seen_states[0]), "%s", s);
}

int th_rules_set_state(th_rules *r, const char *state)
{
    if (strlen(state) >= sizeof(r->state))
        return rules_fail(r->ctx, -EINVAL, "rules for %s: state name longer than %zu", r->device,
                          sizeof(r->state) - 1);
    pthread_mutex_lock(&r->lock);
    set_state_locked(r, state);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

const char *th_rules_state(const th_rules *r, char *buf, size_t cap)
{
    pthread_mutex_lock((pthread_mutex_t *)&r->lock);
    snprintf(buf, cap, "%s", r->state);
    pthread_mutex_unlock((pthread_mutex_t *)&r->lock);
    return buf;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static bool static_match(const th_rules *r, const th_rule *rule, th_cmd *cmd, const th_cdb_info *in)
{
    const th_rule_match *m = &rule->match;
    const uint8_t *cdb = th_cmd_cdb(cmd);
    if (m->op >= 0 && cdb[0] != m->op) return false;
    if (m->sa >= 0 && th_cmd_service_action(cmd) != m->sa) return false;
    if (m->lba_set) {
        /* Saturated: a range at the top of the LBA space must not wrap to 0. */
        if (!in->has_lba || th_cdb_last_lba(in) < m->lba_lo || in->lba > m->lba_hi) return false;
    }
    if (m->len_set && (in->xfer_len < m->len_lo || in->xfer_len > m->len_hi)) return false;
    for (size_t i = 0; i < m->cdb_n && i < 16; i++) {
        if (i >= th_cmd_cdb_len(cmd)) return false;
        if ((cdb[i] & m->cdb_mask[i]) != (m->cdb[i] & m->cdb_mask[i])) return false;
    }
    if (m->state[0] && strcmp(m->state, r->state)) return false;
    if (rule->until_state[0] && state_seen(r, rule->until_state)) return false;
    if (rule->after_state[0] && !state_seen(r, rule->after_state)) return false;
    return true;
}

/* First rule that fires for cmd, with its counters advanced; -1 if none. */
static int pick_locked(th_rules *r, th_cmd *cmd, const th_cdb_info *in)
{
    for (size_t i = 0; i < r->n; i++) {
        rule_slot *s = &r->rules[i];
        if (s->r.times && s->fired >= s->r.times) continue;
        if (!static_match(r, &s->r, cmd, in)) continue;
        uint64_t k = ++s->seen;
        const th_rule_match *m = &s->r.match;
        if (m->nth && k != m->nth) continue;
        if (m->every && k % m->every) continue;
        if (m->after && k <= m->after) continue;
        if (m->probability > 0 && m->probability < 1 &&
            (double)(xorshift(&s->rng) >> 11) / (double)(1ull << 53) >= m->probability)
            continue;
        s->fired++;
        return (int)i;
    }
    return -1;
}

/* INFORMATION for `info: residue`: the requested transfer minus what went back, in the
 * CDB's own unit. SSC (READ(6) with FM/EOM/ILI) counts blocks not transferred when FIXED
 * is set, an incompletely read block included, and bytes when it is not; a disk's block
 * commands count blocks the same way. A SPACE counts objects not spaced, and a rule
 * answers it without knowing of any spaced: the whole count. */
static uint64_t residue(const th_rules *r, th_cmd *cmd, const th_cdb_info *in)
{
    size_t got = th_cmd_get_data_in_len(cmd);
    if (in->unit == TH_XFER_COUNT) return in->xfer_len;
    if (in->unit == TH_XFER_BYTES) return in->xfer_len > got ? in->xfer_len - got : 0;
    if (in->unit == TH_XFER_BLOCKS) {
        uint32_t bs = unit_bytes(r);
        uint64_t done = bs ? got / bs : 0;
        return in->xfer_len > done ? in->xfer_len - done : 0;
    }
    size_t want = th_cmd_data_in_cap(cmd) ? th_cmd_data_in_cap(cmd) : th_cmd_data_out_len(cmd);
    return want > got ? want - got : 0;
}

static uint64_t derive_info(const th_rules *r, const th_rule *rule, th_cmd *cmd,
                            const th_cdb_info *in)
{
    switch (rule->action.info_from) {
    case TH_INFO_LBA: {
        uint64_t lba = in->lba;
        if (rule->match.lba_set && rule->match.lba_lo > lba) lba = rule->match.lba_lo;
        return lba;
    }
    case TH_INFO_RESIDUE:
        return residue(r, cmd, in);
    default:
        return rule->action.sense.info;
    }
}

static void apply_short(const th_rules *r, const th_rule_action *a, th_cmd *cmd,
                        const th_cdb_info *in)
{
    size_t have = th_cmd_get_data_in_len(cmd), n = have;
    /* The CDB's unit, not the tape's mode: a FIXED=0 READ(6) counts bytes whatever the
     * MODE block size (SSC), and a block of a tape in variable mode is not a size. */
    size_t bs = in->unit == TH_XFER_BYTES ? 1 : unit_bytes(r) ? unit_bytes(r) : 1;
    switch (a->short_kind) {
    case TH_SHORT_BYTES:
        n = (size_t)a->short_value;
        break;
    case TH_SHORT_BLOCKS:
        n = (size_t)a->short_value * bs;
        break;
    case TH_SHORT_FRACTION:
        n = (size_t)((double)th_cmd_data_in_cap(cmd) * a->short_value);
        n -= n % bs;
        break;
    default:
        return;
    }
    th_cmd_set_data_in_len(cmd, n < have ? n : have);
}

static void apply_corrupt(const th_rule_action *a, th_cmd *cmd, uint64_t salt)
{
    size_t len = th_cmd_get_data_in_len(cmd);
    if (!len) return;
    uint64_t s = (a->corrupt_seed ? a->corrupt_seed : 0x1234567u) ^ (salt * 0x9e3779b97f4a7c15ull);
    for (uint32_t i = 0; i < a->corrupt_bytes; i++) {
        size_t pos = (size_t)(xorshift(&s) % len);
        uint8_t b;
        const struct iovec *iov;
        size_t cnt = th_cmd_data_in_iov(cmd, &iov), off = pos;
        for (size_t k = 0; k < cnt; k++) {
            if (off < iov[k].iov_len) {
                b = ((uint8_t *)iov[k].iov_base)[off];
                ((uint8_t *)iov[k].iov_base)[off] = (uint8_t)~b;
                break;
            }
            off -= iov[k].iov_len;
        }
    }
}

/* Answers cmd now when it cannot be delayed or hung (th_rules_defer failed). */
static int defer_or_answer(th_rules *r, th_cmd *cmd, uint64_t due_ns)
{
    int rc = th_rules_defer(r, cmd, due_ns);
    if (!rc) return TH_CMD_DEFERRED;
    /* Aborted, or released while it arrived: what a release answers a hung one. A
     * delayed one keeps its response; only the delay is lost. */
    if (rc == -ECANCELED && !due_ns) th_cmd_status(cmd, TH_STATUS_TASK_ABORTED);
    return 0;
}

int th_rules_handle(th_cmd *cmd, void *arg)
{
    th_rules *r = arg;
    th_cmd_set_observer(cmd, th_rules_trace_cmd, r);
    /* The TMR for it came while it waited for a worker: nothing else will answer it. */
    if (th_cmd_is_aborted(cmd)) {
        th_cmd_status(cmd, TH_STATUS_TASK_ABORTED);
        return 0;
    }
    pthread_mutex_lock(&r->lock);
    if (r->n_ua && !th_ops_ua_exempt(th_cmd_opcode(cmd))) {
        th_sense ua = r->ua[0];
        memmove(r->ua, r->ua + 1, (size_t)(--r->n_ua) * sizeof(ua));
        pthread_mutex_unlock(&r->lock);
        th_cmd_check_condition(cmd, &ua);
        th_cmd_set_rule(cmd, -2); /* the queued unit attention */
        return 0;
    }
    th_cdb_info in;
    th_cdb_decode(r->kind, th_cmd_cdb(cmd), th_cmd_cdb_len(cmd), &in);
    int i = pick_locked(r, cmd, &in);
    if (i < 0) {
        pthread_mutex_unlock(&r->lock);
        return r->inner(cmd, r->inner_arg);
    }
    th_rule rule = r->rules[i].r;
    uint64_t fired = r->rules[i].fired;
    th_cmd_set_rule(cmd, r->rules[i].id);
    if (rule.action.set_state[0]) set_state_locked(r, rule.action.set_state);
    if (rule.action.queue_ua && r->n_ua < TH_UA_MAX) r->ua[r->n_ua++] = rule.action.ua_sense;
    pthread_mutex_unlock(&r->lock);
    const th_rule_action *a = &rule.action;
    if (a->hang) return defer_or_answer(r, cmd, 0);
    if (a->status >= 0) {
        th_cmd_status(cmd, (uint8_t)a->status);
    } else {
        /* Without a response of its own the rule lets the handler answer, too. */
        bool run_inner =
            a->pass || a->short_kind != TH_SHORT_NONE || a->corrupt_bytes || !a->sense_set;
        /* A deferring handler owns the command from here: nothing may touch it, and
         * a delay is not applied (the handler decides when it is answered). */
        if (run_inner && r->inner(cmd, r->inner_arg) == TH_CMD_DEFERRED) return TH_CMD_DEFERRED;
        if (a->short_kind != TH_SHORT_NONE) apply_short(r, a, cmd, &in);
        if (a->corrupt_bytes) apply_corrupt(a, cmd, fired);
        if (a->sense_set) {
            th_sense s = a->sense;
            s.info_valid = a->info_from != TH_INFO_NONE;
            if (s.info_valid) s.info = derive_info(r, &rule, cmd, &in);
            th_cmd_check_condition(cmd, &s);
        }
    }
    if (a->delay_ms) return defer_or_answer(r, cmd, th_now_ns() + (uint64_t)a->delay_ms * 1000000u);
    return 0;
}
