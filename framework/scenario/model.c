/* The scenario model's storage: lists that grow with the data (devices, rules, steps,
 * expectations, a tape's media records), their copies and their release. What a list may
 * hold is the parser's business; how many is only the memory's. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "device_keys.h"
#include "parse_internal.h"
#include "scenario.h"

/* Room for one more elem-sized item in *arr (n used, *cap allocated), zeroed; NULL when
 * out of memory or when the count would overflow an int. Doubling keeps a list of n
 * items at O(n) copies in all. */
static void *grow(void *arr, int *cap, int n, size_t elem)
{
    void **p = arr;
    if (n == INT_MAX) return NULL;
    if (n >= *cap) {
        size_t c = *cap ? (size_t)*cap * 2 : 8;
        if (c > INT_MAX) c = INT_MAX;
        if (c > SIZE_MAX / elem) return NULL;
        void *q = realloc(*p, c * elem);
        if (!q) return NULL;
        *p = q;
        *cap = (int)c;
    }
    char *item = (char *)*p + (size_t)n * elem;
    memset(item, 0, elem);
    return item;
}

#define ADD(list, n, cap) (grow(&(list), &(cap), (n), sizeof(*(list))) ? &(list)[(n)++] : NULL)

sc_device *sc_devices_add(scenario *sc)
{
    return ADD(sc->devices, sc->n_devices, sc->cap_devices);
}

sc_rule *sc_rules_add(scenario *sc)
{
    return ADD(sc->rules, sc->n_rules, sc->cap_rules);
}

sc_step *sc_steps_add(scenario *sc)
{
    return ADD(sc->steps, sc->n_steps, sc->cap_steps);
}

sc_trace_expect *sc_expects_add(scenario *sc)
{
    return ADD(sc->expects, sc->n_expects, sc->cap_expects);
}

int sc_device_media_add(sc_device *d, const struct sc_media *m)
{
    struct sc_media *slot = ADD(d->media, d->n_media, d->cap_media);
    if (!slot) return -ENOMEM;
    *slot = *m;
    return 0;
}

int sc_device_initiator_add(sc_device *d, const char *iqn)
{
    char *copy = strdup(iqn);
    char **slot = copy ? ADD(d->initiators, d->n_initiators, d->cap_initiators) : NULL;
    if (!slot) {
        free(copy);
        return -ENOMEM;
    }
    *slot = copy;
    return 0;
}

int sc_device_copy(sc_device *dst, const sc_device *src)
{
    *dst = *src;
    dst->media = NULL;
    dst->n_media = dst->cap_media = 0;
    dst->initiators = NULL;
    dst->n_initiators = dst->cap_initiators = 0;
    for (int i = 0; i < src->n_initiators; i++)
        if (sc_device_initiator_add(dst, src->initiators[i])) {
            sc_device_clear(dst);
            return -ENOMEM;
        }
    for (int i = 0; i < src->n_media; i++) {
        struct sc_media m = src->media[i];
        if (m.text && !(m.text = strdup(m.text))) {
            sc_device_clear(dst);
            return -ENOMEM;
        }
        if (sc_device_media_add(dst, &m)) {
            free(m.text);
            sc_device_clear(dst);
            return -ENOMEM;
        }
    }
    return 0;
}

void sc_device_clear(sc_device *d)
{
    for (int i = 0; i < d->n_media; i++) free(d->media[i].text);
    free(d->media);
    d->media = NULL;
    d->n_media = d->cap_media = 0;
    for (int i = 0; i < d->n_initiators; i++) free(d->initiators[i]);
    free(d->initiators);
    d->initiators = NULL;
    d->n_initiators = d->cap_initiators = 0;
}

/* Open addressing over device indices + 1 (0: empty), at most half full. covered: the
 * devices [0, covered) are in it. */
typedef struct sc_name_index {
    int *slot;
    size_t cap;
    int covered;
} sc_name_index;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* Where name is, or the empty slot it would go to. */
static size_t name_slot(const scenario *sc, const sc_name_index *x, const char *name)
{
    size_t i = name_hash(name) & (x->cap - 1);
    while (x->slot[i] && strcmp(sc->devices[x->slot[i] - 1].name, name)) i = (i + 1) & (x->cap - 1);
    return i;
}

/* Takes in the devices up to upto; false when out of memory (the caller scans). */
static bool name_cover(scenario *sc, int upto)
{
    sc_name_index *x = sc->by_name;
    if (x && x->covered > sc->n_devices) /* the list shrank: start over */
        memset(x->slot, 0, x->cap * sizeof(*x->slot)), x->covered = 0;
    if (!x && !(x = sc->by_name = calloc(1, sizeof(*x)))) return false;
    if ((size_t)upto * 2 >= x->cap) {
        size_t cap = x->cap ? x->cap : 64;
        while ((size_t)upto * 2 >= cap) cap *= 2;
        int *slot = calloc(cap, sizeof(*slot));
        if (!slot) return false;
        free(x->slot);
        x->slot = slot, x->cap = cap, x->covered = 0;
    }
    for (; x->covered < upto; x->covered++) {
        size_t i = name_slot(sc, x, sc->devices[x->covered].name);
        if (!x->slot[i]) x->slot[i] = x->covered + 1; /* a repeated name: the first stays */
    }
    return true;
}

int sc_devices_find(const scenario *sc, const char *name, int upto)
{
    scenario *m = (scenario *)sc; /* the index is a cache: the model's content stays as is */
    if (upto > sc->n_devices) upto = sc->n_devices;
    if (m->by_name && m->by_name->covered > upto) { /* covers more: check by a scan */
        for (int i = 0; i < upto; i++)
            if (!strcmp(sc->devices[i].name, name)) return i;
        return -1;
    }
    if (!name_cover(m, upto)) {
        for (int i = 0; i < upto; i++)
            if (!strcmp(sc->devices[i].name, name)) return i;
        return -1;
    }
    int k = m->by_name->slot[name_slot(sc, m->by_name, name)];
    return k ? k - 1 : -1;
}

const sc_device *sc_find_device(const scenario *sc, const char *name)
{
    int i = sc_devices_find(sc, name, sc->n_devices);
    return i < 0 ? NULL : &sc->devices[i];
}

void sc_model_free(scenario *sc)
{
    if (sc->by_name) free(sc->by_name->slot);
    free(sc->by_name);
    sc->by_name = NULL;
    for (int i = 0; i < sc->n_devices; i++) sc_device_clear(&sc->devices[i]);
    for (int i = 0; i < sc->n_rules; i++) sc_rule_clear(&sc->rules[i]);
    for (int i = 0; i < sc->n_steps; i++) {
        sc_rule_clear(&sc->steps[i].rule);
        free(sc->steps[i].run);
        free(sc->steps[i].expect_stdout);
        free(sc->steps[i].expect_stderr);
    }
    free(sc->devices);
    free(sc->rules);
    free(sc->steps);
    free(sc->expects);
    sc->devices = NULL, sc->rules = NULL, sc->steps = NULL, sc->expects = NULL;
    sc->n_devices = sc->n_rules = sc->n_steps = sc->n_expects = 0;
    sc->cap_devices = sc->cap_rules = sc->cap_steps = sc->cap_expects = 0;
}
