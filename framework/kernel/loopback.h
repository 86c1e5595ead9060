#ifndef TH_LOOPBACK_H
#define TH_LOOPBACK_H
/* The loopback fabric: exporting a backstore as a LUN and finding its /dev nodes.
 * Plain parameters only: devices sit above this layer. */
#include <stdbool.h>
#include "configfs.h"

/* The /dev nodes of one SCSI device, by kind (th_node in th/device.h has the same
 * order; device.c asserts it). */
typedef enum { TH_LOOP_SD, TH_LOOP_SG, TH_LOOP_ST, TH_LOOP_NST, TH_LOOP_NODES } th_loop_node;

typedef struct th_nodes {
    char path[TH_LOOP_NODES][64];
    char address[32];
} th_nodes;

/* Links backstore as LUN lun of loopback target `target` (naa.*), nexus first. */
int th_loop_export(th_ctx *ctx, th_objects *o, const char *target, const char *nexus, int lun,
                   const char *backstore, const char *link_name);
/* Waits for the SCSI device of that LUN and its /dev nodes: sd for a disk, st and
 * nst for a tape, sg for both. */
int th_loop_find_nodes(th_ctx *ctx, const char *target, int lun, bool tape, int timeout_ms,
                       th_nodes *out);

#endif
