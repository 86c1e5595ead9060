/* When a write reaches the medium (the backend's flush: fdatasync for a file): on FUA, on
 * every write while the write cache is off (WCE 0), on SYNCHRONIZE CACHE; never merely
 * because of a WRITE(6)'s LBA bits; and a failing flush fails the command. A backend that
 * counts flushes (and fails them on demand) sits behind the disk. Until this test, a FUA
 * WRITE with the write cache on (the default, and what sd sends for O_DSYNC writes: the
 * disk offers DPOFUA) was answered GOOD with no flush, as was every write with WCE 0. */
#include "helpers.h"

typedef struct counting_backend {
    th_backend base;
    th_backend *inner;
    int flushes;
    int fail;
} counting_backend;

static int cb_read(th_backend *be, void *buf, uint64_t off, size_t len)
{
    th_backend *in = ((counting_backend *)be)->inner;
    return in->ops->read(in, buf, off, len);
}

static int cb_write(th_backend *be, const void *buf, uint64_t off, size_t len)
{
    th_backend *in = ((counting_backend *)be)->inner;
    return in->ops->write(in, buf, off, len);
}

static int cb_flush(th_backend *be)
{
    counting_backend *c = (counting_backend *)be;
    c->flushes++;
    return c->fail ? -EIO : 0;
}

static int cb_discard(th_backend *be, uint64_t off, uint64_t len)
{
    th_backend *in = ((counting_backend *)be)->inner;
    return in->ops->discard(in, off, len);
}

static void cb_destroy(th_backend *be)
{
    th_backend_free(((counting_backend *)be)->inner);
    free(be);
}

static const th_backend_ops cb_ops = {cb_read, cb_write, cb_flush, cb_discard, cb_destroy};

static counting_backend *cb;

static th_disk *counted_disk(bool write_cache)
{
    cb = calloc(1, sizeof(*cb));
    cr_assert(cb);
    cr_assert_eq(th_backend_memory_new(512u << 20, &cb->inner, NULL, 0), 0);
    cb->base.ops = &cb_ops;
    cb->base.size = 512u << 20; /* past LBA 0x80000: WRITE(6)'s bit 19 */
    th_disk_config cfg;
    th_disk_config_init(&cfg);
    cfg.write_cache = write_cache;
    cfg.wwn = th_wwn_from_name("unit");
    th_disk *d;
    cr_assert_eq(th_disk_new(&cfg, &cb->base, &d, NULL, 0), 0);
    return d;
}

/* Flushes one write of 2 blocks at lba made: size 6/10/12/16, FUA bit or not. */
static int flushes_of(th_disk *d, int size, uint64_t lba, bool with_fua)
{
    uint8_t cdb[16], buf[1024];
    fill_pattern(buf, sizeof(buf), 7);
    size_t n = th_cdb_write(cdb, size, lba, 2);
    if (with_fua) cdb[1] |= 0x08;
    int before = cb->flushes;
    th_cmd *c = disk_cmd(d, cdb, n, buf, sizeof(buf), 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    return cb->flushes - before;
}

Test(disk_durability, fua_flushes_with_the_write_cache_on)
{
    th_disk *d = counted_disk(true);
    int sizes[] = {10, 12, 16};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(flushes_of(d, sizes[i], 10, false), 0, "WRITE(%d) no FUA", sizes[i]);
        cr_assert_eq(flushes_of(d, sizes[i], 10, true), 1, "WRITE(%d) FUA", sizes[i]);
    }
    /* WRITE(6) has no FUA: byte 1 bit 3 is LBA bit 19 there */
    cr_assert_eq(flushes_of(d, 6, 0x80000 + 4, false), 0);
    th_disk_free(d);
}

Test(disk_durability, every_write_flushes_with_the_write_cache_off)
{
    th_disk *d = counted_disk(false);
    int sizes[] = {6, 10, 12, 16};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(flushes_of(d, sizes[i], 20, false), 1, "WRITE(%d), WCE 0", sizes[i]);
    cr_assert_eq(flushes_of(d, 10, 20, true), 1);
    th_disk_free(d);
}

Test(disk_durability, write_and_verify_and_sync_cache_flush)
{
    th_disk *d = counted_disk(true);
    uint8_t cdb[10] = {0x2e, 0, 0, 0, 0, 30, 0, 0, 1, 0}, buf[512] = {1};
    th_cmd *c = disk_cmd(d, cdb, 10, buf, sizeof(buf), 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    cr_assert_eq(cb->flushes, 1);
    uint8_t sync[10] = {0x35};
    c = disk_cmd(d, sync, 10, NULL, 0, 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    cr_assert_eq(cb->flushes, 2);
    th_disk_free(d);
}

Test(disk_durability, a_failing_flush_fails_a_fua_write)
{
    th_disk *d = counted_disk(true);
    cb->fail = 1;
    uint8_t cdb[16], buf[1024] = {0};
    size_t n = th_cdb_write(cdb, 10, 40, 2);
    cdb[1] |= 0x08;
    th_cmd *c = disk_cmd(d, cdb, n, buf, sizeof(buf), 0);
    th_assert_sense(c, TH_KEY_MEDIUM_ERROR, TH_ASC_WRITE_ERROR);
    th_fake_cmd_free(c);
    /* without FUA (WCE 1) the write is only cached: no flush, GOOD */
    cdb[1] &= (uint8_t)~0x08;
    c = disk_cmd(d, cdb, n, buf, sizeof(buf), 0);
    th_assert_good(c);
    th_fake_cmd_free(c);
    th_disk_free(d);
}
