/* Disk commands that move user data. */
#include <stdlib.h>
#include <string.h>
#include "th/be.h"
#include "disk_internal.h"

/* Walks the iovecs straight into or out of the backend: no bounce buffer. */
static int iov_io(th_disk *d, const struct iovec *iov, size_t cnt, uint64_t off, size_t bytes,
                  bool write)
{
    for (size_t i = 0; i < cnt && bytes; i++) {
        size_t n = iov[i].iov_len < bytes ? iov[i].iov_len : bytes;
        int rc = write ? d->be->ops->write(d->be, iov[i].iov_base, off, n)
                       : d->be->ops->read(d->be, iov[i].iov_base, off, n);
        if (rc) return rc;
        off += n, bytes -= n;
    }
    return 0;
}

void th_disk_read(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    uint64_t lba = th_cmd_lba(cmd);
    uint32_t n = th_cmd_xfer_len(cmd);
    if (!th_disk_range_ok(d, cmd, lba, n)) return;
    size_t bytes = (size_t)n * d->block_size;
    /* The kernel may hand us less than the CDB asks for (initiator underflow). */
    if (bytes > th_cmd_data_in_cap(cmd)) bytes = th_cmd_data_in_cap(cmd);
    const struct iovec *iov;
    size_t cnt = th_cmd_data_in_iov(cmd, &iov);
    if (iov_io(d, iov, cnt, lba * d->block_size, bytes, false)) {
        th_disk_io_error(cmd, false, lba);
        return;
    }
    th_cmd_set_data_in_len(cmd, bytes);
    th_cmd_ok(cmd);
}

/* Writes the blocks; GOOD may follow only once they are where the command says they must
 * be (SBC-4): on the medium for a write with FUA, and for every write while the write
 * cache is off (WCE 0: write-through); in the cache (for the file backing, the page
 * cache, after pwrite) otherwise, until SYNCHRONIZE CACHE. The medium is the backend
 * after its flush (fdatasync for a file); a flush that fails is a write error. */
static bool do_write(th_disk *d, th_cmd *cmd, uint64_t lba, uint32_t n, bool fua)
{
    size_t bytes = (size_t)n * d->block_size;
    if (!th_op_need_data_out(cmd, bytes)) return false;
    const struct iovec *iov;
    size_t cnt = th_cmd_data_out_iov(cmd, &iov);
    if (iov_io(d, iov, cnt, lba * d->block_size, bytes, true) ||
        ((fua || !atomic_load(&d->wce)) && d->be->ops->flush(d->be))) {
        th_disk_io_error(cmd, true, lba);
        return false;
    }
    return true;
}

/* FUA: byte 1 bit 3 of WRITE(10/12/16) and WRITE ATOMIC(16); WRITE(6) has none (its byte 1
 * holds LBA bits). */
static bool fua(th_cmd *cmd)
{
    const uint8_t *c = th_cmd_cdb(cmd);
    return c[0] != 0x0a && (c[1] & 0x08);
}

void th_disk_write(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    uint64_t lba = th_cmd_lba(cmd);
    uint32_t n = th_cmd_xfer_len(cmd);
    if (!th_disk_range_ok(d, cmd, lba, n)) return;
    if (do_write(d, cmd, lba, n, fua(cmd))) th_cmd_ok(cmd);
}

/* Atomic against every other media command: the table marks it exclusive, so
 * th_disk_handle holds io_lock for writing around it. */
void th_disk_write_atomic(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    uint64_t lba = th_cmd_lba(cmd);
    uint32_t n = th_cmd_xfer_len(cmd);
    if (th_be16(c + 10)) { /* ATOMIC BOUNDARY: the Block Limits page offers none */
        th_cmd_invalid_field(cmd, true, 10, -1);
        return;
    }
    if (n > th_disk_max_atomic(d)) {
        th_cmd_invalid_field(cmd, true, 12, -1);
        return;
    }
    if (!th_disk_range_ok(d, cmd, lba, n)) return;
    if (do_write(d, cmd, lba, n, fua(cmd))) th_cmd_ok(cmd);
}

void th_disk_write_verify(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    uint64_t lba = th_cmd_lba(cmd);
    uint32_t n = th_cmd_xfer_len(cmd);
    if (!th_disk_range_ok(d, cmd, lba, n)) return;
    /* verified against the medium: written through, as with FUA */
    if (do_write(d, cmd, lba, n, true)) th_cmd_ok(cmd);
}

