/* A TCMU device: configfs backstore, UIO ring, loopback export, teardown. */
#ifndef TH_DEVICE_H
#define TH_DEVICE_H
#include <stdbool.h>
#include <stdint.h>
#include "th/cmd.h"
#include "th/ctx.h"
#include "th/tmr.h"
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef enum { TH_TYPE_DISK = 0x00, TH_TYPE_TAPE = 0x01 } th_dev_type;
typedef enum { TH_NODE_SD, TH_NODE_SG, TH_NODE_ST, TH_NODE_NST, TH_NODE_COUNT } th_node;

/* Called from the serving thread when a TMR entry arrives, after the listed commands
 * that are still in flight were marked aborted. */
typedef void (*th_tmr_fn)(void *arg, uint8_t tmr_type, const uint16_t *ids, uint32_t n);

struct th_fake_kernel;

/* The largest LUN a device gets. LIO takes any 64-bit number (configfs lun_N) and tcm_loop
 * hands it to the SCSI layer as it is, but REPORT LUNS data and iSCSI PDUs carry a LUN in
 * SAM's 8-byte format, whose single-level flat space addressing ends at 16383: a larger
 * number is written there (the kernel's int_to_scsilun) as a LUN of another addressing
 * method, which only Linux's own decoding reads back as the same number. */
#define TH_LUN_MAX 16383

typedef struct th_device_config {
    const char *name;        /* volume name: [A-Za-z0-9_.-], at most 64 */
    int hba;                 /* configfs core/user_<hba> */
    int lun;                 /* LUN on the loopback target: 0..TH_LUN_MAX */
    uint64_t wwn;            /* NAA 3 identifier; 0: th_device_wwn_for(ctx, name) */
    const char *loop_target; /* "naa.<16 hex>" to share a target between devices; NULL: own */
    th_dev_type type;
    uint64_t size;
    uint32_t block_size;
    th_handler_fn handler;
    void *handler_arg;
    /* 0 or 1: commands in ring order on one thread; N: N workers, to which the serving
     * thread hands commands whose handler costs more than a handoff (cheaper ones it
     * runs itself, in ring order). */
    int workers;
    int cmd_time_out;     /* seconds; 0 keeps the kernel default */
    int max_data_area_mb; /* default 8: throwaway devices need little */
    /* TCMU's mailbox and command ring: this many MiB of the kernel's vmalloc memory per
     * device, allocated whole when it is configured (the kernel's default 8 made 100
     * devices take 834 MB of a 2 GiB guest, and a 1 GiB one OOM-killed the harness).
     * Default 1: 16,000 entries of a 4 KiB command, more than the data area can feed.
     * 1..8; 0: the kernel's own (a kernel before 5.19 ignores the option). */
    int cmd_ring_size_mb;
    int hw_max_sectors;   /* 0 keeps the kernel default */
    bool external_fabric; /* no loopback export: link th_device_backstore_path() yourself */
    int node_timeout_ms;  /* how long to wait for /dev nodes; default 10000 */
    /* After a batch, look for more work at most this many times before sleeping on the
     * UIO fd (a wakeup costs more than a short spin); how long to spin is learned from
     * whether spins find work (docs/scenario-format.md, `spin`); 0 disables. Default
     * 5000. */
    int spin_polls;
    th_tmr_fn on_tmr;
    void *tmr_arg;
    /* Serve this fake kernel's ring instead of the real kernel (unit tests, benchmarks). */
    struct th_fake_kernel *fake_kernel;
} th_device_config;

typedef struct th_device th_device;

void th_device_config_init(th_device_config *cfg);
/* The WWN a device of this name gets on this context unless one is pinned: unique per
 * harness instance (th_ctx_instance), so that two harnesses' "d0" are two units. Give
 * the same value to the emulation (th_disk_config.wwn), which answers VPD 0x83. */
uint64_t th_device_wwn_for(const th_ctx *ctx, const char *name);
/* Creates everything and starts serving. On failure nothing is left behind, the
 * return value is a negative errno and th_ctx_errmsg(ctx) says what failed. */
int th_device_open(th_ctx *ctx, const th_device_config *cfg, th_device **out);
/* Stops serving: in-flight commands are completed or failed. Async-signal-safe. */
void th_device_stop(th_device *dev);
/* Stops, then removes every kernel object open created. Returns 0 or the first error.
 * A command a handler deferred and still holds is failed with ABORTED COMMAND (the
 * rules engine gives its delayed and hung ones back first; one already being
 * completed is waited for); a handler must not touch a command after close. */
int th_device_close(th_device *dev);

const char *th_device_name(const th_device *dev);
const char *th_device_backstore_path(const th_device *dev);
/* "/dev/sda" and so on, or NULL when the device has no such node. */
const char *th_device_node(const th_device *dev, th_node node);
/* "H:C:T:L" of the loopback SCSI device, or NULL. */
const char *th_device_scsi_address(const th_device *dev);
/* The context's last error (th_ctx_errmsg of the context the device was opened with). */
const char *th_device_errmsg(const th_device *dev);
/* Counters (for tests and benchmarks). */
uint64_t th_device_cmds_served(const th_device *dev);
uint64_t th_device_kicks(const th_device *dev);
/* Commands the serving thread gave to workers (the others it ran itself: with workers,
 * a handler cheaper than a handoff runs on the serving thread). */
uint64_t th_device_cmds_handed_off(const th_device *dev);

/* Serves an abandoned backstore's ring (configfs core/user_<hba>/<backstore>) only to
 * refuse every command with LOGICAL UNIT NOT SUPPORTED, so that removing its LUNs does
 * not wait on commands nobody answers. Fails (negative errno, th_ctx_errmsg) when it
 * has no ring to serve. */
typedef struct th_refuser th_refuser;
int th_device_refuse_open(th_ctx *ctx, int hba, const char *backstore, th_refuser **out);
void th_device_refuse_close(th_refuser *refuser);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
