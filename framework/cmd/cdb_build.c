/* CDB builders; the fake-command tests and tools use them. */
#include <string.h>
#include "th/be.h"
#include "th/cdb.h"

#define CLEAR(n) memset(buf, 0, n)

size_t th_cdb_tur(uint8_t *buf)
{
    CLEAR(6);
    return 6;
}

size_t th_cdb_inquiry(uint8_t *buf, bool evpd, uint8_t page, uint16_t alloc)
{
    CLEAR(6);
    buf[0] = 0x12;
    buf[1] = evpd;
    buf[2] = page;
    th_put_be16(buf + 3, alloc);
    return 6;
}

size_t th_cdb_request_sense(uint8_t *buf, bool desc, uint8_t alloc)
{
    CLEAR(6);
    buf[0] = 0x03;
    buf[1] = desc;
    buf[4] = alloc;
    return 6;
}

size_t th_cdb_read_capacity10(uint8_t *buf)
{
    CLEAR(10);
    buf[0] = 0x25;
    return 10;
}

size_t th_cdb_read_capacity16(uint8_t *buf, uint32_t alloc)
{
    CLEAR(16);
    buf[0] = 0x9e;
    buf[1] = 0x10;
    th_put_be32(buf + 10, alloc);
    return 16;
}

size_t th_cdb_mode_sense6(uint8_t *buf, bool dbd, uint8_t pc, uint8_t page, uint8_t alloc)
{
    CLEAR(6);
    buf[0] = 0x1a;
    buf[1] = dbd ? 0x08 : 0;
    buf[2] = (uint8_t)(pc << 6 | (page & 0x3f));
    buf[4] = alloc;
    return 6;
}

size_t th_cdb_mode_sense10(uint8_t *buf, bool dbd, uint8_t pc, uint8_t page, uint16_t alloc)
{
    CLEAR(10);
    buf[0] = 0x5a;
    buf[1] = dbd ? 0x08 : 0;
    buf[2] = (uint8_t)(pc << 6 | (page & 0x3f));
    th_put_be16(buf + 7, alloc);
    return 10;
}

size_t th_cdb_mode_select6(uint8_t *buf, bool pf, bool sp, uint8_t len)
{
    CLEAR(6);
    buf[0] = 0x15;
    buf[1] = (uint8_t)((pf ? 0x10 : 0) | (sp ? 1 : 0));
    buf[4] = len;
    return 6;
}

size_t th_cdb_mode_select10(uint8_t *buf, bool pf, bool sp, uint16_t len)
{
    CLEAR(10);
    buf[0] = 0x55;
    buf[1] = (uint8_t)((pf ? 0x10 : 0) | (sp ? 1 : 0));
    th_put_be16(buf + 7, len);
    return 10;
}

static size_t rw(uint8_t *buf, int size, uint64_t lba, uint32_t blocks, const uint8_t ops[4])
{
    switch (size) {
    case 6:
        if (lba > 0x1fffff || blocks > 256 || !ops[0]) return 0;
        CLEAR(6);
        buf[0] = ops[0];
        th_put_be24(buf + 1, (uint32_t)lba);
        buf[4] = (uint8_t)blocks; /* 256 encodes as 0 */
        return 6;
    case 10:
        if (lba > 0xffffffffu || blocks > 0xffff) return 0;
        CLEAR(10);
        buf[0] = ops[1];
        th_put_be32(buf + 2, (uint32_t)lba);
        th_put_be16(buf + 7, (uint16_t)blocks);
        return 10;
    case 12:
        if (lba > 0xffffffffu || !ops[2]) return 0;
        CLEAR(12);
        buf[0] = ops[2];
        th_put_be32(buf + 2, (uint32_t)lba);
        th_put_be32(buf + 6, blocks);
        return 12;
    case 16:
        CLEAR(16);
        buf[0] = ops[3];
        th_put_be64(buf + 2, lba);
        th_put_be32(buf + 10, blocks);
        return 16;
    default:
        return 0;
    }
}

size_t th_cdb_read(uint8_t *buf, int size, uint64_t lba, uint32_t blocks)
{
    static const uint8_t ops[4] = {0x08, 0x28, 0xa8, 0x88};
    return rw(buf, size, lba, blocks, ops);
}

size_t th_cdb_write(uint8_t *buf, int size, uint64_t lba, uint32_t blocks)
{
    static const uint8_t ops[4] = {0x0a, 0x2a, 0xaa, 0x8a};
    return rw(buf, size, lba, blocks, ops);
}

size_t th_cdb_verify(uint8_t *buf, int size, uint64_t lba, uint32_t blocks, uint8_t bytchk)
{
    static const uint8_t ops[4] = {0, 0x2f, 0xaf, 0x8f};
    size_t n = rw(buf, size, lba, blocks, ops);
    if (n) buf[1] = (uint8_t)((bytchk & 3) << 1);
    return n;
}

size_t th_cdb_sync_cache(uint8_t *buf, int size, uint64_t lba, uint32_t blocks)
{
    static const uint8_t ops[4] = {0, 0x35, 0, 0x91};
    return rw(buf, size, lba, blocks, ops);
}

size_t th_cdb_write_same(uint8_t *buf, int size, uint64_t lba, uint32_t blocks, bool unmap)
{
    static const uint8_t ops[4] = {0, 0x41, 0, 0x93};
    size_t n = rw(buf, size, lba, blocks, ops);
    if (n && unmap) buf[1] |= 0x08;
    return n;
}

size_t th_cdb_unmap(uint8_t *buf, uint16_t param_len)
{
    CLEAR(10);
    buf[0] = 0x42;
    th_put_be16(buf + 7, param_len);
    return 10;
}

size_t th_cdb_compare_and_write(uint8_t *buf, uint64_t lba, uint8_t blocks)
{
    CLEAR(16);
    buf[0] = 0x89;
    th_put_be64(buf + 2, lba);
    buf[13] = blocks;
    return 16;
}

size_t th_cdb_start_stop(uint8_t *buf, bool start, bool loej)
{
    CLEAR(6);
    buf[0] = 0x1b;
    buf[4] = (uint8_t)((loej ? 2 : 0) | (start ? 1 : 0));
    return 6;
}

size_t th_cdb_prevent_allow(uint8_t *buf, uint8_t prevent)
{
    CLEAR(6);
    buf[0] = 0x1e;
    buf[4] = prevent & 3;
    return 6;
}

size_t th_cdb_report_opcodes(uint8_t *buf, uint8_t options, uint8_t op, uint16_t sa, uint32_t alloc)
{
    CLEAR(12);
    buf[0] = 0xa3;
    buf[1] = 0x0c;
    buf[2] = options;
    buf[3] = op;
    th_put_be16(buf + 4, sa);
    th_put_be32(buf + 6, alloc);
    return 12;
}