static void miscompare(th_cmd *cmd, uint64_t offset)
{
    th_sense s = th_sense_make(TH_KEY_MISCOMPARE, TH_ASC_MISCOMPARE_DURING_VERIFY);
    s.info_valid = true;
    s.info = offset;
    th_cmd_check_condition(cmd, &s);
}

/* Compares media [lba, lba+n) with data-out; pattern: one block repeated. Returns
 * -1 on match, the data-out offset of the first difference, or -2 on I/O error. */
static long long compare(th_disk *d, th_cmd *cmd, uint64_t lba, uint64_t n, bool pattern,
                         size_t out_off)
{
    size_t bs = d->block_size;
    uint8_t *media = malloc(TH_DISK_CHUNK), *want = malloc(TH_DISK_CHUNK);
    long long result = -1;
    if (!media || !want) {
        result = -2;
        goto out;
    }
    uint64_t total = n * bs;
    for (uint64_t done = 0; done < total && result == -1;) {
        size_t len = total - done < TH_DISK_CHUNK ? (size_t)(total - done) : TH_DISK_CHUNK;
        if (d->be->ops->read(d->be, media, lba * bs + done, len)) {
            result = -2;
            break;
        }
        size_t got = 0;
        if (pattern) {
            for (size_t k = 0; k < len; k += bs)
                got += th_cmd_data_out_read(cmd, out_off, want + k, bs);
        } else {
            got = th_cmd_data_out_read(cmd, out_off + done, want, len);
        }
        if (got < len) memset(want + got, 0, len - got); /* missing data never compares equal */
        for (size_t i = 0; i < len; i++) {
            if (media[i] != want[i] || i >= got) {
                result = (long long)(pattern ? i % bs : done + i);
                break;
            }
        }
        done += len;
    }
out:
    free(media);
    free(want);
    return result;
}

void th_disk_verify(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    uint64_t lba = th_cmd_lba(cmd);
    uint32_t n = th_cmd_xfer_len(cmd);
    uint8_t bytchk = (th_cmd_cdb(cmd)[1] >> 1) & 3;
    if (bytchk == 2) {
        th_cmd_invalid_field(cmd, true, 1, 2);
        return;
    }
    if (!th_disk_range_ok(d, cmd, lba, n)) return;
    if (bytchk == 0 || n == 0) {
        th_cmd_ok(cmd);
        return;
    }
    if (!th_op_need_data_out(cmd, bytchk == 3 ? d->block_size : (size_t)n * d->block_size)) return;
    long long r = compare(d, cmd, lba, n, bytchk == 3, 0);
    if (r == -2)
        th_disk_io_error(cmd, false, lba);
    else if (r >= 0)
        miscompare(cmd, (uint64_t)r);
    else
        th_cmd_ok(cmd);
}

void th_disk_sync_cache(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    uint64_t lba = th_cmd_lba(cmd);
    uint64_t n = th_cmd_xfer_len(cmd);
    if (!th_disk_range_ok(d, cmd, lba, n)) return;
    if (d->be->ops->flush(d->be))
        th_disk_io_error(cmd, true, lba);
    else
        th_cmd_ok(cmd);
}

/* No cache to fill: GOOD, as SBC has it for a cache without room for the blocks. */
void th_disk_prefetch(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    if (th_disk_range_ok(d, cmd, th_cmd_lba(cmd), th_cmd_xfer_len(cmd))) th_cmd_ok(cmd);
}

