/* The trace reader and the reaction analysis (framework/report): on traces of real runs
 * (fixtures/traces/, recorded in the guest: BUSY and TASK SET FULL retried by the SCSI
 * midlayer, a hung READ aborted and retried, medium errors sd does not retry, a unit
 * attention, a tape's failed READ(6)) and on made-up lines for each rule of the analysis. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "report/reaction.h"

static rp_trace t;
static rp_reactions rs;
static char err[512];

static void setup(void)
{
    rp_trace_init(&t);
    memset(&rs, 0, sizeof(rs));
}
static void teardown(void)
{
    rp_reactions_free(&rs);
    rp_trace_free(&t);
}
TestSuite(report_reaction, .init = setup, .fini = teardown);

static void load_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/fixtures/traces/%s.jsonl", TH_SOURCE_DIR, name);
    cr_assert_eq(rp_trace_load(&t, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rp_reactions_find(&t, &rs), 0);
}

static const char *line_of(size_t i)
{
    static char buf[1024];
    rp_reaction_text(&t, &rs.r[i], buf, sizeof(buf));
    return buf;
}

static void add(const char *line)
{
    cr_assert_eq(rp_trace_add_line(&t, line, strlen(line), err, sizeof(err)), 0, "%s: %s", line,
                 err);
}

/* A command line: t as it left, lat_us, id, op and opcode, lba+blocks, status, rule. */
static void cmd(double at, long lat_us, int id, const char *op, int opcode, long lba, int blocks,
                int status, const char *rule)
{
    char l[512], r[80] = "null", where[64] = "";
    if (rule) snprintf(r, sizeof(r), "\"%s\"", rule);
    if (lba >= 0) snprintf(where, sizeof(where), ",\"lba\":%ld,\"blocks\":%d", lba, blocks);
    snprintf(l, sizeof(l),
             "{\"t\":%.6f,\"device\":\"d0\",\"id\":%d,\"op\":\"%s\",\"cdb\":\"%02x00\"%s,"
             "\"status\":%d,\"sense\":null,\"data_in\":0,"
             "\"buffer\":0,\"rule\":%s,\"aborted\":false,\"lat_us\":%ld}",
             at, id, op, opcode, where, status, r, lat_us);
    add(l);
}

Test(report_reaction, busy_retried_by_the_midlayer_is_three_retries_then_recovered)
{
    load_fixture("busy-is-retried");
    cr_assert_eq(rs.n, 1);
    cr_assert_eq(rs.r[0].attempts, 4);
    cr_assert_eq(rs.r[0].failed, 3);
    cr_assert(rs.r[0].recovered);
    cr_assert_eq(rs.r[0].aborts, 0);
    cr_assert(rs.r[0].min_gap > 0.001 && rs.r[0].max_gap < RP_RETRY_GAP_S, "%s", line_of(0));
    cr_assert(strstr(line_of(0), "BUSY (rule busy); 3 retries"), "%s", line_of(0));
}

Test(report_reaction, a_hung_read_is_aborted_after_the_initiators_timeout_and_retried)
{
    load_fixture("hang-is-aborted");
    cr_assert_eq(rs.n, 1);
    const rp_reaction *r = &rs.r[0];
    cr_assert_eq(r->aborts, 1);
    /* the scenario sets the disk's timeout to 4 s: the abort comes after it */
    cr_assert(r->abort_after > 4.5 && r->abort_after < 8, "%f", r->abort_after);
    cr_assert_eq(r->attempts, 2);
    cr_assert(r->recovered);
    cr_assert(strstr(line_of(0), "aborted (ABORT_TASK) after 5."), "%s", line_of(0));
}

Test(report_reaction, a_medium_error_is_not_retried_by_sd_and_goes_up)
{
    load_fixture("kernel-log-medium-error");
    cr_assert_eq(rs.n, 1);
    cr_assert_eq(rs.r[0].attempts, 1);
    cr_assert_not(rs.r[0].recovered);
    cr_assert(strstr(line_of(0), "MEDIUM_ERROR 11/00 (rule bad-sector); not retried: the error "
                                 "went up to the caller"),
              "%s", line_of(0));
}

