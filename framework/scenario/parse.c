/* YAML -> scenario model. Unknown or repeated keys, wrong types and out-of-range values
 * are errors with their position; parsing goes on to report them all. This file: the
 * document, its top level, and what several parts share (statuses, sense, opcodes). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "parse_internal.h"
#include "th/ops.h"

int sc_op_from_name(const char *name, int *op, int *sa)
{
    th_op_info o;
    if (!th_ops_by_name(TH_OPS_DISK, name, &o) || !th_ops_by_name(TH_OPS_TAPE, name, &o)) {
        *op = o.opcode;
        *sa = o.sa == TH_OP_NO_SA ? -1 : o.sa;
        return 0;
    }
    char *end;
    long v = strtol(name, &end, 0);
    if (*name && !*end && v >= 0 && v <= 255) {
        *op = (int)v;
        *sa = -1;
        return 0;
    }
    return -1;
}

const char *sc_op_name(uint8_t op, uint16_t sa)
{
    const char *n = th_ops_name(TH_OPS_DISK, op, sa);
    return n ? n : th_ops_name(TH_OPS_TAPE, op, sa);
}

int sc_op_for(unsigned on, const char *name, int *op, int *sa, char *canon, size_t ccap, char *err,
              size_t ecap)
{
    /* The same number is a different command on a disk and a tape (0x01 REZERO UNIT and
     * REWIND): a name resolves in the device's own table, and a name of the other one is
     * an error that says so. on == 0 (no device given): disk first, then tape. */
    th_ops_kind mine = on == SC_ON_TAPE ? TH_OPS_TAPE : TH_OPS_DISK;
    th_ops_kind other = mine == TH_OPS_TAPE ? TH_OPS_DISK : TH_OPS_TAPE;
    const char *type = mine == TH_OPS_TAPE ? "tape" : "disk";
    th_op_info o;
    if (!th_ops_by_name(mine, name, &o) || (!on && !th_ops_by_name(other, name, &o))) {
        *op = o.opcode;
        *sa = o.sa == TH_OP_NO_SA ? -1 : o.sa;
        if (canon) snprintf(canon, ccap, "%s", o.name);
        return 0;
    }
    if (!th_ops_by_name(other, name, &o)) {
        const char *alt = th_ops_name(mine, o.opcode, o.sa == TH_OP_NO_SA ? 0 : o.sa);
        if (alt)
            snprintf(err, ecap, "'%s' is not a %s command: 0x%02X on a %s is %s", name, type,
                     o.opcode, type, alt);
        else
            snprintf(err, ecap, "'%s' is not a %s command (a %s has no command 0x%02X)", name, type,
                     type, o.opcode);
        return -1;
    }
    char *end;
    long v = strtol(name, &end, 0);
    if (*name && !*end && v >= 0 && v <= 255) {
        *op = (int)v;
        *sa = -1;
        if (canon) {
            const char *n = on ? th_ops_name(mine, (uint8_t)v, 0) : sc_op_name((uint8_t)v, 0);
            if (n)
                snprintf(canon, ccap, "%s", n);
            else
                snprintf(canon, ccap, "0x%02X", (unsigned)v);
        }
        return 0;
    }
    snprintf(err, ecap, "'%s' is not an opcode name (like READ_10) or number", name);
    return -1;
}

unsigned sc_device_on(const sc_device *d)
{
    return strcmp(d->type, "tape") ? SC_ON_DISK : SC_ON_TAPE;
}

bool sc_parse_status(yt *t, yaml_node_t *v, int *out)
{
    const char *s = yt_str(t, v);
    if (!s) return false;
    int st = th_status_from_name(s);
    if (st >= 0) {
        *out = st;
        return true;
    }
    long long n;
    if (yt_int(t, v, 0, 255, &n)) {
        *out = (int)n;
        return true;
    }
    return false;
}

static const yt_key sense_keys[] = {
    {"key", YT_TYPED, "MEDIUM_ERROR"}, {"asc", YT_TYPED, "0x11"},
    {"ascq", YT_TYPED, "0"},           {"info", YT_TYPED, "7"},
    {"fm", YT_TYPED, "true"},          {"eom", YT_TYPED, "false"},
    {"ili", YT_TYPED, "false"},        {"sks", YT_TYPED, "0x8001"},
    {"descriptor", YT_TYPED, "false"},
};
const yt_keys sc_keys_sense = YT_KEYS("sense", sense_keys);

/* sense: { key, asc, ascq, info, fm, eom, ili, sks, descriptor } */
typedef struct sense_ctx {
    th_sense *s;
    th_info_from *from;    /* NULL: info must be a number */
    bool key_set, key_bad; /* key_bad: given, and already said to be wrong */
} sense_ctx;

