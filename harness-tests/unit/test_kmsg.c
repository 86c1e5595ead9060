/* Kernel-log verdicts: /dev/kmsg records (fed from files), the splat table, allow, forbid
 * and expect, and the scenario keys that carry them. */
#include <unistd.h>
#include "helpers.h"
#include "scenario/kmsg.h"
#include "scenario/scenario.h"

static char tmp[64];

/* A file with this text; its path in tmp (unlinked by the caller). */
static const char *file_with(const char *text, size_t len)
{
    snprintf(tmp, sizeof(tmp), "/tmp/th-kmsg-XXXXXX");
    int fd = mkstemp(tmp);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return tmp;
}

static void collect_text(const char *text, uint64_t mark, sc_kmsg_log *log)
{
    char err[300];
    const char *p = file_with(text, strlen(text));
    int rc = sc_kmsg_collect(p, mark, log, err, sizeof(err));
    unlink(p);
    cr_assert_eq(rc, 0, "%s", err);
}

/* The log as rendered, for messages. */
static char *rendered(const sc_kmsg_log *log)
{
    char *r = sc_kmsg_render(log);
    cr_assert_not_null(r);
    return r;
}

Test(kmsg, a_record_is_a_line_with_its_timestamp_and_continuation_lines_are_not)
{
    sc_kmsg_log log;
    collect_text("6,100,12345678,-;sd 0:0:0:0: [sda] Attached SCSI disk\n"
                 " SUBSYSTEM=scsi\n DEVICE=+scsi:0:0:0:0\n"
                 "4,101,12400000,-,caller=T42;second\n",
                 0, &log);
    cr_assert_eq(log.n, 3, "a note for records 0-99, then two lines");
    cr_assert(log.lines[0].note);
    cr_assert_eq(log.lines[1].seq, 100);
    cr_assert_eq(log.lines[1].ts_us, 12345678);
    cr_assert_str_eq(log.lines[1].text, "sd 0:0:0:0: [sda] Attached SCSI disk");
    cr_assert_str_eq(log.lines[2].text, "second");
    char line[256];
    sc_kmsg_format_line(&log.lines[1], line, sizeof(line));
    cr_assert_str_eq(line, "[   12.345678] sd 0:0:0:0: [sda] Attached SCSI disk");
    sc_kmsg_log_free(&log);
}

Test(kmsg, escaped_newlines_split_a_message_and_other_escapes_stay_printable)
{
    sc_kmsg_log log;
    collect_text("4,5,1000001,-;one\\x0atwo\\x09tab \\x5c back \\x01 ctl \\x\n", 5, &log);
    cr_assert_eq(log.n, 2);
    cr_assert_str_eq(log.lines[0].text, "one");
    cr_assert_str_eq(log.lines[1].text, "two\ttab \\ back \\x01 ctl \\x");
    cr_assert_eq(log.lines[1].seq, 5);
    char *r = rendered(&log);
    cr_assert_str_eq(r, "[    1.000001] one\n[    1.000001] two\ttab \\ back \\x01 ctl \\x\n");
    free(r);
    sc_kmsg_log_free(&log);
}

Test(kmsg, the_mark_is_after_the_last_record_and_collect_keeps_what_follows)
{
    char err[300];
    uint64_t mark = 0;
    const char rec[] = "6,1,1,-;a\n6,2,2,-;b\n SUBSYSTEM=x\n6,3,3,-;c\n";
    const char *p = file_with(rec, sizeof(rec) - 1);
    cr_assert_eq(sc_kmsg_mark(p, &mark, err, sizeof(err)), 0, "%s", err);
    unlink(p);
    cr_assert_eq(mark, 4);
    sc_kmsg_log log;
    collect_text("6,1,1,-;a\n6,2,2,-;b\n6,3,3,-;c\n6,4,4,-;d\n6,5,5,-;e\n", mark, &log);
    char *r = rendered(&log);
    cr_assert_str_eq(r, "[    0.000004] d\n[    0.000005] e\n");
    free(r);
    sc_kmsg_log_free(&log);
    p = file_with("", 0);
    cr_assert_eq(sc_kmsg_mark(p, &mark, err, sizeof(err)), 0, "%s", err);
    unlink(p);
    cr_assert_eq(mark, 0, "an empty log: everything that comes is after the mark");
}

