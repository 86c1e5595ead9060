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
    cr_assert_eq(th_backend_memory_new(4096, &be), 0);
    cfg.block_size = 1000;
    cr_assert_eq(th_disk_new(&cfg, be, &d), -EINVAL);
    cfg.block_size = 512;
    cfg.blocks = 9;
    cr_assert_eq(th_disk_new(&cfg, be, &d), -EINVAL);
    th_backend_free(be);
}