Test(report_reaction, task_set_full_a_unit_attention_and_a_tape_read)
{
    load_fixture("task-set-full-is-retried");
    cr_assert_eq(rs.n, 1);
    cr_assert_eq(rs.r[0].attempts, 3);
    cr_assert(rs.r[0].recovered);
    rp_reactions_free(&rs);
    rp_trace_free(&t);
    load_fixture("unit-attention");
    cr_assert_eq(rs.n, 1);
    cr_assert(strstr(line_of(0), "TEST_UNIT_READY at ") &&
                  strstr(line_of(0), "UNIT_ATTENTION 2A/09"),
              "%s", line_of(0));
    rp_reactions_free(&rs);
    rp_trace_free(&t);
    load_fixture("tape-medium-error-third-read");
    cr_assert_eq(rs.n, 1);
    cr_assert(strstr(line_of(0), "t0 READ_6 at "), "%s", line_of(0)); /* no LBA on a tape */
    cr_assert_eq(rs.r[0].attempts, 1);
}

Test(report_reaction, every_fixture_reads_with_its_header_and_every_fault_is_in_one_episode)
{
    const char *names[] = {"busy-is-retried",
                           "hang-is-aborted",
                           "kernel-log-medium-error",
                           "medium-error-heals",
                           "task-set-full-is-retried",
                           "unit-attention",
                           "tape-medium-error-third-read"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        rp_reactions_free(&rs);
        rp_trace_free(&t);
        load_fixture(names[k]);
        cr_assert_str_eq(t.kernel, "6.1.0-57-amd64");
        cr_assert_gt(t.n, 10);
        long faults = 0, in_episodes = 0;
        for (size_t i = 0; i < t.n; i++)
            faults += !t.e[i].is_tmr && t.e[i].has_rule && (t.e[i].status || t.e[i].aborted);
        for (size_t i = 0; i < rs.n; i++) in_episodes += rs.r[i].failed;
        cr_assert_eq(in_episodes, faults, "%s", names[k]);
    }
}

/* An overlapping range with another length is a retry (sd retries the rest of a read);
 * a range beside it, another device's or a later one past the gap is not. */
Test(report_reaction, retries_are_overlapping_ranges_within_the_gap_on_the_same_device)
{
    cmd(1.000, 100, 1, "READ_10", 0x28, 100, 8, 2, "bad");
    add("{\"t\":1.001,\"device\":\"d1\",\"id\":1,\"op\":\"READ_10\",\"cdb\":\"28\",\"lba\":100,"
        "\"blocks\":8,\"status\":0,\"sense\":null,\"rule\":null,\"aborted\":false}");
    cmd(1.002, 100, 2, "READ_10", 0x28, 108, 8, 0, NULL);  /* beside it */
    cmd(1.010, 100, 3, "READ_10", 0x28, 104, 2, 2, "bad"); /* overlaps */
    cmd(1.020, 100, 4, "READ_10", 0x28, 104, 1, 0, NULL);  /* overlaps, succeeds */
    cmd(1.030, 100, 5, "READ_10", 0x28, 104, 1, 2, "bad"); /* a new episode */
    cmd(2.000, 100, 6, "READ_10", 0x28, 104, 1, 0, NULL);  /* past the gap */
    cr_assert_eq(rp_reactions_find(&t, &rs), 0);
    cr_assert_eq(rs.n, 2);
    cr_assert_eq(rs.r[0].attempts, 3);
    cr_assert_eq(rs.r[0].failed, 2);
    cr_assert(rs.r[0].recovered);
    cr_assert_eq(rs.r[0].meanwhile_n[0], 1); /* the read beside it */
    cr_assert_eq(rs.r[1].attempts, 1);
    cr_assert_not(rs.r[1].recovered);
}

Test(report_reaction, request_sense_and_resets_during_an_episode_are_counted)
{
    cmd(1.000, 100, 1, "READ_10", 0x28, 0, 8, 2, "bad");
    cmd(1.001, 50, 2, "REQUEST_SENSE", 0x03, -1, 0, 0, NULL);
    add("{\"t\":1.002,\"device\":\"d0\",\"tmr\":\"LUN_RESET\",\"ids\":[]}");
    cmd(1.100, 100, 3, "READ_10", 0x28, 0, 8, 0, NULL);
    cr_assert_eq(rp_reactions_find(&t, &rs), 0);
    cr_assert_eq(rs.n, 1);
    cr_assert_eq(rs.r[0].request_sense, 1);
    cr_assert_eq(rs.r[0].resets, 1);
    cr_assert(strstr(line_of(0), "1 reset; 1 REQUEST SENSE; 1 retry"), "%s", line_of(0));
}