Test(kmsg, records_overwritten_before_they_were_read_are_a_note_and_reading_goes_on)
{
    sc_kmsg_log log;
    /* mark 10; 10-11 gone before the read; 13-14 lost during it (EPIPE) */
    collect_text("6,12,1,-;first\n6,15,2,-;later\n", 10, &log);
    char *r = rendered(&log);
    cr_assert_str_eq(r,
                     "-- tcmu-harness: 2 kernel log records (seq 10 to 11) were overwritten before "
                     "they were read\n[    0.000001] first\n"
                     "-- tcmu-harness: 2 kernel log records (seq 13 to 14) were overwritten before "
                     "they were read\n[    0.000002] later\n");
    free(r);
    sc_kmsg_failures f;
    cr_assert_eq(sc_kmsg_verdict(&log, NULL, 0, NULL, 0, NULL, 0, &f), 0, "notes are not judged");
    sc_kmsg_log_free(&log);
}

Test(kmsg, an_unparsable_record_is_a_note_not_a_crash)
{
    sc_kmsg_log log;
    collect_text("garbage without fields\n6,x,1,-;bad seq\n6,1,1;no flags\n6,2,2,-;fine\n", 2,
                 &log);
    cr_assert_eq(log.n, 4);
    for (int i = 0; i < 3; i++)
        cr_assert(log.lines[i].note && strstr(log.lines[i].text, "cannot parse"), "%s",
                  log.lines[i].text);
    cr_assert_str_eq(log.lines[3].text, "fine");
    sc_kmsg_log_free(&log);
}

Test(kmsg, a_log_larger_than_one_read_is_read_whole_across_chunks)
{
    enum { N = 5000 };
    size_t cap = N * 64, len = 0;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(text + len, cap - len, "6,%d,%d,-;message number %d\n", i, i, i);
    sc_kmsg_log log;
    collect_text(text, 0, &log);
    cr_assert_eq(log.n, N);
    for (int i = 0; i < N; i++) {
        char want[64];
        snprintf(want, sizeof(want), "message number %d", i);
        cr_assert_str_eq(log.lines[i].text, want);
    }
    sc_kmsg_log_free(&log);
    free(text);
}

Test(kmsg, a_log_that_cannot_be_read_is_an_error_naming_it)
{
    char err[300];
    uint64_t mark;
    cr_assert_eq(sc_kmsg_mark("/nonexistent/kmsg", &mark, err, sizeof(err)), -ENOENT);
    cr_assert(strstr(err, "cannot read the kernel log /nonexistent/kmsg"), "%s", err);
    sc_kmsg_log log;
    cr_assert_eq(sc_kmsg_collect("/nonexistent/kmsg", 0, &log, err, sizeof(err)), -ENOENT);
    cr_assert_eq(log.n, 0);
}

/* A line each splat pattern is for, and a near miss it must not take. */
static const struct {
    const char *what, *sample, *near_miss;
} splat_cases[] = {
    {"KASAN", "BUG: KASAN: slab-use-after-free in tcmu_handle_completion+0x1c/0x40",
     "kasan: KernelAddressSanitizer initialized (generic)"},
    {"KFENCE", "BUG: KFENCE: out-of-bounds read in foo+0x10/0x20",
     "kfence: initialized - using 2097152 bytes for 255 objects"},
    {"UBSAN", "UBSAN: shift-out-of-bounds in drivers/target/target_core_user.c:1234:5",
     "ubsan tests disabled"},
    {"lockdep", "WARNING: possible circular locking dependency detected",
     "Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar"},
    {"kernel BUG at", "kernel BUG at drivers/target/target_core_transport.c:900!",
     "kernel BUGS are fixed here"},
    {"general protection fault", "general protection fault, probably for non-canonical address",
     "traps: sg_raw[12] general protection fault ip:4011 sp:7ffd error:0 in sg_raw[400000+1000]"},
    {"oops", "Oops: 0002 [#1] PREEMPT SMP NOPTI", "Oopsy daisy"},
    {"hung task", "INFO: task kworker/0:1:42 blocked for more than 122 seconds.",
     "blocked for less than 5 seconds"},
    {"RCU stall", "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
     "rcu: Hierarchical RCU implementation."},
    {"hard lockup", "watchdog: CPU1: Watchdog detected hard LOCKUP on cpu 1",
     "NMI watchdog: Enabled. Permanently consumes one hw-PMU counter."},
    {"BUG:", "BUG: sleeping function called from invalid context at mm/slab.c:1",
     "DEBUG: sd probe done"},
    {"WARNING:", "WARNING: CPU: 0 PID: 1 at drivers/scsi/sd.c:100 sd_probe+0x1/0x2",
     "sd 0:0:0:0: Warning: no caching mode page"},
    {"Call Trace:", "Call Trace:", "Call Trace without a colon"},
};

