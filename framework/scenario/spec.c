/* serve --device SPEC parsing: split into key=value, each key once (a list key may
 * repeat), values and checks by device_keys.c. */
#include "spec.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "device_keys.h"

const sc_spec_alias sc_spec_aliases[] = {
    {"capacity", "size"},        {"partition1", "second_partition"},
    {"chap_user", "chap.user"},  {"chap_password", "chap.password"},
    {"initiator", "initiators"},
};
const size_t sc_n_spec_aliases = sizeof(sc_spec_aliases) / sizeof(sc_spec_aliases[0]);

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

static const char *canonical(const char *k)
{
    for (size_t i = 0; i < sc_n_spec_aliases; i++)
        if (!strcmp(sc_spec_aliases[i].alias, k)) return sc_spec_aliases[i].key;
    return k;
}

static bool is_list(const sc_device_key *k)
{
    return k->kind == SC_DK_INITIATOR || k->kind == SC_DK_MEDIA;
}

/* One key=value; given/given_sub track repeats (a sub-key by its index). */
static int one(sc_device *d, char *kv, uint64_t *given, unsigned *given_sub, char *err, size_t cap)
{
    char *eq = strchr(kv, '=');
    if (!eq) {
        snprintf(err, cap, "'%.60s' is not key=value", kv);
        return -EINVAL;
    }
    *eq = 0;
    int i;
    const sc_device_key *k = sc_device_key_find(canonical(kv), &i);
    if (!k) {
        snprintf(err, cap, "unknown key '%.60s'", kv);
        return -EINVAL;
    }
    bool sub = k >= sc_chap_keys && k < sc_chap_keys + sc_n_chap_keys;
    unsigned sub_bit = sub ? 1u << (k - sc_chap_keys) : 0;
    if (sub ? (*given_sub & sub_bit) : ((*given >> i & 1) && !is_list(k))) {
        snprintf(err, cap, "key '%.60s' repeated", kv);
        return -EINVAL;
    }
    *given |= 1ull << i;
    *given_sub |= sub_bit;
    return sc_device_set(d, k, eq + 1, err, cap);
}

int sc_spec_parse(const char *spec, sc_device *d, char *err, size_t cap)
{
    sc_device_defaults(d);
    char *copy = strdup(spec), *save = NULL;
    if (!copy) {
        snprintf(err, cap, "out of memory");
        return -ENOMEM;
    }
    uint64_t given = 0;
    unsigned given_sub = 0;
    int rc = 0, at, field = 1;
    /* strtok_r would skip empty fields: "name=d0,,size=1M" and a stray comma at either end
     * were taken without a word, and so was a value lost to a comma in it. */
    for (char *kv = copy; kv && !rc; kv = save, field++) {
        save = strchr(kv, ',');
        if (save) *save++ = 0;
        if (!*kv && *spec)
            rc = -EINVAL,
            snprintf(err, cap, "field %d is empty (two commas in a row, or one at an end)", field);
        else if (*kv)
            rc = one(d, kv, &given, &given_sub, err, cap);
    }
    free(copy);
    if (!rc) rc = sc_device_check(d, given, err, cap, &at);
    return rc ? rc : sc_device_check_files(d, err, cap, &at);
}
