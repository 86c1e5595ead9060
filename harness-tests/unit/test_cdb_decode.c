/* th_cdb_decode by device type, the rules on a tape (trace fields, residue in the tape's
 * units, lba ranges), and opcode names generated from the emulations' tables. */
#include <string.h>
#include "emu/disk_internal.h"
#include "emu/tape_internal.h"
#include "helpers.h"
#include "scenario/device_keys.h"
#include "scenario/scenario.h"
#include "th/cdb.h"

Test(cdb_decode, a_tape_read6_has_no_lba_and_counts_blocks_when_fixed_bytes_when_not)
{
    const uint8_t fixed[6] = {0x08, 0x01, 0x00, 0x01, 0x02, 0x00};
    const uint8_t var[6] = {0x08, 0x00, 0x01, 0x00, 0x00, 0x00};
    th_cdb_info in;
    cr_assert_eq(th_cdb_decode(TH_CDB_TAPE, fixed, 6, &in), 0);
    cr_assert(!in.has_lba);
    cr_assert(in.fixed);
    cr_assert_eq(in.unit, TH_XFER_BLOCKS);
    cr_assert_eq(in.xfer_len, 0x102);
    cr_assert_eq(th_cdb_decode(TH_CDB_TAPE, var, 6, &in), 0);
    cr_assert(!in.fixed);
    cr_assert_eq(in.unit, TH_XFER_BYTES);
    cr_assert_eq(in.xfer_len, 0x10000);
    /* The same bytes on a disk: a 21-bit LBA (0x100) and a length (0 means 256). */
    cr_assert_eq(th_cdb_decode(TH_CDB_DISK, var, 6, &in), 0);
    cr_assert(in.has_lba);
    cr_assert_eq(in.lba, 0x100);
    cr_assert_eq(in.xfer_len, 256);
}

Test(cdb_decode, tape_positioning_commands_carry_no_lba_and_only_space_a_count)
{
    /* LOCATE(10), LOCATE(16): positions, not LBAs; SPACE(6): a count of objects. */
    const uint8_t loc10[10] = {0x2b, 0, 0, 0, 0, 9, 0, 0, 0, 0};
    const uint8_t space[6] = {0x11, 1, 0, 0, 2, 0};
    const uint8_t loc16[16] = {0x92, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0};
    th_cdb_info in;
    th_cdb_decode(TH_CDB_TAPE, loc10, 10, &in);
    cr_assert(!in.has_lba && in.unit == TH_XFER_NONE && !in.xfer_len);
    th_cdb_decode(TH_CDB_TAPE, space, 6, &in);
    cr_assert(!in.has_lba && in.unit == TH_XFER_COUNT && in.xfer_len == 2);
    /* Backwards (-3, 24-bit two's complement): the magnitude. */
    const uint8_t back[6] = {0x11, 0, 0xff, 0xff, 0xfd, 0};
    th_cdb_decode(TH_CDB_TAPE, back, 6, &in);
    cr_assert(in.unit == TH_XFER_COUNT && in.xfer_len == 3, "%u", in.xfer_len);
    const uint8_t most[6] = {0x11, 0, 0x80, 0, 0, 0}; /* -2^23 */
    th_cdb_decode(TH_CDB_TAPE, most, 6, &in);
    cr_assert_eq(in.xfer_len, 0x800000u);
    /* CODE 3, end of data: the count field is ignored. */
    const uint8_t eod[6] = {0x11, 3, 0, 0, 7, 0};
    th_cdb_decode(TH_CDB_TAPE, eod, 6, &in);
    cr_assert(in.unit == TH_XFER_NONE && !in.xfer_len);
    /* The same bytes on a disk (0x11 is nothing there): no fields. */
    th_cdb_decode(TH_CDB_DISK, space, 6, &in);
    cr_assert(in.unit == TH_XFER_NONE && !in.xfer_len);
    th_cdb_decode(TH_CDB_TAPE, loc16, 16, &in);
    cr_assert(!in.has_lba && in.unit == TH_XFER_NONE);
    /* PRE-FETCH(10) (0x34 on a disk) has one. */
    const uint8_t pf[10] = {0x34, 0, 0, 0, 0, 5, 0, 0, 1, 0};
    th_cdb_decode(TH_CDB_DISK, pf, 10, &in);
    cr_assert(in.has_lba && in.lba == 5 && in.xfer_len == 1);
    th_cdb_decode(TH_CDB_TAPE, pf, 10, &in); /* READ POSITION on a tape */
    cr_assert(!in.has_lba);
}