Test(kmsg, every_splat_pattern_fires_on_its_line_and_not_on_a_near_miss)
{
    size_t n = sizeof(splat_cases) / sizeof(splat_cases[0]);
    cr_assert_eq(n, sc_kmsg_n_splats, "one case per pattern of the table");
    bool seen[64] = {0};
    for (size_t i = 0; i < n; i++) {
        int k = sc_kmsg_splat_match(splat_cases[i].sample);
        cr_assert_geq(k, 0, "'%s' is not taken", splat_cases[i].sample);
        cr_assert(strstr(sc_kmsg_splats[k].what, splat_cases[i].what), "'%s' taken as %s",
                  splat_cases[i].sample, sc_kmsg_splats[k].what);
        seen[k] = true;
        k = sc_kmsg_splat_match(splat_cases[i].near_miss);
        cr_assert_eq(k, -1, "near miss '%s' taken as %s", splat_cases[i].near_miss,
                     k >= 0 ? sc_kmsg_splats[k].what : "?");
    }
    for (size_t k = 0; k < sc_kmsg_n_splats; k++) cr_assert(seen[k], "%s", sc_kmsg_splats[k].what);
    cr_assert_eq(sc_kmsg_splat_match("Call trace:"), (int)sc_kmsg_n_splats - 1, "arm64 spelling");
}

static sc_kmsg_list list_of(const char *const *src, int n)
{
    sc_kmsg_list l = {0};
    char err[300];
    for (int i = 0; i < n; i++)
        cr_assert_eq(sc_kmsg_list_add(&l, src[i], i + 3, err, sizeof(err)), 0, "%s", err);
    return l;
}

/* The verdict on text with these lists; its failures in f. */
static int judge(const char *text, const char *allow, const char *expect, const char *forbid,
                 sc_kmsg_failures *f)
{
    sc_kmsg_log log;
    collect_text(text, 0, &log);
    sc_kmsg_list a = list_of(&allow, allow ? 1 : 0), e = list_of(&expect, expect ? 1 : 0),
                 fb = list_of(&forbid, forbid ? 1 : 0);
    int n = sc_kmsg_verdict(&log, a.re, a.n, e.re, e.n, fb.re, fb.n, f);
    sc_kmsg_list_free(&a);
    sc_kmsg_list_free(&e);
    sc_kmsg_list_free(&fb);
    sc_kmsg_log_free(&log);
    return n;
}

#define WARN_LINE "4,0,12345678,-;WARNING: CPU: 1 PID: 7 at drivers/target/x.c:5 f+0x1/0x2\n"

Test(kmsg, a_warning_fails_quoting_its_line_unless_an_allow_regex_matches_it)
{
    sc_kmsg_failures f;
    cr_assert_eq(judge("6,0,1,-;all quiet\n", NULL, NULL, NULL, &f), 0);
    cr_assert_eq(judge(WARN_LINE, NULL, NULL, NULL, &f), 1);
    cr_assert_str_eq(f.msg[0], "a kernel warning (WARNING:), and no allow_kmsg regex matches it: "
                               "\"[   12.345678] WARNING: CPU: 1 PID: 7 at drivers/target/x.c:5 "
                               "f+0x1/0x2\"");
    sc_kmsg_failures_free(&f);
    cr_assert_eq(judge(WARN_LINE, "at drivers/target/x\\.c:[0-9]+", NULL, NULL, &f), 0);
    cr_assert_eq(judge(WARN_LINE, "drivers/scsi/", NULL, NULL, &f), 1, "another warning's allow");
    sc_kmsg_failures_free(&f);
}

Test(kmsg, the_stack_trace_of_a_report_is_part_of_it_but_a_lone_one_is_a_finding)
{
    sc_kmsg_failures f;
    const char *report =
        WARN_LINE "4,1,2,-;Modules linked in: tcm_loop\n4,2,3,-;Call Trace:\n"
                  "4,3,4,-; <TASK>\n4,4,5,-;---[ end trace 0000000000000000 ]---\n";
    cr_assert_eq(judge(report, "drivers/target/", NULL, NULL, &f), 0, "allowed with its trace");
    cr_assert_eq(judge(report, NULL, NULL, NULL, &f), 1, "one finding, not two");
    sc_kmsg_failures_free(&f);
    cr_assert_eq(judge("4,0,1,-;Call Trace:\n", NULL, NULL, NULL, &f), 1);
    cr_assert(strstr(f.msg[0], "a stack trace (Call Trace:)"), "%s", f.msg[0]);
    sc_kmsg_failures_free(&f);
    char after[1024];
    snprintf(after, sizeof(after), "%s4,5,6,-;Call Trace:\n", report);
    cr_assert_eq(judge(after, "drivers/target/", NULL, NULL, &f), 1, "after the end of the report");
    sc_kmsg_failures_free(&f);
}

