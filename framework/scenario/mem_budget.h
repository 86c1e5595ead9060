/* Whether a batch of devices fits the kernel's memory, judged before anything is made:
 * past MemAvailable the OOM killer ends the harness (or the initiator) mid-batch, with
 * kernel objects left behind, instead of a clear refusal. */
#ifndef TH_SCENARIO_MEM_BUDGET_H
#define TH_SCENARIO_MEM_BUDGET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "scenario.h"

/* Measured in the 1 GiB TCG guest (docs/BENCHMARKS.md, "What a device costs in memory"):
 * a device behind a shared target 1.71 MB (the 1 MiB command ring in vmalloc, 0.5 MB of
 * slab, our serving thread), a loopback target of its own 1.73 MB more (the SCSI host's
 * 1,024 request tags). Rounded up. */
#define SC_MEM_DEVICE (1800u * 1000u)
#define SC_MEM_TARGET (1800u * 1000u)
/* Left for the initiator and the tools the steps run. */
#define SC_MEM_RESERVE (64u << 20)

/* The loopback target device d (with that WWN) is exported through: the one it names, or
 * its own, named as the device layer names it. false: d has no loopback export. */
bool sc_mem_target_name(const sc_device *d, uint64_t wwn, char out[40]);
/* How many targets of batch[0..n) no live device uses yet, each counted once; NULL
 * entries (no loopback export) count for nothing. O((n + n_live) log(n + n_live)). */
int sc_mem_targets(const char *const *batch, int n, const char *const *live, int n_live);
/* Bytes of kernel memory n devices making that many targets take. */
uint64_t sc_mem_need(int n, int targets);
/* MemAvailable from a /proc/meminfo-format file, in bytes; -errno if unreadable. */
int sc_mem_available(const char *meminfo, uint64_t *out);
/* 0 if need (for n devices, targets of them new) fits avail less SC_MEM_RESERVE; else
 * -ENOMEM with the figures and what to do in err. */
int sc_mem_check(uint64_t need, uint64_t avail, int n, int targets, char *err, size_t cap);

#endif