Test(cdb_decode, short_or_empty_cdbs_give_no_fields_and_the_last_lba_saturates)
{
    const uint8_t r16[16] = {0x88, 0,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                             0xff, 0xfe, 0,    0,    0,    8,    0,    0};
    th_cdb_info in;
    cr_assert_eq(th_cdb_decode(TH_CDB_DISK, r16, 0, &in), -1);
    cr_assert_eq(th_cdb_decode(TH_CDB_DISK, r16, 10, &in), 0);
    cr_assert(!in.has_lba && !in.xfer_len);
    cr_assert_eq(th_cdb_decode(TH_CDB_DISK, r16, 16, &in), 0);
    cr_assert_eq(in.lba, UINT64_MAX - 1);
    cr_assert_eq(th_cdb_last_lba(&in), UINT64_MAX);
}

/* Every row of the tape's table resolves, on a tape, to the tape's own number, and every
 * number both tables have is named by the type asked. */
Test(cdb_decode, every_tape_name_resolves_on_a_tape_to_the_tapes_number)
{
    for (size_t i = 0; i < th_tape_optable.n; i++) {
        const th_op *o = &th_tape_optable.ops[i];
        int op, sa;
        char canon[64], err[160];
        cr_assert_eq(
            sc_op_for(SC_ON_TAPE, o->name, &op, &sa, canon, sizeof(canon), err, sizeof(err)), 0,
            "%s: %s", o->name, err);
        cr_assert_eq(op, o->op, "%s", o->name);
        cr_assert_str_eq(canon, o->name);
        /* By number, too: the trace's name for it on a tape is the tape's. */
        char num[8];
        snprintf(num, sizeof(num), "0x%02x", o->op);
        cr_assert_eq(sc_op_for(SC_ON_TAPE, num, &op, &sa, canon, sizeof(canon), err, sizeof(err)),
                     0);
        if (o->sa == TH_NO_SA) cr_assert_str_eq(canon, o->name);
        cr_assert_str_eq(th_tape_op_name(o->op, o->sa == TH_NO_SA ? 0 : o->sa), o->name);
    }
}

Test(cdb_decode, a_disk_only_name_on_a_tape_is_refused_naming_the_tapes_command)
{
    int overlapping = 0;
    for (size_t i = 0; i < th_disk_optable.n; i++) {
        const th_op *o = &th_disk_optable.ops[i];
        th_op_info mine;
        if (!th_ops_by_name(TH_OPS_TAPE, o->name, &mine)) continue; /* both have it */
        int op, sa;
        char err[160];
        cr_assert_eq(sc_op_for(SC_ON_TAPE, o->name, &op, &sa, NULL, 0, err, sizeof(err)), -1, "%s",
                     o->name);
        cr_assert(strstr(err, "is not a tape command"), "%s", err);
        const char *tape = th_tape_op_name(o->op, o->sa == TH_NO_SA ? 0 : o->sa);
        if (tape) {
            overlapping++;
            cr_assert(strstr(err, tape), "%s", err);
        }
    }
    cr_assert_geq(overlapping, 2); /* 0x1B LOAD UNLOAD, 0x34 READ POSITION */
}

/* A tape behind the rules, as a session builds it. */
static uint32_t bs_of(void *t)
{
    return th_tape_block_size(t);
}

static th_cmd *run(th_rules *r, const uint8_t *cdb, size_t n, const void *out, size_t out_len,
                   size_t alloc)
{
    th_cmd *c = th_fake_cmd_new(cdb, n, out, out_len, alloc);
    cr_assert_not_null(c);
    th_fake_cmd_run(c, th_rules_handle, r);
    return c;
}

typedef struct last {
    th_trace_entry e;
    char name[40];
    int n;
} last;

static void keep(void *arg, const th_trace_entry *e)
{
    last *l = arg;
    l->e = *e;
    snprintf(l->name, sizeof(l->name), "%s", e->op_name ? e->op_name : "");
    l->e.op_name = NULL, l->e.cdb = NULL, l->e.sense = NULL, l->e.device = NULL;
    l->n++;
}

