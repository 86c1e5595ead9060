/* Golden traces (framework/report/golden.c, golden_diff.c): the normalised text of real
 * traces (fixtures/traces/: BUSY retried, a hung READ aborted), what counts as a
 * difference in each mode and with a tolerance, and golden files that are not (huge
 * lines, binary, empty, cut short). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "report/golden.h"

static rp_trace t;
static rp_golden want, got;
static char err[512];
static char *text, *diff;

static void setup(void)
{
    rp_trace_init(&t);
    rp_golden_init(&want);
    rp_golden_init(&got);
    text = diff = NULL;
}
static void teardown(void)
{
    rp_trace_free(&t);
    rp_golden_free(&want);
    rp_golden_free(&got);
    free(text);
    free(diff);
}
TestSuite(report_golden, .init = setup, .fini = teardown);

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    int c;
    while ((c = fgetc(f)) != EOF) fputc(c, m);
    fclose(f);
    fclose(m);
    return buf;
}

/* The fixture's trace, its lines passed through edit (which may drop or double them). */
static void load_trace(const char *name, void (*edit)(const char *line, size_t len))
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/fixtures/traces/%s.jsonl", TH_SOURCE_DIR, name);
    if (!edit) {
        cr_assert_eq(rp_trace_load(&t, path, err, sizeof(err)), 0, "%s", err);
        return;
    }
    char *all = slurp(path);
    for (char *p = all, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        cr_assert(nl);
        edit(p, (size_t)(nl - p));
    }
    free(all);
}

static void add_line(const char *line, size_t len)
{
    cr_assert_geq(rp_trace_add_line(&t, line, len, err, sizeof(err)), 0, "%s", err);
}

/* one more BUSY: the midlayer retried once more */
static void one_more_busy(const char *line, size_t len)
{
    add_line(line, len);
    static bool done;
    if (!done && memmem(line, len, "\"rule\":\"busy\"", 13)) {
        done = true;
        add_line(line, len);
    }
}

