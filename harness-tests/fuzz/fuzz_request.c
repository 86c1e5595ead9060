/* The control channel's request lines and serve's --device SPEC strings: the first byte
 * chooses which; the rest is the line. Requests are parsed against a model of two live
 * devices (a disk d0 and a tape t0), as the server does. A refusal must say why. */
#include <stdlib.h>
#include <string.h>
#include "scenario/request.h"
#include "scenario/scenario.h"
#include "scenario/device_keys.h"
#include "scenario/spec.h"

/* Built afresh for each input: an add_device request adds to it. */
static scenario *model(void *arg)
{
    scenario *live = arg;
    sc_device *d = sc_devices_add(live);
    if (!d) return NULL;
    snprintf(d->name, sizeof(d->name), "d0");
    snprintf(d->type, sizeof(d->type), "disk");
    sc_device *t = sc_devices_add(live);
    if (!t) return NULL;
    snprintf(t->name, sizeof(t->name), "t0");
    snprintf(t->type, sizeof(t->type), "tape");
    return live;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size) return 0;
    char err[4096];
    err[0] = 0;
    const char *line = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        char *text = malloc(len + 1); /* a SPEC is a C string */
        if (!text) return 0;
        memcpy(text, line, len);
        text[len] = 0;
        sc_device d;
        memset(&d, 0, sizeof(d));
        if (sc_spec_parse(text, &d, err, sizeof(err)) && !err[0]) abort();
        sc_device_clear(&d);
        free(text);
    } else {
        scenario live;
        memset(&live, 0, sizeof(live));
        sc_request rq;
        int rc = sc_request_parse(line, len, model, &live, &rq, err, sizeof(err));
        if (rc && !err[0]) abort();
        sc_request_free(&rq);
        sc_model_free(&live);
    }
    return 0;
}
