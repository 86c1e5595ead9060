/* Shared fixtures for the unit tests: a memory disk and one-shot command runners. */
#ifndef TH_TEST_HELPERS_H
#define TH_TEST_HELPERS_H
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "th/criterion.h"
#include "th/th.h"

static inline th_disk *test_disk(uint64_t blocks, uint32_t bs)
{
    th_backend *be;
    cr_assert_eq(th_backend_memory_new(blocks * bs, &be), 0);
    th_disk_config cfg;
    th_disk_config_init(&cfg);
    cfg.block_size = bs;
    cfg.wwn = th_wwn_from_name("unit");
    th_disk *d;
    cr_assert_eq(th_disk_new(&cfg, be, &d), 0);
    return d;
}

/* Runs one command against the disk; the caller frees it. */
static inline th_cmd *disk_cmd(th_disk *d, const uint8_t *cdb, size_t len, const void *out,
                               size_t out_len, size_t in_cap)
{
    th_cmd *c = th_fake_cmd_new(cdb, len, out, out_len, in_cap);
    cr_assert_not_null(c);
    th_fake_cmd_run(c, th_disk_handle, d);
    return c;
}

static inline void disk_write(th_disk *d, uint64_t lba, const void *buf, uint32_t blocks,
                              uint32_t bs)
{
    uint8_t cdb[16];
    size_t n = th_cdb_write(cdb, 16, lba, blocks);
    th_cmd *c = disk_cmd(d, cdb, n, buf, (size_t)blocks * bs, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

static inline void disk_read(th_disk *d, uint64_t lba, void *buf, uint32_t blocks, uint32_t bs)
{
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 16, lba, blocks);
    th_cmd *c = disk_cmd(d, cdb, n, NULL, 0, (size_t)blocks * bs);
    th_assert_good(c);
    size_t got;
    const uint8_t *data = th_fake_data_in(c, &got);
    cr_assert_eq(got, (size_t)blocks * bs);
    memcpy(buf, data, got);
    th_fake_cmd_free(c);
}

static inline uint64_t th_now_ns_for_tests(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 9));
}

#endif
