/* The scenario model's storage: lists that grow with the data (devices, rules, steps,
 * expectations, a tape's media records), their copies and their release. What a list may
 * hold is the parser's business; how many is only the memory's. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "device_keys.h"
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

int sc_device_copy(sc_device *dst, const sc_device *src)
{
    *dst = *src;
    dst->media = NULL;
    dst->n_media = dst->cap_media = 0;
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
}

void sc_model_free(scenario *sc)
{
    for (int i = 0; i < sc->n_devices; i++) sc_device_clear(&sc->devices[i]);
    for (int i = 0; i < sc->n_steps; i++) {
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