Test(report_reaction, bad_lines_are_refused_with_their_column_and_unknown_keys_skipped)
{
    static const char *bad[] = {"{\"t\":1,",
                                "[1]",
                                "{\"t\":\"x\"}",
                                "{\"t\":1} x",
                                "{\"device\":\"d0\",\"id\":-1}",
                                "{\"cdb\":\"zz\"}",
                                "{\"device\":\"\\u00\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        cr_assert_lt(rp_trace_add_line(&t, bad[i], strlen(bad[i]), err, sizeof(err)), 0, "%s",
                     bad[i]);
        cr_assert(!strncmp(err, "column ", 7), "%s: %s", bad[i], err);
    }
    add("{\"t\":1,\"device\":\"d0\",\"future\":{\"a\":[1,{\"b\":null}]},\"op\":\"X\"}");
    cr_assert_eq(t.n, 1);
    cr_assert_str_eq(rp_name(&t, t.e[0].op), "X");
    const char hdr[] = "{\"header\":{\"kernel_release\":\"6.1\"}}";
    cr_assert_eq(rp_trace_add_line(&t, hdr, strlen(hdr), err, sizeof(err)), 1);
    cr_assert_eq(t.n, 1);
}

Test(report_reaction, a_missing_file_names_itself)
{
    cr_assert_lt(rp_trace_load(&t, "/nonexistent/x.jsonl", err, sizeof(err)), 0);
    cr_assert_str_eq(err, "/nonexistent/x.jsonl: No such file or directory");
}

/* A trace whose times never grow and that has a fault in every line would make every
 * episode look at every entry: the work is bounded (RP_SCAN_MAX entries around an
 * episode, RP_EPISODES_MAX episodes), and the output says it stopped. */
Test(report_reaction, a_hostile_trace_of_only_faults_at_one_time_is_bounded_and_says_so)
{
    for (long i = 0; i < RP_EPISODES_MAX + 10; i++) cmd(0, 0, 1, "READ_10", 0x28, 2 * i, 1, 2, "r");
    cr_assert_eq(rp_reactions_find(&t, &rs), 0);
    cr_assert_eq(rs.n, RP_EPISODES_MAX);
    cr_assert(rs.truncated);
    cr_assert_leq(rs.r[0].meanwhile_n[0], RP_SCAN_MAX + 1);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    rp_reactions_print(f, &t, &rs, 1, "");
    fclose(f);
    cr_assert(strstr(text, "the analysis stopped after 100000 faults"), "%s", text);
    free(text);
}

/* Review: names were found by a scan (65535 names and a line naming the last took 89 s
 * for a few thousand lines), and "\u0000" cut a name short so that two names met as one. */
Test(report_reaction, names_are_interned_by_hash_up_to_65535_and_a_nul_cannot_cut_one)
{
    char l[128];
    for (int i = 0; i < 65535; i++) {
        snprintf(l, sizeof(l), "n%d", i);
        cr_assert_eq(rp_intern(&t, l, strlen(l)), i + 1);
    }
    cr_assert_eq(rp_intern(&t, "n65534", 6), 65535); /* found again, same index */
    cr_assert_eq(rp_intern(&t, "n17", 3), 18);
    cr_assert_eq(rp_intern(&t, "one more", 8), -E2BIG);
    rp_trace_free(&t);
    add("{\"device\":\"a\",\"t\":1}");
    add("{\"device\":\"a\\u0000bc\",\"t\":1}");
    cr_assert_neq(t.e[0].device, t.e[1].device);
    cr_assert_str_eq(rp_name(&t, t.e[1].device), "a?bc");
}

/* Review: the bound was checked after skipping other devices' entries and TMRs, so a
 * fault followed by a long run of another device's entries (times that never grow) was
 * followed to the end of the trace, episode after episode. */
Test(report_reaction, the_scan_bound_holds_across_other_devices_entries)
{
    cmd(0, 0, 1, "READ_10", 0x28, 0, 1, 2, "r");
    for (int i = 0; i < 3 * RP_SCAN_MAX; i++)
        add("{\"t\":0,\"device\":\"other\",\"id\":1,\"op\":\"READ_10\",\"lba\":0,\"status\":0}");
    cmd(0, 0, 1, "READ_10", 0x28, 0, 1, 0, NULL); /* past the bound: not a retry */
    cr_assert_eq(rp_reactions_find(&t, &rs), 0);
    cr_assert_eq(rs.n, 1);
    cr_assert_eq(rs.r[0].attempts, 1);
}

/* Review: NUL bytes passed as digits (strchr finds the terminator), so `"t":\0\0` read as
 * a number. */
Test(report_reaction, nul_bytes_are_not_a_number)
{
    const char line[] = "{\"device\":\"a\",\"t\":\0\0,\"op\":\"X\"}";
    cr_assert_lt(rp_trace_add_line(&t, line, sizeof(line) - 1, err, sizeof(err)), 0);
    cr_assert(strstr(err, "a number was expected"), "%s", err);
}
