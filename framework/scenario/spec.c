/* serve --device SPEC parsing: each key once (initiator= may repeat), each value checked,
 * errors as text in the spec. */
#include "spec.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const sc_spec_key sc_spec_keys[] = {
    {"name", "s0", false},
    {"type", "disk", false},
    {"capacity", "8MiB", false},
    {"early_warning", "1MiB", false},
    {"partition1", "1MiB", false},
    {"write_protect", "0", false},
    {"loaded", "1", false},
    {"export", "iscsi", false},
    {"iqn", "iqn.2026-11.org.example:s0", false},
    {"portal", "127.0.0.1:3260", false},
    {"chap_user", "u", false},
    {"chap_password", "secret", false},
    {"initiator", "iqn.2026-11.org.example:i", true},
    {"image", "tape.img", false},
    {"size", "16MiB", false},
    {"block_size", "4096", false},
    {"backing", "memory", false},
    {"workers", "2", false},
    {"lun", "1", false},
    {"spin", "0", false},
    {"hba", "3", false},
    {"target", "naa.5001405000000001", false},
    {"external", "0", false},
    {"vendor", "ACME", false},
    {"product", "Anvil", false},
    {"serial", "S0", false},
    {"wwn", "naa.3000000000000001", false},
    {NULL, NULL, false},
};

bool sc_parse_size(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s)) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    static const struct {
        const char *suffix;
        int shift;
    } units[] = {{"", 0},     {"B", 0},   {"K", 10},   {"KiB", 10}, {"M", 20},
                 {"MiB", 20}, {"G", 30},  {"GiB", 30}, {"T", 40},   {"TiB", 40},
                 {"k", 10},   {"KB", 10}, {"MB", 20},  {"GB", 30},  {"TB", 40}};
    for (size_t i = 0; !errno && i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix)) continue;
        if (v > (unsigned long long)INT64_MAX >> units[i].shift) return false;
        *out = (uint64_t)v << units[i].shift;
        return true;
    }
    return false;
}

