/* Identity and parameters: INQUIRY, REQUEST SENSE, READ BLOCK LIMITS, MODE SENSE/SELECT
 * (block descriptor, pages 0Fh and 10h), REPORT DENSITY SUPPORT, LOG SENSE, PREVENT. */
#include <string.h>
#include "th/be.h"
#include "tape_internal.h"

#define MAX_BLOCK 0x400000u /* 4 MiB: within the default data area of a device */

void tape_tur(void *arg, th_cmd *cmd)
{
    (void)arg;
    th_cmd_ok(cmd);
}

void tape_inquiry(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    th_inquiry(cmd, &t->id, NULL, 0, NULL, t);
}

void tape_request_sense(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    th_sense s = t->loaded ? th_sense_make(TH_KEY_NO_SENSE, TH_ASC_NONE)
                           : th_sense_make(TH_KEY_NOT_READY, TH_ASC_MEDIUM_NOT_PRESENT);
    s.descriptor = c[1] & 1;
    uint8_t b[TH_SENSE_MAX];
    th_respond_data(cmd, b, th_sense_encode(&s, b, sizeof(b)), c[4]);
}

void tape_read_block_limits(void *arg, th_cmd *cmd)
{
    (void)arg;
    uint8_t b[6] = {0};
    th_put_be24(b + 1, MAX_BLOCK);
    th_put_be16(b + 4, 1);
    th_respond_data(cmd, b, 6, 6);
}

enum { PC_CURRENT, PC_CHANGEABLE, PC_DEFAULT, PC_SAVED };

static size_t build_page(th_tape *t, uint8_t code, int pc, uint8_t *p)
{
    memset(p, 0, 16);
    p[0] = code;
    p[1] = 0x0e;
    if (code == 0x0f) { /* data compression */
        if (pc == PC_CHANGEABLE) {
            p[2] = 0x80; /* DCE */
            return 16;
        }
        p[2] = (uint8_t)(0x40 | (pc == PC_CURRENT && t->compression ? 0x80 : 0)); /* DCC */
        p[3] = 0x80;                                                              /* DDE */
        th_put_be32(p + 4, 1);
        th_put_be32(p + 8, 1);
        return 16;
    }
    if (code == 0x11) { /* medium partition: sizes in MB */
        p[1] = 10;
        if (pc == PC_CHANGEABLE) {
            p[3] = 0xff;
            p[4] = 0x20; /* IDP */
            p[8] = p[9] = p[10] = p[11] = 0xff;
            return 12;
        }
        p[2] = 1;                            /* maximum additional partitions */
        p[3] = (uint8_t)(t->partitions - 1); /* additional partitions defined */
        p[4] = 0x20 | 0x10;                  /* IDP, sizes in MB (PSUM 10b) */
        p[5] = 0x03;                         /* medium format recognition */
        uint64_t p0 = t->active ? t->parked.capacity : t->capacity;
        uint64_t p1 = t->active ? t->capacity : t->parked.capacity;
        th_put_be16(p + 8, (uint16_t)(p0 >> 20));
        th_put_be16(p + 10, (uint16_t)(p1 >> 20));
        return 12;
    }
    if (code == 0x10) { /* device configuration */
        if (pc == PC_CHANGEABLE) return 16;
        p[8] = 0x40;  /* BIS */
        p[10] = 0x18; /* EEG, SEW: early warning is reported */
        p[14] = 1;
        return 16;
    }
    return 0;
}

void tape_mode_sense(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    bool ten = c[0] == 0x5a, dbd = c[1] & 0x08;
    int pc = c[2] >> 6;
    uint8_t page = c[2] & 0x3f;
    size_t alloc = ten ? th_be16(c + 7) : c[4];
    if (pc == PC_SAVED) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_SAVING_PARAMS_UNSUPPORTED);
        return;
    }
    if (c[3] && !(page == 0x3f && c[3] == 0xff)) {
        th_cmd_invalid_field(cmd, true, 3, 7);
        return;
    }
    uint8_t b[128] = {0};
    size_t hdr = ten ? 8 : 4, n = hdr;
    if (!dbd) {
        b[n] = t->density;
        th_put_be24(b + n + 5, pc == PC_CHANGEABLE ? 0xffffff : t->block_size);
        n += 8;
    }
    size_t bd = n - hdr;
    if (page == 0x3f) {
        n += build_page(t, 0x0f, pc, b + n);
        n += build_page(t, 0x10, pc, b + n);
        n += build_page(t, 0x11, pc, b + n);
    } else if (page != 0) {
        size_t l = build_page(t, page, pc, b + n);
        if (!l) {
            th_cmd_invalid_field(cmd, true, 2, 5);
            return;
        }
        n += l;
    }
    uint8_t dev = (uint8_t)((t->write_protect ? 0x80 : 0) | 0x10); /* WP, buffered mode 1 */
    if (ten) {
        th_put_be16(b, (uint16_t)(n - 2));
        b[3] = dev;
        th_put_be16(b + 6, (uint16_t)bd);
    } else {
        b[0] = (uint8_t)(n - 1);
        b[2] = dev;
        b[3] = (uint8_t)bd;
    }
    th_respond_data(cmd, b, n, alloc);
}

