/* Shared fixtures for the unit tests: a memory disk, a tape, one command runner for
 * either, and the suite boilerplate. */
#ifndef TH_TEST_HELPERS_H
#define TH_TEST_HELPERS_H
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "th/be.h"
#include "th/criterion.h"
#include "th/ops.h"
#include "th/th.h"

static inline th_disk *test_disk(uint64_t blocks, uint32_t bs)
{
    th_backend *be;
    cr_assert_eq(th_backend_memory_new(blocks * bs, &be, NULL, 0), 0);
    th_disk_config cfg;
    th_disk_config_init(&cfg);
    cfg.block_size = bs;
    cfg.wwn = th_wwn_from_name("unit");
    th_disk *d;
    cr_assert_eq(th_disk_new(&cfg, be, &d, NULL, 0), 0);
    return d;
}

/* A device config serving disk (of bytes) over the fake kernel fk, no workers. */
static inline th_device_config test_disk_device(const char *name, uint64_t bytes, th_disk *disk,
                                                th_fake_kernel *fk)
{
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = name;
    cfg.size = bytes;
    cfg.handler = th_disk_handle;
    cfg.handler_arg = disk;
    cfg.fake_kernel = fk;
    return cfg;
}

static inline th_tape *test_tape(uint64_t capacity, uint64_t ew)
{
    th_tape_config cfg;
    th_tape_config_init(&cfg);
    if (capacity) cfg.capacity = capacity;
    if (ew) cfg.early_warning = ew;
    th_tape *t;
    cr_assert_eq(th_tape_new(&cfg, &t, NULL, 0), 0);
    return t;
}

/* Into a fresh directory holding an empty tape image "tape.img" (the image key's example,
 * which the parser now opens); each Criterion test is its own process, so the chdir stays
 * in it. */
static char example_dir[] = "/tmp/th-unit-examples-XXXXXX";
static inline void example_dir_remove(void)
{
    char img[sizeof(example_dir) + 16];
    snprintf(img, sizeof(img), "%s/tape.img", example_dir);
    unlink(img);
    rmdir(example_dir);
}
static inline void in_dir_with_example_image(void)
{
    cr_assert(mkdtemp(example_dir));
    atexit(example_dir_remove); /* the test's process ends at the test's end */
    cr_assert_eq(chdir(example_dir), 0);
    FILE *f = fopen("tape.img", "wb");
    cr_assert(f && fputs("THTAPE1\n", f) >= 0 && !fclose(f));
}

/* Short Data-Out for a data CDB: INVALID FIELD IN COMMAND INFORMATION UNIT. */
#define ASC_INVALID_FIELD_IN_IU 0x0e03

/* A tape of capacity bytes with a second partition of p1 bytes. */
static inline th_tape *test_tape_partitioned(uint64_t capacity, uint64_t p1)
{
    th_tape_config cfg;
    th_tape_config_init(&cfg);
    cfg.capacity = capacity;
    cfg.partition1 = p1;
    th_tape *t;
    cr_assert_eq(th_tape_new(&cfg, &t, NULL, 0), 0);
    return t;
}

/* Runs one command through a handler; the caller frees it. */
static inline th_cmd *run_cmd(th_handler_fn fn, void *dev, const uint8_t *cdb, size_t len,
                              const void *out, size_t out_len, size_t in_cap)
{
    th_cmd *c = th_fake_cmd_new(cdb, len, out, out_len, in_cap);
    cr_assert_not_null(c);
    th_fake_cmd_run(c, fn, dev);
    return c;
}
#define disk_cmd(d, ...) run_cmd(th_disk_handle, (d), __VA_ARGS__)
#define tape_cmd(t, ...) run_cmd(th_tape_handle, (t), __VA_ARGS__)

/* A 16-byte CDB with LBA and length; WRITE ATOMIC(16) keeps its length in bytes 12-13. */
static inline size_t cdb16(uint8_t *cdb, uint8_t op, uint64_t lba, uint32_t n)
{
    memset(cdb, 0, 16);
    cdb[0] = op;
    th_put_be64(cdb + 2, lba);
    if (op == 0x9c)
        th_put_be16(cdb + 12, (uint16_t)n);
    else
        th_put_be32(cdb + 10, n);
    return 16;
}

/* A suite whose tests share one fresh disk `d` of blocks x bs. */
#define DISK_SUITE(name, blocks, bs)                                                               \
    static th_disk *d;                                                                             \
    static void setup(void)                                                                        \
    {                                                                                              \
        d = test_disk((blocks), (bs));                                                             \
    }                                                                                              \
    static void teardown(void)                                                                     \
    {                                                                                              \
        th_disk_free(d);                                                                           \
    }                                                                                              \
    TestSuite(name, .init = setup, .fini = teardown)

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
