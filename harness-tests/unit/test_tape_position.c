/* Tape positioning: SPACE in every form, REWIND, LOCATE, READ POSITION, ERASE. */
#include "helpers.h"

static th_tape *t;
/* rec rec FM rec FM FM rec   (objects 0..6, EOD at 7) */
static void setup(void)
{
    t = test_tape(0, 0);
    uint8_t b[16] = {0};
    th_tape_append_record(t, b, 16);
    th_tape_append_record(t, b, 16);
    th_tape_append_filemark(t);
    th_tape_append_record(t, b, 16);
    th_tape_append_filemark(t);
    th_tape_append_filemark(t);
    th_tape_append_record(t, b, 16);
}
static void teardown(void)
{
    th_tape_free(t);
}
TestSuite(tape_position, .init = setup, .fini = teardown);

static th_cmd *space(uint8_t code, int32_t count)
{
    return tape_op6(t, 0x11, code, (uint32_t)count & 0xffffff, 0);
}

Test(tape_position, space_blocks_forward_stops_after_a_filemark)
{
    th_cmd *c = space(0, 5);
    th_assert_sense(c, TH_KEY_NO_SENSE, TH_ASC_FILEMARK);
    cr_assert_eq(tape_info(c), 3);
    cr_assert_eq(th_tape_position(t), 3);
    th_fake_cmd_free(c);
}

Test(tape_position, space_blocks_backward_to_bop_reports_eom_bom)
{
    tape_simple_ok(t, 0x11, 0, 1);
    th_cmd *c = space(0, -3);
    th_assert_sense(c, TH_KEY_NO_SENSE, TH_ASC_BOP_BOM);
    th_sense s;
    th_fake_sense(c, &s);
    cr_assert(s.eom);
    cr_assert_eq(tape_info(c), 2);
    cr_assert_eq(th_tape_position(t), 0);
    th_fake_cmd_free(c);
}

Test(tape_position, space_blocks_backward_stops_before_a_filemark)
{
    th_fake_cmd_free(space(3, 0)); /* EOD */
    th_cmd *c = space(0, -2);
    th_assert_sense(c, TH_KEY_NO_SENSE, TH_ASC_FILEMARK);
    cr_assert_eq(th_tape_position(t), 5, "on the BOP side of the filemark");
    th_fake_cmd_free(c);
}

Test(tape_position, space_filemarks_forward_and_backward)
{
    tape_simple_ok(t, 0x11, 1, 2);
    cr_assert_eq(th_tape_position(t), 5);
    tape_simple_ok(t, 0x11, 1, (uint32_t)-1 & 0xffffff);
    cr_assert_eq(th_tape_position(t), 4);
    th_cmd *c = space(1, 5);
    th_assert_sense(c, TH_KEY_BLANK_CHECK, TH_ASC_END_OF_DATA);
    cr_assert_eq(th_tape_position(t), 7);
    th_fake_cmd_free(c);
    c = space(1, -4);
    th_assert_sense(c, TH_KEY_NO_SENSE, TH_ASC_BOP_BOM);
    cr_assert_eq(tape_info(c), 1);
    th_fake_cmd_free(c);
}

Test(tape_position, space_sequential_filemarks_and_eod)
{
    tape_simple_ok(t, 0x11, 2, 2);
    cr_assert_eq(th_tape_position(t), 6);
    tape_simple_ok(t, 0x01, 0, 0);
    tape_simple_ok(t, 0x11, 3, 0);
    cr_assert_eq(th_tape_position(t), 7);
    th_cmd *c = space(5, 1);
    th_assert_invalid_field(c, 1, 2);
    th_fake_cmd_free(c);
}

Test(tape_position, locate_and_read_position_short_and_long)
{
    uint8_t loc[10] = {0x2b, 0, 0, 0, 0, 0, 4, 0, 0, 0};
    th_cmd *c = tape_cmd(t, loc, 10, NULL, 0, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    uint8_t rp[10] = {0x34, 0x00};
    c = tape_cmd(t, rp, 10, NULL, 0, 20);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 20);
    cr_assert_eq(b[0] & 0x80, 0);
    cr_assert_eq(b[7], 4);
    th_fake_cmd_free(c);
    uint8_t rpl[10] = {0x34, 0x06, 0, 0, 0, 0, 0, 0, 32, 0};
    c = tape_cmd(t, rpl, 10, NULL, 0, 32);
    b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 32);
    cr_assert_eq(b[15], 4);
    cr_assert_eq(b[23], 1, "one filemark before object 4");
    th_fake_cmd_free(c);
    uint8_t l16[16] = {0x92, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}; /* logical file 2 */
    c = tape_cmd(t, l16, 16, NULL, 0, 0);
    th_assert_good(c);
    cr_assert_eq(th_tape_position(t), 5);
    th_fake_cmd_free(c);
}

Test(tape_position, locate_past_eod_is_blank_check_at_eod)
{
    uint8_t loc[10] = {0x2b, 0, 0, 0, 0, 0, 50, 0, 0, 0};
    th_cmd *c = tape_cmd(t, loc, 10, NULL, 0, 0);
    th_assert_sense(c, TH_KEY_BLANK_CHECK, TH_ASC_END_OF_DATA);
    cr_assert_eq(th_tape_position(t), 7);
    th_fake_cmd_free(c);
    uint8_t bad[10] = {0x2b, 0x02, 0, 0, 0, 0, 1, 0, 1, 0}; /* partition 1 */
    c = tape_cmd(t, bad, 10, NULL, 0, 0);
    th_assert_invalid_field(c, 8, -1);
    th_fake_cmd_free(c);
}

Test(tape_position, read_position_at_bop_and_bad_service_action)
{
    uint8_t rp[10] = {0x34, 0x00};
    th_cmd *c = tape_cmd(t, rp, 10, NULL, 0, 20);
    size_t n;
    cr_assert_eq(th_fake_data_in(c, &n)[0] & 0x80, 0x80);
    th_fake_cmd_free(c);
    uint8_t bad[10] = {0x34, 0x03};
    c = tape_cmd(t, bad, 10, NULL, 0, 20);
    th_assert_invalid_field(c, 1, 4);
    th_fake_cmd_free(c);
}

Test(tape_position, long_erase_removes_everything_after_the_position)
{
    tape_simple_ok(t, 0x11, 1, 1);
    tape_simple_ok(t, 0x19, 0x01, 0);
    cr_assert_eq(th_tape_objects(t), 3);
}

/* Suspect: LOCATE with CP switched partition before checking DEST_TYPE, so a refused
 * LOCATE still moved the tape to the other partition. */
Test(tape_position, locate_with_cp_and_a_bad_dest_type_leaves_the_partition)
{
    th_tape *p = test_tape_partitioned(8 << 20, 2 << 20);
    uint8_t rec[10] = {0};
    tape_write_ok(p, rec, sizeof(rec));
    uint8_t loc[16] = {0x92, 0x02 | (2 << 3), 0, 1}; /* CP, DEST_TYPE 2 (reserved), part 1 */
    th_cmd *c = tape_cmd(p, loc, 16, NULL, 0, 0);
    th_assert_invalid_field(c, 1, 5);
    th_fake_cmd_free(c);
    cr_assert_eq(th_tape_partition(p), 0);
    cr_assert_eq(th_tape_position(p), 1);
    th_tape_free(p);
}
