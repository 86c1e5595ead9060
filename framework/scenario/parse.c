/* YAML -> scenario model. Unknown keys, wrong types and out-of-range values are errors
 * with their position; parsing goes on to report them all. */
#include <stdlib.h>
#include <string.h>
#include "../emu/disk_internal.h"
#include "../emu/optable.h"
#include "../emu/tape_internal.h"
#include "scenario.h"
#include "yaml_tree.h"

typedef struct ctx {
    scenario *sc;
    void *obj;
    yaml_node_t *node;
} ctx;

#define UNKNOWN(t, k, what) yt_error(t, k, "unknown key '%s' in %s", key, what)

int sc_op_from_name(const char *name, int *op, int *sa)
{
    const th_op *o = th_op_by_name(&th_disk_optable, name);
    if (!o) o = th_op_by_name(&th_tape_optable, name);
    if (o) {
        *op = o->op;
        *sa = o->sa == TH_NO_SA ? -1 : o->sa;
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
    const char *n = th_disk_op_name(op, sa);
    return n ? n : th_tape_op_name(op, sa);
}

static bool parse_status(yt *t, yaml_node_t *v, int *out)
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

/* sense: { key, asc, ascq, info, fm, eom, ili, sks, descriptor } */
typedef struct sense_ctx {
    th_sense *s;
    th_info_from *from; /* NULL: info must be a number */
    bool key_set;
} sense_ctx;

static void sense_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    sense_ctx *c = arg;
    long long n;
    bool b;
    if (!strcmp(key, "key")) {
        const char *s = yt_str(t, v);
        int kv = s ? th_sense_key_from_name(s) : -1;
        if (kv < 0 && s && yt_int(t, v, 0, 15, &n))
            kv = (int)n;
        else if (kv < 0 && s)
            yt_error(t, v, "'%s' is not a sense key (like MEDIUM_ERROR)", s);
        if (kv >= 0) c->s->key = (uint8_t)kv, c->key_set = true;
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
        UNKNOWN(t, k, "sense");
    }
}

static void parse_sense(yt *t, yaml_node_t *v, th_sense *s, th_info_from *from)
{
    sense_ctx c = {s, from, false};
    memset(s, 0, sizeof(*s));
    if (yt_map(t, v, sense_pair, &c, "sense") && !c.key_set)
        yt_error(t, v, "sense needs a key (like MEDIUM_ERROR)");
}

static void match_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    th_rule_match *m = arg;
    long long n;
    if (!strcmp(key, "op")) {
        const char *s = yt_str(t, v);
        if (s && sc_op_from_name(s, &m->op, &m->sa))
            yt_error(t, v, "'%s' is not an opcode name (like READ_10) or number", s);
    } else if (!strcmp(key, "sa")) {
        if (yt_int(t, v, 0, 0xffff, &n)) m->sa = (int)n;
    } else if (!strcmp(key, "lba")) {
        m->lba_set = yt_range(t, v, &m->lba_lo, &m->lba_hi);
    } else if (!strcmp(key, "length")) {
        uint64_t lo, hi;
        if (yt_range(t, v, &lo, &hi)) {
            if (hi > UINT32_MAX) yt_error(t, v, "length is at most %u", UINT32_MAX);
            m->len_set = true, m->len_lo = (uint32_t)lo, m->len_hi = (uint32_t)hi;
        }
    } else if (!strcmp(key, "cdb")) {
        /* "28 ?? 00 00 00 64": hex bytes, ?? matches anything, x8 one nibble */
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
        UNKNOWN(t, k, "match");
    }
}

