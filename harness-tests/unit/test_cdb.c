/* CDB decoding: lengths of every opcode group, LBA and transfer length edge cases. */
#include "helpers.h"

static th_cmd *cmd_of(const uint8_t *cdb, size_t len)
{
    th_cmd *c = th_fake_cmd_new(cdb, len, NULL, 0, 0);
    cr_assert_not_null(c);
    return c;
}

Test(cdb, length_by_opcode_group_never_zero)
{
    uint8_t cdb[16] = {0};
    static const uint8_t expect[8] = {6, 10, 10, 12, 16, 12, 10, 10};
    for (int op = 0; op < 256; op++) {
        if (op == 0x7f) continue;
        cdb[0] = (uint8_t)op;
        cr_assert_eq(th_cdb_len_for(cdb, 16), expect[op >> 5], "opcode %#x", op);
    }
}

Test(cdb, variable_length_cdb_uses_additional_length)
{
    uint8_t cdb[40] = {0x7f};
    cdb[7] = 24;
    cr_assert_eq(th_cdb_len_for(cdb, sizeof(cdb)), 32);
    cr_assert_eq(th_cdb_len_for(cdb, 4), 8); /* truncated: never reads past what exists */
    cr_assert_eq(th_cdb_len_for(cdb, 0), 0);
}

Test(cdb, read6_lba_zero_is_zero_and_length_zero_is_256)
{
    uint8_t cdb[6] = {0x08, 0, 0, 0, 0, 0};
    th_cmd *c = cmd_of(cdb, 6);
    cr_assert_eq(th_cmd_lba(c), 0);
    cr_assert_eq(th_cmd_xfer_len(c), 256);
    th_fake_cmd_free(c);
}

Test(cdb, read6_uses_21_bit_lba)
{
    uint8_t cdb[6] = {0x08, 0xff, 0x12, 0x34, 7, 0};
    th_cmd *c = cmd_of(cdb, 6);
    cr_assert_eq(th_cmd_lba(c), 0x1f1234);
    cr_assert_eq(th_cmd_xfer_len(c), 7);
    th_fake_cmd_free(c);
}

Test(cdb, builders_and_decoders_agree_for_10_12_16)
{
    uint8_t cdb[16];
    int sizes[] = {10, 12, 16};
    for (int i = 0; i < 3; i++) {
        size_t n = th_cdb_write(cdb, sizes[i], 0xfedcba98, 0x1234);
        th_cmd *c = cmd_of(cdb, n);
        cr_assert_eq(th_cmd_lba(c), 0xfedcba98);
        cr_assert_eq(th_cmd_xfer_len(c), 0x1234);
        th_fake_cmd_free(c);
    }
    size_t n = th_cdb_read(cdb, 16, 0x123456789abcull, 9);
    th_cmd *c = cmd_of(cdb, n);
    cr_assert_eq(th_cmd_lba(c), 0x123456789abcull);
    th_fake_cmd_free(c);
}

Test(cdb, builders_refuse_values_that_do_not_fit)
{
    uint8_t cdb[16];
    cr_assert_eq(th_cdb_read(cdb, 6, 0x200000, 1), 0);
    cr_assert_eq(th_cdb_read(cdb, 6, 0, 257), 0);
    cr_assert_eq(th_cdb_read(cdb, 10, 1ull << 32, 1), 0);
    cr_assert_eq(th_cdb_read(cdb, 8, 0, 1), 0);
    cr_assert_eq(th_cdb_read(cdb, 6, 0, 256), 6);
    cr_assert_eq(cdb[4], 0);
}

Test(cdb, compare_and_write_length_is_byte_13)
{
    uint8_t cdb[16];
    size_t n = th_cdb_compare_and_write(cdb, 77, 3);
    th_cmd *c = cmd_of(cdb, n);
    cr_assert_eq(th_cmd_lba(c), 77);
    cr_assert_eq(th_cmd_xfer_len(c), 3);
    th_fake_cmd_free(c);
}

Test(cdb, service_actions)
{
    uint8_t cdb[16];
    th_cdb_read_capacity16(cdb, 32);
    th_cmd *c = cmd_of(cdb, 16);
    cr_assert_eq(th_cmd_service_action(c), 0x10);
    th_fake_cmd_free(c);
    uint8_t var[32] = {0x7f, 0, 0, 0, 0, 0, 0, 24, 0x00, 0x09};
    c = cmd_of(var, 32);
    cr_assert_eq(th_cmd_service_action(c), 9);
    cr_assert_eq(th_cmd_lba(c), 0);
    th_fake_cmd_free(c);
}

Test(cdb, non_data_opcodes_have_no_lba)
{
    uint8_t cdb[6];
    th_cdb_inquiry(cdb, false, 0, 96);
    th_cmd *c = cmd_of(cdb, 6);
    cr_assert_eq(th_cmd_lba(c), 0);
    cr_assert_eq(th_cmd_xfer_len(c), 0);
    th_fake_cmd_free(c);
}
