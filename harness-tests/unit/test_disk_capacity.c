/* READ CAPACITY (10) and (16). */
#include "helpers.h"

Test(disk_capacity, read_capacity_10_gives_last_lba_and_block_size)
{
    th_disk *d = test_disk(1000, 4096);
    uint8_t cdb[10];
    th_cdb_read_capacity10(cdb);
    th_cmd *c = disk_cmd(d, cdb, 10, NULL, 0, 8);
    static const uint8_t expect[8] = {0, 0, 0x03, 0xe7, 0, 0, 0x10, 0};
    th_assert_good(c);
    th_assert_data_in(c, expect, 8);
    th_fake_cmd_free(c);
    th_disk_free(d);
}

Test(disk_capacity, read_capacity_10_lba_without_pmi_is_invalid)
{
    th_disk *d = test_disk(1000, 512);
    uint8_t cdb[10] = {0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    th_cmd *c = disk_cmd(d, cdb, 10, NULL, 0, 8);
    th_assert_invalid_field(c, 2, 7);
    th_fake_cmd_free(c);
    th_disk_free(d);
}

Test(disk_capacity, read_capacity_16_honours_allocation_length)
{
    th_disk *d = test_disk(1000, 512);
    uint8_t cdb[16];
    th_cdb_read_capacity16(cdb, 12);
    th_cmd *c = disk_cmd(d, cdb, 16, NULL, 0, 32);
    th_assert_good(c);
    static const uint8_t expect[12] = {0, 0, 0, 0, 0, 0, 0x03, 0xe7, 0, 0, 0x02, 0};
    th_assert_data_in(c, expect, 12);
    th_fake_cmd_free(c);
    th_cdb_read_capacity16(cdb, 32);
    c = disk_cmd(d, cdb, 16, NULL, 0, 32);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 32);
    cr_assert_eq(b[14], 0xc0); /* LBPME | LBPRZ */
    th_fake_cmd_free(c);
    th_disk_free(d);
}

Test(disk_capacity, capacity_change_is_reported)
{
    th_disk *d = test_disk(1000, 512);
    cr_assert_eq(th_disk_set_blocks(d, 500), 0);
    cr_assert_eq(th_disk_set_blocks(d, 2000), -EINVAL);
    uint8_t cdb[10];
    th_cdb_read_capacity10(cdb);
    th_cmd *c = disk_cmd(d, cdb, 10, NULL, 0, 8);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(b[3], 499 & 0xff);
    th_fake_cmd_free(c);
    th_disk_free(d);
}

Test(disk_capacity, service_action_in_with_unknown_action_is_invalid_field)
{
    th_disk *d = test_disk(1000, 512);
    uint8_t cdb[16] = {0x9e, 0x11};
    th_cmd *c = disk_cmd(d, cdb, 16, NULL, 0, 32);
    th_assert_invalid_field(c, 1, 4);
    th_fake_cmd_free(c);
    th_disk_free(d);
}

Test(disk_capacity, geometry_is_validated)
{
    th_backend *be;
    th_disk_config cfg;
    th_disk *d;
    th_disk_config_init(&cfg);
    cr_assert_eq(th_backend_memory_new(4096, &be, NULL, 0), 0);
    char err[128];
    cfg.block_size = 1000;
    cr_assert_eq(th_disk_new(&cfg, be, &d, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "block size 1000 is not a power of two from 512 to 65536");
    cfg.block_size = 512;
    cfg.blocks = 9;
    cr_assert_eq(th_disk_new(&cfg, be, &d, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "9 blocks of 512 bytes do not fit the 4096-byte backend");
    cr_assert_eq(th_disk_new(&cfg, be, &d, NULL, 0), -EINVAL, "err is optional");
    th_backend_free(be);
}

Test(disk_capacity, constructors_say_what_is_wrong)
{
    th_backend *be;
    char err[128] = "";
    cr_assert_eq(th_backend_memory_new(0, &be, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "memory size 0 is not from 1 byte to 64 TiB");
    cr_assert_eq(th_backend_file_open("/nonexistent/x", 4096, true, &be, err, sizeof(err)),
                 -ENOENT);
    cr_assert_str_eq(err, "open /nonexistent/x: No such file or directory");
    th_tape_config tc;
    th_tape_config_init(&tc);
    tc.early_warning = tc.capacity;
    th_tape *t;
    cr_assert_eq(th_tape_new(&tc, &t, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "early warning (67108864 bytes) must be below the capacity (67108864)");
}
