/* WRITE ATOMIC(16) and the Block Limits it announces (races: test_disk_atomicity.c). */
#include "helpers.h"

DISK_SUITE(disk_write_atomic, 1024, 512);

Test(disk_write_atomic, write_atomic_writes_and_keeps_to_its_limits)
{
    uint8_t buf[4 * 512], back[4 * 512], cdb[16];
    fill_pattern(buf, sizeof(buf), 5);
    th_cmd *c = disk_cmd(d, cdb, cdb16(cdb, 0x9c, 8, 4), buf, sizeof(buf), 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    disk_read(d, 8, back, 4, 512);
    cr_assert_arr_eq(back, buf, sizeof(buf));

    /* over the atomic maximum, which is the maximum transfer length (8 MiB) */
    c = disk_cmd(d, cdb, cdb16(cdb, 0x9c, 0, 16385), NULL, 0, 0);
    th_assert_invalid_field(c, 12, -1);
    th_fake_cmd_free(c);
    cdb16(cdb, 0x9c, 0, 1);
    cdb[11] = 1; /* an ATOMIC BOUNDARY, which Block Limits does not offer */
    c = disk_cmd(d, cdb, 16, buf, 512, 0);
    th_assert_invalid_field(c, 10, -1);
    th_fake_cmd_free(c);
    c = disk_cmd(d, cdb, cdb16(cdb, 0x9c, 1022, 4), buf, sizeof(buf), 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_LBA_OUT_OF_RANGE);
    th_fake_cmd_free(c);
}

Test(disk_write_atomic, block_limits_announce_the_limits_that_are_enforced)
{
    uint8_t cdb[6] = {0x12, 0x01, 0xb0, 0, 64, 0};
    th_cmd *c = disk_cmd(d, cdb, 6, NULL, 0, 64);
    th_assert_good(c);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 64);
    cr_assert_eq(b[5], 128);                                                  /* CAW */
    cr_assert_eq((b[8] << 24 | b[9] << 16 | b[10] << 8 | b[11]), 16384);      /* 8 MiB */
    cr_assert_eq((b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23]), 0x100000); /* unmap */
    cr_assert_eq((b[40] << 24 | b[41] << 16 | b[42] << 8 | b[43]), 0xffff);   /* WS */
    cr_assert_eq((b[44] << 24 | b[45] << 16 | b[46] << 8 | b[47]), 16384);    /* atomic */
    th_fake_cmd_free(c);
    /* and WRITE SAME one block over its maximum is refused */
    uint8_t ws[16] = {0x93, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    uint8_t blk[512] = {0};
    c = disk_cmd(d, ws, 16, blk, 512, 0);
    th_assert_invalid_field(c, 10, -1);
    th_fake_cmd_free(c);
}
