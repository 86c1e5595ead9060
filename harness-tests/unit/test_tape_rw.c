/* Tape READ(6)/WRITE(6)/WRITE FILEMARKS: records, filemarks, ILI, EOD, early warning. */
#include "helpers.h"

static th_tape *t;
static uint8_t r1[1000], r2[300];
static void setup(void)
{
    t = test_tape(1 << 20, 4096);
    fill_pattern(r1, sizeof(r1), 1);
    fill_pattern(r2, sizeof(r2), 2);
    tape_write_ok(t, r1, sizeof(r1));
    tape_simple_ok(t, 0x10, 0, 1); /* filemark */
    tape_write_ok(t, r2, sizeof(r2));
    tape_simple_ok(t, 0x01, 0, 0); /* rewind */
}
static void teardown(void)
{
    th_tape_free(t);
}
TestSuite(tape_rw, .init = setup, .fini = teardown);

Test(tape_rw, exact_length_read_is_good)
{
    th_cmd *c = tape_op6(t, 0x08, 0, 1000, 1000);
    th_assert_good(c);
    th_assert_data_in(c, r1, 1000);
    th_fake_cmd_free(c);
    cr_assert_eq(th_tape_position(t), 1);
}

Test(tape_rw, short_record_gives_data_and_ili_with_the_residue)
{
    th_cmd *c = tape_op6(t, 0x08, 0, 4096, 4096);
    th_assert_sense(c, TH_KEY_NO_SENSE, TH_ASC_NONE);
    th_sense s;
    th_fake_sense(c, &s);
    cr_assert(s.ili && !s.filemark && !s.eom);
    cr_assert_eq(tape_info(c), 4096 - 1000);
    th_assert_data_in(c, r1, 1000);
    th_fake_cmd_free(c);
}

Test(tape_rw, short_record_with_sili_is_good_with_a_residual)
{
    th_cmd *c = tape_op6(t, 0x08, 0x02, 4096, 4096);
    th_assert_good(c);
    cr_assert_eq(th_fake_residual(c), 4096 - 1000);
    th_fake_cmd_free(c);
}

Test(tape_rw, long_record_gives_ili_with_a_negative_residue)
{
    th_cmd *c = tape_op6(t, 0x08, 0, 100, 100);
    th_assert_sense(c, TH_KEY_NO_SENSE, TH_ASC_NONE);
    cr_assert_eq(tape_info(c), 100 - 1000);
    th_assert_data_in(c, r1, 100);
    th_fake_cmd_free(c);
    cr_assert_eq(th_tape_position(t), 1, "the whole record was passed");
}

Test(tape_rw, reading_a_filemark_reports_fm_with_the_residue_and_passes_it)
{
    th_fake_cmd_free(tape_op6(t, 0x08, 0, 1000, 1000));
    th_cmd *c = tape_op6(t, 0x08, 0, 512, 512);
    th_assert_sense(c, TH_KEY_NO_SENSE, TH_ASC_FILEMARK);
    th_sense s;
    th_fake_sense(c, &s);
    cr_assert(s.filemark);
    cr_assert_eq(tape_info(c), 512);
    th_fake_cmd_free(c);
    cr_assert_eq(th_tape_position(t), 2);
}

Test(tape_rw, end_of_data_is_blank_check)
{
    tape_simple_ok(t, 0x11, 3, 0); /* SPACE to EOD */
    th_cmd *c = tape_op6(t, 0x08, 0, 512, 512);
    th_assert_sense(c, TH_KEY_BLANK_CHECK, TH_ASC_END_OF_DATA);
    cr_assert_eq(tape_info(c), 512);
    th_fake_cmd_free(c);
}

Test(tape_rw, writing_in_the_middle_truncates_what_followed)
{
    th_fake_cmd_free(tape_op6(t, 0x08, 0, 1000, 1000));
    tape_write_ok(t, r2, 10);
    cr_assert_eq(th_tape_objects(t), 2);
}

Test(tape_rw, fixed_mode_needs_a_block_size)
{
    th_cmd *c = tape_op6(t, 0x08, 0x01, 1, 512);
    th_assert_invalid_field(c, 1, 0);
    th_fake_cmd_free(c);
    c = tape_op6(t, 0x08, 0x03, 1, 512); /* FIXED with SILI */
    th_assert_invalid_field(c, 1, 1);
    th_fake_cmd_free(c);
}

