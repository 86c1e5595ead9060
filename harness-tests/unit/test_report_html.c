/* The run report's pages (framework/report/html.c) and the run.json reader: a page is
 * self-contained, text from a trace or a run cannot end the element it lands in, numbers
 * the browser's JSON refuses never reach it, and a huge trace is cut without losing a
 * fault. The pages in a real browser: harness-tests/cli/test_report_browser.py. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "report/html.h"

static rp_trace t;
static rp_reactions rs;
static char err[512];
static char *out;
static size_t out_len;

static void setup(void)
{
    rp_trace_init(&t);
    memset(&rs, 0, sizeof(rs));
    out = NULL;
}
static void teardown(void)
{
    rp_reactions_free(&rs);
    rp_trace_free(&t);
    free(out);
}
TestSuite(report_html, .init = setup, .fini = teardown);

static void add(const char *line)
{
    cr_assert_geq(rp_trace_add_line(&t, line, strlen(line), err, sizeof(err)), 0, "%s: %s", line,
                  err);
}

static void page(const rp_page *p)
{
    FILE *f = open_memstream(&out, &out_len);
    cr_assert_eq(rp_html_page(f, p), 0);
    fclose(f);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

Test(report_html, a_fixtures_page_is_self_contained_and_holds_its_reaction)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/fixtures/traces/busy-is-retried.jsonl", TH_SOURCE_DIR);
    cr_assert_eq(rp_trace_load(&t, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rp_reactions_find(&t, &rs), 0);
    rp_page p = {.trace_path = "busy.jsonl", .trace = &t, .reactions = &rs};
    page(&p);
    /* no file, font or script from anywhere else */
    cr_expect_null(strstr(out, "src="));
    cr_expect_null(strstr(out, "<link"));
    cr_expect_null(strstr(out, "url("));
    cr_expect_null(strstr(out, "@import"));
    cr_expect(strstr(out, "<style>") && strstr(out, "data-ready"), "style and script embedded");
    cr_expect(strstr(out, "BUSY (rule busy); 3 retries"), "the reaction is in the page");
    cr_expect(strstr(out, "<li data-fault=\""), "the reaction links to its fault");
    cr_expect(strstr(out, "\"e\":[") && strstr(out, "\"cdb\":[\"12"), "the commands are embedded");
    cr_expect_eq(count(out, "</script>"), 3);
    cr_expect(strstr(out, "a trace without a run's result"));
}

Test(report_html, text_from_the_trace_and_the_run_cannot_end_its_element)
{
    add("{\"t\":1,\"device\":\"</script><script>alert(1)</script>\",\"id\":1,\"op\":\"READ_10\","
        "\"cdb\":\"28\",\"status\":2,\"sense\":{\"key\":\"<!--\",\"asc\":17,\"ascq\":0},"
        "\"rule\":\"</textarea>'\\\"&x\",\"aborted\":false}");
    cr_assert_eq(rp_reactions_find(&t, &rs), 0);
    const char *json = "{\"name\":\"</title><script>alert(2)</script>\",\"passed\":false,"
                       "\"seconds\":1,\"message\":\"</span><b>\",\"steps\":[{\"what\":"
                       "\"</script><script>alert(3)</script>\"}]}";
    rp_run run;
    cr_assert_eq(rp_run_parse(&run, json, strlen(json), err, sizeof(err)), 0, "%s", err);
    const char *kmsg = "[ 1.0] </pre><script>alert(4)</script>\n";
    rp_page p = {.trace_path = "<x>.jsonl",
                 .trace = &t,
                 .reactions = &rs,
                 .run = &run,
                 .run_json = json,
                 .run_json_len = strlen(json),
                 .kmsg = kmsg,
                 .kmsg_len = strlen(kmsg)};
    page(&p);
    cr_expect_null(strstr(out, "<script>alert"), "%s", strstr(out, "<script>alert"));
    cr_expect_null(strstr(out, "<b>"));
    cr_expect_null(strstr(out, "</textarea>"));
    cr_expect_null(strstr(out, "<!--"));
    cr_expect_eq(count(out, "</script>"), 3, "only the page's own three script elements end");
    cr_expect_eq(count(out, "<title>"), 1);
    cr_expect(strstr(out, "\\u003c/script>"), "the run's JSON keeps its text, escaped");
    rp_run_free(&run);
}