static void sense_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    sense_ctx *c = arg;
    long long n;
    bool b;
    if (!strcmp(key, "key")) {
        const char *s = yt_str(t, v);
        int kv = s ? th_sense_key_from_name(s) : -1;
        /* One message for one bad key: a number gets yt_int's (out of range), a word the
         * name's; "99" got both, and "sense needs a key" on top. */
        if (kv < 0 && s && isdigit((unsigned char)s[0]) && yt_int(t, v, 0, 15, &n))
            kv = (int)n;
        else if (kv < 0 && s && !isdigit((unsigned char)s[0]))
            yt_error(t, v, "'%s' is not a sense key (like MEDIUM_ERROR)", s);
        if (kv >= 0) c->s->key = (uint8_t)kv, c->key_set = true;
        c->key_bad = kv < 0;
    } else if (!strcmp(key, "asc")) {
        if (yt_int(t, v, 0, 255, &n)) c->s->asc = (uint8_t)n;
    } else if (!strcmp(key, "ascq")) {
        if (yt_int(t, v, 0, 255, &n)) c->s->ascq = (uint8_t)n;
    } else if (!strcmp(key, "info")) {
        const char *s = yt_str(t, v);
        if (s && c->from && !strcmp(s, "lba"))
            *c->from = TH_INFO_LBA;
        else if (s && c->from && !strcmp(s, "residue"))
            *c->from = TH_INFO_RESIDUE;
        else if (s && yt_u64(t, v, &c->s->info)) {
            if (c->from) *c->from = TH_INFO_FIXED;
            c->s->info_valid = true;
        }
    } else if (!strcmp(key, "fm")) {
        if (yt_bool(t, v, &b)) c->s->filemark = b;
    } else if (!strcmp(key, "eom")) {
        if (yt_bool(t, v, &b)) c->s->eom = b;
    } else if (!strcmp(key, "ili")) {
        if (yt_bool(t, v, &b)) c->s->ili = b;
    } else if (!strcmp(key, "descriptor")) {
        if (yt_bool(t, v, &b)) c->s->descriptor = b;
    } else if (!strcmp(key, "sks")) {
        if (yt_int(t, v, 0, 0x7fffff, &n)) {
            c->s->sks_valid = true;
            c->s->sks[0] = (uint8_t)(n >> 16);
            c->s->sks[1] = (uint8_t)(n >> 8);
            c->s->sks[2] = (uint8_t)n;
        }
    } else {
        yt_unhandled(t, k, &sc_keys_sense);
    }
}

void sc_parse_sense(yt *t, yaml_node_t *v, th_sense *s, th_info_from *from)
{
    sense_ctx c = {s, from, false, false};
    memset(s, 0, sizeof(*s));
    if (yt_map(t, v, &sc_keys_sense, sense_pair, &c) && !c.key_set && !c.key_bad)
        yt_error(t, v, "sense needs a key (like MEDIUM_ERROR)");
}

/* Any number of items: the file's size (yaml_tree.c) is the bound, the memory the limit. */
static void parse_list(yt *t, yaml_node_t *v, const char *what,
                       void (*each)(yt *, scenario *, yaml_node_t *, int), scenario *sc)
{
    int n = yt_len(v);
    if (n < 0) {
        yt_error(t, v, "%s must be a list", what);
        return;
    }
    for (int i = 0; i < n; i++) each(t, sc, yt_item(t, v, i), i);
}

static void each_rule(yt *t, scenario *sc, yaml_node_t *n, int i)
{
    (void)i;
    sc_rule *r = sc_rules_add(sc);
    if (!r)
        yt_error(t, n, "out of memory for rule %d", sc->n_rules + 1);
    else
        sc_parse_rule(t, sc, n, r);
}

static const yt_key top_keys[] = {
    {"name", YT_TEXT, "t"},
    {"devices", YT_LIST, "[{name: d0}, {name: t0, type: tape}]"},
    {"rules", YT_LIST, "[{device: d0, name: r0}]"},
    {"steps", YT_LIST, "[{run: \"true\"}]"},
    {"expect_trace", YT_LIST, "[{device: d0, count: 0}]"},
    {"expect_kmsg", YT_LIST, "[\"Attached SCSI disk\"]"},
    {"forbid_kmsg", YT_LIST, "[\"I/O error\"]"},
    {"allow_kmsg", YT_LIST, "[\"WARNING: .* at drivers/scsi/\"]"},
    {"golden", YT_MAP, "{match: sequence, tolerance: 1}"},
};
const yt_keys sc_keys_top = YT_KEYS("a scenario", top_keys);

static const yt_key golden_keys[] = {
    {"match", YT_TYPED, "sequence"},
    {"tolerance", YT_TYPED, "1"},
};
const yt_keys sc_keys_golden = YT_KEYS("golden", golden_keys);

/* golden: { match: multiset|sequence, tolerance: N } */
static void golden_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    scenario *sc = arg;
    long long n;
    if (!strcmp(key, "match")) {
        const char *s = yt_str(t, v);
        if (s && !strcmp(s, "multiset"))
            sc->golden_match = SC_GOLDEN_MULTISET;
        else if (s && !strcmp(s, "sequence"))
            sc->golden_match = SC_GOLDEN_SEQUENCE;
        else if (s)
            yt_error(t, v, "golden match is multiset or sequence, not '%s'", s);
    } else if (!strcmp(key, "tolerance")) {
        if (yt_int(t, v, 0, 1000000, &n)) sc->golden_tolerance = (int)n;
    } else {
        yt_unhandled(t, k, &sc_keys_golden);
    }
}

