/* Reading a fuzzer's input as a stream of fields: every read past the end gives zeros,
 * so any byte string is a valid input and short ones still reach the code under test. */
#ifndef TH_FUZZ_INPUT_H
#define TH_FUZZ_INPUT_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct fz {
    const uint8_t *p;
    size_t n;
} fz;

static inline uint8_t fz_u8(fz *f)
{
    if (!f->n) return 0;
    f->n--;
    return *f->p++;
}

static inline uint16_t fz_u16(fz *f)
{
    return (uint16_t)(fz_u8(f) | fz_u8(f) << 8);
}

static inline uint32_t fz_u32(fz *f)
{
    return (uint32_t)fz_u16(f) | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(fz *f)
{
    return (uint64_t)fz_u32(f) | (uint64_t)fz_u32(f) << 32;
}

/* Up to want bytes, as many as are left; returns how many. */
static inline size_t fz_bytes(fz *f, void *out, size_t want)
{
    size_t k = want < f->n ? want : f->n;
    memcpy(out, f->p, k);
    f->p += k, f->n -= k;
    return k;
}

#endif