static void set_block_size(th_tape *tp, uint32_t bs)
{
    uint8_t p[12] = {0,          0, 0, 8, 0, 0, 0, 0, 0, (uint8_t)(bs >> 16), (uint8_t)(bs >> 8),
                     (uint8_t)bs};
    uint8_t cdb[6] = {0x15, 0x10, 0, 0, 12, 0};
    th_cmd *c = tape_cmd(tp, cdb, 6, p, 12, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

/* A 1 MiB tape in 512-byte fixed mode, with `n` blocks of pattern `seed` written. */
static th_tape *fixed_tape_with(uint8_t *buf, uint8_t n, int seed)
{
    th_tape *f = test_tape(1 << 20, 4096);
    set_block_size(f, 512);
    fill_pattern(buf, (size_t)n * 512, seed);
    uint8_t w[6] = {0x0a, 0x01, 0, 0, n, 0};
    th_cmd *c = tape_cmd(f, w, 6, buf, (size_t)n * 512, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    return f;
}

Test(tape_rw, fixed_blocks_write_and_read_back)
{
    uint8_t buf[3 * 512];
    th_tape *f = fixed_tape_with(buf, 3, 5);
    th_cmd *c;
    cr_assert_eq(th_tape_objects(f), 3);
    tape_simple_ok(f, 0x10, 0, 1);
    tape_simple_ok(f, 0x01, 0, 0);
    c = tape_op6(f, 0x08, 0x01, 3, sizeof(buf));
    th_assert_good(c);
    th_assert_data_in(c, buf, sizeof(buf));
    th_fake_cmd_free(c);
    c = tape_op6(f, 0x08, 0x01, 2, 1024); /* hits the filemark first */
    th_assert_sense(c, TH_KEY_NO_SENSE, TH_ASC_FILEMARK);
    cr_assert_eq(tape_info(c), 2);
    th_fake_cmd_free(c);
    th_tape_free(f);
}

Test(tape_rw, early_warning_completes_the_write_and_reports_eom)
{
    th_tape *e = test_tape(8192, 4096);
    uint8_t buf[3000] = {0};
    tape_write_ok(e, buf, 3000);
    uint8_t w[6] = {0x0a, 0, 0, 0x0b, 0xb8, 0}; /* 3000 bytes more: past the warning */
    th_cmd *c = tape_cmd(e, w, 6, buf, 3000, 0);
    th_assert_sense(c, TH_KEY_NO_SENSE, TH_ASC_EOP_EOM);
    th_sense s;
    th_fake_sense(c, &s);
    cr_assert(s.eom);
    cr_assert_eq(s.info, 0);
    th_fake_cmd_free(c);
    cr_assert_eq(th_tape_objects(e), 2, "the write was done");
    c = tape_cmd(e, w, 6, buf, 3000, 0); /* past capacity */
    th_assert_sense(c, TH_KEY_VOLUME_OVERFLOW, TH_ASC_EOP_EOM);
    th_fake_cmd_free(c);
    cr_assert_eq(th_tape_objects(e), 2, "nothing written past the end");
    th_tape_free(e);
}

Test(tape_rw, write_filemarks_zero_is_a_flush)
{
    size_t n = th_tape_objects(t);
    tape_simple_ok(t, 0x10, 0, 0);
    cr_assert_eq(th_tape_objects(t), n);
}

/* Defect 2: the handler capped the copy to what arrived but inserted every block of the
 * CDB from that buffer: a heap over-read (ASan), and bytes that were never sent on the
 * tape. */
Test(tape_rw, write6_fixed_with_short_data_out_is_refused_and_writes_nothing)
{
    th_tape_config cfg;
    th_tape_config_init(&cfg);
    cfg.block_size = 512;
    th_tape *f;
    cr_assert_eq(th_tape_new(&cfg, &f, NULL, 0), 0);
    uint8_t *out = malloc(100); /* exact size: ASan sees a read past it */
    fill_pattern(out, 100, 3);
    uint8_t cdb[6] = {0x0a, 0x01, 0, 0, 4, 0}; /* four 512-byte blocks */
    th_cmd *c = tape_cmd(f, cdb, 6, out, 100, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
    cr_assert_eq(th_tape_objects(f), 0);
    th_fake_cmd_free(c);
    free(out);
    th_tape_free(f);
}

Test(tape_rw, write6_variable_with_short_data_out_is_refused)
{
    uint8_t cdb[6] = {0x0a, 0, 0, 0x01, 0x00, 0}; /* a 256-byte record */
    size_t before = th_tape_objects(t);
    th_cmd *c = tape_cmd(t, cdb, 6, r1, 255, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
    cr_assert_eq(th_tape_objects(t), before);
    th_fake_cmd_free(c);
}

/* A READ with less Data-In room than its CDB asks for: the data would stop at the buffer
 * while the position passed every object the CDB names, so what did not fit would be lost
 * for good. Every short room (none, one byte short, one block short) in both modes is
 * refused before the tape moves. */
Test(tape_rw, read6_with_short_data_in_is_refused_and_does_not_move)
{
    uint8_t buf[4 * 512];
    th_tape *f = fixed_tape_with(buf, 4, 7);
    th_cmd *c;
    tape_simple_ok(f, 0x01, 0, 0);
    const size_t rooms[] = {0, 512, 3 * 512, 4 * 512 - 1};
    for (size_t i = 0; i < sizeof(rooms) / sizeof(rooms[0]); i++) {
        c = tape_op6(f, 0x08, 0x01, 4, rooms[i]);
        th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
        th_fake_cmd_free(c);
        cr_assert_eq(th_tape_position(f), 0, "fixed READ into %zu bytes moved", rooms[i]);
    }
    c = tape_op6(f, 0x08, 0x01, 4, sizeof(buf)); /* the blocks are all still there */
    th_assert_good(c);
    th_assert_data_in(c, buf, sizeof(buf));
    th_fake_cmd_free(c);
    th_tape_free(f);

    const size_t vrooms[] = {0, 100, 999};
    for (size_t i = 0; i < sizeof(vrooms) / sizeof(vrooms[0]); i++) {
        for (uint8_t b1 = 0; b1 <= 0x02; b1 += 0x02) { /* without and with SILI */
            c = tape_op6(t, 0x08, b1, 1000, vrooms[i]);
            th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
            th_fake_cmd_free(c);
            cr_assert_eq(th_tape_position(t), 0, "variable READ into %zu bytes moved", vrooms[i]);
        }
    }
    c = tape_op6(t, 0x08, 0, 1000, 1000);
    th_assert_good(c);
    th_assert_data_in(c, r1, 1000);
    th_fake_cmd_free(c);
}

/* Filemarks take room on the tape: one CDB may ask for 2^24 - 1 of them. */
Test(tape_rw, write_filemarks_past_capacity_is_volume_overflow_and_writes_none)
{
    th_tape *e = test_tape(8192, 4096);
    th_cmd *c = tape_op6(e, 0x10, 0, 200000, 0);
    th_assert_sense(c, TH_KEY_VOLUME_OVERFLOW, TH_ASC_EOP_EOM);
    th_sense s;
    th_fake_sense(c, &s);
    cr_assert(s.eom);
    cr_assert_eq(s.info, 200000, "INFORMATION: the filemarks not written");
    th_fake_cmd_free(c);
    cr_assert_eq(th_tape_objects(e), 0, "no filemark of a write that does not fit");
    c = tape_op6(e, 0x10, 0, 0xffffff, 0);
    th_assert_sense(c, TH_KEY_VOLUME_OVERFLOW, TH_ASC_EOP_EOM);
    th_fake_cmd_free(c);
    cr_assert_eq(th_tape_objects(e), 0);
    th_tape_free(e);
}

/* The same early-warning rule as WRITE: marks that fit are written, and past the warning
 * the initiator hears EOM with GOOD data; filemarks fill the tape for later WRITEs too. */
Test(tape_rw, write_filemarks_count_toward_early_warning_and_capacity)
{
    th_tape *e = test_tape(8192, 4096);
    tape_simple_ok(e, 0x10, 0, 1); /* far from the warning */
    size_t n = 1;
    th_cmd *c;
    for (;;) { /* one mark at a time until the warning */
        c = tape_op6(e, 0x10, 0, 1, 0);
        n++;
        if (th_cmd_get_status(c) != TH_STATUS_GOOD) break;
        th_fake_cmd_free(c);
        cr_assert_lt(n, 8192, "filemarks never reach the early warning");
    }
    th_assert_sense(c, TH_KEY_NO_SENSE, TH_ASC_EOP_EOM);
    th_sense s;
    th_fake_sense(c, &s);
    cr_assert(s.eom);
    th_fake_cmd_free(c);
    cr_assert_eq(th_tape_objects(e), n, "the mark inside the warning zone was written");
    uint8_t big[6] = {0x0a, 0, 0, 0x10, 0x01, 0}; /* 4097 bytes: past the end now */
    uint8_t buf[4097] = {0};
    c = tape_cmd(e, big, 6, buf, sizeof(buf), 0);
    th_assert_sense(c, TH_KEY_VOLUME_OVERFLOW, TH_ASC_EOP_EOM);
    th_fake_cmd_free(c);
    cr_assert_eq(th_tape_objects(e), n);
    th_tape_free(e);
}