typedef struct top_ctx {
    scenario *sc;
    yaml_node_t *devices, *rules, *steps, *expects;
} top_ctx;

/* expect_kmsg, forbid_kmsg, allow_kmsg: regexes compiled here, so a bad one is located. */
void sc_parse_kmsg_list(yt *t, yaml_node_t *v, sc_kmsg_list *l)
{
    for (int i = 0, n = yt_len(v); i < n; i++) {
        yaml_node_t *item = yt_item(t, v, i);
        const char *s = yt_str(t, item);
        char why[300];
        int rc = s ? sc_kmsg_list_add(l, s, (int)item->start_mark.line + 1, why, sizeof(why)) : 0;
        if (rc) yt_error(t, item, "%s", rc == -ENOMEM ? "out of memory" : why);
    }
}

static void top_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    top_ctx *c = arg;
    if (!strcmp(key, "name"))
        yt_copy(t, v, c->sc->name, sizeof(c->sc->name));
    else if (!strcmp(key, "devices"))
        c->devices = v;
    else if (!strcmp(key, "rules"))
        c->rules = v;
    else if (!strcmp(key, "steps"))
        c->steps = v;
    else if (!strcmp(key, "expect_trace"))
        c->expects = v;
    else if (!strcmp(key, "expect_kmsg"))
        sc_parse_kmsg_list(t, v, &c->sc->kmsg_expect);
    else if (!strcmp(key, "forbid_kmsg"))
        sc_parse_kmsg_list(t, v, &c->sc->kmsg_forbid);
    else if (!strcmp(key, "allow_kmsg"))
        sc_parse_kmsg_list(t, v, &c->sc->kmsg_allow);
    else if (!strcmp(key, "golden"))
        yt_map(t, v, &sc_keys_golden, golden_pair, c->sc);
    else
        yt_unhandled(t, k, &sc_keys_top);
}

/* The parsed model without the error text. */
static void free_model(scenario *sc)
{
    sc_model_free(sc);
    sc_kmsg_list_free(&sc->kmsg_allow);
    sc_kmsg_list_free(&sc->kmsg_expect);
    sc_kmsg_list_free(&sc->kmsg_forbid);
}

/* The tree to the model, for either source; yt_load* left its result in t and rc. */
static int load_tree(yt *t, int rc, scenario *sc);

int sc_load(const char *path, scenario *sc)
{
    memset(sc, 0, sizeof(*sc));
    snprintf(sc->file, sizeof(sc->file), "%s", path);
    char real[PATH_MAX];
    if (realpath(path, real)) {
        char *slash = strrchr(real, '/');
        if (slash) *(slash == real ? slash + 1 : slash) = 0;
        snprintf(sc->dir, sizeof(sc->dir), "%s", real);
    }
    yt t;
    int rc = yt_load(&t, path);
    return load_tree(&t, rc, sc);
}

int sc_load_text(const char *name, const char *dir, const char *text, size_t len, scenario *sc)
{
    memset(sc, 0, sizeof(*sc));
    snprintf(sc->file, sizeof(sc->file), "%s", name);
    snprintf(sc->dir, sizeof(sc->dir), "%s", dir);
    yt t;
    int rc = yt_load_buffer(&t, name, text, len, false);
    return load_tree(&t, rc, sc);
}

static int load_tree(yt *t_, int rc, scenario *sc)
{
    yt t = *t_;
    if (rc) {
        sc->errors = t.msgs;
        return rc;
    }
    sc->golden_tolerance = -1;
    top_ctx c = {sc, 0, 0, 0, 0};
    yaml_node_t *root = yt_root(&t);
    if (yt_map(&t, root, &sc_keys_top, top_pair, &c)) {
        if (!sc->name[0]) yt_error(&t, root, "a scenario needs a name");
        if (!c.devices)
            yt_error(&t, root, "a scenario needs devices");
        else
            parse_list(&t, c.devices, "devices", sc_each_device, sc);
        if (c.rules) parse_list(&t, c.rules, "rules", each_rule, sc);
        if (c.steps) parse_list(&t, c.steps, "steps", sc_each_step, sc);
        if (c.expects) parse_list(&t, c.expects, "expect_trace", sc_each_expect, sc);
    }
    yt_free(&t);
    sc->errors = t.msgs;
    if (!t.errors) return 0;
    free_model(sc);
    return -EINVAL;
}

const char *sc_errors(const scenario *sc)
{
    return sc->errors ? sc->errors : "";
}

void sc_free(scenario *sc)
{
    free_model(sc);
    free(sc->errors);
    sc->errors = NULL;
}

const yt_keys *const sc_key_tables[] = {
    &sc_keys_top,   &sc_keys_device,  &sc_keys_chap,  &sc_keys_rule,
    &sc_keys_match, &sc_keys_respond, &sc_keys_sense, &sc_keys_corrupt,
    &sc_keys_step,  &sc_keys_expect,  &sc_keys_trace, &sc_keys_golden,
    NULL,
};
