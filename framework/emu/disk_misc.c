/* Disk commands that move no user data. */
#include <string.h>
#include "th/be.h"
#include "disk_internal.h"

void th_disk_tur(void *d, th_cmd *cmd)
{
    (void)d;
    th_cmd_ok(cmd);
}

void th_disk_request_sense(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    /* No sense is kept pending between commands (autosense carries it), so this
     * reports the unit's state: stopped, or nothing to report. */
    th_sense s = atomic_load(&d->stopped)
                     ? th_sense_make(TH_KEY_NOT_READY, TH_ASC_NOT_READY_INIT_REQUIRED)
                     : th_sense_make(TH_KEY_NO_SENSE, TH_ASC_NONE);
    s.descriptor = c[1] & 1;
    uint8_t buf[TH_SENSE_MAX];
    size_t n = th_sense_encode(&s, buf, sizeof(buf));
    th_respond_data(cmd, buf, n, c[4]);
}

static size_t disk_vpd(void *arg, uint8_t page, uint8_t *b, size_t cap)
{
    th_disk *d = arg;
    (void)cap;
    switch (page) {
    case 0xb0: /* block limits */
        b[3] = 0x3c;
        b[4] = 0x01; /* WSNZ */
        b[5] = TH_DISK_MAX_CAW_BLOCKS;
        th_put_be16(b + 6, 1); /* optimal transfer length granularity */
        th_put_be32(b + 8, d->max_transfer_bytes / d->block_size);
        th_put_be32(b + 20, TH_DISK_MAX_UNMAP_BLOCKS);
        th_put_be32(b + 24, TH_DISK_MAX_UNMAP_DESCS);
        th_put_be32(b + 28, 1); /* optimal unmap granularity */
        th_put_be64(b + 36, TH_DISK_MAX_WS_BLOCKS);
        th_put_be32(b + 44, th_disk_max_atomic(d));
        th_put_be32(b + 48, 1); /* atomic alignment */
        th_put_be32(b + 52, 1); /* atomic transfer length granularity */
        return 64;
    case 0xb1: /* block device characteristics */
        b[3] = 0x3c;
        th_put_be16(b + 4, 1); /* non-rotating */
        return 64;
    case 0xb2: /* logical block provisioning */
        b[3] = 4;
        b[5] = 0xe4; /* LBPU, LBPWS, LBPWS10, LBPRZ */
        b[6] = 0x02; /* thin provisioned */
        return 8;
    }
    return 4;
}

void th_disk_inquiry(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    static const uint8_t extra[] = {0xb0, 0xb1, 0xb2};
    th_inquiry(cmd, &d->id, extra, sizeof(extra), disk_vpd, d);
}

void th_disk_read_capacity10(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    if (!(c[8] & 1) && th_be32(c + 2)) { /* an LBA without PMI is invalid */
        th_cmd_invalid_field(cmd, true, 2, 7);
        return;
    }
    uint64_t last = th_disk_blocks(d) - 1;
    uint8_t b[8];
    th_put_be32(b, last > 0xffffffffu ? 0xffffffffu : (uint32_t)last);
    th_put_be32(b + 4, d->block_size);
    th_respond_data(cmd, b, 8, 8);
}

void th_disk_read_capacity16(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    uint8_t b[32] = {0};
    th_put_be64(b, th_disk_blocks(d) - 1);
    th_put_be32(b + 8, d->block_size);
    b[14] = 0xc0; /* LBPME, LBPRZ: UNMAP works and unmapped blocks read zero */
    th_respond_data(cmd, b, 32, th_be32(c + 10));
}

void th_disk_start_stop(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    if (c[4] & 0xf0) { /* power conditions are not modelled: only START and LOEJ */
        th_cmd_ok(cmd);
        return;
    }
    if ((c[4] & 0x02) && !(c[4] & 0x01) && atomic_load(&d->prevent)) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_MEDIUM_REMOVAL_PREVENTED);
        return;
    }
    atomic_store(&d->stopped, !(c[4] & 0x01));
    th_cmd_ok(cmd);
}

void th_disk_prevent_allow(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    atomic_store(&d->prevent, th_cmd_cdb(cmd)[4] & 0x03);
    th_cmd_ok(cmd);
}

void th_disk_report_opcodes(void *arg, th_cmd *cmd)
{
    (void)arg;
    th_op_report_supported(&th_disk_optable, cmd);
}
