/* CDB decoding by device type: SBC (disk) and SSC (tape) put different fields at the
 * same bytes of the same opcodes, so every reader of an LBA or a transfer length (the
 * emulations, the trace, rule matching, INFORMATION) asks the one table below. */
#include <string.h>
#include "th/be.h"
#include "cmd_internal.h"
#include "th/cdb.h"

typedef enum {
    F_NONE,
    F_LBA6,   /* SBC 6-byte: 21-bit LBA, length 0 means 256 */
    F_LBA10,  /* LBA at 2-5, 16-bit length at 7 */
    F_LBA12,  /* LBA at 2-5, 32-bit length at 6 */
    F_LBA16,  /* LBA at 2-9, 32-bit length at 10 */
    F_CAW,    /* COMPARE AND WRITE: LBA at 2-9, 8-bit length at 13 */
    F_ATOMIC, /* WRITE ATOMIC(16): a 16-bit length after the ATOMIC BOUNDARY */
    F_SSC6,   /* SSC READ/WRITE(6) and friends: FIXED in byte 1 bit 0, 24-bit length at
                 2-4 counting blocks when FIXED, bytes when not; no LBA */
    F_SPACE6, /* SSC SPACE(6): CODE in byte 1 bits 0-2, signed 24-bit count at 2-4 */
} form;

typedef struct form_row {
    uint8_t op;
    uint8_t form; /* form */
    uint8_t min_len;
} form_row;

static const form_row sbc_rows[] = {
    {0x08, F_LBA6, 6},   {0x0a, F_LBA6, 6},   {0x28, F_LBA10, 10},  {0x2a, F_LBA10, 10},
    {0x2e, F_LBA10, 10}, {0x2f, F_LBA10, 10}, {0x34, F_LBA10, 10},  {0x35, F_LBA10, 10},
    {0x41, F_LBA10, 10}, {0xa8, F_LBA12, 12}, {0xaa, F_LBA12, 12},  {0xae, F_LBA12, 12},
    {0xaf, F_LBA12, 12}, {0x88, F_LBA16, 16}, {0x8a, F_LBA16, 16},  {0x8b, F_LBA16, 16},
    {0x8e, F_LBA16, 16}, {0x8f, F_LBA16, 16}, {0x90, F_LBA16, 16},  {0x91, F_LBA16, 16},
    {0x93, F_LBA16, 16}, {0x89, F_CAW, 16},   {0x9c, F_ATOMIC, 16},
};

/* SSC-3: READ(6) 0x08, READ REVERSE(6) 0x0f, WRITE(6) 0x0a, VERIFY(6) 0x13. SPACE(6)
 * 0x11 has a count (its INFORMATION with FM/EOM is the count not spaced); LOCATE carries
 * positions, not LBAs or transfers: no fields. SPACE(16) is not in the emulation's table. */
static const form_row ssc_rows[] = {
    {0x08, F_SSC6, 6}, {0x0a, F_SSC6, 6}, {0x0f, F_SSC6, 6}, {0x13, F_SSC6, 6}, {0x11, F_SPACE6, 6},
};

static const form_row *row_of(th_cdb_kind kind, uint8_t op)
{
    const form_row *rows = kind == TH_CDB_TAPE ? ssc_rows : sbc_rows;
    size_t n = kind == TH_CDB_TAPE ? sizeof(ssc_rows) / sizeof(ssc_rows[0])
                                   : sizeof(sbc_rows) / sizeof(sbc_rows[0]);
    for (size_t i = 0; i < n; i++)
        if (rows[i].op == op) return &rows[i];
    return NULL;
}

int th_cdb_decode(th_cdb_kind kind, const uint8_t *c, size_t len, th_cdb_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!len) return -1;
    out->opcode = c[0];
    const form_row *r = row_of(kind, c[0]);
    /* A CDB shorter than its form has no fields to read (the table lookup refuses it). */
    if (!r || len < r->min_len) return 0;
    out->unit = TH_XFER_BLOCKS;
    out->has_lba = true;
    switch ((form)r->form) {
    case F_LBA6:
        out->lba = th_be24(c + 1) & 0x1fffff;
        out->xfer_len = c[4] ? c[4] : 256;
        break;
    case F_LBA10:
        out->lba = th_be32(c + 2);
        out->xfer_len = th_be16(c + 7);
        break;
    case F_LBA12:
        out->lba = th_be32(c + 2);
        out->xfer_len = th_be32(c + 6);
        break;
    case F_LBA16:
        out->lba = th_be64(c + 2);
        out->xfer_len = th_be32(c + 10);
        break;
    case F_CAW:
        out->lba = th_be64(c + 2);
        out->xfer_len = c[13];
        break;
    case F_ATOMIC:
        out->lba = th_be64(c + 2);
        out->xfer_len = th_be16(c + 12);
        break;
    case F_SSC6:
        out->has_lba = false;
        out->fixed = c[1] & 1;
        out->unit = out->fixed ? TH_XFER_BLOCKS : TH_XFER_BYTES;
        out->xfer_len = th_be24(c + 2);
        break;
    case F_SPACE6: {
        out->has_lba = false;
        /* CODE 3 (end of data) has no count; the others space backwards when negative. */
        if ((c[1] & 0x07) == 3) {
            out->unit = TH_XFER_NONE;
            break;
        }
        uint32_t raw = th_be24(c + 2);
        out->unit = TH_XFER_COUNT;
        out->xfer_len = raw & 0x800000u ? 0x1000000u - raw : raw;
        break;
    }
    default:
        out->has_lba = false;
        out->unit = TH_XFER_NONE;
        break;
    }
    return 0;
}

uint64_t th_cdb_last_lba(const th_cdb_info *in)
{
    if (!in->xfer_len) return in->lba;
    uint64_t n = in->xfer_len - 1;
    return in->lba > UINT64_MAX - n ? UINT64_MAX : in->lba + n;
}

uint64_t th_cmd_lba(const th_cmd *cmd)
{
    th_cdb_info in;
    th_cdb_decode(TH_CDB_DISK, cmd->cdb, cmd->cdb_len, &in);
    return in.lba;
}

uint32_t th_cmd_xfer_len(const th_cmd *cmd)
{
    th_cdb_info in;
    th_cdb_decode(TH_CDB_DISK, cmd->cdb, cmd->cdb_len, &in);
    return in.xfer_len;
}

uint16_t th_cmd_service_action(const th_cmd *cmd)
{
    const uint8_t *c = cmd->cdb;
    switch (c[0]) {
    case 0x7f:
        return cmd->cdb_len >= 10 ? th_be16(c + 8) : 0;
    case 0x48:
    case 0x5e:
    case 0x5f:
    case 0x83:
    case 0x84:
    case 0x9e:
    case 0x9f:
    case 0xa3:
    case 0xa4:
        return c[1] & 0x1f;
    default:
        return 0;
    }
}
