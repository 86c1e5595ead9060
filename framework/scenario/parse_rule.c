/* Scenario rules: when a rule applies (match) and what it answers (respond). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "lba_file.h"
#include "parse_internal.h"

static const yt_key match_keys[] = {
    {"op", YT_TYPED, "READ_10"}, {"sa", YT_TYPED, "0x10"},
    {"lba", YT_TYPED, "10-11"},  {"lba_file", YT_TEXT, "/dev/null"},
    {"length", YT_TYPED, "1-8"}, {"cdb", YT_TYPED, "\"28 ?? 0x\""},
    {"nth", YT_TYPED, "2"},      {"every", YT_TYPED, "3"},
    {"after", YT_TYPED, "1"},    {"probability", YT_TYPED, "0.5"},
    {"seed", YT_TYPED, "7"},     {"state", YT_TEXT, "armed"},
};
const yt_keys sc_keys_match = YT_KEYS("match", match_keys);

static const yt_key respond_keys[] = {
    {"sense", YT_MAP, "{key: MEDIUM_ERROR, asc: 0x11, info: lba}"},
    {"status", YT_TYPED, "BUSY"},
    {"short", YT_MAP, "{blocks: 1}"},
    {"delay_ms", YT_TYPED, "10"},
    {"hang", YT_TYPED, "false"},
    {"unit_attention", YT_MAP, "{key: UNIT_ATTENTION, asc: 0x29}"},
    {"corrupt", YT_MAP, "{bytes: 2, seed: 1}"},
    {"pass", YT_TYPED, "false"},
    {"set_state", YT_TEXT, "armed"},
};
const yt_keys sc_keys_respond = YT_KEYS("respond", respond_keys);

static const yt_key corrupt_keys[] = {
    {"bytes", YT_TYPED, "2"},
    {"seed", YT_TYPED, "1"},
};
const yt_keys sc_keys_corrupt = YT_KEYS("corrupt", corrupt_keys);

/* clang-format off */
#define RULE_KEYS                                                                                  \
    {"device", YT_TEXT, "d0"},          {"name", YT_TEXT, "r1"},                                   \
    {"match", YT_MAP, "{op: READ_10}"}, {"respond", YT_MAP, "{status: BUSY}"},                     \
    {"times", YT_TYPED, "1"},           {"until_state", YT_TEXT, "healed"},                        \
    {"after_state", YT_TEXT, "armed"}
/* clang-format on */
static const yt_key rule_keys[] = {RULE_KEYS};
/* A rule added later (a step, a control request) also says where it goes. */
static const yt_key add_rule_keys[] = {RULE_KEYS, {"position", YT_TYPED, "0"}};
const yt_keys sc_keys_rule = YT_KEYS("a rule", rule_keys),
              sc_keys_add_rule = YT_KEYS("add_rule", add_rule_keys);

/* "28 ?? 00 00 00 64": hex bytes, ?? matches anything, x8 one nibble */
static void parse_cdb(yt *t, yaml_node_t *v, th_rule_match *m)
{
    const char *s = yt_str(t, v);
    size_t i = 0;
    while (s && *s && i < 16) {
        while (*s == ' ') s++;
        if (!s[0] || !s[1]) break;
        uint8_t byte = 0, mask = 0;
        for (int h = 0; h < 2; h++) {
            char c = s[h];
            int nib = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
            if (nib >= 0)
                byte |= (uint8_t)(nib << (4 - 4 * h)), mask |= (uint8_t)(0xf << (4 - 4 * h));
            else if (c != '?' && c != 'x' && c != 'X') {
                yt_error(t, v, "cdb: '%c' is not a hex digit or ?", c);
                return;
            }
        }
        m->cdb[i] = byte, m->cdb_mask[i] = mask, i++;
        s += 2;
    }
    m->cdb_n = i;
    if (s && *s) yt_error(t, v, "cdb: at most 16 bytes, written as hex pairs");
}

typedef struct rule_ctx {
    scenario *sc;
    sc_rule *r;
    bool device_set;
    int *position; /* NULL: the rule is not added by a step or request */
    /* Checked once the device (and so its type) is known, whichever key came first. */
    yaml_node_t *op_node, *lba_node, *lba_file_node;
} rule_ctx;

/* lba_file: the ranges from a file, relative to the scenario's directory (a control
 * request has none: its path is absolute). Each bad line is an error of its own, located
 * at the key and naming the file's line. */
