/* TEST UNIT READY, REQUEST SENSE, START STOP UNIT, PREVENT ALLOW, REPORT SUPPORTED
 * OPERATION CODES, unknown opcodes. */
#include "helpers.h"

DISK_SUITE(disk_misc, 1024, 512);

static th_cmd *run6(uint8_t op, uint8_t b1, uint8_t b4, size_t in_cap)
{
    uint8_t cdb[6] = {op, b1, 0, 0, b4, 0};
    return disk_cmd(d, cdb, 6, NULL, 0, in_cap);
}

Test(disk_misc, test_unit_ready_is_good)
{
    th_cmd *c = run6(0x00, 0, 0, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

Test(disk_misc, stopped_unit_is_not_ready_until_started)
{
    th_cmd *c = run6(0x1b, 0, 0x00, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    c = run6(0x00, 0, 0, 0);
    th_assert_sense(c, TH_KEY_NOT_READY, TH_ASC_NOT_READY_INIT_REQUIRED);
    th_fake_cmd_free(c);
    c = run6(0x03, 0, 18, 18);
    th_assert_good(c);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(b[2] & 0x0f, TH_KEY_NOT_READY);
    th_fake_cmd_free(c);
    c = run6(0x1b, 0, 0x01, 0);
    th_fake_cmd_free(c);
    c = run6(0x00, 0, 0, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

Test(disk_misc, request_sense_reports_no_sense_in_either_format)
{
    th_cmd *c = run6(0x03, 0, 252, 252);
    th_assert_good(c);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 18);
    cr_assert_eq(b[0], 0x70);
    cr_assert_eq(b[2], 0);
    th_fake_cmd_free(c);
    c = run6(0x03, 1, 252, 252);
    b = th_fake_data_in(c, &n);
    cr_assert_eq(b[0], 0x72);
    th_fake_cmd_free(c);
    c = run6(0x03, 0, 4, 252);
    th_fake_data_in(c, &n);
    cr_assert_eq(n, 4);
    th_fake_cmd_free(c);
}

Test(disk_misc, prevent_blocks_eject)
{
    th_cmd *c = run6(0x1e, 0, 1, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    c = run6(0x1b, 0, 0x02, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_MEDIUM_REMOVAL_PREVENTED);
    th_fake_cmd_free(c);
    c = run6(0x1e, 0, 0, 0);
    th_fake_cmd_free(c);
    c = run6(0x1b, 0, 0x02, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

Test(disk_misc, unknown_opcodes_are_invalid_command_operation_code)
{
    static const uint8_t ops[] = {0x01, 0x04, 0x5e, 0x7e, 0xa0, 0xc0, 0xff, 0x60, 0x9f};
    for (size_t i = 0; i < sizeof(ops); i++) {
        uint8_t cdb[16] = {ops[i]};
        th_cmd *c = disk_cmd(d, cdb, th_cdb_len_for(cdb, 16), NULL, 0, 0);
        if (ops[i] == 0x9f) /* a service-action opcode we do not serve */
            th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_INVALID_OPCODE);
        else
            th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_INVALID_OPCODE);
        th_fake_cmd_free(c);
    }
}

Test(disk_misc, variable_length_cdb_does_not_crash)
{
    uint8_t cdb[32] = {0x7f, 0, 0, 0, 0, 0, 0, 24, 0x00, 0x09};
    th_cmd *c = disk_cmd(d, cdb, 32, NULL, 0, 512);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_INVALID_OPCODE);
    th_fake_cmd_free(c);
}

Test(disk_misc, report_supported_opcodes_lists_the_whole_table)
{
    uint8_t cdb[12];
    th_cdb_report_opcodes(cdb, 0, 0, 0, 4096);
    th_cmd *c = disk_cmd(d, cdb, 12, NULL, 0, 4096);
    th_assert_good(c);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    uint32_t len = (uint32_t)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
    cr_assert_eq(len + 4, n);
    cr_assert_eq(len % 8, 0);
    bool saw_read16 = false, saw_rc16 = false;
    for (size_t off = 4; off < n; off += 8) {
        if (b[off] == 0x88) saw_read16 |= b[off + 7] == 16;
        if (b[off] == 0x9e) saw_rc16 |= (b[off + 5] & 1) && b[off + 3] == 0x10;
    }
    cr_assert(saw_read16 && saw_rc16);
    th_fake_cmd_free(c);
}

Test(disk_misc, report_one_opcode_gives_its_cdb_usage_map)
{
    uint8_t cdb[12];
    th_cdb_report_opcodes(cdb, 1, 0x28, 0, 64);
    th_cmd *c = disk_cmd(d, cdb, 12, NULL, 0, 64);
    th_assert_good(c);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(b[1] & 7, 3); /* supported */
    cr_assert_eq(b[3], 10);
    cr_assert_eq(b[4], 0x28);
    cr_assert_eq(b[5], 0x1e);
    th_fake_cmd_free(c);
    th_cdb_report_opcodes(cdb, 1, 0xc5, 0, 64);
    c = disk_cmd(d, cdb, 12, NULL, 0, 64);
    b = th_fake_data_in(c, &n);
    cr_assert_eq(b[1] & 7, 1); /* not supported */
    th_fake_cmd_free(c);
    th_cdb_report_opcodes(cdb, 1, 0x9e, 0x10, 64); /* has service actions: option 2 */
    c = disk_cmd(d, cdb, 12, NULL, 0, 64);
    th_assert_invalid_field(c, 2, 2);
    th_fake_cmd_free(c);
    th_cdb_report_opcodes(cdb, 2, 0x9e, 0x10, 64);
    c = disk_cmd(d, cdb, 12, NULL, 0, 64);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

Test(disk_misc, op_names_come_from_the_table)
{
    cr_assert_str_eq(th_disk_op_name(0x28, 0), "READ_10");
    cr_assert_str_eq(th_disk_op_name(0x9e, 0x10), "READ_CAPACITY_16");
    cr_assert_null(th_disk_op_name(0xc5, 0));
}
