/* MODE SENSE / MODE SELECT (6 and 10). */
#include "helpers.h"

DISK_SUITE(disk_mode, 2048, 512);

static th_cmd *sense6(bool dbd, int pc, uint8_t page, uint8_t alloc)
{
    uint8_t cdb[6];
    th_cdb_mode_sense6(cdb, dbd, (uint8_t)pc, page, alloc);
    return disk_cmd(d, cdb, 6, NULL, 0, alloc);
}

Test(disk_mode, sense6_caching_page_with_block_descriptor)
{
    th_cmd *c = sense6(false, 0, 0x08, 255);
    th_assert_good(c);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 4 + 8 + 20);
    cr_assert_eq(b[0], n - 1);
    cr_assert_eq(b[2], 0x10); /* DPOFUA, not write protected */
    cr_assert_eq(b[3], 8);
    cr_assert_eq(b[4 + 3], 0x00); /* 2048 blocks */
    cr_assert_eq(b[4 + 2], 0x08);
    cr_assert_eq(b[4 + 6], 0x02); /* 512-byte blocks */
    cr_assert_eq(b[12], 0x08);
    cr_assert_eq(b[13], 0x12);
    cr_assert_eq(b[14], 0x04); /* WCE */
    th_fake_cmd_free(c);
}

Test(disk_mode, sense6_dbd_drops_the_block_descriptor)
{
    th_cmd *c = sense6(true, 0, 0x0a, 255);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 4 + 12);
    cr_assert_eq(b[3], 0);
    cr_assert_eq(b[4], 0x0a);
    th_fake_cmd_free(c);
}

Test(disk_mode, all_pages_in_order)
{
    th_cmd *c = sense6(true, 0, 0x3f, 255);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 4 + 12 + 20 + 12);
    cr_assert_eq(b[4], 0x01);
    cr_assert_eq(b[16], 0x08);
    cr_assert_eq(b[36], 0x0a);
    th_fake_cmd_free(c);
}

Test(disk_mode, page_control_changeable_shows_only_wce)
{
    th_cmd *c = sense6(true, 1, 0x08, 255);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(b[6], 0x04);
    for (size_t i = 7; i < n; i++) cr_assert_eq(b[i], 0, "byte %zu", i);
    th_fake_cmd_free(c);
}

Test(disk_mode, page_control_saved_is_not_supported)
{
    th_cmd *c = sense6(true, 3, 0x08, 255);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_SAVING_PARAMS_UNSUPPORTED);
    th_fake_cmd_free(c);
}

Test(disk_mode, page_control_bits_do_not_hide_the_page)
{
    /* go-tcmu compared the whole byte: PC=2 made every page unknown. */
    th_cmd *c = sense6(true, 2, 0x08, 255);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

Test(disk_mode, unknown_page_and_subpage_are_invalid_fields)
{
    th_cmd *c = sense6(true, 0, 0x1c, 255);
    th_assert_invalid_field(c, 2, 5);
    th_fake_cmd_free(c);
    uint8_t cdb[6] = {0x1a, 0x08, 0x08, 0x01, 255, 0};
    c = disk_cmd(d, cdb, 6, NULL, 0, 255);
    th_assert_invalid_field(c, 3, 7);
    th_fake_cmd_free(c);
}

Test(disk_mode, allocation_length_truncates)
{
    th_cmd *c = sense6(false, 0, 0x3f, 10);
    size_t n;
    th_fake_data_in(c, &n);
    cr_assert_eq(n, 10);
    th_fake_cmd_free(c);
}

Test(disk_mode, sense10_with_llbaa_uses_a_long_descriptor)
{
    uint8_t cdb[10];
    th_cdb_mode_sense10(cdb, false, 0, 0x08, 255);
    cdb[1] |= 0x10;
    th_cmd *c = disk_cmd(d, cdb, 10, NULL, 0, 255);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 8 + 16 + 20);
    cr_assert_eq(b[4], 0x01);
    cr_assert_eq(b[7], 16);
    cr_assert_eq(b[8 + 6], 0x08); /* 2048 blocks */
    th_fake_cmd_free(c);
}

static th_cmd *select6(const uint8_t *data, uint8_t len, bool pf, bool sp)
{
    uint8_t cdb[6];
    th_cdb_mode_select6(cdb, pf, sp, len);
    return disk_cmd(d, cdb, 6, data, len, 0);
}

Test(disk_mode, select_clears_and_sets_wce)
{
    uint8_t p[4 + 20] = {0};
    p[4] = 0x08;
    p[5] = 0x12;
    p[6] = 0x00;
    p[8] = p[9] = p[12] = p[13] = p[14] = p[15] = 0xff;
    th_cmd *c = select6(p, sizeof(p), true, false);
    th_assert_good(c);
    th_fake_cmd_free(c);
    c = sense6(true, 0, 0x08, 255);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(b[6], 0x00);
    th_fake_cmd_free(c);
}

Test(disk_mode, select_of_an_unchangeable_bit_points_at_it)
{
    uint8_t p[4 + 12] = {0};
    p[4] = 0x01;
    p[5] = 0x0a;
    p[6] = 0x80 | 0x01; /* AWRE stays, DCR may not change */
    th_cmd *c = select6(p, sizeof(p), true, false);
    th_sense s;
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_INVALID_FIELD_IN_PARAM_LIST);
    th_fake_sense(c, &s);
    cr_assert_eq(s.sks[2], 6);
    cr_assert_eq(s.sks[0] & 0x4f, 0x08); /* in parameter data, bit 0 */
    th_fake_cmd_free(c);
}

Test(disk_mode, select_needs_pf_and_refuses_sp)
{
    uint8_t p[4] = {0};
    th_cmd *c = select6(p, 4, false, false);
    th_assert_invalid_field(c, 1, 4);
    th_fake_cmd_free(c);
    c = select6(p, 4, true, true);
    th_assert_invalid_field(c, 1, 0);
    th_fake_cmd_free(c);
}

Test(disk_mode, select_with_a_short_parameter_list_fails_cleanly)
{
    uint8_t p[4 + 10] = {0};
    p[4] = 0x08;
    p[5] = 0x12; /* claims 20 bytes, 10 sent */
    th_cmd *c = select6(p, sizeof(p), true, false);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
    th_fake_cmd_free(c);
    /* the CDB claims more than the data-out carries */
    uint8_t cdb[6];
    th_cdb_mode_select6(cdb, true, false, 24);
    c = disk_cmd(d, cdb, 6, p, 4, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
    th_fake_cmd_free(c);
}

Test(disk_mode, select_with_a_wrong_block_size_is_refused)
{
    uint8_t p[4 + 8] = {0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x10, 0};
    th_cmd *c = select6(p, sizeof(p), true, false);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_INVALID_FIELD_IN_PARAM_LIST);
    th_fake_cmd_free(c);
    p[10] = 0x02; /* 512: fine */
    c = select6(p, sizeof(p), true, false);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

Test(disk_mode, select10_zero_length_is_a_no_op)
{
    uint8_t cdb[10];
    th_cdb_mode_select10(cdb, true, false, 0);
    th_cmd *c = disk_cmd(d, cdb, 10, NULL, 0, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
}
