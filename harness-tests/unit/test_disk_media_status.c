/* GET LBA STATUS, READ DEFECT DATA, PRE-FETCH and SYNCHRONIZE CACHE: the media and its cache. */
#include "helpers.h"

DISK_SUITE(disk_media_status, 1024, 512);

static th_cmd *get_lba_status(uint64_t lba, uint32_t alloc)
{
    uint8_t cdb[16] = {0x9e, 0x12};
    th_put_be64(cdb + 2, lba);
    th_put_be32(cdb + 10, alloc);
    return disk_cmd(d, cdb, 16, NULL, 0, alloc);
}

Test(disk_media_status, get_lba_status_reports_written_and_unwritten_extents)
{
    uint8_t buf[4 * 512];
    fill_pattern(buf, sizeof(buf), 9);
    disk_write(d, 100, buf, 4, 512);
    th_cmd *c = get_lba_status(98, 8 + 3 * 16);
    th_assert_good(c);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(n, 8 + 3 * 16);
    cr_assert_eq(th_be32(b), 4 + 3 * 16);
    /* 98-99 deallocated, 100-103 mapped, 104-1023 deallocated */
    cr_assert_eq(th_be32(b + 8 + 4), 98);
    cr_assert_eq(th_be32(b + 8 + 8), 2);
    cr_assert_eq(b[8 + 12], 1);
    cr_assert_eq(th_be32(b + 24 + 4), 100);
    cr_assert_eq(th_be32(b + 24 + 8), 4);
    cr_assert_eq(b[24 + 12], 0);
    cr_assert_eq(th_be32(b + 40 + 4), 104);
    cr_assert_eq(th_be32(b + 40 + 8), 920);
    cr_assert_eq(b[40 + 12], 1);
    th_fake_cmd_free(c);
}

Test(disk_media_status, get_lba_status_after_unmap_and_beyond_the_end)
{
    uint8_t buf[512];
    fill_pattern(buf, sizeof(buf), 4);
    disk_write(d, 7, buf, 1, 512);
    uint8_t unmap_cdb[10] = {0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0};
    uint8_t list[24] = {0, 22, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1};
    th_cmd *c = disk_cmd(d, unmap_cdb, 10, list, sizeof(list), 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    c = get_lba_status(7, 24);
    th_assert_good(c);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_eq(b[8 + 12], 1, "an unmapped block is deallocated");
    th_fake_cmd_free(c);
    c = get_lba_status(1024, 24);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_LBA_OUT_OF_RANGE);
    th_fake_cmd_free(c);
}

Test(disk_media_status, read_defect_data_returns_an_empty_list_in_the_format_asked)
{
    uint8_t cdb10[10] = {0x37, 0, 0x18 | 0x05, 0, 0, 0, 0, 0, 64, 0};
    th_cmd *c = disk_cmd(d, cdb10, 10, NULL, 0, 64);
    th_assert_good(c);
    const uint8_t want10[4] = {0, 0x1d, 0, 0};
    th_assert_data_in(c, want10, 4);
    th_fake_cmd_free(c);
    uint8_t cdb12[12] = {0xb7, 0x08 | 0x03, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0};
    c = disk_cmd(d, cdb12, 12, NULL, 0, 64);
    th_assert_good(c);
    const uint8_t want12[8] = {0, 0x0b, 0, 0, 0, 0, 0, 0};
    th_assert_data_in(c, want12, 8);
    th_fake_cmd_free(c);
}

Test(disk_media_status, prefetch_checks_the_range_and_answers_good)
{
    uint8_t cdb[10] = {0x34, 0x02, 0, 0, 0x03, 0xfc, 0, 0, 4, 0}; /* 1020 + 4 */
    th_cmd *c = disk_cmd(d, cdb, 10, NULL, 0, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    cdb[8] = 5;
    c = disk_cmd(d, cdb, 10, NULL, 0, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_LBA_OUT_OF_RANGE);
    th_fake_cmd_free(c);
    uint8_t cdb16[16] = {0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0};
    c = disk_cmd(d, cdb16, 16, NULL, 0, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

Test(disk_media_status, sync_cache_checks_range)
{
    uint8_t cdb[16];
    size_t n = th_cdb_sync_cache(cdb, 10, 0, 0);
    th_cmd *c = disk_cmd(d, cdb, n, NULL, 0, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    n = th_cdb_sync_cache(cdb, 16, 4096, 1);
    c = disk_cmd(d, cdb, n, NULL, 0, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_LBA_OUT_OF_RANGE);
    th_fake_cmd_free(c);
}