Test(kmsg, a_forbidden_line_fails_even_when_allowed_and_names_its_regex)
{
    sc_kmsg_failures f;
    const char *text = "3,0,2000000,-;blk_update_request: I/O error, dev sda, sector 100\n";
    cr_assert_eq(judge(text, NULL, NULL, "I/O error", &f), 1);
    cr_assert_str_eq(f.msg[0], "forbid_kmsg (line 3) /I/O error/ matched: \"[    2.000000] "
                               "blk_update_request: I/O error, dev sda, sector 100\"");
    sc_kmsg_failures_free(&f);
    cr_assert_eq(judge(WARN_LINE, "WARNING", NULL, "WARNING", &f), 1);
    cr_assert(strstr(f.msg[0], "forbid_kmsg"), "%s", f.msg[0]);
    sc_kmsg_failures_free(&f);
    cr_assert_eq(judge(text, NULL, NULL, "medium error", &f), 0);
}

Test(kmsg, an_expected_line_must_appear_and_a_note_does_not_count)
{
    sc_kmsg_failures f;
    const char *text = "5,7,1,-;sd 2:0:0:0: [sdb] Attached SCSI disk\n";
    cr_assert_eq(judge(text, NULL, "\\[sd[a-z]+\\] Attached SCSI disk$", NULL, &f), 0);
    cr_assert_eq(judge(text, NULL, "Medium Error", NULL, &f), 1);
    cr_assert_str_eq(
        f.msg[0], "expect_kmsg (line 3) /Medium Error/: no kernel log line of the span matched it");
    sc_kmsg_failures_free(&f);
    /* the note names records 0-6 overwritten: "overwritten" must still be missing */
    cr_assert_eq(judge(text, NULL, "overwritten", NULL, &f), 1);
    sc_kmsg_failures_free(&f);
}

Test(kmsg, a_baseline_file_skips_blanks_and_comments_and_a_bad_regex_names_its_line)
{
    char err[400];
    sc_kmsg_list l = {0};
    const char good[] = "# known warnings\n\nWARNING: .* at fs/\n  # indented comment\nhung\n";
    const char *p = file_with(good, sizeof(good) - 1);
    cr_assert_eq(sc_kmsg_list_load(&l, p, err, sizeof(err)), 0, "%s", err);
    unlink(p);
    cr_assert_eq(l.n, 2);
    cr_assert_str_eq(l.re[0].src, "WARNING: .* at fs/");
    cr_assert_eq(l.re[0].line, 3);
    cr_assert_eq(l.re[1].line, 5);
    const char bad[] = "ok\n\nbad(\n";
    p = file_with(bad, sizeof(bad) - 1);
    cr_assert_eq(sc_kmsg_list_load(&l, p, err, sizeof(err)), -EINVAL);
    char want[128];
    snprintf(want, sizeof(want), "%s:3: 'bad(' is not an extended regex", p);
    cr_assert(strstr(err, want), "%s", err);
    unlink(p);
    cr_assert_eq(l.n, 2, "the list as it was");
    cr_assert_eq(sc_kmsg_list_load(&l, "/nonexistent/allow", err, sizeof(err)), -ENOENT);
    cr_assert(strstr(err, "/nonexistent/allow: "), "%s", err);
    sc_kmsg_list_free(&l);
}

static int load_scenario(const char *text, scenario *sc)
{
    const char *p = file_with(text, strlen(text));
    int rc = sc_load(p, sc);
    unlink(p);
    return rc;
}

Test(kmsg, the_scenario_keys_are_compiled_lists_with_their_lines)
{
    static scenario sc;
    int rc = load_scenario("name: t\ndevices: [{name: d0}]\n"
                           "expect_kmsg: [\"Attached SCSI disk\", \"sd[a-z]+\"]\n"
                           "forbid_kmsg:\n  - I/O error\n"
                           "allow_kmsg: [\"WARNING: .* at fs/\"]\n",
                           &sc);
    cr_assert_eq(rc, 0, "%s", sc_errors(&sc));
    cr_assert_eq(sc.kmsg_expect.n, 2);
    cr_assert_str_eq(sc.kmsg_expect.re[1].src, "sd[a-z]+");
    cr_assert_eq(sc.kmsg_expect.re[1].line, 3);
    cr_assert_eq(sc.kmsg_forbid.n, 1);
    cr_assert_eq(sc.kmsg_forbid.re[0].line, 5);
    cr_assert_eq(sc.kmsg_allow.n, 1);
    sc_free(&sc);
    cr_assert_eq(sc.kmsg_allow.n, 0);
}

