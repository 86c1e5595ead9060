/* A tape's rules in the CDB's units (SSC): short amounts of a FIXED=0 READ(6) in bytes
 * whatever the MODE block size, trace filters naming ops by the tape's table, and the
 * residue of a SPACE counting what was not spaced. Began as review reproducers. */
#include "steps_rig.h"
#include "th/tape.h"

static uint32_t bs_of(void *tape)
{
    return th_tape_block_size(tape);
}

/* A tape in fixed-block mode (512) with one 1000-byte variable record at its start. */
static th_tape *tape_with_record(uint32_t mode_bs)
{
    th_tape_config cfg;
    th_tape_config_init(&cfg);
    cfg.block_size = mode_bs;
    th_tape *t;
    cr_assert_eq(th_tape_new(&cfg, &t, NULL, 0), 0);
    uint8_t data[1000];
    memset(data, 0x5a, sizeof(data));
    uint8_t w6[6] = {0x0a, 0x00, 0x00, 0x03, 0xe8, 0}; /* WRITE(6) FIXED=0, 1000 bytes */
    th_cmd *c = th_fake_cmd_new(w6, 6, data, sizeof(data), 0);
    th_fake_cmd_run(c, th_tape_handle, t);
    cr_assert_eq(th_cmd_get_status(c), TH_STATUS_GOOD, "the variable write in fixed mode");
    th_fake_cmd_free(c);
    uint8_t rew[6] = {0x01, 0, 0, 0, 0, 0};
    c = th_fake_cmd_new(rew, 6, NULL, 0, 0);
    th_fake_cmd_run(c, th_tape_handle, t);
    cr_assert_eq(th_cmd_get_status(c), TH_STATUS_GOOD);
    th_fake_cmd_free(c);
    return t;
}

/* SSC: FIXED=0 asks for one variable block of TRANSFER LENGTH bytes whatever the mode's
 * block length (that length applies to FIXED=1 commands). A short fraction rounds to the
 * CDB's unit: half of a 1000-byte variable READ(6) is 500 bytes in fixed mode too (once
 * it was rounded to the 512-byte MODE block size: 0). */
static size_t half_of_variable_read(uint32_t mode_bs)
{
    th_tape *t = tape_with_record(mode_bs);
    th_rules *r;
    cr_assert_eq(th_rules_new(NULL, &r, "t0", th_tape_handle, t, 0, th_tape_op_name), 0);
    th_rules_set_kind(r, TH_CDB_TAPE, bs_of, t);
    th_rule x;
    th_rule_init(&x);
    x.match.op = 0x08;
    x.action.short_kind = TH_SHORT_FRACTION;
    x.action.short_value = 0.5;
    cr_assert_geq(th_rules_add(r, &x, -1), 0);
    uint8_t r6[6] = {0x08, 0x00, 0x00, 0x03, 0xe8, 0}; /* READ(6) FIXED=0, 1000 bytes */
    th_cmd *c = th_fake_cmd_new(r6, 6, NULL, 0, 1000);
    th_fake_cmd_run(c, th_rules_handle, r);
    size_t got = th_cmd_get_data_in_len(c);
    th_fake_cmd_free(c);
    th_rules_free(r);
    th_tape_free(t);
    return got;
}

Test(tape_rule_units, short_fraction_of_a_variable_read_counts_bytes_in_fixed_mode_too)
{
    cr_assert_eq(half_of_variable_read(0), 500, "variable mode: half of 1000 bytes");
    cr_assert_eq(half_of_variable_read(512), 500,
                 "fixed mode (512), FIXED=0 READ(6) of 1000 bytes: short fraction 0.5 gave %zu "
                 "bytes (rounded to the MODE block size, not the CDB's byte unit)",
                 half_of_variable_read(512));
}

/* The trace names a tape's commands by the tape's table (0x34 READ_POSITION, not the
 * disk's PRE_FETCH_10): a wait_trace filter by that name matches on a tape. */
