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
    th_rix_free(&r->ix);
    free(r->names);
    free(r->seen_states);
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

static int by_first(const void *a, const void *b)
{
    const th_lba_range *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* The slot's own copy of the rule's ranges, sorted, overlapping and adjacent ones
 * merged: the command overlaps the list exactly when it did before, and the ranges'
 * ends increase too, which overlap() searches by. */
static int copy_ranges(rule_slot *s, const th_rule_match *m)
{
    s->r.match.n_ranges = 0;
    if (!m->ranges_set || !m->n_ranges) return 0;
    if (m->n_ranges > SIZE_MAX / sizeof(*s->ranges)) return -ENOMEM;
    s->ranges = malloc(m->n_ranges * sizeof(*s->ranges));
    if (!s->ranges) return -ENOMEM;
    memcpy(s->ranges, m->ranges, m->n_ranges * sizeof(*s->ranges));
    qsort(s->ranges, m->n_ranges, sizeof(*s->ranges), by_first);
    size_t w = 0;
    for (size_t i = 0; i < m->n_ranges; i++) {
        th_lba_range *cur = w ? &s->ranges[w - 1] : NULL;
        if (cur && (cur->last == UINT64_MAX || s->ranges[i].first <= cur->last + 1)) {
            if (s->ranges[i].last > cur->last) cur->last = s->ranges[i].last;
        } else {
            s->ranges[w++] = s->ranges[i];
        }
    }
    s->r.match.ranges = s->ranges;
    s->r.match.n_ranges = w;
    return 0;
}

static const char *bad_rule(const th_rule *rule)
{
    const th_rule_match *m = &rule->match;
    if (!m->ranges_set) return NULL;
    if (m->lba_set) return "has both an LBA range (lba_set) and a range list";
    if (m->n_ranges && !m->ranges) return "has n_ranges but no ranges";
    for (size_t i = 0; i < m->n_ranges; i++)
        if (m->ranges[i].first > m->ranges[i].last)
            return "has a range whose first is past its last";
    return NULL;
}

int th_rules_add(th_rules *r, const th_rule *rule, int index)
{
    const char *why = bad_rule(rule);
    if (why)
        return rules_fail(r->ctx, -EINVAL, "rules for %s: rule %.63s %s", r->device, rule->name,
                          why);
    rule_slot *s = calloc(1, sizeof(*s));
    if (!s) goto nomem;
    s->r = *rule;
    s->r.name[sizeof(rule->name) - 1] = 0;
    s->r.match.ranges = NULL;
    if (copy_ranges(s, &rule->match)) goto nomem;
    s->rng = rule->match.seed ? rule->match.seed : 0x9e3779b97f4a7c15ull;
    pthread_mutex_lock(&r->lock);
    if (grow(&r->names, &r->cap_names, r->n_names, sizeof(*r->names)) || r->n_names >= INT_MAX)
        goto nomem_locked;
    size_t at = index < 0 || (size_t)index > r->ix.order.n ? r->ix.order.n : (size_t)index;
    s->id = (int)r->n_names;
    if (th_rix_insert(&r->ix, s, at)) goto nomem_locked;
    memcpy(r->names[r->n_names++], s->r.name, sizeof(*r->names));
    pthread_mutex_unlock(&r->lock);
    return (int)at;
nomem_locked:
    pthread_mutex_unlock(&r->lock);
nomem:
    if (s) free(s->ranges);
    free(s);
    return rules_fail(r->ctx, -ENOMEM, "rules for %s: no room for rule %s", r->device, rule->name);
}

const char *th_rules_name_locked(const th_rules *r, int id)
{
    return id >= 0 && (size_t)id < r->n_names ? r->names[id] : "";
}

int th_rules_remove(th_rules *r, const char *name)
{
    pthread_mutex_lock(&r->lock);
    size_t at;
    rule_slot *s = th_rix_find_name(&r->ix, name, &at);
    if (s) th_rix_remove(&r->ix, at);
    pthread_mutex_unlock(&r->lock);
    if (!s) return rules_fail(r->ctx, -ENOENT, "rules for %s: no rule named %s", r->device, name);
    return 0;
}

void th_rules_clear(th_rules *r)
{
    pthread_mutex_lock(&r->lock);
    th_rix_clear(&r->ix);
    pthread_mutex_unlock(&r->lock);
}

size_t th_rules_count(const th_rules *r)
{
    pthread_mutex_lock((pthread_mutex_t *)&r->lock);
    size_t n = r->ix.order.n;
    pthread_mutex_unlock((pthread_mutex_t *)&r->lock);
    return n;
}

uint64_t th_rules_fired(const th_rules *r, size_t i)
{
    pthread_mutex_lock((pthread_mutex_t *)&r->lock);
    uint64_t n = i < r->ix.order.n ? r->ix.order.v[i]->fired : 0;
    pthread_mutex_unlock((pthread_mutex_t *)&r->lock);
    return n;
}

int th_rules_get(const th_rules *r, size_t i, th_rule *out, uint64_t *fired)
{
    pthread_mutex_lock((pthread_mutex_t *)&r->lock);
    int rc = i < r->ix.order.n ? 0 : -ENOENT;
    if (!rc) {
        *out = r->ix.order.v[i]->r;
        out->match.ranges = NULL; /* the table's copy: not the caller's to keep */
        *fired = r->ix.order.v[i]->fired;
    }
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

/* -ENOMEM leaves the state as it was: entered without being seen, a later after_state
 * rule would wait for it for ever. */
static int set_state_locked(th_rules *r, const char *s)
{
    if (!state_seen(r, s)) {
        if (r->n_seen_states == r->cap_seen_states) {
            int cap = r->cap_seen_states ? 2 * r->cap_seen_states : 8;
            void *p = realloc(r->seen_states, (size_t)cap * sizeof(*r->seen_states));
            if (!p) return -ENOMEM;
            r->seen_states = p;
            r->cap_seen_states = cap;
        }
        snprintf(r->seen_states[r->n_seen_states++], sizeof(r->seen_states[0]), "%s", s);
    }
    snprintf(r->state, sizeof(r->state), "%s", s);
    return 0;
}

int th_rules_set_state(th_rules *r, const char *state)
{
    if (strlen(state) >= sizeof(r->state))
        return rules_fail(r->ctx, -EINVAL, "rules for %s: state name longer than %zu", r->device,
                          sizeof(r->state) - 1);
    pthread_mutex_lock(&r->lock);
    int rc = set_state_locked(r, state);
    pthread_mutex_unlock(&r->lock);
    if (rc)
        return rules_fail(r->ctx, rc, "rules for %s: out of memory for state '%s'", r->device,
                          state);
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

/* The first of the slot's ranges that ends at or after first (NULL: none); the ranges
 * are sorted and disjoint, so their ends increase too. */
static const th_lba_range *range_from(const th_rule_match *m, uint64_t first)
{
    size_t lo = 0, hi = m->n_ranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->ranges[mid].last < first)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n_ranges ? &m->ranges[lo] : NULL;
}

/* check_lba false: the index found the rule by its opcode and an overlapping range. */
static bool static_match(const th_rules *r, const th_rule *rule, th_cmd *cmd, const th_cdb_info *in,
                         bool check_lba)
{
    const th_rule_match *m = &rule->match;
    const uint8_t *cdb = th_cmd_cdb(cmd);
    if (m->op >= 0 && cdb[0] != m->op) return false;
    if (m->sa >= 0 && th_cmd_service_action(cmd) != m->sa) return false;
    if (check_lba && m->lba_set) {
        /* Saturated: a range at the top of the LBA space must not wrap to 0. */
        if (!in->has_lba || th_cdb_last_lba(in) < m->lba_lo || in->lba > m->lba_hi) return false;
    }
    if (check_lba && m->ranges_set) {
        const th_lba_range *g = in->has_lba ? range_from(m, in->lba) : NULL;
        if (!g || g->first > th_cdb_last_lba(in)) return false;
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

/* The dynamic part, for a rule whose static part matched: true when it fires. */
static bool fires(rule_slot *s)
{
    uint64_t k = ++s->seen;
    const th_rule_match *m = &s->r.match;
    if (m->nth && k != m->nth) return false;
    if (m->every && k % m->every) return false;
    if (m->after && k <= m->after) return false;
    if (m->probability > 0 && m->probability < 1 &&
        (double)(xorshift(&s->rng) >> 11) / (double)(1ull << 53) >= m->probability)
        return false;
    s->fired++;
    return true;
}

/* First rule that fires for cmd, with its counters advanced; NULL if none. The
 * candidates come in table order, and a rule that is not one could not have matched,
 * so the same rule fires and the same rules count the command as a scan of the table
 * would. Without room for the candidates, it is that scan. */
static rule_slot *pick_locked(th_rules *r, th_cmd *cmd, const th_cdb_info *in)
{
    if (!r->ix.order.n) return NULL;
    rix_iter it;
    if (!th_rix_begin(&r->ix, th_cmd_cdb(cmd)[0], in->has_lba, in->lba, th_cdb_last_lba(in), &it)) {
        for (rule_slot *s; (s = th_rix_next(&it));) {
            if (s->r.times && s->fired >= s->r.times) continue;
            if (static_match(r, &s->r, cmd, in, false) && fires(s)) return s;
        }
        return NULL;
    }
    for (size_t i = 0; i < r->ix.order.n; i++) {
        rule_slot *s = r->ix.order.v[i];
        if (s->r.times && s->fired >= s->r.times) continue;
        if (static_match(r, &s->r, cmd, in, true) && fires(s)) return s;
    }
    return NULL;
}

/* `info: lba`: the first LBA of the command inside the rule's range(s). */
static uint64_t info_lba(const rule_slot *s, const th_cdb_info *in)
{
    const th_rule_match *m = &s->r.match;
    uint64_t lba = in->lba;
    if (m->lba_set && m->lba_lo > lba) lba = m->lba_lo;
    if (m->ranges_set) {
        const th_lba_range *g = range_from(m, in->lba);
        if (g && g->first > lba) lba = g->first;
    }
    return lba;
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

static uint64_t derive_info(const th_rules *r, const th_rule_action *a, uint64_t lba, th_cmd *cmd,
                            const th_cdb_info *in)
{
    switch (a->info_from) {
    case TH_INFO_LBA:
        return lba;
    case TH_INFO_RESIDUE:
        return residue(r, cmd, in);
    default:
        return a->sense.info;
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
    if (atomic_load_explicit(&r->tracing, memory_order_relaxed))
        th_cmd_set_arrived_ns(cmd, th_now_ns());
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
    rule_slot *s = pick_locked(r, cmd, &in);
    if (!s) {
        pthread_mutex_unlock(&r->lock);
        return r->inner(cmd, r->inner_arg);
    }
    /* What the answer needs, copied: the rule may be removed once the lock is dropped. */
    th_rule_action act = s->r.action;
    uint64_t fired = s->fired, lba = info_lba(s, &in);
    th_cmd_set_rule(cmd, s->id);
    if (act.set_state[0]) (void)set_state_locked(r, act.set_state); /* out of memory: as it was */
    if (act.queue_ua && r->n_ua < TH_UA_MAX) r->ua[r->n_ua++] = act.ua_sense;
    pthread_mutex_unlock(&r->lock);
    const th_rule_action *a = &act;
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
            th_sense sn = a->sense;
            sn.info_valid = a->info_from != TH_INFO_NONE;
            if (sn.info_valid) sn.info = derive_info(r, a, lba, cmd, &in);
            th_cmd_check_condition(cmd, &sn);
        }
    }
    if (a->delay_ms) return defer_or_answer(r, cmd, th_now_ns() + (uint64_t)a->delay_ms * 1000000u);
    return 0;
}
