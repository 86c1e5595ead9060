/* INQUIRY: standard data, VPD pages, allocation length, reserved bits. */
#include "helpers.h"

DISK_SUITE(disk_inquiry, 2048, 512);

static th_cmd *inquiry(bool evpd, uint8_t page, uint16_t alloc)
{
    uint8_t cdb[6];
    th_cdb_inquiry(cdb, evpd, page, alloc);
    return disk_cmd(d, cdb, 6, NULL, 0, alloc);
}

Test(disk_inquiry, standard_data_names_a_disk_with_spc4)
{
    th_cmd *c = inquiry(false, 0, 96);
    th_assert_good(c);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 74);
    cr_assert_eq(b[0], 0x00);
    cr_assert_eq(b[2], 0x06);
    cr_assert_eq(b[4], 74 - 5);
    cr_assert_arr_eq(b + 8, "TCMUHARN", 8);
    cr_assert_arr_eq(b + 16, "VIRTUAL DISK    ", 16);
    th_fake_cmd_free(c);
}

Test(disk_inquiry, allocation_length_truncates)
{
    th_cmd *c = inquiry(false, 0, 5);
    th_assert_good(c);
    size_t n;
    th_fake_data_in(c, &n);
    cr_assert_eq(n, 5);
    th_fake_cmd_free(c);
    c = inquiry(true, 0x83, 6);
    size_t m;
    th_fake_data_in(c, &m);
    cr_assert_eq(m, 6);
    th_fake_cmd_free(c);
}

Test(disk_inquiry, allocation_length_zero_moves_no_data)
{
    th_cmd *c = inquiry(false, 0, 0);
    th_assert_good(c);
    cr_assert_eq(th_cmd_get_data_in_len(c), 0);
    th_fake_cmd_free(c);
}

Test(disk_inquiry, vpd_00_lists_every_page_in_order)
{
    th_cmd *c = inquiry(true, 0x00, 64);
    th_assert_good(c);
    static const uint8_t expect[] = {0x00, 0x00, 0x00, 0x06, 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};
    th_assert_data_in(c, expect, sizeof(expect));
    th_fake_cmd_free(c);
}

Test(disk_inquiry, every_vpd_page_carries_device_type_and_its_code)
{
    static const uint8_t pages[] = {0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};
    for (size_t i = 0; i < sizeof(pages); i++) {
        th_cmd *c = inquiry(true, pages[i], 255);
        th_assert_good(c);
        size_t n;
        const uint8_t *b = th_fake_data_in(c, &n);
        cr_assert_eq(b[0], 0x00, "page %#x", pages[i]);
        cr_assert_eq(b[1], pages[i]);
        cr_assert_eq(n, 4u + ((b[2] << 8) | b[3]), "page %#x length", pages[i]);
        th_fake_cmd_free(c);
    }
}

Test(disk_inquiry, vpd_83_naa_is_the_configured_wwn)
{
    th_cmd *c = inquiry(true, 0x83, 255);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(b[4] & 0x0f, 1); /* binary */
    cr_assert_eq(b[5] & 0x0f, 3); /* NAA */
    uint64_t wwn = 0;
    for (int i = 0; i < 8; i++) wwn = wwn << 8 | b[8 + i];
    cr_assert_eq(wwn, th_wwn_from_name("unit"));
    cr_assert_eq(wwn >> 60, 3);
    th_fake_cmd_free(c);
}

Test(disk_inquiry, wwns_from_different_names_differ)
{
    cr_assert_neq(th_wwn_from_name("d0"), th_wwn_from_name("d1"));
    cr_assert_eq(th_wwn_from_name("d0"), th_wwn_from_name("d0"));
}

Test(disk_inquiry, vpd_80_serial_defaults_to_the_wwn)
{
    th_cmd *c = inquiry(true, 0x80, 255);
    char want[17];
    snprintf(want, sizeof(want), "%016llx", (unsigned long long)th_wwn_from_name("unit"));
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 4 + 16);
    cr_assert_arr_eq(b + 4, want, 16);
    th_fake_cmd_free(c);
}

Test(disk_inquiry, unknown_vpd_page_is_invalid_field_at_byte_2)
{
    th_cmd *c = inquiry(true, 0xc7, 255);
    th_assert_invalid_field(c, 2, 7);
    th_fake_cmd_free(c);
}

Test(disk_inquiry, page_code_without_evpd_is_invalid_field)
{
    th_cmd *c = inquiry(false, 0x80, 255);
    th_assert_invalid_field(c, 2, 7);
    th_fake_cmd_free(c);
}

Test(disk_inquiry, cmddt_bit_is_a_reserved_bit)
{
    uint8_t cdb[6] = {0x12, 0x02, 0, 0, 96, 0};
    th_cmd *c = disk_cmd(d, cdb, 6, NULL, 0, 96);
    th_assert_invalid_field(c, 1, 1);
    th_fake_cmd_free(c);
}

/* What Linux sends to probe LUN 5 of a target that has no LUN 0 (the SCSI-2 LUN field): it
 * is answered, as LIO's own devices do, else the LUN gets no SCSI device. */
Test(disk_inquiry, the_scsi2_lun_field_of_a_first_probe_is_ignored)
{
    uint8_t cdb[6] = {0x12, 5 << 5, 0, 0, 36, 0};
    th_cmd *c = disk_cmd(d, cdb, 6, NULL, 0, 36);
    cr_assert_eq(th_cmd_get_status(c), 0);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 36);
    cr_assert_eq(b[0] & 0x1f, 0, "a disk's standard data");
    th_fake_cmd_free(c);
    cdb[1] = 0xe0 | 0x02; /* with CMDDT: still a reserved bit */
    c = disk_cmd(d, cdb, 6, NULL, 0, 36);
    th_assert_invalid_field(c, 1, 1);
    th_fake_cmd_free(c);
}

Test(disk_inquiry, block_limits_report_unmap_and_write_same_limits)
{
    th_cmd *c = inquiry(true, 0xb0, 255);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 64);
    cr_assert_eq(b[4] & 1, 1); /* WSNZ */
    cr_assert_eq(b[5], 128);
    cr_assert_eq(b[27], 64); /* max unmap descriptors */
    th_fake_cmd_free(c);
}

Test(disk_inquiry, provisioning_page_matches_read_capacity_lbpme)
{
    th_cmd *c = inquiry(true, 0xb2, 255);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert(b[5] & 0x80); /* LBPU */
    cr_assert(b[5] & 0x04); /* LBPRZ */
    th_fake_cmd_free(c);
}
