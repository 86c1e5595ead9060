/* Export a device over LIO's iSCSI fabric (iscsi_target_mod): the target of an iSCSI
 * initiator's tests. The device must have been opened with external_fabric. */
#ifndef TH_ISCSI_H
#define TH_ISCSI_H
#include "th/device.h"
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef struct th_iscsi_opts {
    const char *iqn;    /* NULL: iqn.2026-11.org.tcmu-harness:<instance hex>-<device name> */
    const char *portal; /* "IP:PORT"; NULL: 127.0.0.1:3260 */
    int lun;
    /* Initiators allowed in; none: demo mode (any initiator, no ACLs). */
    const char *const *initiators;
    size_t n_initiators;
    const char *chap_user, *chap_password; /* both or neither */
} th_iscsi_opts;

typedef struct th_iscsi th_iscsi;

void th_iscsi_opts_init(th_iscsi_opts *o);
int th_iscsi_export(th_ctx *ctx, th_device *dev, const th_iscsi_opts *o, th_iscsi **out);
/* "iscsi://127.0.0.1:3260/iqn.../0" */
const char *th_iscsi_url(const th_iscsi *e);
/* Removes the LUN, the portal, ACLs, the target group and the target if nothing else
 * uses them. */
int th_iscsi_close(th_iscsi *e);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