static void parse_lba_file(yt *t, const scenario *sc, yaml_node_t *v, th_rule_match *m)
{
    const char *name = yt_str(t, v);
    if (!name) return;
    char path[PATH_MAX + 1];
    if (!name[0]) {
        yt_error(t, v, "lba_file: a file name, please");
        return;
    }
    if (name[0] != '/' && !sc->dir[0]) {
        yt_error(t, v,
                 "lba_file '%s': a relative path needs a scenario file to be relative to (a "
                 "control request takes an absolute path)",
                 name);
        return;
    }
    int n = name[0] == '/' ? snprintf(path, sizeof(path), "%s", name)
                           : snprintf(path, sizeof(path), "%s/%s", sc->dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        yt_error(t, v, "lba_file '%s': the path is too long", name);
        return;
    }
    char *err = malloc(4096);
    if (!err) {
        yt_error(t, v, "lba_file: out of memory");
        return;
    }
    th_lba_range *g;
    size_t count;
    if (sc_lba_file_read(path, &g, &count, err, 4096)) {
        for (char *line = err, *nl; line && *line; line = nl ? nl + 1 : NULL) {
            nl = strchr(line, '\n');
            if (nl) *nl = 0;
            yt_error(t, v, "lba_file %s", line);
        }
    } else {
        free((void *)m->ranges); /* a repeated key was an error already */
        m->ranges = g;
        m->n_ranges = count;
        m->ranges_set = true;
    }
    free(err);
}

void sc_rule_clear(sc_rule *r)
{
    free((void *)r->rule.match.ranges);
    r->rule.match.ranges = NULL;
    r->rule.match.n_ranges = 0;
}

static void match_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    rule_ctx *c = arg;
    th_rule_match *m = &c->r->rule.match;
    long long n;
    if (!strcmp(key, "op")) {
        const char *s = yt_str(t, v);
        char err[160];
        if (s && sc_op_for(0, s, &m->op, &m->sa, NULL, 0, err, sizeof(err)))
            yt_error(t, v, "%s", err);
        else if (s)
            c->op_node = v;
    } else if (!strcmp(key, "sa")) {
        if (yt_int(t, v, 0, 0xffff, &n)) m->sa = (int)n;
    } else if (!strcmp(key, "lba")) {
        m->lba_set = yt_range(t, v, &m->lba_lo, &m->lba_hi);
        c->lba_node = v;
    } else if (!strcmp(key, "lba_file")) {
        parse_lba_file(t, c->sc, v, m);
        c->lba_file_node = v;
    } else if (!strcmp(key, "length")) {
        uint64_t lo, hi;
        if (yt_range(t, v, &lo, &hi)) {
            if (hi > UINT32_MAX) yt_error(t, v, "length is at most %u", UINT32_MAX);
            m->len_set = true, m->len_lo = (uint32_t)lo, m->len_hi = (uint32_t)hi;
        }
    } else if (!strcmp(key, "cdb")) {
        parse_cdb(t, v, m);
    } else if (!strcmp(key, "nth")) {
        if (yt_int(t, v, 1, INT64_MAX, &n)) m->nth = (uint64_t)n;
    } else if (!strcmp(key, "every")) {
        if (yt_int(t, v, 1, INT64_MAX, &n)) m->every = (uint64_t)n;
    } else if (!strcmp(key, "after")) {
        if (yt_int(t, v, 0, INT64_MAX, &n)) m->after = (uint64_t)n;
    } else if (!strcmp(key, "probability")) {
        yt_double(t, v, 0, 1, &m->probability);
    } else if (!strcmp(key, "seed")) {
        yt_u64(t, v, &m->seed);
    } else if (!strcmp(key, "state")) {
        yt_copy(t, v, m->state, sizeof(m->state));
    } else {
        yt_unhandled(t, k, &sc_keys_match);
    }
}

typedef struct corrupt_ctx {
    uint64_t seed;
    long long bytes;
} corrupt_ctx;

static void corrupt_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    corrupt_ctx *c = arg;
    if (!strcmp(key, "bytes"))
        yt_int(t, v, 1, 1 << 20, &c->bytes);
    else if (!strcmp(key, "seed"))
        yt_u64(t, v, &c->seed);
    else
        yt_unhandled(t, k, &sc_keys_corrupt);
}

/* short: { bytes: N } | { blocks: N } | { fraction: 0.5 } */
static void parse_short(yt *t, yaml_node_t *v, th_rule_action *a)
{
    yaml_node_t *sk, *sv;
    long long n;
    if (!yt_single(t, v, &sk, &sv, "short takes one of bytes, blocks or fraction")) return;
    const char *kind = yt_str(t, sk);
    if (!kind) return;
    if (!strcmp(kind, "bytes") && yt_int(t, sv, 0, INT32_MAX, &n))
        a->short_kind = TH_SHORT_BYTES, a->short_value = (double)n;
    else if (!strcmp(kind, "blocks") && yt_int(t, sv, 0, INT32_MAX, &n))
        a->short_kind = TH_SHORT_BLOCKS, a->short_value = (double)n;
    else if (!strcmp(kind, "fraction")) {
        if (yt_double(t, sv, 0, 1, &a->short_value)) a->short_kind = TH_SHORT_FRACTION;
    } else if (strcmp(kind, "bytes") && strcmp(kind, "blocks"))
        yt_error(t, sk, "short takes bytes, blocks or fraction, not '%s'", kind);
}

