/* EXTENDED COPY (LID1) within the disk and RECEIVE COPY RESULTS' operating parameters. */
#include "helpers.h"

DISK_SUITE(disk_xcopy, 1024, 512);

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* One identification descriptor naming the disk (or another LU), then segments. */
static size_t param_list(uint8_t *b, uint64_t wwn, uint8_t cscd_type, int nseg,
                         const uint64_t (*seg)[3])
{
    memset(b, 0, 16 + 32 + (size_t)nseg * 28);
    b[1] = 3 << 3; /* LIST ID USAGE 11b: no list identifier */
    put_be(b + 2, 32, 2);
    put_be(b + 8, (uint64_t)nseg * 28, 4);
    uint8_t *t = b + 16;
    t[0] = cscd_type;
    t[4] = 0x01, t[5] = 0x03, t[7] = 8; /* binary, NAA, 8 bytes */
    put_be(t + 8, wwn, 8);
    put_be(t + 29, 512, 3);
    for (int i = 0; i < nseg; i++) {
        uint8_t *s = b + 48 + i * 28;
        s[0] = 0x02;
        put_be(s + 2, 0x18, 2);
        put_be(s + 10, seg[i][2], 2);
        put_be(s + 12, seg[i][0], 8);
        put_be(s + 20, seg[i][1], 8);
    }
    return 16 + 32 + (size_t)nseg * 28;
}

static th_cmd *xcopy(const uint8_t *list, size_t len, size_t plen)
{
    uint8_t cdb[16] = {0x83, 0x00};
    put_be(cdb + 10, plen, 4);
    return disk_cmd(d, cdb, 16, list, len, 0);
}

Test(disk_xcopy, copies_blocks_within_the_disk)
{
    uint8_t data[8 * 512], back[8 * 512], list[256];
    fill_pattern(data, sizeof(data), 7);
    disk_write(d, 10, data, 8, 512);
    const uint64_t seg[2][3] = {{10, 500, 8}, {10, 14, 8}}; /* then an overlapping one */
    size_t n = param_list(list, th_wwn_from_name("unit"), 0xe4, 2, seg);
    th_cmd *c = xcopy(list, n, n);
    th_assert_good(c);
    th_fake_cmd_free(c);
    disk_read(d, 500, back, 8, 512);
    cr_assert_arr_eq(back, data, sizeof(data));
    disk_read(d, 14, back, 8, 512);
    cr_assert_arr_eq(back, data, sizeof(data), "overlapping copy must act as if buffered");
}

Test(disk_xcopy, refuses_bad_lists_before_copying_anything)
{
    uint8_t list[256];
    const uint64_t seg[1][3] = {{0, 100, 4}};
    size_t n = param_list(list, th_wwn_from_name("unit"), 0xe4, 1, seg);
    th_cmd *c = xcopy(list, n - 1, n - 1); /* truncated segment descriptor */
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
    th_fake_cmd_free(c);
    c = xcopy(NULL, 0, 0); /* an empty list copies nothing */
    th_assert_good(c);
    th_fake_cmd_free(c);
    n = param_list(list, th_wwn_from_name("unit"), 0xe5, 1, seg);
    c = xcopy(list, n, n);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_UNSUPPORTED_TARGET_DESCRIPTOR);
    th_fake_cmd_free(c);
    n = param_list(list, th_wwn_from_name("unit"), 0xe4, 1, seg);
    list[48] = 0x0a; /* a segment type we do not do */
    c = xcopy(list, n, n);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_UNSUPPORTED_SEGMENT_DESCRIPTOR);
    th_fake_cmd_free(c);
    n = param_list(list, th_wwn_from_name("someone else"), 0xe4, 1, seg);
    c = xcopy(list, n, n);
    th_assert_sense(c, TH_KEY_COPY_ABORTED, TH_ASC_COPY_TARGET_NOT_REACHABLE);
    th_fake_cmd_free(c);
    const uint64_t far[1][3] = {{0, 1022, 4}};
    n = param_list(list, th_wwn_from_name("unit"), 0xe4, 1, far);
    c = xcopy(list, n, n);
    th_assert_sense(c, TH_KEY_COPY_ABORTED, TH_ASC_NONE);
    th_fake_cmd_free(c);
    n = param_list(list, th_wwn_from_name("unit"), 0xe4, 1, seg);
    list[48 + 7] = 1; /* destination: a CSCD that is not in the list */
    c = xcopy(list, n, n);
    th_assert_sense(c, TH_KEY_COPY_ABORTED, TH_ASC_UNREACHABLE_COPY_TARGET);
    th_fake_cmd_free(c);
    n = param_list(list, th_wwn_from_name("unit"), 0xe4, 1, seg);
    put_be(list + 2, 3 * 32, 2); /* more target descriptors than announced */
    c = xcopy(list, n, n);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_TOO_MANY_TARGET_DESCRIPTORS);
    th_fake_cmd_free(c);
    static uint8_t big[1024];
    memcpy(big, list, n);
    put_be(big + 2, 32, 2);
    put_be(big + 8, 20 * 28, 4); /* over the MAXIMUM DESCRIPTOR LIST LENGTH (512) */
    c = xcopy(big, 16 + 32 + 20 * 28, 16 + 32 + 20 * 28);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
    th_fake_cmd_free(c);
}

Test(disk_xcopy, operating_parameters_and_the_3pc_bit)
{
    uint8_t cdb[16] = {0x84, 0x03};
    put_be(cdb + 10, 64, 4);
    th_cmd *c = disk_cmd(d, cdb, 16, NULL, 0, 64);
    th_assert_good(c);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 46);
    cr_assert_eq(b[9], 2);   /* target descriptors */
    cr_assert_eq(b[11], 16); /* segment descriptors */
    cr_assert_eq(b[43], 2);
    cr_assert(b[44] == 0x02 && b[45] == 0xe4);
    th_fake_cmd_free(c);
    uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
    c = disk_cmd(d, inq, 6, NULL, 0, 36);
    b = th_fake_data_in(c, &n);
    cr_assert(b[5] & 0x08, "3PC");
    th_fake_cmd_free(c);
}