Test(report_html, times_json_cannot_hold_become_zero)
{
    add("{\"t\":1e999,\"device\":\"d0\",\"id\":1,\"op\":\"READ_10\",\"status\":0,\"lat_us\":5}");
    add("{\"t\":1,\"device\":\"d0\",\"id\":2,\"op\":\"READ_10\",\"status\":0,\"lat_us\":"
        "18446744073709551615}");
    add("{\"t\":-1e999,\"device\":\"d0\",\"tmr\":\"ABORT_TASK\",\"ids\":[1]}");
    rp_page p = {.trace_path = "x", .trace = &t};
    page(&p);
    const char *data = strstr(out, "id=\"trace-data\">");
    cr_assert(data);
    const char *end = strstr(data, "</script>");
    char *copy = strndup(data, (size_t)(end - data));
    cr_expect_null(strstr(copy, "inf"), "%s", copy);
    cr_expect_null(strstr(copy, "nan"), "%s", copy);
    free(copy);
}

Test(report_html, a_huge_trace_is_cut_but_keeps_every_command_a_rule_answered)
{
    char line[256];
    size_t n = RP_HTML_MAX_ENTRIES + 50000;
    for (size_t i = 0; i < n; i++) {
        bool fault = i % 20000 == 19999; /* 12, most of them past the cut */
        snprintf(line, sizeof(line),
                 "{\"t\":%zu.5,\"device\":\"d0\",\"id\":1,\"op\":\"READ_10\",\"lba\":%zu,"
                 "\"blocks\":1,\"status\":%d,\"rule\":%s,\"aborted\":false}",
                 i, i, fault ? 8 : 0, fault ? "\"busy\"" : "null");
        add(line);
    }
    cr_assert_eq(rp_reactions_find(&t, &rs), 0);
    cr_assert_eq(rs.n, 12);
    rp_page p = {.trace_path = "x", .trace = &t, .reactions = &rs};
    page(&p);
    char want[128];
    snprintf(want, sizeof(want), "%zu commands (the timeline holds %d", n, RP_HTML_MAX_ENTRIES);
    cr_expect(strstr(out, want), "the page says it holds fewer");
    cr_expect_eq(count(out, "<li data-fault=\"-1\""), 0, "every fault is on the timeline");
    cr_expect_eq(count(out, "<tr class=\"fault\">"), 12);
}

Test(report_html, a_run_json_is_read_and_bad_ones_are_refused_with_the_column)
{
    const char *ok =
        "{\"name\":\"s\",\"file\":\"scenarios/s.yaml\",\"passed\":true,\"seconds\":"
        "1.5,\"message\":\"\",\"steps\":[{\"n\":1},{\"n\":2}],\"golden\":{\"file\":"
        "\"g/s.golden\",\"mode\":\"sequence\",\"result\":\"differs\",\"diff\":\"-a\\n+b\"},"
        "\"newer\":{\"key\":[1,2,{}]}}";
    rp_run r;
    cr_assert_eq(rp_run_parse(&r, ok, strlen(ok), err, sizeof(err)), 0, "%s", err);
    cr_expect_str_eq(r.name, "s");
    cr_expect_str_eq(r.file, "scenarios/s.yaml");
    cr_expect(r.has_result && r.passed);
    cr_expect_float_eq(r.seconds, 1.5, 1e-9);
    cr_expect_eq(r.n_steps, 2);
    cr_expect_str_eq(r.golden, "differs");
    cr_expect_str_eq(r.golden_file, "g/s.golden");
    cr_expect_str_eq(r.golden_diff, "-a\n+b");
    rp_run_free(&r);
    const char *bad[] = {"",
                         "[]",
                         "{\"name\":1}",
                         "{\"passed\":\"yes\"}",
                         "{\"steps\":[1,}",
                         "{\"name\":\"x\"} trailing",
                         "{\"message\":\"cut",
                         "{\"golden\":[]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_expect_eq(rp_run_parse(&r, bad[i], strlen(bad[i]), err, sizeof(err)), -EINVAL, "%s",
                     bad[i]);
        cr_expect(strstr(err, "column "), "%s: %s", bad[i], err);
        cr_expect_null(r.message);
    }
}

