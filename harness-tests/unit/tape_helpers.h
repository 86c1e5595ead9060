#ifndef TH_TAPE_HELPERS_H
#define TH_TAPE_HELPERS_H
#include "helpers.h"

static inline th_tape *test_tape(uint64_t capacity, uint64_t ew)
{
    th_tape_config cfg;
    th_tape_config_init(&cfg);
    if (capacity) cfg.capacity = capacity;
    if (ew) cfg.early_warning = ew;
    th_tape *t;
    cr_assert_eq(th_tape_new(&cfg, &t), 0);
    return t;
}

static inline th_cmd *tape_cmd(th_tape *t, const uint8_t *cdb, size_t len, const void *out,
                               size_t out_len, size_t in_cap)
{
    th_cmd *c = th_fake_cmd_new(cdb, len, out, out_len, in_cap);
    cr_assert_not_null(c);
    th_fake_cmd_run(c, th_tape_handle, t);
    return c;
}

static inline th_cmd *tape_op6(th_tape *t, uint8_t op, uint8_t b1, uint32_t len24, size_t in_cap)
{
    uint8_t cdb[6] = {op, b1, (uint8_t)(len24 >> 16), (uint8_t)(len24 >> 8), (uint8_t)len24, 0};
    return tape_cmd(t, cdb, 6, NULL, 0, in_cap);
}

static inline void tape_write_ok(th_tape *t, const void *buf, uint32_t len)
{
    uint8_t cdb[6] = {0x0a, 0, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, 0};
    th_cmd *c = tape_cmd(t, cdb, 6, buf, len, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

static inline void tape_simple_ok(th_tape *t, uint8_t op, uint8_t b1, uint32_t n)
{
    th_cmd *c = tape_op6(t, op, b1, n, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

/* INFORMATION as the signed residue the st driver reads. */
static inline int32_t tape_info(th_cmd *c)
{
    th_sense s;
    cr_assert_eq(th_fake_sense(c, &s), 0);
    cr_assert(s.info_valid);
    return (int32_t)s.info;
}

#endif
