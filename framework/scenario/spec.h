/* serve --device SPEC: a device description as "key=value,key=value", the other spelling
 * of a YAML device mapping (device_keys.h): the same keys, defaults, setters and checks.
 * A list key is repeated (initiators=A,initiators=B), a mapping's keys are flattened
 * (chap.user=U,chap.password=P). */
#ifndef TH_SCENARIO_SPEC_H
#define TH_SCENARIO_SPEC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "scenario.h"

/* Older SPEC names that still work: alias -> canonical key. */
typedef struct sc_spec_alias {
    const char *alias, *key;
} sc_spec_alias;
extern const sc_spec_alias sc_spec_aliases[];
extern const size_t sc_n_spec_aliases;

/* 0, or -EINVAL with the reason in err; d is filled in either way (free its lists with
 * sc_device_clear or as part of a scenario, sc_free). */
int sc_spec_parse(const char *text, sc_device *d, char *err, size_t cap);
/* "64MiB", "1G", "4096" (K/M/G/T, KiB.., KB..); false if not a size. */
bool sc_parse_size(const char *s, uint64_t *out);

#endif
