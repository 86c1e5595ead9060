/* Logical block provisioning: WRITE SAME (and its UNMAP bit), UNMAP, hole punching. */
#include <stdlib.h>
#include <unistd.h>
#include "helpers.h"

DISK_SUITE(disk_provisioning, 4096, 512);

Test(disk_provisioning, write_same_repeats_the_block)
{
    uint8_t pat[512], cdb[16], back[512];
    fill_pattern(pat, 512, 8);
    size_t n = th_cdb_write_same(cdb, 16, 10, 3000, false);
    th_cmd *c = disk_cmd(d, cdb, n, pat, 512, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    for (uint64_t lba = 10; lba < 3010; lba += 997) {
        disk_read(d, lba, back, 1, 512);
        cr_assert_arr_eq(back, pat, 512, "lba %llu", (unsigned long long)lba);
    }
}

Test(disk_provisioning, write_same_zero_blocks_is_invalid_field_wsnz)
{
    uint8_t pat[512] = {0}, cdb[16];
    size_t n = th_cdb_write_same(cdb, 10, 10, 0, false);
    th_cmd *c = disk_cmd(d, cdb, n, pat, 512, 0);
    th_assert_invalid_field(c, 7, -1);
    th_fake_cmd_free(c);
}

Test(disk_provisioning, write_same_with_unmap_reads_back_zeros)
{
    uint8_t buf[8 * 512], zeros[8 * 512] = {0}, cdb[16];
    fill_pattern(buf, sizeof(buf), 2);
    disk_write(d, 100, buf, 8, 512);
    size_t n = th_cdb_write_same(cdb, 16, 100, 8, true);
    th_cmd *c = disk_cmd(d, cdb, n, zeros, 512, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    disk_read(d, 100, buf, 8, 512);
    cr_assert_arr_eq(buf, zeros, sizeof(buf));
}

Test(disk_provisioning, write_same16_ndob_writes_zeros_without_data)
{
    uint8_t buf[512], zeros[512] = {0}, cdb[16];
    fill_pattern(buf, 512, 2);
    disk_write(d, 5, buf, 1, 512);
    size_t n = th_cdb_write_same(cdb, 16, 5, 1, false);
    cdb[1] |= 0x01;
    th_cmd *c = disk_cmd(d, cdb, n, NULL, 0, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    disk_read(d, 5, buf, 1, 512);
    cr_assert_arr_eq(buf, zeros, 512);
}

static uint8_t *unmap_list(size_t *len, int n, const uint64_t (*ranges)[2])
{
    *len = 8 + 16u * (size_t)n;
    uint8_t *p = calloc(1, *len);
    th_put_be16(p, (uint16_t)(*len - 2));
    th_put_be16(p + 2, (uint16_t)(16 * n));
    for (int i = 0; i < n; i++) {
        th_put_be64(p + 8 + 16 * i, ranges[i][0]);
        th_put_be32(p + 16 + 16 * i, (uint32_t)ranges[i][1]);
    }
    return p;
}

Test(disk_provisioning, unmap_zeroes_every_listed_range)
{
    uint8_t buf[16 * 512], zeros[512] = {0}, cdb[10];
    fill_pattern(buf, sizeof(buf), 1);
    disk_write(d, 0, buf, 16, 512);
    const uint64_t ranges[2][2] = {{1, 2}, {10, 1}};
    size_t len;
    uint8_t *p = unmap_list(&len, 2, ranges);
    th_cdb_unmap(cdb, (uint16_t)len);
    th_cmd *c = disk_cmd(d, cdb, 10, p, len, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    free(p);
    disk_read(d, 0, buf, 16, 512);
    cr_assert_arr_eq(buf + 512, zeros, 512);
    cr_assert_arr_eq(buf + 1024, zeros, 512);
    cr_assert_arr_eq(buf + 5120, zeros, 512);
    cr_assert_arr_neq(buf, zeros, 512);
    cr_assert_arr_neq(buf + 1536, zeros, 512);
}

Test(disk_provisioning, unmap_out_of_range_changes_nothing)
{
    uint8_t buf[512], cdb[10];
    fill_pattern(buf, 512, 1);
    disk_write(d, 0, buf, 1, 512);
    const uint64_t ranges[2][2] = {{0, 1}, {4095, 2}};
    size_t len;
    uint8_t *p = unmap_list(&len, 2, ranges);
    th_cdb_unmap(cdb, (uint16_t)len);
    th_cmd *c = disk_cmd(d, cdb, 10, p, len, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_LBA_OUT_OF_RANGE);
    th_fake_cmd_free(c);
    free(p);
    uint8_t back[512];
    disk_read(d, 0, back, 1, 512);
    cr_assert_arr_eq(back, buf, 512);
}

Test(disk_provisioning, unmap_with_a_malformed_list)
{
    uint8_t p[8] = {0, 6, 0, 16}, cdb[10];
    th_cdb_unmap(cdb, 8);
    th_cmd *c = disk_cmd(d, cdb, 10, p, 8, 0); /* declares a descriptor it lacks */
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_INVALID_FIELD_IN_PARAM_LIST);
    th_fake_cmd_free(c);
    th_cdb_unmap(cdb, 4);
    c = disk_cmd(d, cdb, 10, p, 4, 0);
    th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
    th_fake_cmd_free(c);
}

Test(disk_provisioning, file_backend_persists_and_punches_holes)
{
    char path[] = "/tmp/th-unit-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    th_backend *be;
    cr_assert_eq(th_backend_file_open(path, 64 * 4096, true, &be, NULL, 0), 0);
    th_disk_config cfg;
    th_disk_config_init(&cfg);
    cfg.block_size = 4096;
    th_disk *fd_disk;
    cr_assert_eq(th_disk_new(&cfg, be, &fd_disk, NULL, 0), 0);
    uint8_t buf[4096], back[4096], zeros[4096] = {0};
    fill_pattern(buf, sizeof(buf), 6);
    disk_write(fd_disk, 3, buf, 1, 4096);
    uint8_t cdb[16];
    size_t n = th_cdb_sync_cache(cdb, 10, 0, 0);
    th_cmd *c = disk_cmd(fd_disk, cdb, n, NULL, 0, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    FILE *f = fopen(path, "rb");
    fseek(f, 3 * 4096, SEEK_SET);
    cr_assert_eq(fread(back, 1, 4096, f), 4096);
    fclose(f);
    cr_assert_arr_eq(back, buf, 4096);
    n = th_cdb_write_same(cdb, 16, 3, 1, true);
    c = disk_cmd(fd_disk, cdb, n, zeros, 4096, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    disk_read(fd_disk, 3, back, 1, 4096);
    cr_assert_arr_eq(back, zeros, 4096);
    th_disk_free(fd_disk);
    unlink(path);
}

/* Defect 3: the descriptor count was checked against the CDB's PARAMETER LIST LENGTH,
 * not what arrived: an 8-byte header announcing one descriptor took it from stack
 * garbage, could discard LBA 0, and answered GOOD. */
Test(disk_provisioning, unmap_with_data_out_shorter_than_its_list_is_refused_and_discards_nothing)
{
    uint8_t buf[512];
    fill_pattern(buf, sizeof(buf), 5);
    disk_write(d, 0, buf, 1, 512);
    uint64_t ranges[1][2] = {{0, 1}};
    size_t len;
    uint8_t *p = unmap_list(&len, 1, ranges);
    size_t sizes[] = {8, len - 1};
    for (size_t k = 0; k < 2; k++) {
        uint8_t cdb[10];
        th_cdb_unmap(cdb, (uint16_t)len); /* the whole list, in the CDB */
        uint8_t *out = malloc(sizes[k]);
        memcpy(out, p, sizes[k]);
        th_cmd *c = disk_cmd(d, cdb, 10, out, sizes[k], 0);
        th_assert_sense(c, TH_KEY_ILLEGAL_REQUEST, TH_ASC_PARAM_LIST_LENGTH_ERROR);
        th_fake_cmd_free(c);
        free(out);
        uint8_t back[512];
        disk_read(d, 0, back, 1, 512);
        cr_assert_arr_eq(back, buf, 512, "%zu bytes of a %zu-byte list discarded LBA 0", sizes[k],
                         len);
    }
    free(p);
}