Test(cdb_decode, a_fixed_mode_tape_read_traces_blocks_and_its_residue_counts_the_tapes_blocks)
{
    th_tape *t = test_tape(1 << 20, 4096);
    uint8_t rec[1024] = {1};
    cr_assert_eq(th_tape_append_record(t, rec, sizeof(rec)), 0);
    cr_assert_eq(th_tape_append_filemark(t), 0);
    th_rules *r;
    cr_assert_eq(th_rules_new(NULL, &r, "t0", th_tape_handle, t, 0, th_tape_op_name), 0);
    th_rules_set_kind(r, TH_CDB_TAPE, bs_of, t);
    last l = {0};
    th_rules_set_trace_sink(r, keep, &l);
    th_rule x;
    th_rule_init(&x);
    x.match.op = 0x08;
    x.action.sense_set = true;
    x.action.sense = th_sense_make(TH_KEY_NO_SENSE, 0x0001);
    x.action.sense.filemark = true;
    x.action.info_from = TH_INFO_RESIDUE;
    x.action.short_kind = TH_SHORT_BLOCKS;
    x.action.short_value = 1;
    cr_assert_geq(th_rules_add(r, &x, -1), 0);

    /* MODE SELECT(6): 1024-byte blocks. */
    const uint8_t ms[6] = {0x15, 0x10, 0, 0, 12, 0};
    const uint8_t bd[12] = {0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x04, 0};
    th_fake_cmd_free(run(r, ms, 6, bd, 12, 0));
    cr_assert_eq(th_tape_block_size(t), 1024);
    const uint8_t rd[6] = {0x08, 0x01, 0, 0, 4, 0};
    th_cmd *c = run(r, rd, 6, NULL, 0, 4096);
    th_sense s;
    cr_assert_eq(th_fake_sense(c, &s), 0);
    cr_assert(s.info_valid);
    cr_assert_eq(s.info, 3); /* 4 asked, 1 block of 1024 bytes went back */
    th_fake_cmd_free(c);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.name, "READ_6");
    cr_assert(!l.e.has_lba);
    cr_assert_eq(l.e.unit, TH_XFER_BLOCKS);
    cr_assert_eq(l.e.blocks, 4);

    /* The trace names 0x01 REWIND here, not REZERO UNIT. */
    const uint8_t rw[6] = {0x01, 0, 0, 0, 0, 0};
    th_fake_cmd_free(run(r, rw, 6, NULL, 0, 0));
    cr_assert_str_eq(l.name, "REWIND");
    cr_assert_eq(l.e.unit, TH_XFER_NONE);
    th_rules_set_trace_sink(r, NULL, NULL);
    th_rules_free(r);
    th_tape_free(t);
}

Test(cdb_decode, a_variable_mode_residue_is_bytes_and_an_lba_rule_never_matches_a_tape)
{
    th_tape *t = test_tape(1 << 20, 4096);
    cr_assert_eq(th_tape_append_record(t, "hello", 5), 0);
    th_rules *r;
    cr_assert_eq(th_rules_new(NULL, &r, "t0", th_tape_handle, t, 0, th_tape_op_name), 0);
    th_rules_set_kind(r, TH_CDB_TAPE, bs_of, t);
    th_rule lba;
    th_rule_init(&lba);
    lba.match.lba_set = true;
    lba.match.lba_lo = 0, lba.match.lba_hi = UINT64_MAX;
    lba.action.status = TH_STATUS_BUSY;
    cr_assert_geq(th_rules_add(r, &lba, -1), 0);
    th_rule x;
    th_rule_init(&x);
    x.match.op = 0x08;
    x.action.sense_set = true;
    x.action.sense = th_sense_make(TH_KEY_NO_SENSE, 0);
    x.action.sense.ili = true;
    x.action.info_from = TH_INFO_RESIDUE;
    x.action.short_kind = TH_SHORT_BYTES;
    x.action.short_value = 2;
    cr_assert_geq(th_rules_add(r, &x, -1), 0);
    const uint8_t rd[6] = {0x08, 0x00, 0, 0x01, 0, 0}; /* 256 bytes */
    th_cmd *c = run(r, rd, 6, NULL, 0, 256);
    cr_assert_neq(th_cmd_get_status(c), TH_STATUS_BUSY);
    th_sense s;
    cr_assert_eq(th_fake_sense(c, &s), 0);
    cr_assert_eq(s.info, 256 - 2);
    th_fake_cmd_free(c);
    th_rules_free(r);
    th_tape_free(t);
}
