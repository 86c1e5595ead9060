/* LBA range files: every line form, comments and blanks, and bad lines located by the
 * file's name and line. */
#include <unistd.h>
#include "helpers.h"
#include "scenario/lba_file.h"

static char path[64];

static void write_file(const char *text)
{
    snprintf(path, sizeof(path), "/tmp/th-lba-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int read_text(const char *text, th_lba_range **g, size_t *n, char *err, size_t cap)
{
    write_file(text);
    int rc = sc_lba_file_read(path, g, n, err, cap);
    unlink(path);
    return rc;
}

/* The error for a one-line file, which must be "PATH:1: ..." containing want. */
static void bad_line(const char *text, const char *want)
{
    th_lba_range *g;
    size_t n;
    char err[1024], where[96];
    cr_assert_eq(read_text(text, &g, &n, err, sizeof(err)), -EINVAL, "%s accepted", text);
    snprintf(where, sizeof(where), "%s:1: ", path);
    cr_assert_eq(strncmp(err, where, strlen(where)), 0, "%s: %s", text, err);
    cr_assert(strstr(err, want), "%s: '%s' has no '%s'", text, err, want);
    cr_assert_null(g);
}

Test(lba_file, every_line_form_reads_as_its_range)
{
    th_lba_range *g;
    size_t n;
    char err[512];
    int rc = read_text("# grown defects\n"
                       "1234\n"
                       "\n"
                       "  100-199  \n"
                       "300 399\n"
                       "500+8   # eight blocks\n"
                       "0x10 - 0x1f\n"
                       "7 + 1\r\n"
                       "\t42\n"
                       "18446744073709551615\n",
                       &g, &n, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s", err);
    th_lba_range want[] = {{1234, 1234}, {100, 199}, {300, 399}, {500, 507},
                           {16, 31},     {7, 7},     {42, 42},   {UINT64_MAX, UINT64_MAX}};
    cr_assert_eq(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(g[i].first, want[i].first, "range %zu", i);
        cr_assert_eq(g[i].last, want[i].last, "range %zu", i);
    }
    free(g);
}

Test(lba_file, an_empty_or_comment_only_file_is_an_empty_list)
{
    th_lba_range *g;
    size_t n = 9;
    char err[512];
    cr_assert_eq(read_text("# no defects yet\n\n   \n", &g, &n, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(n, 0);
    cr_assert_null(g);
}

Test(lba_file, bad_lines_name_the_file_and_line)
{
    bad_line("abc\n", "'abc' is not an LBA");
    bad_line("10-5\n", "ends (5) before it starts (10)");
    bad_line("10+0\n", "a count of 0");
    bad_line("18446744073709551615+2\n", "runs past the last LBA");
    bad_line("18446744073709551616\n", "is not an LBA");
    bad_line("10-\n", "'-' needs a last LBA");
    bad_line("10+\n", "'+' needs a count");
    bad_line("10 20 30\n", "after the range");
    bad_line("12abc\n", "after the LBA");
    bad_line("-5\n", "is not an LBA");
    bad_line("10-x\n", "is not a last LBA");
}

Test(lba_file, several_bad_lines_each_get_their_line_and_the_rest_are_counted)
{
    th_lba_range *g;
    size_t n;
    char err[4096], want[128];
    char text[512] = "1\n";
    for (int i = 0; i < 12; i++) strcat(text, "x\n");
    cr_assert_eq(read_text(text, &g, &n, err, sizeof(err)), -EINVAL);
    for (int line = 2; line < 2 + SC_LBA_FILE_ERRORS; line++) {
        snprintf(want, sizeof(want), "%s:%d: 'x' is not an LBA", path, line);
        cr_assert(strstr(err, want), "%s", err);
    }
    snprintf(want, sizeof(want), "%s: %d more bad lines", path, 12 - SC_LBA_FILE_ERRORS);
    cr_assert(strstr(err, want), "%s", err);
}

Test(lba_file, a_missing_file_or_a_directory_is_an_error_naming_it)
{
    th_lba_range *g;
    size_t n;
    char err[512];
    cr_assert_eq(sc_lba_file_read("/nonexistent/th-bad.txt", &g, &n, err, sizeof(err)), -ENOENT);
    cr_assert(strstr(err, "/nonexistent/th-bad.txt: cannot open"), "%s", err);
    cr_assert_lt(sc_lba_file_read("/tmp", &g, &n, err, sizeof(err)), 0);
    cr_assert(strstr(err, "/tmp: a directory, not a file of ranges"), "%s", err);
    /* one endless line: getline's ENOMEM read as the end of a valid, empty list */
    cr_assert_eq(sc_lba_file_read("/dev/zero", &g, &n, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "/dev/zero:1: a line longer than 4096 bytes"), "%s", err);
    /* /dev/null is an empty list, as before */
    cr_assert_eq(sc_lba_file_read("/dev/null", &g, &n, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(n, 0);
}

Test(lba_file, large_lists_read_whole)
{
    size_t cap = 50000 * 24, len = 0;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    for (int i = 0; i < 50000; i++) len += (size_t)snprintf(text + len, cap - len, "%d\n", 3 * i);
    th_lba_range *g;
    size_t n;
    char err[512];
    cr_assert_eq(read_text(text, &g, &n, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(n, 50000);
    cr_assert_eq(g[49999].first, 149997);
    free(g);
    free(text);
}
