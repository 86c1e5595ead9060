/* Scenario devices: disks and tapes, their identity, export and media. */
#include <stdlib.h>
#include <string.h>
#include "parse_internal.h"
#include "th/wwn.h"

static const yt_key chap_keys[] = {
    {"user", YT_TEXT, "th-user"},
    {"password", YT_TEXT, "th-secret-1234"},
};
const yt_keys sc_keys_chap = YT_KEYS("chap", chap_keys);

static const yt_key device_keys[] = {
    {"name", YT_TEXT, "d0"},
    {"type", YT_TYPED, "disk"},
    {"size", YT_TYPED, "1MiB"},
    {"block_size", YT_TYPED, "512"},
    {"backing", YT_TYPED, "memory"},
    {"vendor", YT_TEXT, "ACME"},
    {"product", YT_TEXT, "Anvil"},
    {"revision", YT_TEXT, "0001"},
    {"serial", YT_TEXT, "S0"},
    {"wwn", YT_TEXT, "naa.3000000000000001"},
    {"early_warning", YT_TYPED, "64K"},
    {"export", YT_TYPED, "iscsi"},
    {"iqn", YT_TEXT, "iqn.2026-11.org.example:t"},
    {"portal", YT_TEXT, "127.0.0.1:3260"},
    {"chap", YT_MAP, "{user: u, password: p}"},
    {"initiators", YT_LIST, "[iqn.2026-11.org.example:a, iqn.2026-11.org.example:b]"},
    {"second_partition", YT_TYPED, "64K"},
    {"write_protect", YT_TYPED, "false"},
    {"loaded", YT_TYPED, "true"},
    {"image", YT_TEXT, "tape.img"},
    {"media", YT_LIST, "[record: 10, text: hi, filemark: 1]"},
    {"workers", YT_TYPED, "2"},
};
const yt_keys sc_keys_device = YT_KEYS("a device", device_keys);

static void chap_pair(yt *t, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    sc_device *d = arg;
    if (!strcmp(key, "user"))
        yt_copy(t, v, d->chap_user, sizeof(d->chap_user));
    else if (!strcmp(key, "password"))
        yt_copy(t, v, d->chap_password, sizeof(d->chap_password));
    else
        yt_unhandled(t, k, &sc_keys_chap);
}

static void parse_initiators(yt *t, yaml_node_t *v, sc_device *d)
{
    int n = yt_len(v);
    if (n < 1 || n > SC_MAX_INITIATORS) {
        yt_error(t, v, "initiators is a list of 1 to %d initiator IQNs", SC_MAX_INITIATORS);
        return;
    }
    for (int i = 0; i < n; i++) {
        yaml_node_t *item = yt_item(t, v, i);
        const char *iqn = yt_str(t, item);
        if (!iqn) continue; /* yt_str said why */
        if (!*iqn)
            yt_error(t, item, "an initiator IQN is empty");
        else if (yt_copy(t, item, d->initiators[d->n_initiators], sizeof(d->initiators[0])))
            d->n_initiators++;
    }
}

static void parse_media(yt *t, yaml_node_t *v, sc_device *d)
{
    int n = yt_len(v);
    if (n > SC_MAX) {
        yt_error(t, v, "media: at most %d items", SC_MAX);
        n = SC_MAX;
    }
    for (int i = 0; i < n; i++) {
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
    } else if (!strcmp(key, "wwn")) {
        char w[24];
        if (yt_copy(t, v, w, sizeof(w)) && !th_wwn_parse(w, &d->wwn))
            yt_error(t, v, "wwn '%s': naa. and 16 hex digits, not all zero", w);
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
        if (yt_map(t, v, &sc_keys_chap, chap_pair, d) && (!d->chap_user[0] || !d->chap_password[0]))
            yt_error(t, v, "chap needs both user and password");
    } else if (!strcmp(key, "initiators")) {
        parse_initiators(t, v, d);
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
        parse_media(t, v, d);
    } else if (!strcmp(key, "workers")) {
        if (yt_int(t, v, 0, 64, &n)) d->workers = (int)n;
    } else {
        yt_unhandled(t, k, &sc_keys_device);
    }
}

void sc_each_device(yt *t, scenario *sc, yaml_node_t *n, int i)
{
    sc_device *d = &sc->devices[i];
    memset(d, 0, sizeof(*d));
    snprintf(d->type, sizeof(d->type), "disk");
    snprintf(d->backing, sizeof(d->backing), "memory");
    d->size = 64ull << 20;
    d->block_size = 512;
    sc->n_devices = i + 1;
    if (yt_map(t, n, &sc_keys_device, device_pair, d) && !d->name[0])
        yt_error(t, n, "a device needs a name");
    for (int k = 0; k < i; k++)
        if (d->name[0] && !strcmp(sc->devices[k].name, d->name))
            yt_error(t, n, "device name '%s' is used twice", d->name);
    if (d->size % d->block_size) yt_error(t, n, "size is not a multiple of block_size");
    if (!d->iscsi && (d->iqn[0] || d->portal[0] || d->chap_user[0] || d->n_initiators))
        yt_error(t, n, "iqn, portal, chap and initiators need export: iscsi");
}
