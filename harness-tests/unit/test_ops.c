/* th/ops.h: naming opcodes from outside the emulations (scenarios, rules, traces). */
#include "helpers.h"

TestSuite(ops);

Test(ops, names_resolve_with_flags_and_service_actions)
{
    th_op_info o;
    cr_assert_eq(th_ops_by_name(TH_OPS_DISK, "read(10)", &o), 0);
    cr_assert_eq(o.opcode, 0x28);
    cr_assert_eq(o.sa, TH_OP_NO_SA);
    cr_assert_eq(o.cdb_len, 10);
    cr_assert_eq(o.flags & (TH_OP_MEDIA | TH_OP_DATA_IN | TH_OP_DATA_OUT),
                 TH_OP_MEDIA | TH_OP_DATA_IN);
    cr_assert_str_eq(o.name, "READ_10");
    cr_assert_eq(th_ops_by_name(TH_OPS_DISK, "get-lba-status", &o), 0);
    cr_assert_eq(o.opcode, 0x9e);
    cr_assert_eq(o.sa, 0x12);
    cr_assert_eq(th_ops_by_name(TH_OPS_DISK, "WRITE_ATOMIC_16", &o), 0);
    cr_assert(o.flags & TH_OP_EXCLUSIVE);
    cr_assert(o.flags & TH_OP_WRITE);
    cr_assert_eq(th_ops_by_name(TH_OPS_TAPE, "SPACE_6", &o), 0);
    cr_assert_eq(o.opcode, 0x11);
    cr_assert_eq(th_ops_by_name(TH_OPS_DISK, "SPACE_6", &o), -ENOENT, "a tape command");
    cr_assert_eq(th_ops_by_name(TH_OPS_DISK, "NO_SUCH", &o), -ENOENT);
    cr_assert_eq(th_ops_by_name(TH_OPS_DISK, NULL, &o), -ENOENT);
}

Test(ops, names_from_opcode_and_service_action)
{
    cr_assert_str_eq(th_ops_name(TH_OPS_DISK, 0x9e, 0x10), "READ_CAPACITY_16");
    cr_assert_str_eq(th_ops_name(TH_OPS_DISK, 0x2a, 0), "WRITE_10");
    cr_assert_str_eq(th_ops_name(TH_OPS_TAPE, 0x01, 0), "REWIND");
    cr_assert_null(th_ops_name(TH_OPS_DISK, 0x9e, 0x1f));
    th_op_info o;
    cr_assert_eq(th_ops_find(TH_OPS_TAPE, 0x92, 0, &o), 0);
    cr_assert_str_eq(o.name, "LOCATE_16");
    cr_assert_eq(th_ops_find(TH_OPS_TAPE, 0x28, 0, &o), -ENOENT);
}

Test(ops, unit_attention_exemptions_are_inquiry_request_sense_and_report_luns)
{
    for (int op = 0; op < 256; op++) {
        bool want = op == 0x12 || op == 0x03 || op == 0xa0;
        cr_assert_eq(th_ops_ua_exempt((uint8_t)op), want, "opcode %#x", op);
    }
}

/* Every row states its direction, and the disk's data commands say which way. */
Test(ops, every_data_command_has_one_direction)
{
    static const char *in[] = {"READ_6", "READ_16", "INQUIRY", "MODE_SENSE_10", "GET_LBA_STATUS"};
    static const char *out[] = {"WRITE_6",        "WRITE_16",          "UNMAP",
                                "MODE_SELECT_10", "COMPARE_AND_WRITE", "EXTENDED_COPY"};
    static const char *none[] = {"TEST_UNIT_READY", "START_STOP_UNIT", "SYNCHRONIZE_CACHE_10"};
    th_op_info o;
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        cr_assert_eq(th_ops_by_name(TH_OPS_DISK, in[i], &o), 0);
        cr_assert_eq(o.flags & (TH_OP_DATA_IN | TH_OP_DATA_OUT), TH_OP_DATA_IN, "%s", in[i]);
    }
    for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
        cr_assert_eq(th_ops_by_name(TH_OPS_DISK, out[i], &o), 0);
        cr_assert_eq(o.flags & (TH_OP_DATA_IN | TH_OP_DATA_OUT), TH_OP_DATA_OUT, "%s", out[i]);
    }
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        cr_assert_eq(th_ops_by_name(TH_OPS_DISK, none[i], &o), 0);
        cr_assert_eq(o.flags & (TH_OP_DATA_IN | TH_OP_DATA_OUT), 0, "%s", none[i]);
    }
}
