/* What the session tells about its devices: {dev.field} values and JSON objects. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "session_internal.h"

/* A field's value in buf: -ENODATA when the device has none (no kernel node, no export). */
static int field_locked(sc_live *d, const char *f, char *buf, size_t cap)
{
    static const struct {
        const char *name;
        th_node node;
    } nodes[] = {{"sg", TH_NODE_SG}, {"sd", TH_NODE_SD}, {"st", TH_NODE_ST}, {"nst", TH_NODE_NST}};
    const char *v = NULL;
    int n = -1;
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
        if (!strcmp(f, nodes[i].name)) v = d->dev ? th_device_node(d->dev, nodes[i].node) : NULL;
    if (!strcmp(f, "backstore") && d->dev) v = th_device_backstore_path(d->dev);
    if (!strcmp(f, "address") && d->dev) v = th_device_scsi_address(d->dev);
    if (!strcmp(f, "iscsi") && d->exp) v = th_iscsi_url(d->exp);
    if (!strcmp(f, "name")) v = d->cfg.name;
    if (!strcmp(f, "type")) v = d->cfg.type;
    if (!strcmp(f, "state")) v = d->offline ? "offline" : "online";
    if (!strcmp(f, "sdname") && d->dev && (v = th_device_node(d->dev, TH_NODE_SD)))
        v = strrchr(v, '/') ? strrchr(v, '/') + 1 : v;
    if (v) n = snprintf(buf, cap, "%s", v);
    if (!strcmp(f, "size")) n = snprintf(buf, cap, "%llu", (unsigned long long)d->cfg.size);
    if (!strcmp(f, "block_size")) n = snprintf(buf, cap, "%u", d->cfg.block_size);
    if (!strcmp(f, "wwn")) n = snprintf(buf, cap, "naa.%016llx", (unsigned long long)d->wwn);
    if (n < 0) return -ENODATA;
    return (size_t)n < cap ? 0 : -ENOSPC;
}

int sc_session_field(sc_session *s, const char *dev, const char *field, char *buf, size_t cap)
{
    pthread_mutex_lock(&s->lock);
    sc_live *d = sc_session_find_locked(s, dev);
    int rc = d ? field_locked(d, field, buf, cap) : -ENOENT;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void json_str(FILE *f, const char *v)
{
    if (!v) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fprintf(f, "\\%c", *v);
        else if ((unsigned char)*v < 0x20)
            fprintf(f, "\\u%04x", *v);
        else
            fputc(*v, f);
    }
    fputc('"', f);
}

static void device_json_locked(FILE *f, sc_live *d)
{
    static const char *const text[] = {"name", "type",    "state",     "sd",    "sg", "st",
                                       "nst",  "address", "backstore", "iscsi", "wwn"};
    char v[512];
    fputc('{', f);
    for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
        fprintf(f, "%s\"%s\":", i ? "," : "", text[i]);
        json_str(f, field_locked(d, text[i], v, sizeof(v)) ? NULL : v);
    }
    fprintf(f, ",\"size\":%llu,\"block_size\":%u}", (unsigned long long)d->cfg.size,
            d->cfg.block_size);
}

/* A JSON text from write(), copied into buf. */
static int to_buf(char *mem, size_t len, char *buf, size_t cap)
{
    int rc = !mem ? -ENOMEM : len < cap ? 0 : -ENOSPC;
    if (!rc) memcpy(buf, mem, len + 1);
    free(mem);
    return rc;
}

int sc_session_device_json(sc_session *s, const char *dev, char *buf, size_t cap)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    if (!f) return -ENOMEM;
    pthread_mutex_lock(&s->lock);
    sc_live *d = sc_session_find_locked(s, dev);
    if (d) device_json_locked(f, d);
    pthread_mutex_unlock(&s->lock);
    fclose(f);
    if (!d) {
        free(mem);
        return -ENOENT;
    }
    return to_buf(mem, len, buf, cap);
}

int sc_session_rules_json(sc_session *s, const char *dev, char **json, char *err, size_t cap)
{
    size_t len = 0;
    *json = NULL;
    FILE *f = open_memstream(json, &len);
    if (!f) return -ENOMEM;
    pthread_mutex_lock(&s->lock);
    sc_live *d = sc_session_find_locked(s, dev);
    fputc('[', f);
    th_rule r;
    uint64_t fired;
    for (size_t i = 0; d && !th_rules_get(d->rules, i, &r, &fired); i++) {
        fprintf(f, "%s{\"name\":", i ? "," : "");
        json_str(f, r.name);
        fprintf(f, ",\"index\":%zu,\"fired\":%llu,\"times\":%llu,\"spent\":%s", i,
                (unsigned long long)fired, (unsigned long long)r.times,
                r.times && fired >= r.times ? "true" : "false");
        /* an lba_file rule: how many ranges (after merging), not the list itself */
        if (r.match.ranges_set) fprintf(f, ",\"ranges\":%zu", r.match.n_ranges);
        fputc('}', f);
    }
    fputc(']', f);
    pthread_mutex_unlock(&s->lock);
    fclose(f);
    if (!d) {
        free(*json);
        *json = NULL;
        snprintf(err, cap, "no device named '%s'", dev);
        return -ENOENT;
    }
    return *json ? 0 : -ENOMEM;
}

int sc_session_stats_json(sc_session *s, char **json)
{
    size_t len = 0;
    *json = NULL;
    FILE *f = open_memstream(json, &len);
    if (!f) return -ENOMEM;
    fputc('{', f);
    pthread_mutex_lock(&s->lock);
    bool first = true;
    for (int i = 0; i < s->n; i++) {
        sc_live *d = s->devs[i];
        if (!d->ready) continue;
        uint64_t fired = 0, one;
        size_t n = 0;
        th_rule r;
        for (; !th_rules_get(d->rules, n, &r, &one); n++) fired += one;
        char state[32];
        fprintf(f, "%s", first ? "" : ",");
        first = false;
        json_str(f, d->cfg.name);
        fprintf(f, ":{\"commands\":%llu,\"tmrs\":%lu,\"rules\":%zu,\"fired\":%llu,\"state\":",
                (unsigned long long)(d->dev ? th_device_cmds_served(d->dev) : 0),
                atomic_load_explicit(&d->tmrs, memory_order_relaxed), n, (unsigned long long)fired);
        json_str(f, d->offline ? "offline" : "online");
        fprintf(f, ",\"rules_state\":");
        json_str(f, th_rules_state(d->rules, state, sizeof(state)));
        fputc('}', f);
    }
    pthread_mutex_unlock(&s->lock);
    fputc('}', f);
    fclose(f);
    return *json ? 0 : -ENOMEM;
}
