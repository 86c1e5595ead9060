/* Bad tape image files, one test per class (issue 14 section 5): each is a clear error
 * naming the file, never a crash, and the tape keeps what it had. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "helpers.h"

/* A temporary file holding n bytes of img; path receives its name. */
static void image(char *path, const void *img, size_t n)
{
    strcpy(path, "/tmp/th-unit-img-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, img, n), (ssize_t)n);
    close(fd);
}

/* Loads path into a tape of capacity bytes holding one record; the error must be -want
 * with msg after "PATH: ", and the record still there. */
static void refused(const char *path, uint64_t capacity, int want, const char *msg)
{
    th_tape *t = test_tape(capacity, capacity ? capacity / 2 : 0);
    cr_assert_eq(th_tape_append_record(t, "keep", 4), 0);
    char err[512] = "", expect[600];
    int rc = th_tape_load_image(t, path, err, sizeof(err));
    cr_assert_eq(rc, -want, "rc %d: %s", rc, err);
    snprintf(expect, sizeof(expect), "%s: %s", path, msg);
    cr_assert_str_eq(err, expect);
    cr_assert_eq(th_tape_objects(t), 1, "a refused image changed the tape");
    th_tape_free(t);
}

Test(tape_image_bad, truncated_header)
{
    char p[64];
    image(p, "THTA", 4);
    refused(p, 0, EINVAL, "not a tape image (4 bytes, shorter than the THTAPE1 header)");
    unlink(p);
    image(p, "", 0);
    refused(p, 0, EINVAL, "not a tape image (0 bytes, shorter than the THTAPE1 header)");
    unlink(p);
}

Test(tape_image_bad, wrong_magic)
{
    char p[64];
    image(p, "THTAPE2\nF", 9);
    refused(p, 0, EINVAL, "not a tape image (no THTAPE1 header)");
    unlink(p);
}

Test(tape_image_bad, an_object_of_no_known_kind)
{
    char p[64];
    image(p, "THTAPE1\nFQ", 10);
    refused(p, 0, EINVAL, "object 2 at byte 9: an object that is neither 'R' nor 'F'");
    unlink(p);
}

/* A length that points past the end: refused from the file's size, before 16 MiB are
 * allocated for it. */
Test(tape_image_bad, a_length_past_the_end)
{
    char p[64];
    image(p,
          "THTAPE1\nR\x00\xff\xff\xf0"
          "abc",
          16);
    refused(p, 0, EINVAL,
            "object 1 at byte 8: a record longer than the rest of the file (cut short)");
    unlink(p);
    image(p, "THTAPE1\nR\x01\x00\x00\x00", 13);
    refused(p, 0, EINVAL, "object 1 at byte 8: a record over 16 MiB - 1");
    unlink(p);
    image(p, "THTAPE1\nR\x00\x00", 11);
    refused(p, 0, EINVAL, "object 1 at byte 8: a record length cut short");
    unlink(p);
}

/* Counts out of all proportion: 100,000 filemarks (100 MB of capacity at 1 KiB each) on a
 * 1 MiB tape stop at the tape's size, not the host's memory. */
Test(tape_image_bad, more_than_the_tape_holds)
{
    static char img[8 + 100000];
    memcpy(img, "THTAPE1\n", 8);
    memset(img + 8, 'F', sizeof(img) - 8);
    char p[64], msg[200];
    image(p, img, sizeof(img));
    snprintf(msg, sizeof(msg),
             "object 1025 at byte 1032: more than the tape holds (1048576 bytes; a filemark "
             "counts 1024)");
    refused(p, 1 << 20, ENOSPC, msg);
    unlink(p);
}

Test(tape_image_bad, a_directory_or_a_fifo_is_no_image)
{
    refused("/tmp", 0, EINVAL, "not a regular file (a directory)");
    char p[64];
    strcpy(p, "/tmp/th-unit-fifo-XXXXXX");
    int fd = mkstemp(p);
    close(fd);
    unlink(p);
    cr_assert_eq(mkfifo(p, 0600), 0);
    /* a FIFO without a writer: opening it for reading would block for ever */
    refused(p, 0, EINVAL, "not a regular file (a device, FIFO or socket)");
    unlink(p);
    refused("/dev/zero", 0, EINVAL, "not a regular file (a device, FIFO or socket)");
    refused("/nonexistent.img", 0, ENOENT, "No such file or directory");
}