static void respond_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    th_rule_action *a = arg;
    long long n;
    bool b;
    if (!strcmp(key, "sense")) {
        parse_sense(t, v, &a->sense, &a->info_from);
        a->sense_set = true;
        a->pass = false;
    } else if (!strcmp(key, "status")) {
        if (parse_status(t, v, &a->status)) a->pass = false;
    } else if (!strcmp(key, "short")) {
        /* short: { bytes: N } | { blocks: N } | { fraction: 0.5 } */
        yaml_node_t *sk, *sv;
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
    } else if (!strcmp(key, "delay_ms")) {
        if (yt_int(t, v, 0, 3600000, &n)) a->delay_ms = (uint32_t)n;
    } else if (!strcmp(key, "hang")) {
        if (yt_bool(t, v, &b)) a->hang = b;
    } else if (!strcmp(key, "unit_attention")) {
        parse_sense(t, v, &a->ua_sense, NULL);
        a->queue_ua = true;
    } else if (!strcmp(key, "corrupt")) {
        uint64_t seed = 0;
        long long bytes = 1;
        if (v->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
                 p++) {
                yaml_node_t *ck = yaml_document_get_node(&t->doc, p->key);
                yaml_node_t *cv = yaml_document_get_node(&t->doc, p->value);
                const char *ckey = yt_str(t, ck);
                if (ckey && !strcmp(ckey, "bytes"))
                    yt_int(t, cv, 1, 1 << 20, &bytes);
                else if (ckey && !strcmp(ckey, "seed"))
                    yt_u64(t, cv, &seed);
                else if (ckey)
                    yt_error(t, ck, "unknown key '%s' in corrupt", ckey);
            }
        } else {
            yt_error(t, v, "corrupt takes { bytes: N, seed: S }");
        }
        a->corrupt_bytes = (uint32_t)bytes;
        a->corrupt_seed = seed;
    } else if (!strcmp(key, "pass")) {
        if (yt_bool(t, v, &b)) a->pass = b;
    } else if (!strcmp(key, "set_state")) {
        yt_copy(t, v, a->set_state, sizeof(a->set_state));
    } else {
        UNKNOWN(t, k, "respond");
    }
}

typedef struct rule_ctx {
    scenario *sc;
    sc_rule *r;
    bool device_set;
} rule_ctx;

static void rule_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    rule_ctx *c = arg;
    th_rule *r = &c->r->rule;
    long long n;
    if (!strcmp(key, "device")) {
        c->device_set = yt_copy(t, v, c->r->device, sizeof(c->r->device));
        bool known = false;
        for (int i = 0; i < c->sc->n_devices; i++)
            known |= !strcmp(c->sc->devices[i].name, c->r->device);
        if (c->device_set && !known) yt_error(t, v, "no device named '%s'", c->r->device);
    } else if (!strcmp(key, "name")) {
        yt_copy(t, v, r->name, sizeof(r->name));
    } else if (!strcmp(key, "match")) {
        yt_map(t, v, match_pair, &r->match, "match");
    } else if (!strcmp(key, "respond")) {
        yt_map(t, v, respond_pair, &r->action, "respond");
    } else if (!strcmp(key, "times")) {
        if (yt_int(t, v, 1, INT64_MAX, &n)) r->times = (uint64_t)n;
    } else if (!strcmp(key, "until_state")) {
        yt_copy(t, v, r->until_state, sizeof(r->until_state));
    } else if (!strcmp(key, "after_state")) {
        yt_copy(t, v, r->after_state, sizeof(r->after_state));
    } else {
        UNKNOWN(t, k, "a rule");
    }
}

static void parse_rule(yt *t, scenario *sc, yaml_node_t *n, sc_rule *out)
{
    memset(out, 0, sizeof(*out));
    th_rule_init(&out->rule);
    rule_ctx c = {sc, out, false};
    if (yt_map(t, n, rule_pair, &c, "a rule") && !c.device_set)
        yt_error(t, n, "a rule needs a device");
}

static void chap_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    sc_device *d = arg;
    if (!strcmp(key, "user"))
        yt_copy(t, v, d->chap_user, sizeof(d->chap_user));
    else if (!strcmp(key, "password"))
        yt_copy(t, v, d->chap_password, sizeof(d->chap_password));
    else
        yt_error(t, k, "unknown chap key '%s' (user, password)", key);
}

