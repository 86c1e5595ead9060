/* EXTENDED COPY (LID1) inside this disk, and RECEIVE COPY RESULTS' operating parameters
 * (SPC-4). The copy manager knows one copy target: this LU, named by an identification
 * descriptor (E4h) carrying its NAA designator; segments are block to block (02h).
 * Everything is validated before the first block moves. */
#include <stdlib.h>
#include <string.h>
#include "th/be.h"
#include "disk_internal.h"

#define HDR_LEN    16
#define CSCD_LEN   32
#define SEG_LEN    28 /* block to block: 4-byte header + DESCRIPTOR LENGTH 18h */
#define MAX_CSCD   2
#define MAX_SEGS   16
#define MAX_DESCS  (MAX_CSCD * CSCD_LEN + MAX_SEGS * SEG_LEN) /* MAXIMUM DESCRIPTOR LIST LENGTH */
#define MAX_LIST   (HDR_LEN + MAX_DESCS)
#define TYPE_B2B   0x02
#define TYPE_IDENT 0xe4

/* A parameter-list error with its field pointer, like INVALID FIELD IN PARAMETER LIST. */
static void param_error(th_cmd *cmd, uint16_t asc_ascq, uint16_t byte)
{
    th_sense s = th_sense_invalid_field(false, byte, -1);
    s.asc = (uint8_t)(asc_ascq >> 8);
    s.ascq = (uint8_t)asc_ascq;
    th_cmd_check_condition(cmd, &s);
}

/* Does this identification descriptor name this LU (NAA, 8 bytes, our WWN)? */
static bool names_us(const th_disk *d, const uint8_t *cscd)
{
    const uint8_t *des = cscd + 4;
    return (cscd[1] & 0x1f) == 0x00 && (des[1] & 0x0f) == 0x03 && des[3] == 8 &&
           th_be64(des + 4) == d->id.wwn;
}

/* Copies n blocks inside the backend, backwards when the ranges overlap that way. */
static int copy_blocks(th_disk *d, uint64_t src, uint64_t dst, uint64_t n)
{
    size_t bs = d->block_size, per = TH_DISK_CHUNK / bs;
    uint8_t *buf = malloc(TH_DISK_CHUNK);
    if (!buf) return -1;
    int rc = 0;
    bool backwards = dst > src && dst < src + n;
    for (uint64_t done = 0; done < n && !rc;) {
        uint64_t m = n - done < per ? n - done : per;
        uint64_t at = backwards ? n - done - m : done;
        rc = d->be->ops->read(d->be, buf, (src + at) * bs, (size_t)(m * bs));
        if (!rc) rc = d->be->ops->write(d->be, buf, (dst + at) * bs, (size_t)(m * bs));
        done += m;
    }
    free(buf);
    return rc;
}

