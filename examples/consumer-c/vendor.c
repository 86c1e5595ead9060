/* The handler: the vendor opcode here, the rest delegated to th_disk_handle. */
#include "vendor.h"
#include <string.h>

const uint8_t VENDOR_FW_INFO[VENDOR_FW_INFO_LEN] = "ACME FW 01.02.03";

int vendor_dev_init(vendor_dev *v, uint64_t blocks, char *err, size_t errlen)
{
    memset(v, 0, sizeof(*v));
    th_backend *be;
    int rc = th_backend_memory_new(blocks * 512, &be, err, errlen);
    if (rc) return rc;
    th_disk_config cfg;
    th_disk_config_init(&cfg);
    cfg.vendor = "ACME";
    cfg.product = "VENDOR-DISK";
    cfg.wwn = th_wwn_from_name("consumer-c");
    rc = th_disk_new(&cfg, be, &v->disk, err, errlen);
    if (rc) th_backend_free(be); /* the disk owns the backend on success only */
    return rc;
}

void vendor_dev_free(vendor_dev *v)
{
    th_disk_free(v->disk);
    v->disk = NULL;
}

static int fw_info(th_cmd *cmd, vendor_dev *v)
{
    const uint8_t *cdb = th_cmd_cdb(cmd);
    if (th_cmd_cdb_len(cmd) < 6) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_INVALID_OPCODE);
        return 0;
    }
    if (cdb[1]) { /* reserved */
        th_cmd_invalid_field(cmd, true, 1, -1);
        return 0;
    }
    size_t n = cdb[4] < VENDOR_FW_INFO_LEN ? cdb[4] : VENDOR_FW_INFO_LEN;
    th_cmd_set_data_in_len(cmd, th_cmd_data_in_write(cmd, 0, VENDOR_FW_INFO, n));
    th_cmd_ok(cmd);
    v->fw_queries++;
    return 0;
}

int vendor_handle(th_cmd *cmd, void *arg)
{
    vendor_dev *v = arg;
    if (th_cmd_opcode(cmd) == VENDOR_OP_FW_INFO) return fw_info(cmd, v);
    return th_disk_handle(cmd, v->disk);
}
