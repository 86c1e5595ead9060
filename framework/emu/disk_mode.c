/* MODE SENSE and MODE SELECT (6 and 10) for pages 01h, 08h, 0Ah and 3Fh. */
#include <string.h>
#include "th/be.h"
#include "disk_internal.h"

enum { PC_CURRENT, PC_CHANGEABLE, PC_DEFAULT, PC_SAVED };

typedef struct mode_page {
    uint8_t code;
    uint8_t len; /* whole page, header included */
} mode_page;

static const mode_page pages[] = {{0x01, 12}, {0x08, 20}, {0x0a, 12}};

/* Builds one page for a page control value; returns its length. */
static size_t build_page(th_disk *d, uint8_t code, int pc, uint8_t *p)
{
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        if (pages[i].code != code) continue;
        size_t len = pages[i].len;
        memset(p, 0, len);
        p[0] = code;
        p[1] = (uint8_t)(len - 2);
        if (pc == PC_CHANGEABLE) {
            if (code == 0x08) p[2] = 0x04; /* only WCE can change */
            return len;
        }
        bool wce = pc == PC_DEFAULT ? true : atomic_load(&d->wce);
        switch (code) {
        case 0x01:
            p[2] = 0x80; /* AWRE */
            break;
        case 0x08:
            p[2] = wce ? 0x04 : 0x00;
            th_put_be16(p + 4, 0xffff); /* disable prefetch transfer length */
            th_put_be16(p + 8, 0xffff); /* maximum prefetch */
            th_put_be16(p + 10, 0xffff);
            break;
        case 0x0a:
            p[3] = 0x10; /* unrestricted reordering */
            th_put_be16(p + 8, 0xffff);
            break;
        }
        return len;
    }
    return 0;
}

void th_disk_mode_sense(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    bool ten = c[0] == 0x5a;
    bool dbd = c[1] & 0x08, llbaa = ten && (c[1] & 0x10);
    int pc = c[2] >> 6;
    uint8_t page = c[2] & 0x3f, subpage = c[3];
    size_t alloc = ten ? th_be16(c + 7) : c[4];
    if (pc == PC_SAVED) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_SAVING_PARAMS_UNSUPPORTED);
        return;
    }
    if (subpage && !(page == 0x3f && subpage == 0xff)) {
        th_cmd_invalid_field(cmd, true, 3, 7);
        return;
    }
    uint8_t b[256] = {0};
    size_t hdr = ten ? 8 : 4, n = hdr;
    if (!dbd) {
        uint64_t blocks = th_disk_blocks(d);
        if (llbaa) {
            th_put_be64(b + n, blocks);
            th_put_be32(b + n + 12, d->block_size);
            n += 16;
        } else {
            th_put_be32(b + n, blocks > 0xffffffffu ? 0xffffffffu : (uint32_t)blocks);
            th_put_be24(b + n + 5, d->block_size);
            n += 8;
        }
    }
    size_t bd_len = n - hdr;
    if (page == 0x3f) {
        for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
            n += build_page(d, pages[i].code, pc, b + n);
    } else {
        size_t l = build_page(d, page, pc, b + n);
        if (!l) {
            th_cmd_invalid_field(cmd, true, 2, 5);
            return;
        }
        n += l;
    }
    uint8_t dev_specific = (uint8_t)((d->read_only ? 0x80 : 0) | 0x10); /* WP, DPOFUA */
    if (ten) {
        th_put_be16(b, (uint16_t)(n - 2));
        b[3] = dev_specific;
        b[4] = llbaa && !dbd ? 0x01 : 0;
        th_put_be16(b + 6, (uint16_t)bd_len);
    } else {
        b[0] = (uint8_t)(n - 1);
        b[2] = dev_specific;
        b[3] = (uint8_t)bd_len;
    }
    th_respond_data(cmd, b, n, alloc);
}

static void bad_param(th_cmd *cmd, size_t byte, int bit)
{
    th_cmd_invalid_field(cmd, false, (uint16_t)byte, bit);
}

static void mode_select_locked(th_disk *d, th_cmd *cmd)
{
    const uint8_t *c = th_cmd_cdb(cmd);
    bool ten = c[0] == 0x55;
    size_t plen = ten ? th_be16(c + 7) : c[4];
    size_t hdr = ten ? 8 : 4;
    if (!(c[1] & 0x10) || (c[1] & 0x01)) { /* PF required, SP not supported */
        th_cmd_invalid_field(cmd, true, 1, (c[1] & 0x01) ? 0 : 4);
        return;
    }
    if (plen == 0) {
        th_cmd_ok(cmd);
        return;
    }
    uint8_t b[512];
    if (plen < hdr || plen > sizeof(b) || th_cmd_data_out_read(cmd, 0, b, plen) < plen) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
        return;
    }
    size_t bd_len = ten ? th_be16(b + 6) : b[3];
    size_t off = hdr;
    if (bd_len) {
        bool long_lba = ten && (b[4] & 1);
        size_t want = long_lba ? 16 : 8;
        if (bd_len != want || off + bd_len > plen) {
            bad_param(cmd, ten ? 6 : 3, -1);
            return;
        }
        uint32_t bs = long_lba ? th_be32(b + off + 12) : th_be24(b + off + 5);
        if (bs != d->block_size) {
            bad_param(cmd, off + (long_lba ? 12 : 5), -1);
            return;
        }
        off += bd_len;
    }
    bool new_wce = atomic_load(&d->wce);
    while (off < plen) {
        if (off + 2 > plen) {
            th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
            return;
        }
        uint8_t code = b[off] & 0x3f;
        uint8_t cur[32], chg[32];
        size_t len = build_page(d, code, PC_CURRENT, cur);
        if (!len || (b[off] & 0x40)) { /* unknown page, or subpage format */
            bad_param(cmd, off, (b[off] & 0x40) ? 6 : 5);
            return;
        }
        if (b[off + 1] != len - 2) {
            bad_param(cmd, off + 1, -1);
            return;
        }
        if (off + len > plen) {
            th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
            return;
        }
        build_page(d, code, PC_CHANGEABLE, chg);
        for (size_t i = 2; i < len; i++) {
            uint8_t diff = (uint8_t)((b[off + i] ^ cur[i]) & ~chg[i]);
            if (diff) {
                int bit = 7;
                while (!(diff & (1u << bit))) bit--;
                bad_param(cmd, off + i, bit);
                return;
            }
        }
        if (code == 0x08) new_wce = (b[off + 2] & 0x04) != 0;
        off += len;
    }
    atomic_store(&d->wce, new_wce);
    th_cmd_ok(cmd);
}

void th_disk_mode_select(void *arg, th_cmd *cmd)
{
    th_disk *d = arg;
    pthread_mutex_lock(&d->lock);
    mode_select_locked(d, cmd);
    pthread_mutex_unlock(&d->lock);
}
