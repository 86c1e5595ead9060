/* Device identifiers: a device, a disk and a scenario name the same unit the same way. */
#ifndef TH_WWN_H
#define TH_WWN_H
#include <stdbool.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* Derives a NAA 3 (locally assigned) identifier from a name (emulation defaults). */
uint64_t th_wwn_from_name(const char *name);
/* The identifier of device `name` of harness instance `instance` (th_ctx_instance):
 * two harnesses that both serve a "d0" must not show one unit to multipath. The one
 * derivation the device, scenario and serve layers use for an unpinned WWN. */
uint64_t th_wwn_for(uint32_t instance, const char *name);
/* "naa.<16 hex>" or "<16 hex>", not zero; false otherwise. */
bool th_wwn_parse(const char *s, uint64_t *out);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
