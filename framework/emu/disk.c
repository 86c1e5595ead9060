/* The SBC disk: its opcode table and the dispatcher around it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "disk_internal.h"

#define C  0xc7 /* CONTROL byte: vendor bits, NACA, obsolete FLAG/LINK */
#define FF 0xff
#define M  TH_OPF_MEDIA
#define W  (TH_OPF_MEDIA | TH_OPF_WRITE)

static const th_op disk_ops[] = {
    {0x00, TH_NO_SA, 6, {0x00, 0, 0, 0, 0, C}, th_disk_tur, "TEST_UNIT_READY", M},
    {0x03, TH_NO_SA, 6, {0x03, 0x01, 0, 0, FF, C}, th_disk_request_sense, "REQUEST_SENSE", 0},
    {0x08, TH_NO_SA, 6, {0x08, 0x1f, FF, FF, FF, C}, th_disk_read, "READ_6", M},
    {0x0a, TH_NO_SA, 6, {0x0a, 0x1f, FF, FF, FF, C}, th_disk_write, "WRITE_6", W},
    {0x12, TH_NO_SA, 6, {0x12, 0x01, FF, FF, FF, C}, th_disk_inquiry, "INQUIRY", 0},
    {0x15, TH_NO_SA, 6, {0x15, 0x11, 0, 0, FF, C}, th_disk_mode_select, "MODE_SELECT_6", 0},
    {0x1a, TH_NO_SA, 6, {0x1a, 0x08, FF, FF, FF, C}, th_disk_mode_sense, "MODE_SENSE_6", 0},
    {0x1b, TH_NO_SA, 6, {0x1b, 0x01, 0, 0x0f, 0xf7, C}, th_disk_start_stop, "START_STOP_UNIT", 0},
    {0x1e,
     TH_NO_SA,
     6,
     {0x1e, 0, 0, 0, 0x03, C},
     th_disk_prevent_allow,
     "PREVENT_ALLOW_MEDIUM_REMOVAL",
     0},
    {0x25,
     TH_NO_SA,
     10,
     {0x25, 0, FF, FF, FF, FF, 0, 0, 0x01, C},
     th_disk_read_capacity10,
     "READ_CAPACITY_10",
     M},
    {0x28, TH_NO_SA, 10, {0x28, 0x1e, FF, FF, FF, FF, 0x1f, FF, FF, C}, th_disk_read, "READ_10", M},
    {0x2a,
     TH_NO_SA,
     10,
     {0x2a, 0x1a, FF, FF, FF, FF, 0x1f, FF, FF, C},
     th_disk_write,
     "WRITE_10",
     W},
    {0x2e,
     TH_NO_SA,
     10,
     {0x2e, 0x12, FF, FF, FF, FF, 0x1f, FF, FF, C},
     th_disk_write_verify,
     "WRITE_AND_VERIFY_10",
     W},
    {0x2f,
     TH_NO_SA,
     10,
     {0x2f, 0x16, FF, FF, FF, FF, 0x1f, FF, FF, C},
     th_disk_verify,
     "VERIFY_10",
     M},
    {0x34,
     TH_NO_SA,
     10,
     {0x34, 0x02, FF, FF, FF, FF, 0x1f, FF, FF, C},
     th_disk_prefetch,
     "PRE_FETCH_10",
     M},
    {0x35,
     TH_NO_SA,
     10,
     {0x35, 0x02, FF, FF, FF, FF, 0x1f, FF, FF, C},
     th_disk_sync_cache,
     "SYNCHRONIZE_CACHE_10",
     M},
    {0x37,
     TH_NO_SA,
     10,
     {0x37, 0, 0x1f, 0, 0, 0, 0, FF, FF, C},
     th_disk_read_defect_data,
     "READ_DEFECT_DATA_10",
     0},
    {0x41,
     TH_NO_SA,
     10,
     {0x41, 0x08, FF, FF, FF, FF, 0x1f, FF, FF, C},
     th_disk_write_same,
     "WRITE_SAME_10",
     W},
    {0x42, TH_NO_SA, 10, {0x42, 0, 0, 0, 0, 0, 0x1f, FF, FF, C}, th_disk_unmap, "UNMAP", W},
    {0x55,
     TH_NO_SA,
     10,
     {0x55, 0x11, 0, 0, 0, 0, 0, FF, FF, C},
     th_disk_mode_select,
     "MODE_SELECT_10",
     0},
    {0x5a,
     TH_NO_SA,
     10,
     {0x5a, 0x18, FF, FF, 0, 0, 0, FF, FF, C},
     th_disk_mode_sense,
     "MODE_SENSE_10",
     0},
    {0x83,
     0x00,
     16,
     {0x83, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, FF, FF, FF, FF, 0, C},
     th_disk_xcopy,
     "EXTENDED_COPY",
     W},
    {0x84,
     0x03,
     16,
     {0x84, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, FF, FF, FF, FF, 0, C},
     th_disk_receive_copy_results,
     "RECEIVE_COPY_RESULTS",
     0},
    {0x88,
     TH_NO_SA,
     16,
     {0x88, 0x1e, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_read,
     "READ_16",
     M},
    {0x89,
     TH_NO_SA,
     16,
     {0x89, 0x18, FF, FF, FF, FF, FF, FF, FF, FF, 0, 0, 0, FF, 0x1f, C},
     th_disk_compare_and_write,
     "COMPARE_AND_WRITE",
     W},
    {0x8a,
     TH_NO_SA,
     16,
     {0x8a, 0x1a, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_write,
     "WRITE_16",
     W},
    {0x8b,
     TH_NO_SA,
     16,
     {0x8b, 0x1a, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_orwrite,
     "ORWRITE_16",
     W},
    {0x8e,
     TH_NO_SA,
     16,
     {0x8e, 0x12, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_write_verify,
     "WRITE_AND_VERIFY_16",
     W},
    {0x8f,
     TH_NO_SA,
     16,
     {0x8f, 0x16, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_verify,
     "VERIFY_16",
     M},
    {0x90,
     TH_NO_SA,
     16,
     {0x90, 0x02, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_prefetch,
     "PRE_FETCH_16",
     M},
    {0x91,
     TH_NO_SA,
     16,
     {0x91, 0x02, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_sync_cache,
     "SYNCHRONIZE_CACHE_16",
     M},
    {0x93,
     TH_NO_SA,
     16,
     {0x93, 0x09, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_write_same,
     "WRITE_SAME_16",
     W},
    {0x9c,
     TH_NO_SA,
     16,
     {0x9c, 0x18, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_write_atomic,
     "WRITE_ATOMIC_16",
     W},
    {0x9e,
     0x10,
     16,
     {0x9e, 0x1f, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0x01, C},
     th_disk_read_capacity16,
     "READ_CAPACITY_16",
     M},
    {0x9e,
     0x12,
     16,
     {0x9e, 0x1f, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0, C},
     th_disk_get_lba_status,
     "GET_LBA_STATUS",
     M},
    {0xa3,
     0x0c,
     12,
     {0xa3, 0x1f, 0x87, FF, FF, FF, FF, FF, FF, FF, 0, C},
     th_disk_report_opcodes,
     "REPORT_SUPPORTED_OPERATION_CODES",
     0},
    {0xa8,
     TH_NO_SA,
     12,
     {0xa8, 0x1e, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_read,
     "READ_12",
     M},
    {0xaa,
     TH_NO_SA,
     12,
     {0xaa, 0x1a, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_write,
     "WRITE_12",
     W},
    {0xae,
     TH_NO_SA,
     12,
     {0xae, 0x12, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_write_verify,
     "WRITE_AND_VERIFY_12",
     W},
    {0xaf,
     TH_NO_SA,
     12,
     {0xaf, 0x16, FF, FF, FF, FF, FF, FF, FF, FF, 0x1f, C},
     th_disk_verify,
     "VERIFY_12",
     M},
    {0xb7,
     TH_NO_SA,
     12,
     {0xb7, 0x1f, 0, 0, 0, 0, FF, FF, FF, FF, 0, C},
     th_disk_read_defect_data,
     "READ_DEFECT_DATA_12",
     0},
};

const th_optable th_disk_optable = {disk_ops, sizeof(disk_ops) / sizeof(disk_ops[0])};

uint64_t th_wwn_from_name(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return (3ull << 60) | (h & 0x0fffffffffffffffull);
}

void th_disk_config_init(th_disk_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->block_size = 512;
    cfg->write_cache = true;
    cfg->max_transfer_bytes = 8u << 20;
}

int th_disk_new(const th_disk_config *cfg, th_backend *be, th_disk **out)
{
    uint32_t bs = cfg->block_size;
    if (!be || bs < 512 || bs > 65536 || (bs & (bs - 1))) return -EINVAL;
    uint64_t blocks = cfg->blocks ? cfg->blocks : be->size / bs;
    if (!blocks || blocks > be->size / bs) return -EINVAL;
    th_disk *d = calloc(1, sizeof(*d));
    if (!d) return -ENOMEM;
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
    *out = d;
    return 0;
}

void th_disk_free(th_disk *d)
{
    if (!d) return;
    th_backend_free(d->be);
    pthread_mutex_destroy(&d->lock);
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
    o->fn(d, cmd);
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
