/* The handler unit-tested with fake commands: no kernel, no device. */
#include <criterion/criterion.h>
#include <th/criterion.h>
#include <string.h>
#include "vendor.h"

static vendor_dev v;

static void setup(void)
{
    char err[256] = "";
    cr_assert_eq(vendor_dev_init(&v, 64, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
    vendor_dev_free(&v);
}

TestSuite(vendor, .init = setup, .fini = teardown);

static th_cmd *run(const uint8_t *cdb, size_t len, const void *out, size_t out_len, size_t in_cap)
{
    th_cmd *c = th_fake_cmd_new(cdb, len, out, out_len, in_cap);
    cr_assert_not_null(c);
    cr_assert_eq(th_fake_cmd_run(c, vendor_handle, &v), 0);
    return c;
}

Test(vendor, fw_info_answers_the_fixed_data_in)
{
    const uint8_t cdb[6] = {VENDOR_OP_FW_INFO, 0, 0, 0, 255, 0};
    th_cmd *c = run(cdb, 6, NULL, 0, 255);
    th_assert_good(c);
    th_assert_data_in(c, VENDOR_FW_INFO, VENDOR_FW_INFO_LEN);
    cr_assert_eq(th_fake_residual(c), 255 - VENDOR_FW_INFO_LEN);
    cr_assert_eq(v.fw_queries, 1);
    th_fake_cmd_free(c);
}

Test(vendor, fw_info_stops_at_the_allocation_length)
{
    const uint8_t cdb[6] = {VENDOR_OP_FW_INFO, 0, 0, 0, 4, 0};
    th_cmd *c = run(cdb, 6, NULL, 0, 4);
    th_assert_good(c);
    th_assert_data_in(c, "ACME", 4);
    th_fake_cmd_free(c);
}

Test(vendor, fw_info_with_a_reserved_bit_set_points_at_it)
{
    const uint8_t cdb[6] = {VENDOR_OP_FW_INFO, 0x01, 0, 0, 16, 0};
    th_cmd *c = run(cdb, 6, NULL, 0, 16);
    th_assert_invalid_field(c, 1, -1);
    cr_assert_eq(v.fw_queries, 0);
    th_fake_cmd_free(c);
}

Test(vendor, reads_and_writes_go_to_the_disk_emulation)
{
    uint8_t data[512], cdb[16];
    for (size_t i = 0; i < sizeof(data); i++) data[i] = (uint8_t)(i * 7 + 3);
    size_t n = th_cdb_write(cdb, 10, 5, 1);
    th_cmd *c = run(cdb, n, data, sizeof(data), 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    n = th_cdb_read(cdb, 10, 5, 1);
    c = run(cdb, n, NULL, 0, sizeof(data));
    th_assert_good(c);
    th_assert_data_in(c, data, sizeof(data));
    th_fake_cmd_free(c);
    n = th_cdb_read(cdb, 10, 64, 1); /* past the end: the emulation's own sense */
    c = run(cdb, n, NULL, 0, sizeof(data));
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_LBA_OUT_OF_RANGE);
    th_fake_cmd_free(c);
}

Test(vendor, inquiry_is_the_emulation_s_with_the_vendor_s_names)
{
    uint8_t cdb[16];
    size_t n = th_cdb_inquiry(cdb, false, 0, 36);
    th_cmd *c = run(cdb, n, NULL, 0, 36);
    th_assert_good(c);
    size_t len;
    const uint8_t *d = th_fake_data_in(c, &len);
    cr_assert_eq(len, 36);
    cr_assert_arr_eq(d + 8, "ACME    VENDOR-DISK     ", 24);
    th_fake_cmd_free(c);
}

Test(vendor, other_vendor_opcodes_are_refused_by_the_emulation)
{
    const uint8_t cdb[6] = {0xC1, 0, 0, 0, 0, 0};
    th_cmd *c = run(cdb, 6, NULL, 0, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_INVALID_OPCODE);
    th_fake_cmd_free(c);
}