void th_disk_write_same(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    uint64_t lba = th_cmd_lba(cmd);
    uint32_t n = th_cmd_xfer_len(cmd);
    bool unmap = c[1] & 0x08, ndob = c[0] == 0x93 && (c[1] & 0x01);
    size_t bs = d->block_size;
    if (n == 0 || n > TH_DISK_MAX_WS_BLOCKS) { /* WSNZ: zero is not "to the end" here */
        th_cmd_invalid_field(cmd, true, c[0] == 0x41 ? 7 : 10, -1);
        return;
    }
    if (!th_disk_range_ok(d, cmd, lba, n)) return;
    uint8_t *buf = calloc(1, TH_DISK_CHUNK < bs ? bs : TH_DISK_CHUNK);
    if (!buf) {
        th_cmd_status(cmd, TH_STATUS_TASK_SET_FULL);
        return;
    }
    if (!ndob && th_cmd_data_out_read(cmd, 0, buf, bs) < bs) {
        free(buf);
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
        return;
    }
    bool zero = true;
    for (size_t i = 0; i < bs && zero; i++) zero = buf[i] == 0;
    int rc = 0;
    if (unmap && zero) {
        rc = d->be->ops->discard(d->be, lba * bs, (uint64_t)n * bs);
    } else {
        size_t per = TH_DISK_CHUNK / bs;
        for (size_t k = 1; k < per; k++) memcpy(buf + k * bs, buf, bs);
        for (uint64_t done = 0; done < n && !rc;) {
            uint64_t m = n - done < per ? n - done : per;
            rc = d->be->ops->write(d->be, buf, (lba + done) * bs, (size_t)(m * bs));
            done += m;
        }
    }
    free(buf);
    if (rc)
        th_disk_io_error(cmd, true, lba);
    else
        th_cmd_ok(cmd);
}

void th_disk_unmap(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    size_t plen = th_be16(th_cmd_cdb(cmd) + 7);
    if (plen == 0) {
        th_cmd_ok(cmd);
        return;
    }
    uint8_t b[8 + TH_DISK_MAX_UNMAP_DESCS * 16];
    size_t want = plen < sizeof(b) ? plen : sizeof(b);
    /* Every descriptor is checked against what arrived, not what the CDB announced:
     * fewer bytes than PARAMETER LIST LENGTH is a length error like fewer than 8. */
    if (plen < 8 || th_cmd_data_out_read(cmd, 0, b, want) < want) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
        return;
    }
    size_t bd_len = th_be16(b + 2);
    if (bd_len % 16 || bd_len / 16 > TH_DISK_MAX_UNMAP_DESCS || 8 + bd_len > plen) {
        th_cmd_invalid_field(cmd, false, 2, -1);
        return;
    }
    uint64_t total = 0;
    for (size_t off = 8; off < 8 + bd_len; off += 16) {
        uint64_t lba = th_be64(b + off);
        uint32_t n = th_be32(b + off + 8);
        total += n;
        if (total > TH_DISK_MAX_UNMAP_BLOCKS) {
            th_cmd_invalid_field(cmd, false, (uint16_t)(off + 8), -1);
            return;
        }
        if (!th_disk_range_ok(d, cmd, lba, n)) return;
    }
    for (size_t off = 8; off < 8 + bd_len; off += 16) {
        uint64_t lba = th_be64(b + off);
        uint32_t n = th_be32(b + off + 8);
        if (n && d->be->ops->discard(d->be, lba * d->block_size, (uint64_t)n * d->block_size)) {
            th_disk_io_error(cmd, true, lba);
            return;
        }
    }
    th_cmd_ok(cmd);
}

void th_disk_compare_and_write(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    uint64_t lba = th_cmd_lba(cmd);
    uint32_t n = th_cmd_xfer_len(cmd);
    if (n == 0) {
        /* Zero blocks is no error (SBC) - unless the initiator sent data for it: a TCMU
           device cannot report the unused Data-Out as a residual, so it refuses the
           command instead of claiming it consumed the data. */
        if (th_cmd_data_out_len(cmd)) {
            th_cmd_invalid_field(cmd, true, 13, -1);
        } else {
            th_cmd_ok(cmd);
        }
        return;
    }
    if (n > TH_DISK_MAX_CAW_BLOCKS) {
        th_cmd_invalid_field(cmd, true, 13, -1);
        return;
    }
    if (!th_disk_range_ok(d, cmd, lba, n)) return;
    size_t half = (size_t)n * d->block_size;
    if (!th_op_need_data_out(cmd, 2 * half)) return;
    /* Exclusive (table flag): compare and write are one step for every other command. */
    long long r = compare(d, cmd, lba, n, false, 0);
    if (r == -1) {
        uint8_t *buf = malloc(half);
        if (buf && th_cmd_data_out_read(cmd, half, buf, half) == half &&
            !d->be->ops->write(d->be, buf, lba * d->block_size, half))
            th_cmd_ok(cmd);
        else
            th_disk_io_error(cmd, true, lba);
        free(buf);
    } else if (r == -2) {
        th_disk_io_error(cmd, false, lba);
    } else {
        miscompare(cmd, (uint64_t)r);
    }
}
