/* ORWRITE(16): the Data-Out buffer ORed into the blocks (SBC-3), atomic like COMPARE
 * AND WRITE: the table marks it exclusive. */
#include <stdlib.h>
#include "th/be.h"
#include "disk_internal.h"

void th_disk_orwrite(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    uint64_t lba = th_cmd_lba(cmd);
    uint32_t n = th_cmd_xfer_len(cmd);
    if (!th_disk_range_ok(d, cmd, lba, n)) return;
    size_t bs = d->block_size;
    uint64_t total = (uint64_t)n * bs;
    if (!th_op_need_data_out(cmd, (size_t)total)) return;
    uint8_t *media = malloc(TH_DISK_CHUNK), *mask = malloc(TH_DISK_CHUNK);
    bool ok = media && mask;
    for (uint64_t done = 0; ok && done < total;) {
        size_t len = total - done < TH_DISK_CHUNK ? (size_t)(total - done) : TH_DISK_CHUNK;
        uint64_t off = lba * bs + done;
        ok = !d->be->ops->read(d->be, media, off, len) &&
             th_cmd_data_out_read(cmd, (size_t)done, mask, len) == len;
        for (size_t i = 0; ok && i < len; i++) media[i] |= mask[i];
        ok = ok && !d->be->ops->write(d->be, media, off, len);
        done += len;
    }
    free(media);
    free(mask);
    if (ok)
        th_cmd_ok(cmd);
    else
        th_disk_io_error(cmd, true, lba);
}
