/* CDB decoding shared by every device type. */
#include "th/be.h"
#include "cmd_internal.h"

typedef enum { LBA_NONE, LBA_6, LBA_10, LBA_12, LBA_16, LBA_CAW, LBA_ATOMIC } lba_form;

static lba_form form_of(uint8_t op)
{
    switch (op) {
    case 0x08:
    case 0x0a:
        return LBA_6;
    case 0x28:
    case 0x2a:
    case 0x2e:
    case 0x2f:
    case 0x34:
    case 0x35:
    case 0x41:
        return LBA_10;
    case 0xa8:
    case 0xaa:
    case 0xae:
    case 0xaf:
        return LBA_12;
    case 0x88:
    case 0x8a:
    case 0x8b:
    case 0x8e:
    case 0x8f:
    case 0x90:
    case 0x91:
    case 0x93:
        return LBA_16;
    case 0x89:
        return LBA_CAW;
    case 0x9c: /* WRITE ATOMIC(16): a 16-bit length after the ATOMIC BOUNDARY */
        return LBA_ATOMIC;
    default:
        return LBA_NONE;
    }
}

uint64_t th_cmd_lba(const th_cmd *cmd)
{
    const uint8_t *c = cmd->cdb;
    switch (form_of(c[0])) {
    case LBA_6:
        return th_be24(c + 1) & 0x1fffff;
    case LBA_10:
    case LBA_12:
        return th_be32(c + 2);
    case LBA_16:
    case LBA_CAW:
    case LBA_ATOMIC:
        return th_be64(c + 2);
    default:
        return 0;
    }
}

uint32_t th_cmd_xfer_len(const th_cmd *cmd)
{
    const uint8_t *c = cmd->cdb;
    switch (form_of(c[0])) {
    case LBA_6:
        return c[4] ? c[4] : 256;
    case LBA_10:
        return th_be16(c + 7);
    case LBA_12:
        return th_be32(c + 6);
    case LBA_16:
        return th_be32(c + 10);
    case LBA_CAW:
        return c[13];
    case LBA_ATOMIC:
        return th_be16(c + 12);
    default:
        return 0;
    }
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
