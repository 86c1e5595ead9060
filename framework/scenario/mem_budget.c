#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mem_budget.h"

bool sc_mem_target_name(const sc_device *d, uint64_t wwn, char out[40])
{
    if (d->iscsi || d->external) return false;
    if (d->target[0])
        snprintf(out, 40, "%s", d->target);
    else
        snprintf(out, 40, "naa.%016llx", (unsigned long long)wwn); /* as device.c names it */
    return true;
}

typedef struct named {
    const char *name;
    bool live;
} named;

/* By name, the live entries of a name first. */
static int by_name(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (int)y->live - (int)x->live;
}

int sc_mem_targets(const char *const *batch, int n, const char *const *live, int n_live)
{
    named *all = malloc(((size_t)n + (size_t)n_live + 1) * sizeof(*all));
    if (!all) return n; /* no memory to sort: at most one target a device */
    size_t k = 0;
    for (int i = 0; i < n_live; i++)
        if (live[i]) all[k++] = (named){live[i], true};
    for (int i = 0; i < n; i++)
        if (batch[i]) all[k++] = (named){batch[i], false};
    qsort(all, k, sizeof(*all), by_name);
    int targets = 0;
    for (size_t i = 0; i < k; i++)
        if ((i == 0 || strcmp(all[i].name, all[i - 1].name)) && !all[i].live) targets++;
    free(all);
    return targets;
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
