/* VERIFY, WRITE AND VERIFY, COMPARE AND WRITE. */
#include "helpers.h"

static th_disk *d;
static uint8_t media[4 * 512];
static void setup(void)
{
    d = test_disk(1024, 512);
    fill_pattern(media, sizeof(media), 21);
    disk_write(d, 50, media, 4, 512);
}
static void teardown(void)
{
    th_disk_free(d);
}
TestSuite(disk_verify, .init = setup, .fini = teardown);

static th_cmd *verify(uint8_t bytchk, const void *data, size_t len, uint32_t blocks)
{
    uint8_t cdb[16];
    size_t n = th_cdb_verify(cdb, 16, 50, blocks, bytchk);
    return disk_cmd(d, cdb, n, data, len, 0);
}

Test(disk_verify, bytchk_0_only_checks_the_range)
{
    th_cmd *c = verify(0, NULL, 0, 4);
    th_assert_good(c);
    th_fake_cmd_free(c);
    uint8_t cdb[16];
    size_t n = th_cdb_verify(cdb, 10, 1023, 2, 0);
    c = disk_cmd(d, cdb, n, NULL, 0, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_LBA_OUT_OF_RANGE);
    th_fake_cmd_free(c);
}

Test(disk_verify, bytchk_1_matches_and_miscompares_with_offset)
{
    th_cmd *c = verify(1, media, sizeof(media), 4);
    th_assert_good(c);
    th_fake_cmd_free(c);
    uint8_t bad[sizeof(media)];
    memcpy(bad, media, sizeof(bad));
    bad[1000] ^= 1;
    c = verify(1, bad, sizeof(bad), 4);
    th_assert_sense(c, TH_KEY_MISCOMPARE, TH_ASC_MISCOMPARE_DURING_VERIFY);
    th_sense s;
    th_fake_sense(c, &s);
    cr_assert(s.info_valid);
    cr_assert_eq(s.info, 1000);
    th_fake_cmd_free(c);
}

Test(disk_verify, bytchk_3_compares_one_block_against_each)
{
    uint8_t same[512 * 3];
    fill_pattern(same, 512, 4);
    for (int i = 1; i < 3; i++) memcpy(same + 512 * i, same, 512);
    disk_write(d, 200, same, 3, 512);
    uint8_t cdb[16];
    size_t n = th_cdb_verify(cdb, 16, 200, 3, 3);
    th_cmd *c = disk_cmd(d, cdb, n, same, 512, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    n = th_cdb_verify(cdb, 16, 50, 2, 3);
    c = disk_cmd(d, cdb, n, same, 512, 0);
    th_assert_sense(c, TH_KEY_MISCOMPARE, TH_ASC_MISCOMPARE_DURING_VERIFY);
    th_fake_cmd_free(c);
}

Test(disk_verify, bytchk_2_is_reserved)
{
    th_cmd *c = verify(2, media, sizeof(media), 4);
    th_assert_invalid_field(c, 1, 2);
    th_fake_cmd_free(c);
}

Test(disk_verify, write_and_verify_writes)
{
    uint8_t buf[512], cdb[10] = {0x2e, 0, 0, 0, 0, 9, 0, 0, 1, 0};
    fill_pattern(buf, 512, 77);
    th_cmd *c = disk_cmd(d, cdb, 10, buf, 512, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    uint8_t back[512];
    disk_read(d, 9, back, 1, 512);
    cr_assert_arr_eq(back, buf, 512);
}

Test(disk_verify, compare_and_write_swaps_on_match_only)
{
    uint8_t cw[2 * 512], cdb[16], back[512];
    memcpy(cw, media, 512);
    fill_pattern(cw + 512, 512, 99);
    size_t n = th_cdb_compare_and_write(cdb, 50, 1);
    th_cmd *c = disk_cmd(d, cdb, n, cw, sizeof(cw), 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    disk_read(d, 50, back, 1, 512);
    cr_assert_arr_eq(back, cw + 512, 512);
    c = disk_cmd(d, cdb, n, cw, sizeof(cw), 0); /* media changed: now a miscompare */
    th_assert_sense(c, TH_KEY_MISCOMPARE, TH_ASC_MISCOMPARE_DURING_VERIFY);
    th_fake_cmd_free(c);
}

Test(disk_verify, compare_and_write_limits)
{
    uint8_t cdb[16];
    size_t n = th_cdb_compare_and_write(cdb, 50, 129);
    th_cmd *c = disk_cmd(d, cdb, n, NULL, 0, 0);
    th_assert_invalid_field(c, 13, -1);
    th_fake_cmd_free(c);
    n = th_cdb_compare_and_write(cdb, 50, 2);
    c = disk_cmd(d, cdb, n, media, 512, 0); /* half the data it needs */
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
    th_fake_cmd_free(c);
    n = th_cdb_compare_and_write(cdb, 50, 0);
    c = disk_cmd(d, cdb, n, NULL, 0, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

/* libiscsi sends 256 blocks' worth of data with NUMBER OF LOGICAL BLOCKS wrapped to 0:
 * the data cannot be reported unused (no residual through TCMU), so it is refused. */
Test(disk_verify, compare_and_write_of_zero_blocks_with_data_is_refused)
{
    uint8_t cdb[16];
    static uint8_t data[2 * 256 * 512];
    size_t n = th_cdb_compare_and_write(cdb, 0, 0);
    th_cmd *c = disk_cmd(d, cdb, n, data, sizeof(data), 0);
    th_assert_invalid_field(c, 13, -1);
    th_fake_cmd_free(c);
}
