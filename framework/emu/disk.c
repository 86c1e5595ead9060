/* The SBC disk: its opcode table and the dispatcher around it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "disk_internal.h"
#include "emu_err.h"

#define C  0xc7 /* CONTROL byte: vendor bits, NACA, obsolete FLAG/LINK */
#define FF 0xff
#define NO TH_NO_SA
#define M  TH_OPF_MEDIA
#define W  (TH_OPF_MEDIA | TH_OPF_WRITE)
#define I  TH_OPF_IN
#define O  TH_OPF_OUT
#define U  TH_OPF_NO_UA
#define X  TH_OPF_EXCL

// clang-format off
static const th_op disk_ops[] = {
    {0x00, NO,    6, {0x00, 0, 0, 0, 0, C},                                            th_disk_tur, "TEST_UNIT_READY", M},
    {0x03, NO,    6, {0x03, 0x01, 0, 0, FF, C},                                        th_disk_request_sense, "REQUEST_SENSE", U | I},
    {0x08, NO,    6, {0x08, 0x1f, FF, FF, FF, C},                                      th_disk_read, "READ_6", M | I},
    {0x0a, NO,    6, {0x0a, 0x1f, FF, FF, FF, C},                                      th_disk_write, "WRITE_6", W | O},
    {0x12, NO,    6, {0x12, 0x01, FF, FF, FF, C},                                      th_disk_inquiry, "INQUIRY", U | I},
    {0x15, NO,    6, {0x15, 0x11, 0, 0, FF, C},                                        th_disk_mode_select, "MODE_SELECT_6", O},
    {0x1a, NO,    6, {0x1a, 0x08, FF, FF, FF, C},                                      th_disk_mode_sense, "MODE_SENSE_6", I},
    {0x1b, NO,    6, {0x1b, 0x01, 0, 0x0f, 0xf7, C},                                   th_disk_start_stop, "START_STOP_UNIT", 0},
    {0x1e, NO,    6, {0x1e, 0, 0, 0, 0x03, C},                                         th_disk_prevent_allow, "PREVENT_ALLOW_MEDIUM_REMOVAL", 0},
    {0x25, NO,   10, {0x25, 0, FF, FF, FF, FF, 0, 0, 0x01, C},                         th_disk_read_capacity10, "READ_CAPACITY_10", M | I},
    {0x28, NO,   10, {0x28, 0x1e, FF, FF, FF, FF, 0x1f, FF, FF, C},                    th_disk_read, "READ_10", M | I},
    {0x2a, NO,   10, {0x2a, 0x1a, FF, FF, FF, FF, 0x1f, FF, FF, C},                    th_disk_write, "WRITE_10", W | O},
    {0x2e, NO,   10, {0x2e, 0x12, FF, FF, FF, FF, 0x1f, FF, FF, C},                    th_disk_write_verify, "WRITE_AND_VERIFY_10", W | O},
    /* VERIFY: Data-Out only with BYTCHK 01b or 11b */
    {0x2f, NO,   10, {0x2f, 0x16, FF, FF, FF, FF, 0x1f, FF, FF, C},                    th_disk_verify, "VERIFY_10", M | O},
    {0x34, NO,   10, {0x34, 0x02, FF, FF, FF, FF, 0x1f, FF, FF, C},                    th_disk_prefetch, "PRE_FETCH_10", M},
    {0x35, NO,   10, {0x35, 0x02, FF, FF, FF, FF, 0x1f, FF, FF, C},                    th_disk_sync_cache, "SYNCHRONIZE_CACHE_10", M},
    {0x37, NO,   10, {0x37, 0, 0x1f, 0, 0, 0, 0, FF, FF, C},                           th_disk_read_defect_data, "READ_DEFECT_DATA_10", I},
    /* WRITE SAME: one block of Data-Out (none with NDOB) */
    {0x41, NO,   10, {0x41, 0x08, FF, FF, FF, FF, 0x1f, FF, FF, C},                    th_disk_write_same, "WRITE_SAME_10", W | O},
    /* UNMAP: a parameter list of block descriptors */
    {0x42, NO,   10, {0x42, 0, 0, 0, 0, 0, 0x1f, FF, FF, C},                           th_disk_unmap, "UNMAP", W | O},
    {0x55, NO,   10, {0x55, 0x11, 0, 0, 0, 0, 0, FF, FF, C},                           th_disk_mode_select, "MODE_SELECT_10", O},
    {0x5a, NO,   10, {0x5a, 0x18, FF, FF, 0, 0, 0, FF, FF, C},                         th_disk_mode_sense, "MODE_SENSE_10", I},
    /* EXTENDED COPY (LID1), service action 00h of 83h */
    {0x83, 0x00, 16, {0x83, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, FF, FF, FF, FF, 0, C},       th_disk_xcopy, "EXTENDED_COPY", W | O},
    /* RECEIVE COPY RESULTS, operating parameters (84h/03h) */
    {0x84, 0x03, 16, {0x84, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, FF, FF, FF, FF, 0, C},       th_disk_receive_copy_results, "RECEIVE_COPY_RESULTS", I},
    {0x88, NO,   16, {0x88, 0x1e, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C}, th_disk_read, "READ_16", M | I},
    /* compare then write, both halves in one Data-Out */
    {0x89, NO,   16, {0x89, 0x18, FF, FF, FF, FF, FF, FF, FF, FF, 0, 0, 0, FF, 0x1f, C}, th_disk_compare_and_write, "COMPARE_AND_WRITE", W | O | X},
    {0x8a, NO,   16, {0x8a, 0x1a, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C}, th_disk_write, "WRITE_16", W | O},
    /* ORWRITE: the Data-Out ORed into the blocks */
    {0x8b, NO,   16, {0x8b, 0x1a, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C}, th_disk_orwrite, "ORWRITE_16", W | O | X},
    {0x8e, NO,   16, {0x8e, 0x12, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C}, th_disk_write_verify, "WRITE_AND_VERIFY_16", W | O},
    {0x8f, NO,   16, {0x8f, 0x16, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C}, th_disk_verify, "VERIFY_16", M | O},
    {0x90, NO,   16, {0x90, 0x02, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C}, th_disk_prefetch, "PRE_FETCH_16", M},
    {0x91, NO,   16, {0x91, 0x02, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C}, th_disk_sync_cache, "SYNCHRONIZE_CACHE_16", M},
    {0x93, NO,   16, {0x93, 0x09, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C}, th_disk_write_same, "WRITE_SAME_16", W | O},
    {0x9c, NO,   16, {0x9c, 0x18, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C}, th_disk_write_atomic, "WRITE_ATOMIC_16", W | O | X},
    /* SERVICE ACTION IN(16) 9Eh: READ CAPACITY(16) and GET LBA STATUS */
    {0x9e, 0x10, 16, {0x9e, 0x1f, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x01, C}, th_disk_read_capacity16, "READ_CAPACITY_16", M | I},
    {0x9e, 0x12, 16, {0x9e, 0x1f, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0, C}, th_disk_get_lba_status, "GET_LBA_STATUS", M | I},
    /* MAINTENANCE IN A3h, service action 0Ch */
    {0xa3, 0x0c, 12, {0xa3, 0x1f, 0x87, FF, FF, FF, FF, FF, FF, FF, 0, C},             th_disk_report_opcodes, "REPORT_SUPPORTED_OPERATION_CODES", I},
    {0xa8, NO,   12, {0xa8, 0x1e, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},            th_disk_read, "READ_12", M | I},
    {0xaa, NO,   12, {0xaa, 0x1a, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},            th_disk_write, "WRITE_12", W | O},
    {0xae, NO,   12, {0xae, 0x12, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},            th_disk_write_verify, "WRITE_AND_VERIFY_12", W | O},
    {0xaf, NO,   12, {0xaf, 0x16, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},            th_disk_verify, "VERIFY_12", M | O},
    {0xb7, NO,   12, {0xb7, 0x1f, 0, 0, 0, 0, FF, FF, FF, FF, 0, C},                   th_disk_read_defect_data, "READ_DEFECT_DATA_12", I},
};
// clang-format on