static void device_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    sc_device *d = arg;
    long long n;
    if (!strcmp(key, "name")) {
        if (yt_copy(t, v, d->name, sizeof(d->name)))
            for (const char *p = d->name; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.",
                            *p)) {
                    yt_error(t, v, "device name '%s': only letters, digits, '_', '-', '.'",
                             d->name);
                    break;
                }
    } else if (!strcmp(key, "type")) {
        if (yt_copy(t, v, d->type, sizeof(d->type)) && strcmp(d->type, "disk") &&
            strcmp(d->type, "tape"))
            yt_error(t, v, "type '%s' is not supported (disk, tape)", d->type);
    } else if (!strcmp(key, "size")) {
        if (yt_size(t, v, &d->size) && (d->size == 0 || d->size > (1ull << 44)))
            yt_error(t, v, "size must be from 1 byte to 16 TiB");
    } else if (!strcmp(key, "block_size")) {
        if (yt_int(t, v, 512, 65536, &n)) {
            if (n & (n - 1)) yt_error(t, v, "block_size must be a power of two");
            d->block_size = (uint32_t)n;
        }
    } else if (!strcmp(key, "backing")) {
        if (yt_copy(t, v, d->backing, sizeof(d->backing)) && strcmp(d->backing, "memory") &&
            strncmp(d->backing, "file:", 5))
            yt_error(t, v, "backing is memory or file:PATH");
    } else if (!strcmp(key, "vendor")) {
        yt_copy(t, v, d->vendor, sizeof(d->vendor));
    } else if (!strcmp(key, "product")) {
        yt_copy(t, v, d->product, sizeof(d->product));
    } else if (!strcmp(key, "revision")) {
        yt_copy(t, v, d->revision, sizeof(d->revision));
    } else if (!strcmp(key, "serial")) {
        yt_copy(t, v, d->serial, sizeof(d->serial));
    } else if (!strcmp(key, "early_warning")) {
        yt_size(t, v, &d->early_warning);
    } else if (!strcmp(key, "export")) {
        char e[16];
        if (yt_copy(t, v, e, sizeof(e))) {
            if (!strcmp(e, "iscsi"))
                d->iscsi = true;
            else if (strcmp(e, "loopback"))
                yt_error(t, v, "export is loopback or iscsi, not '%s'", e);
        }
    } else if (!strcmp(key, "iqn")) {
        yt_copy(t, v, d->iqn, sizeof(d->iqn));
    } else if (!strcmp(key, "portal")) {
        yt_copy(t, v, d->portal, sizeof(d->portal));
    } else if (!strcmp(key, "chap")) {
        if (yt_map(t, v, chap_pair, d, "chap") && (!d->chap_user[0] || !d->chap_password[0]))
            yt_error(t, v, "chap needs both user and password");
    } else if (!strcmp(key, "initiators")) {
        int n = yt_len(v);
        if (n < 1 || n > SC_MAX_INITIATORS) {
            yt_error(t, v, "initiators is a list of 1 to %d initiator IQNs", SC_MAX_INITIATORS);
            return;
        }
        for (int i = 0; i < n; i++)
            if (yt_copy(t, yt_item(t, v, i), d->initiators[d->n_initiators], 224))
                d->n_initiators++;
    } else if (!strcmp(key, "second_partition")) {
        yt_size(t, v, &d->second_partition);
    } else if (!strcmp(key, "write_protect")) {
        yt_bool(t, v, &d->write_protect);
    } else if (!strcmp(key, "loaded")) {
        bool b;
        if (yt_bool(t, v, &b)) d->unloaded = !b;
    } else if (!strcmp(key, "image")) {
        yt_copy(t, v, d->image, sizeof(d->image));
    } else if (!strcmp(key, "media")) {
        int n = yt_len(v);
        if (n < 0) {
            yt_error(t, v, "media must be a list of record: N, text: \"...\" or filemark: N");
            return;
        }
        for (int i = 0; i < n && i < SC_MAX; i++) {
            yaml_node_t *it = yt_item(t, v, i);
            struct sc_media *m = &d->media[d->n_media++];
            memset(m, 0, sizeof(*m));
            yaml_node_t *mk, *mv;
            if (!yt_single(t, it, &mk, &mv,
                           "a media item is one of record: N, text: \"...\", filemark: N"))
                continue;
            const char *kind = yt_str(t, mk);
            long long len;
            if (!kind) continue;
            if (!strcmp(kind, "record")) {
                if (yt_int(t, mv, 0, 0x400000, &len)) m->len = (uint32_t)len;
            } else if (!strcmp(kind, "filemark")) {
                if (yt_int(t, mv, 1, 1000, &len)) m->filemark = true, m->len = (uint32_t)len;
            } else if (!strcmp(kind, "text")) {
                const char *s = yt_str(t, mv);
                if (s) m->text = strdup(s);
            } else {
                yt_error(t, mk, "a media item is record, text or filemark, not '%s'", kind);
            }
        }
    } else if (!strcmp(key, "workers")) {
        if (yt_int(t, v, 0, 64, &n)) d->workers = (int)n;
    } else {
        UNKNOWN(t, k, "a device");
    }
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
        UNKNOWN(t, k, "expect");
    }
}

typedef struct step_ctx {
    scenario *sc;
    sc_step *s;
    yaml_node_t *node;
} step_ctx;

