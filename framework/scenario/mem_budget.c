#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "mem_budget.h"

static bool own_loopback(const sc_device *d)
{
    return !d->iscsi && !d->external;
}

/* Whether devs[i] makes a target: its own, or the first of the batch to name a shared one
 * no live device uses. */
static bool makes_target(const sc_device *devs, int i, sc_target_known_fn known, void *arg)
{
    const sc_device *d = &devs[i];
    if (!own_loopback(d)) return false;
    if (!d->target[0]) return true;
    if (known && known(arg, d->target)) return false;
    for (int k = 0; k < i; k++)
        if (own_loopback(&devs[k]) && !strcmp(devs[k].target, d->target)) return false;
    return true;
}

int sc_mem_targets(const sc_device *devs, int n, sc_target_known_fn known, void *arg)
{
    int t = 0;
    for (int i = 0; i < n; i++) t += makes_target(devs, i, known, arg);
    return t;
}

uint64_t sc_mem_need(int n, int targets)
{
    return (uint64_t)n * SC_MEM_DEVICE + (uint64_t)targets * SC_MEM_TARGET;
}

int sc_mem_available(const char *meminfo, uint64_t *out)
{
    FILE *f = fopen(meminfo, "r");
    if (!f) return -errno;
    char line[128];
    int rc = -ENODATA;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long kb;
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
            *out = (uint64_t)kb * 1024u;
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

int sc_mem_check(uint64_t need, uint64_t avail, int n, int targets, char *err, size_t cap)
{
    uint64_t usable = avail > SC_MEM_RESERVE ? avail - SC_MEM_RESERVE : 0;
    if (need <= usable) return 0;
    snprintf(err, cap,
             "%d devices do not fit this machine's memory: they need about %" PRIu64
             " MB of kernel memory (%.1f MB a device, %.1f MB more for each of the %d "
             "loopback targets they make) and %" PRIu64
             " MB is available (MemAvailable, less %u MB kept for the initiator); give the "
             "machine more memory (--mem for the guest) or put devices behind shared "
             "targets (target: and lun:)",
             n, need / 1000000u, SC_MEM_DEVICE / 1e6, SC_MEM_TARGET / 1e6, targets,
             usable / 1000000u, (unsigned)(SC_MEM_RESERVE >> 20));
    return -ENOMEM;
}