static int bad(sc_spec *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(sc_spec *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Empty means "the default" only for the identity strings; anywhere else it is a
 * mistake that would otherwise surface late (an empty initiator after the target was
 * made). */
static bool empty_means_default(const char *k)
{
    return !strcmp(k, "vendor") || !strcmp(k, "product") || !strcmp(k, "serial");
}

static int text(sc_spec *s, const char *k, const char *v, char *dst, size_t cap)
{
    if (!*v && !empty_means_default(k)) return bad(s, "%s=: empty", k);
    if (strlen(v) >= cap) return bad(s, "%s=%.40s: longer than %zu characters", k, v, cap - 1);
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int size(sc_spec *s, const char *k, const char *v, bool zero_ok, uint64_t *out)
{
    if (!sc_parse_size(v, out) || (!zero_ok && !*out))
        return bad(s, "%s=%s: not a size%s (like 64MiB)", k, v, zero_ok ? "" : " above 0");
    return 0;
}

static int count(sc_spec *s, const char *k, const char *v, long max, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!isdigit((unsigned char)*v) || *end || errno || n > max)
        return bad(s, "%s=%s: not a number from 0 to %ld", k, v, max);
    *out = (int)n;
    return 0;
}

static int flag(sc_spec *s, const char *k, const char *v, bool *out)
{
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
        *out = true;
    else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
        *out = false;
    else
        return bad(s, "%s=%s: not 1 or 0", k, v);
    return 0;
}

static int device_key(sc_spec *s, const char *k, const char *v)
{
    uint64_t n = 0;
    int rc = 0;
    if (!strcmp(k, "name")) {
        rc = text(s, k, v, s->name, sizeof(s->name));
    } else if (!strcmp(k, "type")) {
        if (strcmp(v, "disk") && strcmp(v, "tape")) return bad(s, "type=%s: disk or tape", v);
        s->cfg.type = strcmp(v, "tape") ? TH_TYPE_DISK : TH_TYPE_TAPE;
    } else if (!strcmp(k, "size")) {
        rc = size(s, k, v, false, &s->cfg.size);
    } else if (!strcmp(k, "block_size")) {
        if (!(rc = size(s, k, v, false, &n)) && n > UINT32_MAX)
            rc = bad(s, "block_size=%s: too large", v);
        s->cfg.block_size = (uint32_t)n;
    } else if (!strcmp(k, "backing")) {
        if (strcmp(v, "memory") && strncmp(v, "file:", 5))
            return bad(s, "backing=%s: memory or file:PATH", v);
        rc = text(s, k, v, s->backing, sizeof(s->backing));
    } else if (!strcmp(k, "workers")) {
        rc = count(s, k, v, 64, &s->cfg.workers);
    } else if (!strcmp(k, "lun")) {
        rc = count(s, k, v, 255, &s->cfg.lun);
    } else if (!strcmp(k, "spin")) {
        rc = count(s, k, v, 1 << 30, &s->cfg.spin_polls);
    } else if (!strcmp(k, "hba")) {
        rc = count(s, k, v, 1 << 20, &s->cfg.hba);
    } else if (!strcmp(k, "target")) {
        rc = text(s, k, v, s->target, sizeof(s->target));
    } else if (!strcmp(k, "external")) {
        rc = flag(s, k, v, &s->cfg.external_fabric);
    } else if (!strcmp(k, "vendor")) {
        rc = text(s, k, v, s->vendor, sizeof(s->vendor));
    } else if (!strcmp(k, "product")) {
        rc = text(s, k, v, s->product, sizeof(s->product));
    } else if (!strcmp(k, "serial")) {
        rc = text(s, k, v, s->serial, sizeof(s->serial));
    } else if (!strcmp(k, "wwn")) {
        if (!th_wwn_parse(v, &s->cfg.wwn))
            return bad(s, "wwn=%s: naa. and 16 hex digits, not all zero", v);
    } else {
        return 1; /* not a device key */
    }
    return rc;
}

static int tape_or_export_key(sc_spec *s, const char *k, const char *v)
{
    if (!strcmp(k, "capacity")) return size(s, k, v, false, &s->tape.capacity);
    if (!strcmp(k, "early_warning")) return size(s, k, v, true, &s->tape.early_warning);
    if (!strcmp(k, "partition1")) return size(s, k, v, false, &s->tape.partition1);
    if (!strcmp(k, "write_protect")) return flag(s, k, v, &s->tape.write_protect);
    if (!strcmp(k, "loaded")) return flag(s, k, v, &s->tape.loaded);
    if (!strcmp(k, "image")) return text(s, k, v, s->image, sizeof(s->image));
    if (!strcmp(k, "export")) {
        if (strcmp(v, "iscsi") && strcmp(v, "loopback"))
            return bad(s, "export=%s: loopback or iscsi", v);
        s->iscsi = !strcmp(v, "iscsi");
        return 0;
    }
    if (!strcmp(k, "iqn")) return text(s, k, v, s->iqn, sizeof(s->iqn));
    if (!strcmp(k, "portal")) return text(s, k, v, s->portal, sizeof(s->portal));
    if (!strcmp(k, "chap_user")) return text(s, k, v, s->chap_user, sizeof(s->chap_user));
    if (!strcmp(k, "chap_password"))
        return text(s, k, v, s->chap_password, sizeof(s->chap_password));
    if (!strcmp(k, "initiator")) {
        if (s->n_initiators == SC_MAX_INITIATORS)
            return bad(s, "initiator=: at most %d", SC_MAX_INITIATORS);
        return text(s, k, v, s->initiators[s->n_initiators++], sizeof(s->initiators[0]));
    }
    return bad(s, "internal: key '%s' is listed but not handled", k);
}

static const sc_spec_key *spec_key(const char *name)
{
    for (const sc_spec_key *k = sc_spec_keys; k->name; k++)
        if (!strcmp(k->name, name)) return k;
    return NULL;
}

/* Checks across keys, then the configurations' pointers into s. */
static int finish(sc_spec *s)
{
    if (!s->name[0]) return bad(s, "a device needs name=");
    if (!s->chap_user[0] != !s->chap_password[0])
        return bad(s, "%s: chap_user and chap_password go together", s->name);
    if (!s->iscsi && (s->iqn[0] || s->portal[0] || s->chap_user[0] || s->n_initiators))
        return bad(s, "%s: iqn=, portal=, chap_*= and initiator= need export=iscsi", s->name);
    if (s->iscsi) s->cfg.external_fabric = true;
    s->cfg.name = s->name;
    if (s->target[0]) s->cfg.loop_target = s->target;
    s->disk.block_size = s->cfg.block_size;
    s->disk.wwn = s->cfg.wwn;
    s->disk.vendor = s->vendor[0] ? s->vendor : NULL;
    s->disk.product = s->product[0] ? s->product : NULL;
    s->disk.serial = s->serial[0] ? s->serial : NULL;
    s->tape.wwn = s->cfg.wwn;
    s->tape.vendor = s->disk.vendor;
    s->tape.product = s->disk.product;
    s->tape.serial = s->disk.serial;
    return 0;
}

void sc_spec_bind(sc_spec *s, const th_ctx *ctx)
{
    if (!s->cfg.wwn) s->cfg.wwn = th_device_wwn_for(ctx, s->name); /* wwn= pins it */
    s->disk.wwn = s->cfg.wwn;
    s->tape.wwn = s->cfg.wwn;
}

int sc_spec_parse(const char *spec, sc_spec *s)
{
    memset(s, 0, sizeof(*s));
    th_device_config_init(&s->cfg);
    th_disk_config_init(&s->disk);
    th_tape_config_init(&s->tape);
    snprintf(s->backing, sizeof(s->backing), "memory");
    s->cfg.size = 64ull << 20;
    char *copy = strdup(spec), *save = NULL;
    if (!copy) return bad(s, "out of memory");
    unsigned long long seen = 0; /* one bit per key of sc_spec_keys */
    int rc = 0;
    for (char *kv = strtok_r(copy, ",", &save); kv && !rc; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            rc = bad(s, "'%s' is not key=value", kv);
            break;
        }
        *eq = 0;
        const char *k = kv, *v = eq + 1;
        const sc_spec_key *key = spec_key(k);
        if (!key) {
            rc = bad(s, "unknown key '%s'", k);
            break;
        }
        unsigned long long bit = 1ull << (key - sc_spec_keys);
        if ((seen & bit) && !key->repeatable) {
            rc = bad(s, "key '%s' repeated", k);
            break;
        }
        seen |= bit;
        rc = device_key(s, k, v);
        if (rc == 1) rc = tape_or_export_key(s, k, v);
    }
    free(copy);
    return rc ? rc : finish(s);
}
