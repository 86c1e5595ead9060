/* Big-endian field access for CDBs, parameter data and sense: what every emulation,
 * handler and test reading SCSI fields needs; and the length of a CDB, which the ring
 * checks entries against below the command layer. A leaf: it includes nothing of the
 * framework. */
#ifndef TH_BE_H
#define TH_BE_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

static inline uint16_t th_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t th_be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | p[1] << 8 | p[2];
}
static inline uint32_t th_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t th_be64(const uint8_t *p)
{
    return (uint64_t)th_be32(p) << 32 | th_be32(p + 4);
}
static inline void th_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void th_put_be24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}
static inline void th_put_be32(uint8_t *p, uint32_t v)
{
    th_put_be16(p, (uint16_t)(v >> 16));
    th_put_be16(p + 2, (uint16_t)v);
}
static inline void th_put_be64(uint8_t *p, uint64_t v)
{
    th_put_be32(p, (uint32_t)(v >> 32));
    th_put_be32(p + 4, (uint32_t)v);
}

/* CDB length implied by the opcode group, as SPC defines the groups (and as the
 * kernel copies them); 0x7F: 8 + additional length. Never reads past avail. */
static inline size_t th_cdb_len_for(const uint8_t *cdb, size_t avail)
{
    static const uint8_t group_len[8] = {6, 10, 10, 12, 16, 12, 10, 10};
    if (avail == 0) return 0;
    if (cdb[0] == 0x7f) return avail >= 8 ? 8u + cdb[7] : 8u;
    return group_len[cdb[0] >> 5];
}

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