void th_disk_xcopy(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    uint32_t plen = th_be32(th_cmd_cdb(cmd) + 10);
    if (plen == 0) { /* not an error (SPC-4): nothing to copy */
        th_cmd_ok(cmd);
        return;
    }
    uint8_t b[MAX_LIST];
    if (plen < HDR_LEN || th_cmd_data_out_len(cmd) < plen ||
        th_cmd_data_out_read(cmd, 0, b, plen < MAX_LIST ? plen : MAX_LIST) < HDR_LEN) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
        return;
    }
    uint8_t usage = (b[1] >> 3) & 3;
    if (usage == 1 || (usage == 3 && b[0])) { /* reserved; or "no list ID" with one */
        param_error(cmd, TH_ASC_INVALID_FIELD_IN_PARAM_LIST, usage == 1 ? 1 : 0);
        return;
    }
    uint32_t cscd_len = th_be16(b + 2), seg_len = th_be32(b + 8), inline_len = th_be32(b + 12);
    /* Over the announced list length first: that is a length error whatever it holds. */
    if ((uint64_t)cscd_len + seg_len > MAX_DESCS || plen > MAX_LIST) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
        return;
    }
    if (cscd_len % CSCD_LEN) {
        param_error(cmd, TH_ASC_INVALID_FIELD_IN_PARAM_LIST, 2);
        return;
    }
    if (cscd_len / CSCD_LEN > MAX_CSCD) {
        param_error(cmd, TH_ASC_TOO_MANY_TARGET_DESCRIPTORS, 2);
        return;
    }
    if (inline_len) { /* no inline or embedded data: no segment type that uses it */
        param_error(cmd, TH_ASC_INVALID_FIELD_IN_PARAM_LIST, 12);
        return;
    }
    if ((uint64_t)HDR_LEN + cscd_len + seg_len > plen) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
        return;
    }
    if (seg_len > MAX_SEGS * SEG_LEN) {
        param_error(cmd, TH_ASC_TOO_MANY_SEGMENT_DESCRIPTORS, 8);
        return;
    }
    size_t ncscd = cscd_len / CSCD_LEN;
    for (size_t i = 0; i < ncscd; i++) {
        const uint8_t *t = b + HDR_LEN + i * CSCD_LEN;
        if (t[0] != TYPE_IDENT) {
            param_error(cmd, TH_ASC_UNSUPPORTED_TARGET_DESCRIPTOR, (uint16_t)(t - b));
            return;
        }
        if (!names_us(d, t)) {
            th_cmd_check(cmd, TH_KEY_COPY_ABORTED, TH_ASC_COPY_TARGET_NOT_REACHABLE);
            return;
        }
    }
    struct {
        uint64_t src, dst, n;
    } segs[MAX_SEGS];
    size_t nseg = 0;
    uint64_t blocks = th_disk_blocks(d);
    for (size_t off = HDR_LEN + cscd_len; off < HDR_LEN + cscd_len + seg_len;) {
        const uint8_t *s = b + off;
        if (s[0] != TYPE_B2B) {
            param_error(cmd, TH_ASC_UNSUPPORTED_SEGMENT_DESCRIPTOR, (uint16_t)off);
            return;
        }
        if (th_be16(s + 2) != SEG_LEN - 4 || off + SEG_LEN > HDR_LEN + cscd_len + seg_len) {
            param_error(cmd, TH_ASC_INVALID_FIELD_IN_PARAM_LIST, (uint16_t)(off + 2));
            return;
        }
        if (th_be16(s + 4) >= ncscd || th_be16(s + 6) >= ncscd) { /* no such CSCD */
            th_cmd_check(cmd, TH_KEY_COPY_ABORTED, TH_ASC_UNREACHABLE_COPY_TARGET);
            return;
        }
        uint64_t n = th_be16(s + 10), src = th_be64(s + 12), dst = th_be64(s + 20);
        if (src > blocks || n > blocks - src || dst > blocks || n > blocks - dst) {
            /* COPY ABORTED with no additional sense code, as libiscsi's conformance
               suite expects of a segment beyond the copy target's capacity. */
            th_cmd_check(cmd, TH_KEY_COPY_ABORTED, TH_ASC_NONE);
            return;
        }
        segs[nseg].src = src, segs[nseg].dst = dst, segs[nseg].n = n;
        nseg++;
        off += SEG_LEN;
    }
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < nseg; i++) {
        if (copy_blocks(d, segs[i].src, segs[i].dst, segs[i].n)) {
            pthread_mutex_unlock(&d->lock);
            th_disk_io_error(cmd, true, segs[i].dst);
            return;
        }
    }
    pthread_mutex_unlock(&d->lock);
    th_cmd_ok(cmd);
}

void th_disk_receive_copy_results(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    uint8_t b[46] = {0};
    th_put_be32(b, sizeof(b) - 4);
    b[4] = 0x01; /* SNLID: list identifiers are not kept */
    th_put_be16(b + 8, MAX_CSCD);
    th_put_be16(b + 10, MAX_SEGS);
    th_put_be32(b + 12, MAX_DESCS);
    th_put_be32(b + 16, 0xffffu * d->block_size); /* one segment: 16-bit block count */
    th_put_be16(b + 36, 1);                       /* total concurrent copies */
    b[38] = 1;                                    /* maximum concurrent copies */
    b[43] = 2;                                    /* implemented descriptor type codes: */
    b[44] = TYPE_B2B;
    b[45] = TYPE_IDENT;
    th_respond_data(cmd, b, sizeof(b), th_be32(c + 10));
}
