/* READ and WRITE in all sizes; range checks; write protection; underflow. */
#include "helpers.h"

DISK_SUITE(disk_rw, 1024, 512);

Test(disk_rw, every_size_round_trips)
{
    int sizes[] = {6, 10, 12, 16};
    for (int i = 0; i < 4; i++) {
        uint8_t buf[4 * 512], back[4 * 512], cdb[16];
        fill_pattern(buf, sizeof(buf), (unsigned)i);
        size_t n = th_cdb_write(cdb, sizes[i], 100 + i * 10, 4);
        th_cmd *c = disk_cmd(d, cdb, n, buf, sizeof(buf), 0);
        th_assert_good(c);
        th_fake_cmd_free(c);
        n = th_cdb_read(cdb, sizes[i], 100 + i * 10, 4);
        c = disk_cmd(d, cdb, n, NULL, 0, sizeof(back));
        th_assert_good(c);
        th_assert_data_in(c, buf, sizeof(buf));
        th_fake_cmd_free(c);
        (void)back;
    }
}

Test(disk_rw, read6_with_length_zero_reads_256_blocks)
{
    static uint8_t buf[256 * 512];
    fill_pattern(buf, sizeof(buf), 3);
    disk_write(d, 0, buf, 256, 512);
    uint8_t cdb[6] = {0x08, 0, 0, 0, 0, 0};
    th_cmd *c = disk_cmd(d, cdb, 6, NULL, 0, sizeof(buf));
    th_assert_good(c);
    th_assert_data_in(c, buf, sizeof(buf));
    th_fake_cmd_free(c);
}

Test(disk_rw, read6_at_lba_0_is_block_0_not_256)
{
    uint8_t zero[512], one[512];
    fill_pattern(zero, 512, 10);
    fill_pattern(one, 512, 11);
    disk_write(d, 0, zero, 1, 512);
    disk_write(d, 256, one, 1, 512);
    uint8_t cdb[6] = {0x08, 0, 0, 0, 1, 0};
    th_cmd *c = disk_cmd(d, cdb, 6, NULL, 0, 512);
    th_assert_data_in(c, zero, 512);
    th_fake_cmd_free(c);
}

Test(disk_rw, reads_walk_scattered_iovecs)
{
    uint8_t buf[8 * 512];
    fill_pattern(buf, sizeof(buf), 5);
    disk_write(d, 40, buf, 8, 512);
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 10, 40, 8);
    th_cmd *c = th_fake_cmd_new(cdb, n, NULL, 0, sizeof(buf));
    th_fake_cmd_set_segment(c, 100); /* not a multiple of the block size */
    th_fake_cmd_run(c, th_disk_handle, d);
    th_assert_data_in(c, buf, sizeof(buf));
    th_fake_cmd_free(c);
}

Test(disk_rw, out_of_range_is_lba_out_of_range)
{
    uint8_t cdb[16];
    uint64_t cases[][2] = {{1024, 1}, {1020, 5}, {UINT64_MAX, 2}, {UINT64_MAX - 1, 4}};
    for (size_t i = 0; i < 4; i++) {
        size_t n = th_cdb_read(cdb, 16, cases[i][0], (uint32_t)cases[i][1]);
        th_cmd *c = disk_cmd(d, cdb, n, NULL, 0, cases[i][1] * 512);
        th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_LBA_OUT_OF_RANGE);
        th_fake_cmd_free(c);
    }
}

Test(disk_rw, zero_length_read10_at_capacity_is_good)
{
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 10, 1024, 0);
    th_cmd *c = disk_cmd(d, cdb, n, NULL, 0, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

Test(disk_rw, a_short_data_in_buffer_gets_what_fits)
{
    uint8_t buf[2 * 512];
    fill_pattern(buf, sizeof(buf), 9);
    disk_write(d, 7, buf, 2, 512);
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 10, 7, 2);
    th_cmd *c = disk_cmd(d, cdb, n, NULL, 0, 700);
    th_assert_good(c);
    th_assert_data_in(c, buf, 700);
    th_fake_cmd_free(c);
}

Test(disk_rw, reserved_bits_in_read10_point_at_the_bit)
{
    uint8_t cdb[10] = {0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0}; /* RDPROTECT=1 */
    th_cmd *c = disk_cmd(d, cdb, 10, NULL, 0, 512);
    th_assert_invalid_field(c, 1, 5);
    th_fake_cmd_free(c);
    uint8_t cdb2[10] = {0x28, 0, 0, 0, 0, 0, 0x80, 0, 1, 0}; /* group number bit 7 */
    c = disk_cmd(d, cdb2, 10, NULL, 0, 512);
    th_assert_invalid_field(c, 6, 7);
    th_fake_cmd_free(c);
}

Test(disk_rw, a_cdb_shorter_than_its_opcode_needs_is_refused)
{
    uint8_t cdb[6] = {0x28, 0, 0, 0, 0, 0};
    th_cmd *c = disk_cmd(d, cdb, 6, NULL, 0, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_INVALID_FIELD_IN_CDB);
    th_fake_cmd_free(c);
}

Test(disk_rw, write_protected_disk_refuses_writes)
{
    th_backend *be;
    th_backend_memory_new(64 * 512, &be, NULL, 0);
    th_disk_config cfg;
    th_disk_config_init(&cfg);
    cfg.read_only = true;
    th_disk *ro;
    cr_assert_eq(th_disk_new(&cfg, be, &ro, NULL, 0), 0);
    uint8_t buf[512] = {0}, cdb[16];
    size_t n = th_cdb_write(cdb, 10, 0, 1);
    th_cmd *c = disk_cmd(ro, cdb, n, buf, 512, 0);
    th_assert_sense(c, TH_KEY_DATA_PROTECT, TH_ASC_WRITE_PROTECTED);
    th_fake_cmd_free(c);
    th_cdb_mode_sense6(cdb, true, 0, 0x08, 255);
    c = disk_cmd(ro, cdb, 6, NULL, 0, 255);
    size_t len;
    cr_assert_eq(th_fake_data_in(c, &len)[2] & 0x80, 0x80); /* WP */
    th_fake_cmd_free(c);
    th_disk_free(ro);
}
