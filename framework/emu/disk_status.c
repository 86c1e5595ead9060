/* What the disk says about its media: GET LBA STATUS and READ DEFECT DATA. */
#include <stdlib.h>
#include <string.h>
#include "th/be.h"
#include "disk_internal.h"

#define SCAN_LIMIT (1u << 20) /* blocks examined per GET LBA STATUS */
#define MAX_DESCS  64

enum { MAPPED = 0, DEALLOCATED = 1 };

/* Unmapped blocks read as zero (LBPRZ), so an all-zero block is reported deallocated:
 * the view an initiator can check against READ. */
static int block_status(const uint8_t *b, size_t bs)
{
    for (size_t i = 0; i < bs; i++)
        if (b[i]) return MAPPED;
    return DEALLOCATED;
}

void th_disk_get_lba_status(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    uint64_t lba = th_be64(c + 2), blocks = th_disk_blocks(d);
    uint32_t alloc = th_be32(c + 10);
    if (lba >= blocks) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_LBA_OUT_OF_RANGE);
        return;
    }
    size_t bs = d->block_size, per = TH_DISK_CHUNK / bs;
    uint8_t *buf = malloc(TH_DISK_CHUNK), out[8 + MAX_DESCS * 16];
    if (!buf) {
        th_cmd_status(cmd, TH_STATUS_TASK_SET_FULL);
        return;
    }
    memset(out, 0, sizeof(out));
    uint64_t end = blocks - lba > SCAN_LIMIT ? lba + SCAN_LIMIT : blocks;
    size_t ndesc = 0, want = alloc > 8 ? (alloc - 8 + 15) / 16 : 1;
    if (want > MAX_DESCS) want = MAX_DESCS;
    int cur = -1;
    uint64_t start = lba;
    for (uint64_t at = lba; at < end && ndesc < want;) {
        uint64_t m = end - at < per ? end - at : per;
        if (d->be->ops->read(d->be, buf, at * bs, (size_t)(m * bs))) {
            free(buf);
            th_disk_io_error(cmd, false, at);
            return;
        }
        for (uint64_t k = 0; k < m && ndesc < want; k++) {
            int st = block_status(buf + k * bs, bs);
            if (cur >= 0 && st != cur) {
                uint8_t *o = out + 8 + ndesc++ * 16;
                th_put_be64(o, start);
                th_put_be32(o + 8, (uint32_t)(at + k - start));
                o[12] = (uint8_t)cur;
                start = at + k;
            }
            cur = st;
        }
        at += m;
        if (at == end && ndesc < want) { /* the extent running to the end of the scan */
            uint8_t *o = out + 8 + ndesc++ * 16;
            th_put_be64(o, start);
            th_put_be32(o + 8, (uint32_t)(end - start));
            o[12] = (uint8_t)cur;
        }
    }
    free(buf);
    th_put_be32(out, (uint32_t)(4 + ndesc * 16));
    th_respond_data(cmd, out, 8 + ndesc * 16, alloc);
}

/* An emulated medium has no defects: an empty list in the format asked for. */
void th_disk_read_defect_data(void *arg, th_cmd *cmd)
{
    (void)arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    uint8_t b[8] = {0};
    if (c[0] == 0x37) {
        b[1] = c[2] & 0x1f; /* PLISTV, GLISTV and the format echo the request */
        th_respond_data(cmd, b, 4, th_be16(c + 7));
    } else {
        b[1] = c[1] & 0x1f;
        th_respond_data(cmd, b, 8, th_be32(c + 6));
    }
}
