#ifndef TH_LOOPBACK_H
#define TH_LOOPBACK_H
#include "configfs.h"
#include "th/device.h"

typedef struct th_nodes {
    char path[TH_NODE_COUNT][64];
    char address[32];
} th_nodes;

/* Links backstore as LUN lun of loopback target `target` (naa.*), nexus first. */
int th_loop_export(th_ctx *ctx, th_objects *o, const char *target, const char *nexus, int lun,
                   const char *backstore, const char *link_name);
/* Waits for the SCSI device of that LUN and its /dev nodes. */
int th_loop_find_nodes(th_ctx *ctx, const char *target, int lun, th_dev_type type, int timeout_ms,
                       th_nodes *out);

#endif