Test(report_html, a_message_past_the_limit_is_cut)
{
    size_t n = RP_TEXT_MAX + 1000;
    char *json = malloc(n + 64);
    int k = sprintf(json, "{\"message\":\"");
    memset(json + k, 'm', n);
    strcpy(json + k + n, "\"}");
    rp_run r;
    cr_assert_eq(rp_run_parse(&r, json, strlen(json), err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(strlen(r.message), RP_TEXT_MAX);
    rp_run_free(&r);
    free(json);
}

Test(report_html, the_suite_page_counts_and_escapes)
{
    rp_suite_row rows[] = {
        {.name = "a<b>",
         .file = "a.yaml",
         .href = "a.html",
         .has_result = true,
         .passed = true,
         .seconds = 1,
         .commands = 10,
         .faults = 2,
         .reactions = 2,
         .recovered = 1},
        {.name = "c",
         .file = "c.yaml",
         .has_result = true,
         .passed = false,
         .seconds = 2,
         .message = "</td><script>x</script>"},
        {.name = "d", .file = "d.yaml", .href = "\"><script>y</script>"},
    };
    rp_suite s = {.title = "runs", .kernel = "6.1", .rows = rows, .n = 3};
    FILE *f = open_memstream(&out, &out_len);
    cr_assert_eq(rp_html_suite(f, &s), 0);
    fclose(f);
    cr_expect(strstr(out, "1 passed</span>, <span class=\"fail\">1 failed</span>, 3 runs"), "%s",
              out);
    cr_expect_null(strstr(out, "<script>"));
    cr_expect_null(strstr(out, "<b>"));
    cr_expect(strstr(out, "<a href=\"a.html\">a&lt;b&gt;</a>"));
    cr_expect(strstr(out, "1 of 2"));
}

Test(report_html, files_that_are_no_trace_are_refused_not_read_as_one_without_faults)
{
    /* bad input review: an empty file and /dev/null read as a trace with no faults, and
     * /dev/zero, one endless line, was read until memory ran out */
    cr_expect_eq(rp_trace_load(&t, "/dev/null", err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, "/dev/null: not a trace: no header line and no entries"), "%s", err);
    rp_trace_free(&t);
    cr_expect_eq(rp_trace_load(&t, "/dev/zero", err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, "/dev/zero:1: a line longer than 1048576 bytes"), "%s", err);
    rp_trace_free(&t);
    char path[] = "/tmp/th-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"header\":{\"tcmu_harness_version\":\"0.2.0\",\"kernel_release\":\"6.1\"}}\r\n", f);
    fclose(f);
    cr_expect_eq(rp_trace_load(&t, path, err, sizeof(err)), 0, "a header alone is a trace: %s",
                 err);
    cr_expect_str_eq(t.kernel, "6.1");
    unlink(path);
}

/* A file of one line of n bytes: a header object padded with blanks inside it. */
static void one_line(const char *path, size_t n)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    const char *h = "{\"header\":{\"kernel_release\":\"6.1\"}";
    fputs(h, f);
    for (size_t i = strlen(h) + 1; i < n; i++) fputc(' ', f);
    fputs("}\n", f);
    fclose(f);
}

Test(report_html, a_line_of_the_bound_reads_and_one_byte_more_is_refused)
{
    /* review: the bound doubled past RP_LINE_MAX, so lines of up to twice it were read */
    char path[] = "/tmp/th-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    one_line(path, RP_LINE_MAX);
    cr_expect_eq(rp_trace_load(&t, path, err, sizeof(err)), 0, "%s", err);
    cr_expect_str_eq(t.kernel, "6.1");
    rp_trace_free(&t);
    one_line(path, RP_LINE_MAX + 1);
    cr_expect_eq(rp_trace_load(&t, path, err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, ":1: a line longer than 1048576 bytes"), "%s", err);
    rp_trace_free(&t);
    one_line(path, RP_LINE_MAX + RP_LINE_MAX / 2);
    cr_expect_eq(rp_trace_load(&t, path, err, sizeof(err)), -EINVAL, "1.5 MiB read: %s", err);
    rp_trace_free(&t);
    unlink(path);
}