static void make(rp_golden *g)
{
    free(text);
    cr_assert_eq(rp_golden_text(&t, &text, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rp_golden_parse(g, "this run", text, strlen(text), err, sizeof(err)), 0, "%s",
                 err);
}

static int compare(rp_match m, unsigned tol)
{
    free(diff);
    diff = NULL;
    return rp_golden_compare(&want, &got, m, tol, "GOLDEN", &diff);
}

/* want from golden text edited: each (from, to) replaced once (to NULL: the line dropped) */
static void want_from(const char *base, const char *from, const char *to)
{
    char *s = strdup(base), *at = strstr(s, from);
    cr_assert(at, "%s", from);
    char *out;
    size_t flen = strlen(from);
    if (!to) { /* drop the whole line */
        char *eol = strchr(at, '\n');
        memmove(at, eol + 1, strlen(eol + 1) + 1);
        out = s;
    } else {
        cr_assert(asprintf(&out, "%.*s%s%s", (int)(at - s), s, to, at + flen) > 0);
        free(s);
    }
    rp_golden_free(&want);
    cr_assert_eq(rp_golden_parse(&want, "GOLDEN", out, strlen(out), err, sizeof(err)), 0, "%s",
                 err);
    free(out);
}

Test(report_golden, busy_retries_collapse_into_one_line_and_the_reaction_has_no_times)
{
    load_trace("busy-is-retried", NULL);
    make(&got);
    const char head[] = "# tcmu-harness golden trace 1 (harness 0.2.0, kernel 6.1.0-57-amd64";
    cr_assert(!strncmp(text, head, strlen(head)), "%s", text);
    cr_assert(strstr(text, "\nd0 READ_10 lba 2048+8: BUSY rule=busy x3\n"
                           "d0 READ_10 lba 2048+8: GOOD\n"),
              "%s", text);
    cr_assert(strstr(text, "\nd0 INQUIRY evpd 1 page 0x83 alloc 44: GOOD\n"), "%s", text);
    cr_assert(strstr(text, "\nd0 MODE_SENSE_6 page 0x08 subpage 0x00 alloc 32: GOOD\n"), "%s",
              text);
    cr_assert(strstr(text, "\nreactions\nd0 READ_10 lba 2048+8: BUSY rule=busy; attempts 4; "
                           "aborts 0; resets 0; request sense 0; recovered\n"),
              "%s", text);
    cr_assert_null(strstr(text, "0.635"), "no times");
    /* the parsed line: its count, and the reaction's attempts as its loose number */
    bool seen = false;
    for (size_t i = 0; i < got.n; i++) {
        if (strcmp(got.l[i].text, "d0 READ_10 lba 2048+8: BUSY rule=busy")) continue;
        seen = true;
        cr_assert_eq(got.l[i].count, 3);
    }
    cr_assert(seen);
    cr_assert(got.l[got.n - 1].reaction);
    cr_assert_eq(got.l[got.n - 1].var, 4);
}

Test(report_golden, an_abort_names_the_line_it_aborted_by_position)
{
    load_trace("hang-is-aborted", NULL);
    make(&got);
    cr_assert(strstr(text, "\nd0 READ_10 lba 800+8: aborted rule=black-hole\n"
                           "d0 TMR ABORT_TASK of @42 (READ_10 lba 800+8)\n"
                           "d0 READ_10 lba 800+8: GOOD\n"),
              "%s", text);
    size_t k = 0; /* the 42nd line of d0 is the aborted READ */
    for (size_t i = 0; i < got.n && !got.l[i].reaction; i++)
        if (++k == 42)
            cr_assert_str_eq(got.l[i].text, "d0 READ_10 lba 800+8: aborted rule=black-hole");
    cr_assert(strstr(text, "attempts 2; aborts 1; resets 0"), "%s", text);
}

Test(report_golden, a_tapes_reads_show_fixed_and_length)
{
    load_trace("tape-medium-error-third-read", NULL);
    make(&got);
    cr_assert(strstr(text, "\nt0 READ_6 fixed 0 length 1000: GOOD x2\n"
                           "t0 READ_6 fixed 0 length 1000: CHECK_CONDITION MEDIUM_ERROR 11/00 "
                           "rule=bad-third\n"),
              "%s", text);
}

Test(report_golden, every_fixture_is_the_same_as_itself_in_both_modes)
{
    const char *names[] = {"busy-is-retried",
                           "hang-is-aborted",
                           "kernel-log-medium-error",
                           "medium-error-heals",
                           "unit-attention",
                           "task-set-full-is-retried",
                           "tape-medium-error-third-read"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        rp_trace_free(&t);
        rp_golden_free(&want);
        rp_golden_free(&got);
        load_trace(names[i], NULL);
        make(&want);
        make(&got);
        cr_assert_eq(compare(RP_MATCH_SEQUENCE, 0), 0, "%s: %s", names[i], diff);
        cr_assert_eq(compare(RP_MATCH_MULTISET, 0), 0, "%s: %s", names[i], diff);
        cr_assert_null(diff);
    }
}

Test(report_golden, one_more_retry_differs_at_tolerance_0_not_at_1)
{
    load_trace("busy-is-retried", NULL);
    make(&want);
    rp_trace_free(&t);
    load_trace("busy-is-retried", one_more_busy);
    make(&got);
    cr_assert(strstr(text, "BUSY rule=busy x4\n"), "%s", text);
    cr_assert_eq(compare(RP_MATCH_SEQUENCE, 0), 1);
    cr_assert(strstr(diff, "--- GOLDEN\n+++ this run\n@@ commands: golden line "), "%s", diff);
    cr_assert(strstr(diff, "\n-d0 READ_10 lba 2048+8: BUSY rule=busy x3\n"
                           "+d0 READ_10 lba 2048+8: BUSY rule=busy x4\n"),
              "%s", diff);
    cr_assert(strstr(diff, "-d0 READ_10 lba 2048+8: BUSY rule=busy; attempts 4;"), "%s", diff);
    cr_assert(strstr(diff, "+d0 READ_10 lba 2048+8: BUSY rule=busy; attempts 5;"), "%s", diff);
    cr_assert_eq(compare(RP_MATCH_MULTISET, 0), 1);
    cr_assert_eq(compare(RP_MATCH_SEQUENCE, 1), 0, "%s", diff);
    cr_assert_eq(compare(RP_MATCH_MULTISET, 1), 0, "%s", diff);
}

Test(report_golden, a_reordered_trace_differs_in_sequence_mode_only)
{
    load_trace("busy-is-retried", NULL);
    make(&got);
    want_from(text, "d0 READ_10 lba 0+8: GOOD\nd0 READ_10 lba 8+8: GOOD\n",
              "d0 READ_10 lba 8+8: GOOD\nd0 READ_10 lba 0+8: GOOD\n");
    cr_assert_eq(compare(RP_MATCH_SEQUENCE, 5), 1);
    cr_assert(strstr(diff, "-d0 READ_10 lba 8+8: GOOD\n"), "%s", diff);
    cr_assert_eq(compare(RP_MATCH_MULTISET, 0), 0, "%s", diff);
}

Test(report_golden, a_missing_abort_or_another_op_differs_in_both_modes)
{
    load_trace("hang-is-aborted", NULL);
    make(&got);
    want_from(text, "d0 TMR ABORT_TASK", NULL);
    cr_assert_eq(compare(RP_MATCH_SEQUENCE, 3), 1);
    cr_assert(strstr(diff, "\n+d0 TMR ABORT_TASK of @42 (READ_10 lba 800+8)\n"), "%s", diff);
    cr_assert_eq(compare(RP_MATCH_MULTISET, 3), 1);
    cr_assert(strstr(diff, "@@ commands, in any order, tolerance 3 @@\n"
                           "+d0 TMR ABORT_TASK of @42 (READ_10 lba 800+8)\n"),
              "%s", diff);
    want_from(text, "d0 SYNCHRONIZE_CACHE_10 lba 0+0", "d0 SYNCHRONIZE_CACHE_16 lba 0+0");
    cr_assert_eq(compare(RP_MATCH_MULTISET, 3), 1);
    cr_assert(strstr(diff, "-d0 SYNCHRONIZE_CACHE_16 lba 0+0: GOOD\n"), "%s", diff);
    /* an abort's position follows the order: multiset mode does not compare it */
    want_from(text, "of @42", "of @41");
    cr_assert_eq(compare(RP_MATCH_MULTISET, 0), 0, "%s", diff);
    cr_assert_eq(compare(RP_MATCH_SEQUENCE, 0), 1);
}

/* A name with spaces and "x3" in it cannot pass for a count. */
Test(report_golden, names_are_one_token_and_never_a_count)
{
    const char l[] = "{\"t\":1,\"device\":\"d 0\",\"id\":1,\"op\":\"READ_10\",\"cdb\":\"28\","
                     "\"lba\":1,\"blocks\":1,\"status\":8,\"rule\":\"a@b x3\",\"aborted\":false}";
    add_line(l, strlen(l));
    make(&got);
    cr_assert(strstr(text, "\nd%200 READ_10 lba 1+1: BUSY rule=a%40b%20x3\n"), "%s", text);
    cr_assert_eq(got.l[0].count, 1);
    cr_assert_eq(got.l[0].var_len, 0);
    /* a TMR's type is its line's last token: one called x5 must not read as a count */
    const char tmr[] = "{\"t\":2,\"device\":\"d0\",\"tmr\":\"x5\",\"ids\":[]}";
    add_line(tmr, strlen(tmr));
    rp_golden_free(&got);
    make(&got);
    cr_assert(strstr(text, "\nd0 TMR %785\n"), "%s", text);
    cr_assert_eq(got.l[1].count, 1);
}

Test(report_golden, the_diff_is_bounded)
{
    for (int i = 0; i < 1000; i++) {
        char l[256];
        int n = snprintf(l, sizeof(l),
                         "{\"t\":%d,\"device\":\"d0\",\"id\":1,\"op\":\"READ_10\",\"cdb\":\"28\","
                         "\"lba\":%d,\"blocks\":1,\"status\":0}",
                         i, i);
        add_line(l, (size_t)n);
    }
    make(&got);
    const char empty[] = "# tcmu-harness golden trace 1\ncommands\nreactions\n";
    cr_assert_eq(rp_golden_parse(&want, "G", empty, strlen(empty), err, sizeof(err)), 0, "%s", err);
    for (int m = 0; m < 2; m++) {
        cr_assert_eq(compare(m ? RP_MATCH_SEQUENCE : RP_MATCH_MULTISET, 0), 1);
        size_t lines = 0;
        for (const char *p = diff; *p; p++) lines += *p == '\n';
        cr_assert_leq(lines, RP_GOLDEN_DIFF_LINES + 1, "%zu", lines);
        cr_assert(strstr(diff, "more differences\n"), "%s", diff);
    }
}

static void parse_fails(const char *buf, size_t len, const char *why)
{
    rp_golden_free(&want);
    err[0] = '\0';
    cr_assert_lt(rp_golden_parse(&want, "F", buf, len, err, sizeof(err)), 0, "%s", why);
    cr_assert(strstr(err, why), "want \"%s\", got \"%s\"", why, err);
}

Test(report_golden, hostile_golden_files_are_refused_with_file_and_line)
{
    parse_fails("", 0, "F: empty: not a golden trace");
    parse_fails("hello\n", 6, "F:1: not a golden trace");
    parse_fails("# tcmu-harness golden trace 1\ncommands\nd0 X\n", 44,
                "F: no \"reactions\" line: the file is cut short");
    parse_fails("# tcmu-harness golden trace 1\nd0 X\n", 35, "F:2: \"commands\" was expected");
    parse_fails("# tcmu-harness golden trace 1\ncommands\nd0 X x0\nreactions\n", 56,
                "F:3: a count xN must be 1 to 1000000000");
    parse_fails("# tcmu-harness golden trace 1\ncommands\nd0 X x99999999999\nreactions\n", 67,
                "F:3: a count xN must be 1 to 1000000000");
    parse_fails("# tcmu-harness golden trace 1\ncommands\nd0\nreactions\n", 51,
                "F:3: \"DEVICE OP ...\" was expected");
    const char bin[] = "# tcmu-harness golden trace 1\ncommands\nd0 \x00\xff\nreactions\n";
    parse_fails(bin, sizeof(bin) - 1,
                "F:3: column 4: byte 0x00: a golden trace is printable ASCII");
    size_t big = 10 << 20;
    char *huge = malloc(big);
    memset(huge, 'a', big);
    memcpy(huge, "# tcmu-harness golden trace 1\ncommands\nd0 ", 42);
    parse_fails(huge, big, "F:3: a line longer than 4096 bytes");
    memset(huge + 39, '\n', big - 39); /* blank lines, past the bound on their number */
    parse_fails(huge, big, "more than 262208 lines");
    free(huge);
    parse_fails("# tcmu-harness golden trace 1\ncommands\nreactions\ncommands\n", 58,
                "F:4: a second \"commands\"");
}

Test(report_golden, files_that_are_missing_or_not_regular_are_refused)
{
    cr_assert_eq(rp_golden_load(&want, "/nonexistent/x.golden", err, sizeof(err)), -ENOENT);
    cr_assert_str_eq(err, "/nonexistent/x.golden: No such file or directory");
    cr_assert_eq(rp_golden_load(&want, "/dev/null", err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "/dev/null: not a regular file");
    char path[] = "/tmp/th-golden-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(rp_golden_load(&want, path, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, ": empty: not a golden trace"), "%s", err);
    unlink(path);
}

Test(report_golden, match_names)
{
    rp_match m = RP_MATCH_SEQUENCE;
    cr_assert(rp_match_from_name("multiset", &m) && m == RP_MATCH_MULTISET);
    cr_assert(rp_match_from_name("sequence", &m) && m == RP_MATCH_SEQUENCE);
    cr_assert_not(rp_match_from_name("exact", &m));
    cr_assert_str_eq(rp_match_name(RP_MATCH_MULTISET), "multiset");
}

/* Golden traces are for scenarios: a trace of more distinct lines than a golden file may
 * hold is refused when recorded (its reader would refuse the file), saying why. */
Test(report_golden, a_trace_past_the_line_bound_is_refused_with_why)
{
    char l[256];
    for (int i = 0; i <= RP_GOLDEN_LINES_MAX; i++) {
        int n = snprintf(l, sizeof(l),
                         "{\"t\":%d,\"device\":\"d0\",\"id\":1,\"op\":\"READ_10\",\"lba\":%d,"
                         "\"blocks\":1,\"status\":0}",
                         i, i);
        add_line(l, (size_t)n);
    }
    cr_assert_eq(rp_golden_text(&t, &text, err, sizeof(err)), -E2BIG);
    cr_assert_null(text);
    cr_assert(strstr(err, "more than 262144 lines: golden traces are for scenarios"), "%s", err);
}

/* Seen in the guest under load: the midlayer's requeue of a BUSY came 0.25 s late and the
 * analysis made two episodes of one (1 attempt, gave up; 3, recovered). Where it splits is
 * a matter of time: the golden trace has the one line the faster run has. */
Test(report_golden, episodes_of_one_fault_split_by_time_are_one_line)
{
    const char *lines[] = {
        "{\"t\":1.0,\"device\":\"d0\",\"id\":1,\"op\":\"READ_10\",\"cdb\":\"28\",\"lba\":8,"
        "\"blocks\":8,\"status\":8,\"rule\":\"busy\",\"lat_us\":10}",
        "{\"t\":1.5,\"device\":\"d0\",\"id\":1,\"op\":\"READ_10\",\"cdb\":\"28\",\"lba\":8,"
        "\"blocks\":8,\"status\":8,\"rule\":\"busy\",\"lat_us\":10}",
        "{\"t\":1.51,\"device\":\"d0\",\"id\":1,\"op\":\"READ_10\",\"cdb\":\"28\",\"lba\":8,"
        "\"blocks\":8,\"status\":8,\"rule\":\"busy\",\"lat_us\":10}",
        "{\"t\":1.52,\"device\":\"d0\",\"id\":1,\"op\":\"READ_10\",\"cdb\":\"28\",\"lba\":8,"
        "\"blocks\":8,\"status\":0,\"lat_us\":10}",
    };
    for (size_t i = 0; i < 4; i++) add_line(lines[i], strlen(lines[i]));
    make(&got);
    cr_assert(strstr(text, "\nreactions\nd0 READ_10 lba 8+8: BUSY rule=busy; attempts 4; aborts 0; "
                           "resets 0; request sense 0; recovered\n"),
              "%s", text);
}

/* Two faults of one command far apart, each recovered: two episodes, never one line (only
 * an episode that gave up can be the first part of one split by time). Merged, a run of 2
 * and 6 attempts read as one of 4 and 4: the same sums, the commands' counts summed too. */
static void two_episodes(const int *busy, int n_ep)
{
    double at = 1.0;
    char l[256];
    for (int ep = 0; ep < n_ep; ep++) {
        for (int k = 0; k <= busy[ep]; k++, at += 0.01) {
            int n = snprintf(l, sizeof(l),
                             "{\"t\":%.3f,\"device\":\"d0\",\"id\":1,\"op\":\"READ_10\",\"cdb\":"
                             "\"28\",\"lba\":8,\"blocks\":8,\"status\":%d%s,\"lat_us\":10}",
                             at, k < busy[ep] ? 8 : 0, k < busy[ep] ? ",\"rule\":\"busy\"" : "");
            add_line(l, (size_t)n);
        }
        at += 2;
        int n = snprintf(l, sizeof(l),
                         "{\"t\":%.3f,\"device\":\"d0\",\"id\":1,\"op\":\"READ_10\",\"cdb\":\"28\","
                         "\"lba\":0,\"blocks\":8,\"status\":0,\"lat_us\":10}",
                         at);
        add_line(l, (size_t)n);
        at += 2;
    }
}

Test(report_golden, recovered_episodes_of_one_fault_are_not_merged)
{
    two_episodes((int[]){3, 3}, 2);
    make(&want);
    cr_assert(strstr(text, "\nreactions\nd0 READ_10 lba 8+8: BUSY rule=busy; attempts 4; aborts 0; "
                           "resets 0; request sense 0; recovered\n"
                           "d0 READ_10 lba 8+8: BUSY rule=busy; attempts 4;"),
              "%s", text);
    rp_trace_free(&t);
    rp_trace_init(&t);
    two_episodes((int[]){1, 5}, 2);
    make(&got);
    cr_assert_eq(compare(RP_MATCH_MULTISET, 0), 1, "%s", text);
    cr_assert(strstr(diff, "+d0 READ_10 lba 8+8: BUSY rule=busy; attempts 2;"), "%s", diff);
    cr_assert_eq(compare(RP_MATCH_MULTISET, 2), 0, "%s", diff);
}

/* Long names, escaped three bytes for one: 60,000 lines made 70 MB, a file its reader then
 * refused ("larger than 64 MiB"). Refused when recorded instead, saying why. */
Test(report_golden, a_trace_past_the_byte_bound_is_refused_with_why)
{
    char name[128], l[1024];
    memset(name, '%', 127);
    name[127] = '\0';
    for (int i = 0; i < 60000; i++) {
        int n = snprintf(l, sizeof(l),
                         "{\"t\":%d,\"device\":\"%s\",\"id\":1,\"op\":\"%s\",\"lba\":%d,"
                         "\"blocks\":1,\"status\":0,\"rule\":\"%s\"}",
                         i, name, name, i, name);
        add_line(l, (size_t)n);
    }
    cr_assert_eq(rp_golden_text(&t, &text, err, sizeof(err)), -E2BIG);
    cr_assert_null(text);
    cr_assert(strstr(err, "more than 64 MiB of golden text"), "%s", err);
}

/* A device named "#d" (a trace's names are any bytes) began a line its reader took for a
 * comment: the device's commands were left out of both sides, and nothing differed. */
Test(report_golden, a_line_never_reads_as_a_comment)
{
    const char l[] = "{\"t\":1,\"device\":\"#d\",\"id\":1,\"op\":\"READ_10\",\"cdb\":\"28\","
                     "\"lba\":1,\"blocks\":1,\"status\":8,\"rule\":\"#3\"}";
    add_line(l, strlen(l));
    make(&got);
    cr_assert(strstr(text, "\n%23d READ_10 lba 1+1: BUSY rule=#3\n"), "%s", text);
    cr_assert_eq(got.n, 2); /* the command and its reaction */
    cr_assert_str_eq(got.l[1].text, "%23d READ_10 lba 1+1: BUSY rule=#3; attempts 1; aborts 0; "
                                    "resets 0; request sense 0; gave up");
}

/* unit-attention's second sg_turs, a new process, came 0.268 s after the first in a loaded
 * guest: past the analysis's 0.25 s, "attempts 1; gave up"; in a faster one (natively, a
 * KVM guest) 0.218 s after it: "attempts 2; recovered". The initiator did the same: a golden
 * trace's episodes are not cut by time. */
static void second_tur_sooner(const char *line, size_t len)
{
    const char *at = memmem(line, len, "\"t\":0.965119,", 13);
    if (!at) return add_line(line, len);
    char *l = strndup(line, len);
    memcpy(l + (at - line), "\"t\":0.915119,", 13);
    add_line(l, len);
    free(l);
}

Test(report_golden, a_reaction_does_not_depend_on_how_soon_the_next_command_came)
{
    load_trace("unit-attention", NULL);
    make(&want);
    rp_trace_free(&t);
    rp_trace_init(&t);
    load_trace("unit-attention", second_tur_sooner);
    make(&got);
    cr_assert_eq(compare(RP_MATCH_MULTISET, 0), 0, "%s", diff);
    cr_assert_eq(compare(RP_MATCH_SEQUENCE, 0), 0, "%s", diff);
    cr_assert(strstr(text, "UNIT_ATTENTION 2A/09 rule=unit_attention; attempts 2; aborts 0; "
                           "resets 0; request sense 0; recovered\n"),
              "%s", text);
}