Test(tape_rule_units, wait_trace_op_read_position_on_a_tape_matches_its_trace)
{
    static scenario sc;
    cr_assert_eq(load_text("name: t\ndevices:\n  - {name: t0, type: tape}\nsteps:\n"
                           "  - wait_trace: {device: t0, op: READ_POSITION}\n",
                           &sc),
                 0, "%s", sc_errors(&sc));
    char trace[64];
    snprintf(trace, sizeof(trace), "/tmp/th-review-trace-XXXXXX");
    int fd = mkstemp(trace);
    cr_assert_geq(fd, 0);
    close(fd);
    sc_session_opts o = {.trace_path = trace, .kernel = false};
    sc_session *ses;
    char err[256];
    cr_assert_eq(sc_session_new(&o, &ses, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sc_session_add_device(ses, &sc.devices[0], err, sizeof(err)), 0, "%s", err);
    uint64_t from = sc_trace_cursor(sc_session_trace(ses));
    uint8_t rp[10] = {0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0}; /* READ POSITION, short form */
    th_cmd *c = th_fake_cmd_new(rp, sizeof(rp), NULL, 0, 20);
    th_fake_cmd_run(c, th_rules_handle, sc_session_rules(ses, "t0"));
    th_fake_cmd_free(c);
    sc_trace_filter f;
    sc_trace_filter_init(&f);
    snprintf(f.device, sizeof(f.device), "%s", sc.steps[0].wait.device);
    snprintf(f.op, sizeof(f.op), "%s", sc.steps[0].wait.op);
    long matched = 0;
    uint64_t next;
    int rc = sc_trace_wait(sc_session_trace(ses), &f, from, 1, 500, NULL, &matched, &next);
    char *lines = NULL;
    sc_trace_read(sc_session_trace(ses), from, 0, &lines, &next);
    char op[40];
    snprintf(op, sizeof(op), "%s", f.op);
    char shown[512];
    snprintf(shown, sizeof(shown), "%s", lines ? lines : "");
    free(lines);
    cr_assert_eq(sc_session_close(ses, err, sizeof(err)), 0, "%s", err);
    unlink(trace);
    sc_free(&sc);
    cr_assert_eq(rc, 0, "wait_trace op READ_POSITION kept as '%s'; the tape's trace: %s", op,
                 shown);
    cr_assert_eq(matched, 1);
}

/* SSC SPACE: with FM/EOM the INFORMATION field is the requested count minus the count
 * actually spaced (the emulation's own tape_space answers so). A rule answering SPACE(6)
 * 5 blocks with a filemark before any was spaced reports 5 (once the decoder gave SPACE
 * no count and the byte path said 0: all spaced). */
Test(tape_rule_units, residue_of_a_space_counts_what_was_not_spaced)
{
    th_tape *t = tape_with_record(0);
    th_rules *r;
    cr_assert_eq(th_rules_new(NULL, &r, "t0", th_tape_handle, t, 0, th_tape_op_name), 0);
    th_rules_set_kind(r, TH_CDB_TAPE, bs_of, t);
    th_rule x;
    th_rule_init(&x);
    x.match.op = 0x11;
    x.action.pass = false;
    x.action.sense_set = true;
    x.action.sense.key = TH_KEY_NO_SENSE;
    x.action.sense.asc = 0x00;
    x.action.sense.ascq = 0x01; /* FILEMARK DETECTED */
    x.action.sense.filemark = true;
    x.action.info_from = TH_INFO_RESIDUE;
    cr_assert_geq(th_rules_add(r, &x, -1), 0);
    uint8_t sp[6] = {0x11, 0x00, 0x00, 0x00, 0x05, 0}; /* SPACE(6) 5 blocks */
    th_cmd *c = th_fake_cmd_new(sp, 6, NULL, 0, 0);
    th_fake_cmd_run(c, th_rules_handle, r);
    th_sense s;
    int rc = th_fake_sense(c, &s);
    th_fake_cmd_free(c);
    th_rules_free(r);
    th_tape_free(t);
    cr_assert_eq(rc, 0);
    cr_assert(s.info_valid);
    cr_assert_eq(s.info, 5, "SPACE(6) of 5 blocks, none spaced: INFORMATION %llu, SSC wants 5",
                 (unsigned long long)s.info);
}

/* A rule's `length` on a SPACE(6) matches the magnitude of its count, forward or back. */
Test(tape_rule_units, length_matches_the_count_of_a_space_either_way)
{
    th_tape *t = tape_with_record(0);
    th_rules *r;
    cr_assert_eq(th_rules_new(NULL, &r, "t0", th_tape_handle, t, 0, th_tape_op_name), 0);
    th_rules_set_kind(r, TH_CDB_TAPE, bs_of, t);
    th_rule x;
    th_rule_init(&x);
    x.match.op = 0x11;
    x.match.len_set = true;
    x.match.len_lo = x.match.len_hi = 2;
    x.action.status = TH_STATUS_BUSY;
    cr_assert_geq(th_rules_add(r, &x, -1), 0);
    const uint8_t cdbs[3][6] = {{0x11, 0, 0, 0, 2, 0},          /* 2 forward: matches */
                                {0x11, 0, 0xff, 0xff, 0xfe, 0}, /* 2 back: matches */
                                {0x11, 0, 0, 0, 1, 0}};         /* 1: the emulation */
    const uint8_t want[3] = {TH_STATUS_BUSY, TH_STATUS_BUSY, TH_STATUS_GOOD};
    for (int i = 0; i < 3; i++) {
        th_cmd *c = th_fake_cmd_new(cdbs[i], 6, NULL, 0, 0);
        th_fake_cmd_run(c, th_rules_handle, r);
        cr_assert_eq(th_cmd_get_status(c), want[i], "SPACE %d: status %u", i, th_cmd_get_status(c));
        th_fake_cmd_free(c);
    }
    th_rules_free(r);
    th_tape_free(t);
}
