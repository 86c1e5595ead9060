/* Scenario devices, the YAML spelling of device_keys.h: each value goes to the key's
 * setter, the mapping to the checks across keys; messages are located at the value. */
#include <stdlib.h>
#include <string.h>
#include "device_keys.h"
#include "parse_internal.h"

#define AS_YT(name, kind, on, flags, field, lo, hi, shape, example, yaml, sub) {name, shape, yaml},
static const yt_key chap_keys[] = {SC_CHAP_KEYS(AS_YT)};
const yt_keys sc_keys_chap = YT_KEYS("chap", chap_keys);
static const yt_key device_keys[] = {SC_DEVICE_KEYS(AS_YT)};
const yt_keys sc_keys_device = YT_KEYS("a device", device_keys);

typedef struct device_ctx {
    sc_device *d;
    uint64_t given;
    yaml_node_t *at[64]; /* each given key's node, to locate the checks' messages */
} device_ctx;

static void set(yt *t, yaml_node_t *v, sc_device *d, const sc_device_key *k, const char *text)
{
    char err[320];
    if (text && sc_device_set(d, k, text, err, sizeof(err))) yt_error(t, v, "%s", err);
}

static void chap_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    char name[40];
    int i;
    snprintf(name, sizeof(name), "chap.%s", key);
    const sc_device_key *dk = sc_device_key_find(name, &i);
    if (!dk)
        yt_unhandled(t, k, &sc_keys_chap);
    else
        set(t, v, arg, dk, yt_str(t, v));
}

/* A list: each item a value (initiators) or a one-key mapping KIND: VALUE (media). */
static void list(yt *t, yaml_node_t *v, sc_device *d, const sc_device_key *k)
{
    int n = yt_len(v);
    if (k->lo && n < k->lo) {
        yt_error(t, v, "%s is a list of at least %lld item%s", k->name, k->lo,
                 k->lo > 1 ? "s" : "");
        return;
    }
    for (int i = 0; i < n; i++) {
        yaml_node_t *it = yt_item(t, v, i), *ik, *iv;
        if (k->kind != SC_DK_MEDIA) {
            set(t, it, d, k, yt_str(t, it));
            continue;
        }
        if (!yt_single(t, it, &ik, &iv,
                       "a media item is one of record: N, text: \"...\", filemark: N"))
            continue;
        const char *kind = yt_str(t, ik), *val = kind ? yt_str(t, iv) : NULL;
        if (!val) continue; /* yt_str said why */
        size_t len = strlen(kind) + strlen(val) + 2;
        char *text = malloc(len);
        if (!text) continue;
        snprintf(text, len, "%s:%s", kind, val);
        set(t, it, d, k, text);
        free(text);
    }
}

static void device_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    device_ctx *c = arg;
    int i;
    const sc_device_key *dk = sc_device_key_find(key, &i);
    if (!dk && strcmp(key, "chap")) {
        yt_unhandled(t, k, &sc_keys_device);
        return;
    }
    c->given |= 1ull << i;
    c->at[i] = k;
    if (!strcmp(key, "chap"))
        yt_map(t, v, &sc_keys_chap, chap_pair, c->d);
    else if (dk->kind == SC_DK_INITIATOR || dk->kind == SC_DK_MEDIA)
        list(t, v, c->d, dk);
    else
        set(t, v, c->d, dk, yt_str(t, v));
}

void sc_each_device(yt *t, scenario *sc, yaml_node_t *n, int i)
{
    (void)i; /* the device goes at the end of the list: the request's model has more */
    sc_device *d = sc_devices_add(sc);
    if (!d) {
        yt_error(t, n, "out of memory for device %d", sc->n_devices + 1);
        return;
    }
    sc_device_defaults(d);
    device_ctx c = {d, 0, {0}};
    int before = t->errors;
    if (!yt_map(t, n, &sc_keys_device, device_pair, &c)) return;
    if (d->name[0] && sc_devices_find(sc, d->name, sc->n_devices - 1) >= 0)
        yt_error(t, n, "device name '%s' is used twice", d->name);
    char err[320];
    int at;
    /* The checks across keys mean something once every value was good. */
    if (t->errors == before && (sc_device_check(d, c.given, err, sizeof(err), &at) ||
                                sc_device_check_files(d, err, sizeof(err), &at)))
        yt_error(t, at >= 0 && c.at[at] ? c.at[at] : n, "%s", err);
}