static void ua_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    step_ctx *c = arg;
    if (!strcmp(key, "device"))
        yt_copy(t, v, c->s->device, sizeof(c->s->device));
    else if (!strcmp(key, "size") && c->s->kind == SC_SET_CAPACITY)
        yt_size(t, v, &c->s->size);
    else if (!strcmp(key, "state"))
        yt_copy(t, v, c->s->name, sizeof(c->s->name));
    else if (!strcmp(key, "name"))
        yt_copy(t, v, c->s->name, sizeof(c->s->name));
    else if (!strcmp(key, "sense"))
        parse_sense(t, v, &c->s->ua, NULL);
    else
        UNKNOWN(t, k, "a device action");
}

static void step_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    step_ctx *c = arg;
    sc_step *s = c->s;
    long long n;
    if (!strcmp(key, "run")) {
        const char *str = yt_str(t, v);
        if (str) s->run = strdup(str), s->kind = SC_RUN;
    } else if (!strcmp(key, "expect")) {
        yt_map(t, v, expect_pair, s, "expect");
    } else if (!strcmp(key, "add_rule")) {
        parse_rule(t, c->sc, v, &s->rule);
        s->kind = SC_ADD_RULE;
    } else if (!strcmp(key, "remove_rule") || !strcmp(key, "queue_ua") ||
               !strcmp(key, "set_state") || !strcmp(key, "set_capacity") ||
               !strcmp(key, "offline") || !strcmp(key, "online") || !strcmp(key, "load") ||
               !strcmp(key, "unload")) {
        static const struct {
            const char *name;
            sc_kind kind;
        } kinds[] = {{"remove_rule", SC_REMOVE_RULE},
                     {"queue_ua", SC_QUEUE_UA},
                     {"set_state", SC_SET_STATE},
                     {"set_capacity", SC_SET_CAPACITY},
                     {"offline", SC_OFFLINE},
                     {"online", SC_ONLINE},
                     {"load", SC_LOAD},
                     {"unload", SC_UNLOAD}};
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
            if (!strcmp(key, kinds[i].name)) s->kind = kinds[i].kind;
        yt_map(t, v, ua_pair, c, key);
    } else if (!strcmp(key, "sleep_ms")) {
        if (yt_int(t, v, 0, 600000, &n)) s->sleep_ms = (int)n, s->kind = SC_SLEEP;
    } else {
        UNKNOWN(t, k, "a step");
    }
}

static void trace_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    sc_trace_expect *e = arg;
    long long n;
    int st;
    if (!strcmp(key, "device"))
        yt_copy(t, v, e->device, sizeof(e->device));
    else if (!strcmp(key, "op")) {
        int op, sa;
        if (yt_copy(t, v, e->op, sizeof(e->op)) && sc_op_from_name(e->op, &op, &sa))
            yt_error(t, v, "'%s' is not an opcode name", e->op);
        else if (e->op[0] && sc_op_name((uint8_t)op, sa < 0 ? 0 : (uint16_t)sa))
            snprintf(e->op, sizeof(e->op), "%s",
                     sc_op_name((uint8_t)op, sa < 0 ? 0 : (uint16_t)sa));
        else
            snprintf(e->op, sizeof(e->op), "0x%02X", op);
    } else if (!strcmp(key, "tmr"))
        yt_copy(t, v, e->tmr, sizeof(e->tmr));
    else if (!strcmp(key, "lba"))
        e->lba_set = yt_u64(t, v, &e->lba);
    else if (!strcmp(key, "status")) {
        if (parse_status(t, v, &st)) e->status = st;
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
        UNKNOWN(t, k, "expect_trace");
}

static void parse_list(yt *t, yaml_node_t *v, const char *what, int max,
                       void (*each)(yt *, scenario *, yaml_node_t *, int), scenario *sc)
{
    int n = yt_len(v);
    if (n < 0) {
        yt_error(t, v, "%s must be a list", what);
        return;
    }
    if (n > max) {
        yt_error(t, v, "at most %d %s", max, what);
        n = max;
    }
    for (int i = 0; i < n; i++) each(t, sc, yt_item(t, v, i), i);
}

static void each_device(yt *t, scenario *sc, yaml_node_t *n, int i)
{
    sc_device *d = &sc->devices[i];
    memset(d, 0, sizeof(*d));
    snprintf(d->type, sizeof(d->type), "disk");
    snprintf(d->backing, sizeof(d->backing), "memory");
    d->size = 64ull << 20;
    d->block_size = 512;
    sc->n_devices = i + 1;
    if (yt_map(t, n, device_pair, d, "a device") && !d->name[0])
        yt_error(t, n, "a device needs a name");
    for (int k = 0; k < i; k++)
        if (d->name[0] && !strcmp(sc->devices[k].name, d->name))
            yt_error(t, n, "device name '%s' is used twice", d->name);
    if (d->size % d->block_size) yt_error(t, n, "size is not a multiple of block_size");
    if (!d->iscsi && (d->iqn[0] || d->portal[0] || d->chap_user[0] || d->n_initiators))
        yt_error(t, n, "iqn, portal, chap and initiators need export: iscsi");
}

