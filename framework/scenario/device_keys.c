/* The keys of a device: one setter per kind of value, the defaults, the checks across
 * keys. Messages are "KEY: why" whatever the spelling. */
#include "device_keys.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "spec.h"
#include "th/tape.h"
#include "th/wwn.h"

#define AS_KEY(name, kind, on, flags, field, lo, hi, shape, example, yaml, sub)                    \
    {                                                                                              \
        name,                                                                                      \
        kind,                                                                                      \
        on,                                                                                        \
        flags,                                                                                     \
        offsetof(sc_device, field),                                                                \
        sizeof(((sc_device *)0)->field),                                                           \
        lo,                                                                                        \
        hi,                                                                                        \
        example,                                                                                   \
        yaml,                                                                                      \
        sub,                                                                                       \
        0},
const sc_device_key sc_chap_keys[] = {SC_CHAP_KEYS(AS_KEY)};
const size_t sc_n_chap_keys = sizeof(sc_chap_keys) / sizeof(sc_chap_keys[0]);
const sc_device_key sc_device_keys[] = {SC_DEVICE_KEYS(AS_KEY)};
const size_t sc_n_device_keys = sizeof(sc_device_keys) / sizeof(sc_device_keys[0]);

void sc_device_defaults(sc_device *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->type, sizeof(d->type), "disk");
    snprintf(d->backing, sizeof(d->backing), "memory");
    d->size = 64ull << 20;
    d->block_size = 512;
    d->hba = 1;     /* th_device_config_init's */
    d->spin = 5000; /* th_device_config_init's */
}

const sc_device_key *sc_device_key_find(const char *name, int *index)
{
    const char *dot = strchr(name, '.');
    size_t len = dot ? (size_t)(dot - name) : strlen(name);
    for (size_t i = 0; i < sc_n_device_keys; i++) {
        const sc_device_key *k = &sc_device_keys[i];
        if (strlen(k->name) != len || strncmp(k->name, name, len)) continue;
        *index = (int)i;
        if (!dot) return k->kind == SC_DK_MAP ? NULL : k; /* chap is spelled by its keys */
        if (k->kind != SC_DK_MAP) return NULL;
        for (size_t j = 0; j < sc_n_chap_keys; j++)
            if (!strcmp(sc_chap_keys[j].name, dot + 1)) return &sc_chap_keys[j];
        return NULL;
    }
    return NULL;
}

static int bad(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* 65536 -> "64KiB": the bounds of a size range as they would be written. */
static const char *size_text(unsigned long long v, char *buf, size_t cap)
{
    static const char *const units[] = {"", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (u < 4 && v && !(v & 1023)) v >>= 10, u++;
    snprintf(buf, cap, "%llu%s", v, units[u]);
    return buf;
}

typedef int (*setter)(const sc_device_key *k, void *field, const char *v, char *err, size_t cap);

static int set_text(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    if (!*v && !(k->flags & SC_KEY_EMPTY_OK)) return bad(err, cap, "%s: empty", k->name);
    if (strlen(v) >= k->cap)
        return bad(err, cap, "%s: '%.40s' is longer than %zu characters", k->name, v, k->cap - 1);
    memcpy(field, v, strlen(v) + 1);
    return 0;
}

static int set_name(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(v))
        return bad(err, cap,
                   "%s: '%.64s' has a character other than letters, digits, '_', '-', '.'", k->name,
                   v);
    return set_text(k, field, v, err, cap);
}

static int set_type(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    if (strcmp(v, "disk") && strcmp(v, "tape"))
        return bad(err, cap, "%s: '%.40s' is not disk or tape", k->name, v);
    return set_text(k, field, v, err, cap);
}

static int parse_size(const sc_device_key *k, const char *v, unsigned long long *out, char *err,
                      size_t cap)
{
    uint64_t n;
    char lo[24], hi[24];
    if (!sc_parse_size(v, &n))
        return bad(err, cap, "%s: '%.40s' is not a size (like 4096, 64MiB, 1G)", k->name, v);
    if ((long long)n < k->lo || (long long)n > k->hi)
        return bad(err, cap, "%s: %s is out of range (%s to %s)", k->name, v,
                   size_text((unsigned long long)k->lo, lo, sizeof(lo)),
                   size_text((unsigned long long)k->hi, hi, sizeof(hi)));
    *out = n;
    return 0;
}

static int set_size(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    unsigned long long n;
    int rc = parse_size(k, v, &n, err, cap);
    if (!rc) *(uint64_t *)field = n;
    return rc;
}

static int set_block(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    unsigned long long n;
    int rc = parse_size(k, v, &n, err, cap);
    if (!rc && (n & (n - 1))) rc = bad(err, cap, "%s: %s is not a power of two", k->name, v);
    if (!rc) *(uint32_t *)field = (uint32_t)n;
    return rc;
}

/* Decimal or 0x hex, no sign and no blanks (strtoll would take both); a leading zero is
 * still decimal (base 0 would make lun=010 an octal 8 and refuse 08). */
static int parse_int(const char *name, const char *v, long long lo, long long hi, long long *out,
                     char *err, size_t cap)
{
    bool hex = v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
    const char *digits = hex ? v + 2 : v;
    char *end;
    errno = 0;
    long long n = strtoll(digits, &end, hex ? 16 : 10);
    if (!isxdigit((unsigned char)*digits) || (!hex && !isdigit((unsigned char)*digits)) || *end ||
        errno)
        return bad(err, cap, "%s: '%.40s' is not an integer", name, v);
    if (n < lo || n > hi)
        return bad(err, cap, "%s: %lld is out of range (%lld to %lld)", name, n, lo, hi);
    *out = n;
    return 0;
}

static int set_int(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    long long n = 0; // set on success; gcc -O2 cannot see that bad() is nonzero
    int rc = parse_int(k->name, v, k->lo, k->hi, &n, err, cap);
    if (!rc) *(int *)field = (int)n;
    return rc;
}

/* A LUN: the bound is SAM's, not ours, so the message says whose (th/device.h). */
static int set_lun(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    int rc = set_int(k, field, v, err, cap);
    if (rc && strstr(err, "out of range"))
        snprintf(err + strlen(err), cap - strlen(err),
                 " (%lld: the largest single-level LUN of SAM's flat space addressing; the "
                 "8-byte LUN of REPORT LUNS and iSCSI writes a larger one as a LUN of another "
                 "addressing method)",
                 k->hi);
    return rc;
}

static int parse_bool(const sc_device_key *k, const char *v, bool *out, char *err, size_t cap)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
                                                                                "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcmp(v, yes[i])) return *out = true, 0;
        if (!strcmp(v, no[i])) return *out = false, 0;
    }
    return bad(err, cap, "%s: '%.40s' is not true or false", k->name, v);
}