static void bad_param(th_cmd *cmd, size_t byte)
{
    th_cmd_invalid_field(cmd, false, (uint16_t)byte, -1);
}

void tape_mode_select(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    bool ten = c[0] == 0x55;
    size_t plen = ten ? th_be16(c + 7) : c[4], hdr = ten ? 8 : 4;
    if (c[1] & 0x01) {
        th_cmd_invalid_field(cmd, true, 1, 0);
        return;
    }
    if (plen == 0) {
        th_cmd_ok(cmd);
        return;
    }
    uint8_t b[256];
    if (plen < hdr || plen > sizeof(b) || th_cmd_data_out_read(cmd, 0, b, plen) < plen) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
        return;
    }
    size_t bd = ten ? th_be16(b + 6) : b[3], off = hdr;
    uint32_t block = t->block_size;
    bool compression = t->compression;
    if (bd) {
        if (bd != 8 || off + 8 > plen) {
            bad_param(cmd, ten ? 6 : 3);
            return;
        }
        block = th_be24(b + off + 5);
        if (block > MAX_BLOCK) {
            bad_param(cmd, off + 5);
            return;
        }
        off += 8;
    }
    while (off + 2 <= plen) {
        uint8_t code = b[off] & 0x3f;
        size_t len = (size_t)b[off + 1] + 2;
        bool known = ((code == 0x0f || code == 0x10) && len == 16) || (code == 0x11 && len >= 8);
        if (!known || off + len > plen) {
            bad_param(cmd, off);
            return;
        }
        if (code == 0x0f) compression = b[off + 2] & 0x80;
        if (code == 0x11 && b[off + 3] > (uint8_t)(t->partitions - 1)) {
            bad_param(cmd, off + 3); /* repartitioning is not emulated */
            return;
        }
        off += len;
    }
    t->block_size = block;
    t->compression = compression;
    th_cmd_ok(cmd);
}

void tape_report_density(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    uint8_t b[4 + 52] = {0};
    th_put_be16(b, sizeof(b) - 2);
    uint8_t *d = b + 4;
    d[0] = d[1] = t->density;
    d[2] = 0xa0;                                        /* WRTOK, DEFLT */
    th_put_be24(d + 5, 12725);                          /* bits per mm */
    th_put_be16(d + 8, 127);                            /* media width, 0.1 mm */
    th_put_be16(d + 10, 896);                           /* tracks */
    th_put_be32(d + 12, (uint32_t)(t->capacity >> 20)); /* capacity, MB */
    memcpy(d + 16, "LTO-CVE ", 8);
    memcpy(d + 24, "U-416   ", 8);
    memcpy(d + 32, "Ultrium 4/16T       ", 20);
    th_respond_data(cmd, b, sizeof(b), th_be16(th_cmd_cdb(cmd) + 7));
}

void tape_log_sense(void *arg, th_cmd *cmd)
{
    (void)arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    uint8_t page = c[2] & 0x3f;
    size_t alloc = th_be16(c + 7);
    uint8_t b[4 + 64 * 5] = {0};
    b[0] = page;
    if (page == 0x00) {
        b[4] = 0x00;
        b[5] = 0x2e;
        th_put_be16(b + 2, 2);
        th_respond_data(cmd, b, 6, alloc);
    } else if (page == 0x2e) { /* TapeAlert: 64 flags, all clear */
        for (int i = 0; i < 64; i++) {
            uint8_t *p = b + 4 + 5 * i;
            th_put_be16(p, (uint16_t)(i + 1));
            p[3] = 1;
        }
        th_put_be16(b + 2, 64 * 5);
        th_respond_data(cmd, b, sizeof(b), alloc);
    } else {
        th_cmd_invalid_field(cmd, true, 2, 5);
    }
}

void tape_prevent_allow(void *arg, th_cmd *cmd)
{
    ((th_tape *)arg)->prevent = th_cmd_cdb(cmd)[4] & 0x01;
    th_cmd_ok(cmd);
}

void tape_report_opcodes(void *arg, th_cmd *cmd)
{
    (void)arg;
    th_op_report_supported(&th_tape_optable, cmd);
}
