/* Scenario models built by hand (the live devices a request is checked against): the
 * lists grow, so items go in through sc_devices_add, and the model is released with
 * sc_free before it is built again. */
#ifndef TH_TEST_MODEL_RIG_H
#define TH_TEST_MODEL_RIG_H
#include <criterion/criterion.h>
#include <string.h>
#include "scenario/scenario.h"

static inline void rig_model_reset(scenario *m)
{
    sc_free(m);
    memset(m, 0, sizeof(*m));
}

static inline sc_device *rig_model_add(scenario *m, const char *name, const char *type)
{
    sc_device *d = sc_devices_add(m);
    cr_assert_not_null(d, "out of memory");
    snprintf(d->name, sizeof(d->name), "%s", name);
    snprintf(d->type, sizeof(d->type), "%s", type);
    return d;
}

/* An sc_request_model_fn for a model that the test keeps (requests that add no device). */
static inline scenario *rig_model_same(void *arg)
{
    return arg;
}

#endif