static int set_bool(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    return parse_bool(k, v, field, err, cap);
}

static int set_not_bool(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    bool b = false; // as above
    int rc = parse_bool(k, v, &b, err, cap);
    if (!rc) *(bool *)field = !b;
    return rc;
}

static int set_wwn(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    if (!th_wwn_parse(v, field))
        return bad(err, cap, "%s: '%.40s' is not naa. and 16 hex digits, not all zero", k->name, v);
    return 0;
}

static int set_target(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    uint64_t w; /* th_device takes "naa." and 16 hex digits only (th_wwn_parse: either) */
    if (strncmp(v, "naa.", 4) || !th_wwn_parse(v, &w))
        return bad(err, cap, "%s: '%.40s' is not naa. and 16 hex digits, not all zero", k->name, v);
    return set_text(k, field, v, err, cap);
}

static int set_backing(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    if (strcmp(v, "memory") && (strncmp(v, "file:", 5) || !v[5]))
        return bad(err, cap, "%s: '%.40s' is not memory or file:PATH", k->name, v);
    return set_text(k, field, v, err, cap);
}

static int set_export(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    if (strcmp(v, "iscsi") && strcmp(v, "loopback"))
        return bad(err, cap, "%s: '%.40s' is not loopback or iscsi", k->name, v);
    *(bool *)field = !strcmp(v, "iscsi");
    return 0;
}

static int set_initiator(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    sc_device *d = (sc_device *)((char *)field - k->off);
    if (!*v) return bad(err, cap, "%s: an initiator IQN is empty", k->name);
    if (strlen(v) > SC_IQN_MAX)
        return bad(err, cap, "%s: '%.40s' is longer than %d characters (the kernel's IQN length)",
                   k->name, v, SC_IQN_MAX);
    if (sc_device_initiator_add(d, v))
        return bad(err, cap, "%s: out of memory at item %d", k->name, d->n_initiators + 1);
    return 0;
}

/* record:N (N pattern bytes), text:TEXT, filemark:N (N filemarks). */
static int set_media(const sc_device_key *k, void *field, const char *v, char *err, size_t cap)
{
    sc_device *d = (sc_device *)((char *)field - k->off);
    const char *colon = strchr(v, ':');
    size_t kl = colon ? (size_t)(colon - v) : strlen(v);
    const char *val = colon ? colon + 1 : "";
    struct sc_media m = {0};
    long long n;
    int rc = 0;
    char what[48];
    snprintf(what, sizeof(what), "%s: %.*s", k->name, (int)(kl < 12 ? kl : 12), v);
    if (kl == 6 && !strncmp(v, "record", 6)) {
        if (!(rc = parse_int(what, val, 0, 0x400000, &n, err, cap))) m.len = (uint32_t)n;
    } else if (kl == 8 && !strncmp(v, "filemark", 8)) {
        if (!(rc = parse_int(what, val, 1, 1000, &n, err, cap)))
            m.filemark = true, m.len = (uint32_t)n;
    } else if (kl == 4 && !strncmp(v, "text", 4)) {
        if (!(m.text = strdup(val))) rc = bad(err, cap, "%s: out of memory", k->name);
    } else {
        rc = bad(err, cap, "%s: an item is record: N, text: TEXT or filemark: N, not '%.*s'",
                 k->name, (int)(kl < 40 ? kl : 40), v);
    }
    if (!rc && sc_device_media_add(d, &m)) {
        free(m.text);
        rc = bad(err, cap, "%s: out of memory at item %d", k->name, d->n_media + 1);
    }
    return rc;
}