static void each_rule(yt *t, scenario *sc, yaml_node_t *n, int i)
{
    parse_rule(t, sc, n, &sc->rules[i]);
    sc->n_rules = i + 1;
}

static void each_step(yt *t, scenario *sc, yaml_node_t *n, int i)
{
    sc_step *s = &sc->steps[i];
    memset(s, 0, sizeof(*s));
    s->timeout_s = 60;
    s->line = (int)n->start_mark.line + 1;
    sc->n_steps = i + 1;
    step_ctx c = {sc, s, n};
    s->kind = (sc_kind)-1;
    if (!yt_map(t, n, step_pair, &c, "a step")) return;
    if ((int)s->kind < 0)
        yt_error(t, n,
                 "a step needs run, add_rule, remove_rule, queue_ua, set_state, set_capacity, "
                 "offline, online, load, unload or sleep_ms");
    if (s->kind != SC_RUN && (s->expect_exit_set || s->expect_stdout || s->expect_stderr))
        yt_error(t, n, "expect goes with run");
    if (s->kind == SC_SET_CAPACITY && !s->size) yt_error(t, n, "set_capacity needs a size");
    if (s->kind >= SC_REMOVE_RULE && s->kind <= SC_UNLOAD) {
        bool known = false;
        for (int k = 0; k < sc->n_devices; k++) known |= !strcmp(sc->devices[k].name, s->device);
        if (!known) yt_error(t, n, "no device named '%s'", s->device);
    }
}

static void each_expect(yt *t, scenario *sc, yaml_node_t *n, int i)
{
    sc_trace_expect *e = &sc->expects[i];
    memset(e, 0, sizeof(*e));
    e->status = -1;
    e->count = e->min = e->max = -1;
    e->line = (int)n->start_mark.line + 1;
    sc->n_expects = i + 1;
    if (!yt_map(t, n, trace_pair, e, "expect_trace")) return;
    if (e->after >= i + 1)
        yt_error(t, n, "after names expectation %d, which is not an earlier one", e->after);
    if (e->count < 0 && e->min < 0 && e->max < 0)
        yt_error(t, n, "expect_trace needs count, min or max");
}

typedef struct top_ctx {
    scenario *sc;
    yaml_node_t *devices, *rules, *steps, *expects;
} top_ctx;

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
    else
        UNKNOWN(t, k, "a scenario");
}

int sc_load(const char *path, scenario *sc, FILE *err)
{
    memset(sc, 0, sizeof(*sc));
    snprintf(sc->file, sizeof(sc->file), "%s", path);
    yt t;
    if (yt_load(&t, path, err)) return -1;
    top_ctx c = {sc, 0, 0, 0, 0};
    yaml_node_t *root = yt_root(&t);
    if (yt_map(&t, root, top_pair, &c, "a scenario")) {
        if (!sc->name[0]) yt_error(&t, root, "a scenario needs a name");
        if (!c.devices)
            yt_error(&t, root, "a scenario needs devices");
        else
            parse_list(&t, c.devices, "devices", SC_MAX, each_device, sc);
        if (c.rules) parse_list(&t, c.rules, "rules", SC_MAX, each_rule, sc);
        if (c.steps) parse_list(&t, c.steps, "steps", SC_MAX, each_step, sc);
        if (c.expects) parse_list(&t, c.expects, "expect_trace", SC_MAX, each_expect, sc);
    }
    int errors = t.errors;
    yt_free(&t);
    if (errors) sc_free(sc);
    return errors ? -1 : 0;
}

void sc_free(scenario *sc)
{
    for (int i = 0; i < sc->n_devices; i++)
        for (int k = 0; k < sc->devices[i].n_media; k++) {
            free(sc->devices[i].media[k].text);
            sc->devices[i].media[k].text = NULL;
        }
    for (int i = 0; i < sc->n_steps; i++) {
        free(sc->steps[i].run);
        free(sc->steps[i].expect_stdout);
        free(sc->steps[i].expect_stderr);
        sc->steps[i].run = sc->steps[i].expect_stdout = sc->steps[i].expect_stderr = NULL;
    }
}