Test(kmsg, a_bad_regex_or_a_non_text_item_is_a_located_error)
{
    static scenario sc;
    cr_assert_eq(load_scenario("name: t\ndevices: [{name: d0}]\n"
                               "forbid_kmsg: [\"ok\", \"(unclosed\"]\n"
                               "allow_kmsg:\n  - {a: 1}\n",
                               &sc),
                 -EINVAL);
    char at[128];
    snprintf(at, sizeof(at), "%s:3:21: '(unclosed' is not an extended regex", tmp);
    cr_assert(strstr(sc_errors(&sc), at), "%s", sc_errors(&sc));
    snprintf(at, sizeof(at), "%s:5:5: expected a single value, not a mapping", tmp);
    cr_assert(strstr(sc_errors(&sc), at), "%s", sc_errors(&sc));
    sc_free(&sc);
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(kmsg, a_span_judges_what_came_after_its_mark_with_the_scenario_lists)
{
    static scenario sc;
    cr_assert_eq(load_scenario("name: t\ndevices: [{name: d0}]\nexpect_kmsg: [Attached]\n", &sc), 0,
                 "%s", sc_errors(&sc));
    static char log[64];
    const char *p = file_with("4,0,1,-;WARNING: before the mark\n", 33);
    snprintf(log, sizeof(log), "%s", p);
    sc_result res = {.passed = true};
    sc_kmsg_span sp;
    sc_kmsg_begin(&sp, log, &res);
    cr_assert(res.passed, "%s", res.message);
    append(log, "6,1,2000000,-;sd 0:0:0:0: [sda] Attached SCSI disk\n"
                "4,2,3000000,-;WARNING: during the span\n");
    sc_kmsg_end(&sp, &sc, &res);
    cr_assert_not(res.passed);
    cr_assert_str_eq(res.message, "kernel log: 1 problem:\n  a kernel warning (WARNING:), and no "
                                  "allow_kmsg regex matches it: \"[    3.000000] WARNING: during "
                                  "the span\"");
    cr_assert_str_eq(res.kmsg, "[    2.000000] sd 0:0:0:0: [sda] Attached SCSI disk\n"
                               "[    3.000000] WARNING: during the span\n");
    sc_result_clear(&res);
    cr_assert_null(res.kmsg);

    /* a run that failed already keeps its message, the kernel log's problems follow */
    res = (sc_result){.passed = false};
    snprintf(res.message, sizeof(res.message), "step 1 (line 4): exit status 3, expected 0");
    sc_kmsg_begin(&sp, log, &res);
    append(log, "4,3,4000000,-;BUG: scheduling while atomic\n");
    sc_kmsg_end(&sp, &sc, &res);
    cr_assert_str_eq(
        res.message,
        "step 1 (line 4): exit status 3, expected 0\n--- kernel log: 2 problems:\n"
        "  a kernel BUG (BUG:), and no allow_kmsg regex matches it: \"[    4.000000] "
        "BUG: scheduling while atomic\"\n"
        "  expect_kmsg (line 3) /Attached/: no kernel log line of the span matched it");
    sc_result_clear(&res);
    unlink(log);
    sc_free(&sc);
}

Test(kmsg, a_kernel_log_that_cannot_be_read_fails_the_run_saying_so)
{
    static scenario sc;
    cr_assert_eq(load_scenario("name: t\ndevices: [{name: d0}]\n", &sc), 0);
    sc_result res = {.passed = true};
    sc_kmsg_span sp;
    sc_kmsg_begin(&sp, "/nonexistent/kmsg", &res);
    cr_assert_not(res.passed);
    cr_assert_str_eq(res.message, "cannot read the kernel log /nonexistent/kmsg: No such file or "
                                  "directory; a scenario's verdict includes its kernel log");
    sc_kmsg_end(&sp, &sc, &res);
    cr_assert_null(res.kmsg);
    /* readable at the mark, gone at the end */
    res = (sc_result){.passed = true};
    static char log[64];
    snprintf(log, sizeof(log), "%s", file_with("6,0,1,-;x\n", 10));
    sc_kmsg_begin(&sp, log, &res);
    cr_assert(res.passed);
    unlink(log);
    sc_kmsg_end(&sp, &sc, &res);
    cr_assert_not(res.passed);
    cr_assert(strstr(res.message, "(after the scenario)"), "%s", res.message);
    sc_free(&sc);
}