static const setter setters[SC_DK_KINDS] = {
    [SC_DK_TEXT] = set_text,     [SC_DK_NAME] = set_name,           [SC_DK_TYPE] = set_type,
    [SC_DK_SIZE] = set_size,     [SC_DK_BLOCK] = set_block,         [SC_DK_INT] = set_int,
    [SC_DK_LUN] = set_lun,       [SC_DK_BOOL] = set_bool,           [SC_DK_NOT_BOOL] = set_not_bool,
    [SC_DK_WWN] = set_wwn,       [SC_DK_TARGET] = set_target,       [SC_DK_BACKING] = set_backing,
    [SC_DK_EXPORT] = set_export, [SC_DK_INITIATOR] = set_initiator, [SC_DK_MEDIA] = set_media,
};

int sc_device_set(sc_device *d, const sc_device_key *k, const char *v, char *err, size_t cap)
{
    if (!setters[k->kind]) return bad(err, cap, "%s: takes its own keys", k->name);
    return setters[k->kind](k, (char *)d + k->off, v, err, cap);
}

static const char *type_word(unsigned on)
{
    return on == SC_ON_DISK ? "a disk" : "a tape";
}

int sc_device_check(const sc_device *d, uint64_t given, char *err, size_t cap, int *at)
{
    unsigned on = strcmp(d->type, "tape") ? SC_ON_DISK : SC_ON_TAPE;
    *at = -1;
    if (!d->name[0]) return bad(err, cap, "a device needs a name");
    for (size_t i = 0; i < sc_n_device_keys; i++) {
        const sc_device_key *k = &sc_device_keys[i];
        if (!(given >> i & 1)) continue;
        *at = (int)i;
        if (!(k->on & on))
            return bad(err, cap, "%s is for %s; '%s' is %s", k->name, type_word(k->on), d->name,
                       type_word(on));
        if ((k->flags & SC_KEY_ISCSI) && !d->iscsi)
            return bad(err, cap, "iqn, portal, chap and initiators need export: iscsi");
        if (k->kind == SC_DK_MAP && (!d->chap_user[0] || !d->chap_password[0]))
            return bad(err, cap, "chap needs both user and password");
    }
    *at = -1;
    if (d->size % d->block_size) return bad(err, cap, "size is not a multiple of block_size");
    if (on == SC_ON_TAPE && d->early_warning && d->early_warning >= d->size)
        return bad(err, cap, "early_warning must be below size (the capacity)");
    if (on == SC_ON_TAPE && d->second_partition >= d->size)
        return bad(err, cap, "second_partition must be smaller than size (the capacity)");
    return 0;
}

int sc_device_check_files(const sc_device *d, char *err, size_t cap, int *at)
{
    struct stat st;
    *at = -1;
    if (!strncmp(d->backing, "file:", 5)) {
        const char *path = d->backing + 5, *slash = strrchr(path, '/');
        sc_device_key_find("backing", at);
        if (!stat(path, &st)) {
            if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
                return bad(err, cap, "backing: %s is neither a file nor a block device", path);
        } else if (errno != ENOENT) {
            return bad(err, cap, "backing: %s: %s", path, strerror(errno));
        } else if (slash) { /* made when the device is built: its directory must be there */
            char dir[sizeof(d->backing)];
            snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
            if (stat(dir, &st) || !S_ISDIR(st.st_mode))
                return bad(err, cap, "backing: %s cannot be made: %s is no directory", path, dir);
        }
    }
    if (!strcmp(d->type, "tape") && d->image[0]) {
        /* Loaded into a tape of the declared size, so an image that does not fit is
         * refused here too; then dropped (the device loads it again when built). */
        th_tape_config tc;
        th_tape *t;
        char why[300];
        sc_device_key_find("image", at);
        sc_tape_config(d, 1, &tc);
        int rc = th_tape_new(&tc, &t, why, sizeof(why));
        if (!rc) {
            rc = th_tape_load_image(t, d->image, why, sizeof(why));
            th_tape_free(t);
        }
        if (rc) {
            snprintf(err, cap, "image: %s", why);
            return rc;
        }
    }
    *at = -1;
    return 0;
}