const th_optable th_disk_optable = {disk_ops, sizeof(disk_ops) / sizeof(disk_ops[0])};

void th_disk_config_init(th_disk_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->block_size = 512;
    cfg->write_cache = true;
    cfg->max_transfer_bytes = 8u << 20;
}

int th_disk_new(const th_disk_config *cfg, th_backend *be, th_disk **out, char *err, size_t errlen)
{
    uint32_t bs = cfg->block_size;
    if (!be) return th_emu_fail(err, errlen, -EINVAL, "no backend");
    if (bs < 512 || bs > 65536 || (bs & (bs - 1)))
        return th_emu_fail(err, errlen, -EINVAL,
                           "block size %u is not a power of two from 512 to 65536", bs);
    uint64_t blocks = cfg->blocks ? cfg->blocks : be->size / bs;
    if (!blocks)
        return th_emu_fail(err, errlen, -EINVAL, "a %llu-byte backend holds no %u-byte block",
                           (unsigned long long)be->size, bs);
    if (blocks > be->size / bs)
        return th_emu_fail(err, errlen, -EINVAL,
                           "%llu blocks of %u bytes do not fit the %llu-byte backend",
                           (unsigned long long)blocks, bs, (unsigned long long)be->size);
    th_disk *d = calloc(1, sizeof(*d));
    if (!d) return th_emu_fail(err, errlen, -ENOMEM, "out of memory");
    d->be = be;
    d->block_size = bs;
    atomic_store(&d->blocks, blocks);
    d->read_only = cfg->read_only;
    d->max_transfer_bytes = cfg->max_transfer_bytes;
    atomic_store(&d->wce, cfg->write_cache);
    th_identity_init(&d->id, 0x00, cfg->vendor, cfg->product, cfg->revision, cfg->serial,
                     cfg->wwn ? cfg->wwn : th_wwn_from_name("disk"));
    d->id.version_descriptor = 0x04c0;
    d->id.third_party_copy = true;
    pthread_mutex_init(&d->lock, NULL);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* Readers must not starve a WRITE ATOMIC waiting for the lock. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&d->io_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    *out = d;
    return 0;
}