static void respond_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    th_rule_action *a = arg;
    long long n;
    bool b;
    if (!strcmp(key, "sense")) {
        sc_parse_sense(t, v, &a->sense, &a->info_from);
        a->sense_set = true;
        a->pass = false;
    } else if (!strcmp(key, "status")) {
        if (sc_parse_status(t, v, &a->status)) a->pass = false;
    } else if (!strcmp(key, "short")) {
        parse_short(t, v, a);
    } else if (!strcmp(key, "delay_ms")) {
        if (yt_int(t, v, 0, 3600000, &n)) a->delay_ms = (uint32_t)n;
    } else if (!strcmp(key, "hang")) {
        if (yt_bool(t, v, &b)) a->hang = b;
    } else if (!strcmp(key, "unit_attention")) {
        sc_parse_sense(t, v, &a->ua_sense, NULL);
        a->queue_ua = true;
    } else if (!strcmp(key, "corrupt")) {
        corrupt_ctx c = {0, 1};
        yt_map(t, v, &sc_keys_corrupt, corrupt_pair, &c);
        a->corrupt_bytes = (uint32_t)c.bytes;
        a->corrupt_seed = c.seed;
    } else if (!strcmp(key, "pass")) {
        if (yt_bool(t, v, &b)) a->pass = b;
    } else if (!strcmp(key, "set_state")) {
        yt_copy(t, v, a->set_state, sizeof(a->set_state));
    } else {
        yt_unhandled(t, k, &sc_keys_respond);
    }
}

static void rule_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    rule_ctx *c = arg;
    th_rule *r = &c->r->rule;
    long long n;
    if (!strcmp(key, "device")) {
        c->device_set = yt_copy(t, v, c->r->device, sizeof(c->r->device));
        if (c->device_set && !sc_find_device(c->sc, c->r->device))
            yt_error(t, v, "no device named '%s'", c->r->device);
    } else if (!strcmp(key, "name")) {
        yt_copy(t, v, r->name, sizeof(r->name));
    } else if (!strcmp(key, "match")) {
        yt_map(t, v, &sc_keys_match, match_pair, c);
    } else if (!strcmp(key, "respond")) {
        yt_map(t, v, &sc_keys_respond, respond_pair, &r->action);
    } else if (!strcmp(key, "times")) {
        if (yt_int(t, v, 1, INT64_MAX, &n)) r->times = (uint64_t)n;
    } else if (!strcmp(key, "until_state")) {
        yt_copy(t, v, r->until_state, sizeof(r->until_state));
    } else if (!strcmp(key, "after_state")) {
        yt_copy(t, v, r->after_state, sizeof(r->after_state));
    } else if (!strcmp(key, "position")) {
        if (!c->position)
            yt_unhandled(t, k, &sc_keys_rule);
        else if (yt_int(t, v, 0, 1 << 20, &n))
            *c->position = (int)n;
    } else {
        yt_unhandled(t, k, c->position ? &sc_keys_add_rule : &sc_keys_rule);
    }
}

void sc_parse_rule(yt *t, scenario *sc, yaml_node_t *n, sc_rule *out)
{
    sc_parse_rule_at(t, sc, n, out, NULL);
}

void sc_parse_rule_at(yt *t, scenario *sc, yaml_node_t *n, sc_rule *out, int *position)
{
    memset(out, 0, sizeof(*out));
    th_rule_init(&out->rule);
    if (position) *position = -1;
    rule_ctx c = {sc, out, false, position, NULL, NULL, NULL};
    if (yt_map(t, n, position ? &sc_keys_add_rule : &sc_keys_rule, rule_pair, &c) && !c.device_set)
        yt_error(t, n, "a rule needs a device");
    if (c.lba_node && c.lba_file_node)
        yt_error(t, c.lba_file_node,
                 "lba_file and lba together: a rule takes one range (lba) or a list of them "
                 "(lba_file)");
    const sc_device *d = c.device_set ? sc_find_device(sc, out->device) : NULL;
    if (!d) return;
    unsigned on = sc_device_on(d);
    th_rule_match *m = &out->rule.match;
    char err[160];
    const char *s = c.op_node ? yt_str(t, c.op_node) : NULL;
    int op, sa;
    if (s && sc_op_for(on, s, &op, &sa, NULL, 0, err, sizeof(err)))
        yt_error(t, c.op_node, "%s (device %s is a %s)", err, d->name, d->type);
    else if (s && (m->op = op, sa >= 0)) /* an `sa:` key stays unless the name has one */
        m->sa = sa;
    /* SSC commands address objects and positions, not logical blocks: an lba range on a
     * tape would silently never match. */
    yaml_node_t *lba = c.lba_node ? c.lba_node : c.lba_file_node;
    if (lba && on == SC_ON_TAPE)
        yt_error(t, lba,
                 "%s: device %s is a tape, and tape commands carry no LBA (match by op, "
                 "length or cdb)",
                 c.lba_node ? "lba" : "lba_file", d->name);
}
