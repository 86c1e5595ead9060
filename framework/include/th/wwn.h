/* Device identifiers: a device, a disk and a scenario name the same unit the same way. */
#ifndef TH_WWN_H
#define TH_WWN_H
#include <stdint.h>

/* Derives a NAA 3 (locally assigned) identifier from a name. */
uint64_t th_wwn_from_name(const char *name);

#endif