void th_disk_free(th_disk *d)
{
    if (!d) return;
    th_backend_free(d->be);
    pthread_mutex_destroy(&d->lock);
    pthread_rwlock_destroy(&d->io_lock);
    free(d);
}

uint64_t th_disk_blocks(const th_disk *d)
{
    return atomic_load(&((th_disk *)d)->blocks);
}

int th_disk_set_blocks(th_disk *d, uint64_t blocks)
{
    if (!blocks || blocks > d->be->size / d->block_size) return -EINVAL;
    atomic_store(&d->blocks, blocks);
    return 0;
}

const char *th_disk_op_name(uint8_t opcode, uint16_t sa)
{
    const th_op *o = th_op_find(&th_disk_optable, opcode, sa);
    return o ? o->name : NULL;
}

int th_disk_handle(th_cmd *cmd, void *arg)
{
    th_disk *d = arg;
    const th_op *o = th_op_lookup(&th_disk_optable, cmd);
    if (!o) return 0;
    if ((o->flags & TH_OPF_MEDIA) && atomic_load(&d->stopped)) {
        th_cmd_check(cmd, TH_KEY_NOT_READY, TH_ASC_NOT_READY_INIT_REQUIRED);
        return 0;
    }
    if ((o->flags & TH_OPF_WRITE) && d->read_only) {
        th_cmd_check(cmd, TH_KEY_DATA_PROTECT, TH_ASC_WRITE_PROTECTED);
        return 0;
    }
    /* Shared for every media command, exclusive for the atomic ones (X in the table):
     * a READ never sees half of a WRITE ATOMIC or COMPARE AND WRITE, whatever the
     * number of workers. Uncontended, a read lock is one atomic operation. */
    bool excl = o->flags & TH_OPF_EXCL, media = o->flags & TH_OPF_MEDIA;
    if (excl)
        pthread_rwlock_wrlock(&d->io_lock);
    else if (media)
        pthread_rwlock_rdlock(&d->io_lock);
    o->fn(d, cmd);
    if (excl || media) pthread_rwlock_unlock(&d->io_lock);
    return 0;
}

bool th_disk_range_ok(th_disk *d, th_cmd *cmd, uint64_t lba, uint64_t n)
{
    uint64_t blocks = atomic_load(&d->blocks);
    if (lba > blocks || n > blocks - lba) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_LBA_OUT_OF_RANGE);
        return false;
    }
    return true;
}

void th_disk_io_error(th_cmd *cmd, bool write, uint64_t lba)
{
    th_sense s = th_sense_make(TH_KEY_MEDIUM_ERROR,
                               write ? TH_ASC_WRITE_ERROR : TH_ASC_UNRECOVERED_READ_ERROR);
    s.info_valid = true;
    s.info = lba;
    th_cmd_check_condition(cmd, &s);
}
