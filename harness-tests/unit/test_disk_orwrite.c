/* ORWRITE(16): the Data-Out ORed into the blocks. */
#include "helpers.h"

DISK_SUITE(disk_orwrite, 1024, 512);

Test(disk_orwrite, orwrite_ors_the_data_into_the_blocks)
{
    uint8_t media[2 * 512], mask[2 * 512], want[2 * 512], back[2 * 512];
    fill_pattern(media, sizeof(media), 1);
    fill_pattern(mask, sizeof(mask), 2);
    for (size_t i = 0; i < sizeof(want); i++) want[i] = media[i] | mask[i];
    disk_write(d, 40, media, 2, 512);
    uint8_t cdb[16];
    th_cmd *c = disk_cmd(d, cdb, cdb16(cdb, 0x8b, 40, 2), mask, sizeof(mask), 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    disk_read(d, 40, back, 2, 512);
    cr_assert_arr_eq(back, want, sizeof(want));
}

Test(disk_orwrite, orwrite_checks_range_data_length_and_orprotect)
{
    uint8_t cdb[16], mask[512] = {0};
    th_cmd *c = disk_cmd(d, cdb, cdb16(cdb, 0x8b, 1023, 2), mask, 512, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_LBA_OUT_OF_RANGE);
    th_fake_cmd_free(c);
    c = disk_cmd(d, cdb, cdb16(cdb, 0x8b, 0, 2), mask, 512, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
    th_fake_cmd_free(c);
    cdb16(cdb, 0x8b, 0, 1);
    cdb[1] = 0x20; /* ORPROTECT without protection information */
    c = disk_cmd(d, cdb, 16, mask, 512, 0);
    th_assert_invalid_field(c, 1, 5);
    th_fake_cmd_free(c);
    c = disk_cmd(d, cdb, cdb16(cdb, 0x8b, 5, 0), NULL, 0, 0);
    th_assert_good(c); /* zero blocks: nothing to do */
    th_fake_cmd_free(c);
}
