/* The SSC tape: opcode table, dispatch, media model and image files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "th/be.h"
#include "emu_err.h"
#include "tape_internal.h"

#define C  0xc7
#define FF 0xff
#define NO TH_NO_SA
#define M  TH_OPF_MEDIA
#define W  (TH_OPF_MEDIA | TH_OPF_WRITE)
#define I  TH_OPF_IN
#define O  TH_OPF_OUT
#define U  TH_OPF_NO_UA

// clang-format off
static const th_op tape_ops[] = {
    {0x00, NO,    6, {0x00, 0, 0, 0, 0, C},                                            tape_tur, "TEST_UNIT_READY", M},
    {0x01, NO,    6, {0x01, 0x01, 0, 0, 0, C},                                         tape_rewind, "REWIND", M},
    {0x03, NO,    6, {0x03, 0x01, 0, 0, FF, C},                                        tape_request_sense, "REQUEST_SENSE", U | I},
    {0x05, NO,    6, {0x05, 0, 0, 0, 0, C},                                            tape_read_block_limits, "READ_BLOCK_LIMITS", I},
    /* READ(6): fixed or variable blocks, by the FIXED bit */
    {0x08, NO,    6, {0x08, 0x03, FF, FF, FF, C},                                      tape_read6, "READ_6", M | I},
    {0x0a, NO,    6, {0x0a, 0x01, FF, FF, FF, C},                                      tape_write6, "WRITE_6", W | O},
    {0x10, NO,    6, {0x10, 0x01, FF, FF, FF, C},                                      tape_write_filemarks, "WRITE_FILEMARKS_6", W},
    {0x11, NO,    6, {0x11, 0x07, FF, FF, FF, C},                                      tape_space, "SPACE_6", M},
    {0x12, NO,    6, {0x12, 0x01, FF, FF, FF, C},                                      tape_inquiry, "INQUIRY", U | I},
    {0x15, NO,    6, {0x15, 0x11, 0, 0, FF, C},                                        tape_mode_select, "MODE_SELECT_6", O},
    {0x19, NO,    6, {0x19, 0x03, 0, 0, 0, C},                                         tape_erase, "ERASE_6", W},
    {0x1a, NO,    6, {0x1a, 0x08, FF, FF, FF, C},                                      tape_mode_sense, "MODE_SENSE_6", I},
    {0x1b, NO,    6, {0x1b, 0x01, 0, 0, 0x0f, C},                                      tape_load_unload, "LOAD_UNLOAD", 0},
    {0x1e, NO,    6, {0x1e, 0, 0, 0, 0x03, C},                                         tape_prevent_allow, "PREVENT_ALLOW_MEDIUM_REMOVAL", 0},
    {0x2b, NO,   10, {0x2b, 0x07, 0, FF, FF, FF, FF, 0, FF, C},                        tape_locate, "LOCATE_10", M},
    {0x34, NO,   10, {0x34, 0x1f, 0, 0, 0, 0, 0, FF, FF, C},                           tape_read_position, "READ_POSITION", M | I},
    {0x44, NO,   10, {0x44, 0x03, 0, 0, 0, 0, 0, FF, FF, C},                           tape_report_density, "REPORT_DENSITY_SUPPORT", I},
    {0x4d, NO,   10, {0x4d, 0, FF, FF, 0, FF, FF, FF, FF, C},                          tape_log_sense, "LOG_SENSE", I},
    {0x55, NO,   10, {0x55, 0x11, 0, 0, 0, 0, 0, FF, FF, C},                           tape_mode_select, "MODE_SELECT_10", O},
    {0x5a, NO,   10, {0x5a, 0x08, FF, FF, 0, 0, 0, FF, FF, C},                         tape_mode_sense, "MODE_SENSE_10", I},
    {0x92, NO,   16, {0x92, 0x3b, 0, FF, FF, FF, FF, FF, FF, FF, FF, FF, 0, 0, 0, C},  tape_locate, "LOCATE_16", M},
    /* MAINTENANCE IN A3h, service action 0Ch */
    {0xa3, 0x0c, 12, {0xa3, 0x1f, 0x87, FF, FF, FF, FF, FF, FF, FF, 0, C},             tape_report_opcodes, "REPORT_SUPPORTED_OPERATION_CODES", I},
};
// clang-format on

const th_optable th_tape_optable = {tape_ops, sizeof(tape_ops) / sizeof(tape_ops[0])};

const char *th_tape_op_name(uint8_t opcode, uint16_t sa)
{
    const th_op *o = th_op_find(&th_tape_optable, opcode, sa);
    return o ? o->name : NULL;
}

void th_tape_config_init(th_tape_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->capacity = 64ull << 20;
    cfg->early_warning = 1ull << 20;
    cfg->loaded = true;
}

int th_tape_new(const th_tape_config *cfg, th_tape **out, char *err, size_t errlen)
{
    unsigned long long cap = cfg->capacity;
    if (!cap) return th_emu_fail(err, errlen, -EINVAL, "capacity is zero");
    if (cfg->early_warning >= cap)
        return th_emu_fail(err, errlen, -EINVAL,
                           "early warning (%llu bytes) must be below the capacity (%llu)",
                           (unsigned long long)cfg->early_warning, cap);
    if (cfg->block_size > 0xffffff)
        return th_emu_fail(err, errlen, -EINVAL, "block size %u is over 16 MiB - 1",
                           cfg->block_size);
    if (cfg->partition1 >= cap)
        return th_emu_fail(err, errlen, -EINVAL,
                           "partition 1 (%llu bytes) must be smaller than the capacity (%llu)",
                           (unsigned long long)cfg->partition1, cap);
    th_tape *t = calloc(1, sizeof(*t));
    if (!t) return th_emu_fail(err, errlen, -ENOMEM, "out of memory");
    pthread_mutex_init(&t->lock, NULL);
    t->capacity = cfg->capacity - cfg->partition1;
    t->partitions = cfg->partition1 ? 2 : 1;
    t->parked.capacity = cfg->partition1;
    t->early_warning = cfg->early_warning;
    t->block_size = cfg->block_size;
    t->write_protect = cfg->write_protect;
    t->loaded = cfg->loaded;
    t->density = 0x46; /* LTO-4, as the density report says */
    th_identity_init(&t->id, 0x01, cfg->vendor, cfg->product, cfg->revision, cfg->serial,
                     cfg->wwn ? cfg->wwn : 0x3000000000000001ull);
    t->id.removable = true;
    t->id.version_descriptor = 0x0300; /* SSC-3 */
    *out = t;
    return 0;
}

void tape_truncate(th_tape *t, size_t at)
{
    for (size_t i = at; i < t->n; i++) {
        t->used -= tape_obj_bytes(&t->obj[i]);
        free(t->obj[i].data);
    }
    if (at < t->n) t->n = at;
}

void tape_switch_partition(th_tape *t, int p)
{
    if (p == t->active) return;
    tape_part cur = {t->obj, t->n, t->cap, t->pos, t->used, t->capacity};
    t->obj = t->parked.obj, t->n = t->parked.n, t->cap = t->parked.cap;
    t->pos = t->parked.pos, t->used = t->parked.used, t->capacity = t->parked.capacity;
    t->parked = cur;
    t->active = p;
}

int th_tape_partition(const th_tape *t)
{
    th_tape *m = (th_tape *)t;
    pthread_mutex_lock(&m->lock);
    int p = t->active;
    pthread_mutex_unlock(&m->lock);
    return p;
}

uint32_t th_tape_block_size(const th_tape *t)
{
    th_tape *m = (th_tape *)t;
    pthread_mutex_lock(&m->lock);
    uint32_t bs = t->block_size;
    pthread_mutex_unlock(&m->lock);
    return bs;
}

void th_tape_free(th_tape *t)
{
    if (!t) return;
    tape_switch_partition(t, 1 - t->active);
    tape_truncate(t, 0);
    free(t->obj);
    tape_switch_partition(t, 1 - t->active);
    tape_truncate(t, 0);
    free(t->obj);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Writes at the current position: what followed is gone, as on a real tape. */
int tape_insert(th_tape *t, bool filemark, const void *data, uint32_t len)
{
    tape_truncate(t, t->pos);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        tape_obj *o = realloc(t->obj, cap * sizeof(*o));
        if (!o) return -ENOMEM;
        t->obj = o;
        t->cap = cap;
    }
    tape_obj *o = &t->obj[t->n];
    o->filemark = filemark;
    o->len = filemark ? 0 : len;
    o->data = NULL;
    if (!filemark && len) {
        o->data = malloc(len);
        if (!o->data) return -ENOMEM;
        memcpy(o->data, data, len);
    }
    t->used += tape_obj_bytes(o);
    t->n++;
    t->pos = t->n;
    return 0;
}

size_t tape_filemarks_before(const th_tape *t, size_t pos)
{
    size_t n = 0;
    for (size_t i = 0; i < pos && i < t->n; i++) n += t->obj[i].filemark;
    return n;
}

int th_tape_append_record(th_tape *t, const void *data, size_t len)
{
    if (len > 0xffffff) return -EINVAL;
    pthread_mutex_lock(&t->lock);
    size_t keep = t->pos;
    t->pos = t->n;
    int rc = tape_insert(t, false, data, (uint32_t)len);
    t->pos = keep;
    pthread_mutex_unlock(&t->lock);
    return rc;
}

int th_tape_append_filemark(th_tape *t)
{
    pthread_mutex_lock(&t->lock);
    size_t keep = t->pos;
    t->pos = t->n;
    int rc = tape_insert(t, true, NULL, 0);
    t->pos = keep;
    pthread_mutex_unlock(&t->lock);
    return rc;
}

/* The getters lock too: commands on worker threads move the position while a test or
 * scenario reads it. */
size_t th_tape_objects(const th_tape *t)
{
    th_tape *m = (th_tape *)t;
    pthread_mutex_lock(&m->lock);
    size_t n = t->n;
    pthread_mutex_unlock(&m->lock);
    return n;
}

size_t th_tape_position(const th_tape *t)
{
    th_tape *m = (th_tape *)t;
    pthread_mutex_lock(&m->lock);
    size_t pos = t->pos;
    pthread_mutex_unlock(&m->lock);
    return pos;
}

void th_tape_set_loaded(th_tape *t, bool loaded)
{
    pthread_mutex_lock(&t->lock);
    t->loaded = loaded;
    tape_switch_partition(t, 0);
    t->pos = 0;
    t->ua_pending = loaded;
    pthread_mutex_unlock(&t->lock);
}

void th_tape_set_write_protect(th_tape *t, bool wp)
{
    pthread_mutex_lock(&t->lock);
    t->write_protect = wp;
    pthread_mutex_unlock(&t->lock);
}

void tape_sense(th_cmd *cmd, uint8_t key, uint16_t asc, int64_t info, bool fm, bool eom, bool ili)
{
    th_sense s = th_sense_make(key, asc);
    s.info_valid = true;
    s.info = (uint64_t)info;
    s.filemark = fm;
    s.eom = eom;
    s.ili = ili;
    th_cmd_check_condition(cmd, &s);
}

int th_tape_handle(th_cmd *cmd, void *arg)
{
    th_tape *t = arg;
    const th_op *o = th_op_lookup(&th_tape_optable, cmd);
    if (!o) return 0;
    pthread_mutex_lock(&t->lock);
    if (t->ua_pending && !(o->flags & TH_OPF_NO_UA)) {
        t->ua_pending = false;
        th_cmd_check(cmd, TH_KEY_UNIT_ATTENTION, TH_ASC_NOT_READY_TO_READY);
    } else if ((o->flags & TH_OPF_MEDIA) && !t->loaded) {
        th_cmd_check(cmd, TH_KEY_NOT_READY, TH_ASC_MEDIUM_NOT_PRESENT);
    } else if ((o->flags & TH_OPF_WRITE) && t->write_protect) {
        th_cmd_check(cmd, TH_KEY_DATA_PROTECT, TH_ASC_WRITE_PROTECTED);
    } else {
        o->fn(t, cmd);
    }
    pthread_mutex_unlock(&t->lock);
    return 0;
}

int th_tape_save_image(const th_tape *t, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -errno;
    fputs("THTAPE1\n", f);
    for (size_t i = 0; i < t->n; i++) {
        if (t->obj[i].filemark) {
            fputc('F', f);
            continue;
        }
        uint8_t hdr[5] = {'R'};
        th_put_be32(hdr + 1, t->obj[i].len);
        fwrite(hdr, 1, 5, f);
        fwrite(t->obj[i].data, 1, t->obj[i].len, f);
    }
    return fclose(f) ? -EIO : 0;
}

/* Reads the image into a scratch list first: a file that is not an image, or one cut
 * short, leaves the tape as it was. Only a regular file: a directory read as "no header",
 * and a FIFO or /dev/zero would block or never end. The sizes are checked against the
 * file and the tape before anything is allocated, so a length or a count that is out of
 * all proportion is refused, not tried. */
int th_tape_load_image(th_tape *t, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        int e = errno;
        if (fd >= 0) close(fd);
        return th_emu_fail(err, errlen, -e, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return th_emu_fail(err, errlen, -EINVAL, "%s: not a regular file (%s)", path,
                           S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return th_emu_fail(err, errlen, -e, "%s: %s", path, strerror(e));
    }
    char magic[8];
    size_t got = fread(magic, 1, 8, f);
    if (got != 8 || memcmp(magic, "THTAPE1\n", 8)) {
        fclose(f);
        if (got < 8 && !memcmp(magic, "THTAPE1\n", got))
            return th_emu_fail(err, errlen, -EINVAL,
                               "%s: not a tape image (%zu bytes, shorter than the THTAPE1 header)",
                               path, got);
        return th_emu_fail(err, errlen, -EINVAL, "%s: not a tape image (no THTAPE1 header)", path);
    }
    pthread_mutex_lock(&t->lock);
    uint64_t capacity = t->capacity; /* the partition the image replaces, the active one */
    pthread_mutex_unlock(&t->lock);
    th_tape tmp = {0};
    int c, rc = 0;
    uint8_t *buf = NULL;
    const char *why = NULL;
    long at = 8; /* where the current object starts */
    while (!rc && (at = ftell(f), c = fgetc(f)) != EOF) {
        uint8_t l[4];
        uint32_t len = 0;
        if (c == 'F')
            ; /* a filemark: nothing follows it */
        else if (c != 'R')
            why = "an object that is neither 'R' nor 'F'";
        else if (fread(l, 1, 4, f) != 4)
            why = "a record length cut short";
        else if ((len = th_be32(l)) > 0xffffff)
            why = "a record over 16 MiB - 1";
        else if ((long long)len > (long long)st.st_size - (at + 5))
            why = "a record longer than the rest of the file (cut short)";
        else if (!(buf = realloc(buf, len ? len : 1)))
            rc = -ENOMEM;
        else if (fread(buf, 1, len, f) != len)
            why = "a record cut short";
        if (why) rc = -EINVAL;
        if (!rc) rc = tape_insert(&tmp, c == 'F', buf, len);
        /* Filemarks take capacity too: a file of nothing but 'F' is refused here, at the
         * tape's size, not at the host's memory. */
        if (!rc && tmp.used > capacity) {
            why = "more than the tape holds";
            rc = -ENOSPC;
        }
    }
    if (!rc && ferror(f)) rc = -EIO;
    free(buf);
    fclose(f);
    if (rc) {
        size_t bad = tmp.n + 1; /* before the truncate empties tmp */
        tape_truncate(&tmp, 0);
        free(tmp.obj);
        if (!why) return th_emu_fail(err, errlen, rc, "%s: %s", path, strerror(-rc));
        if (rc == -ENOSPC)
            return th_emu_fail(err, errlen, rc,
                               "%s: object %zu at byte %ld: %s (%llu bytes; a filemark "
                               "counts %u)",
                               path, bad - 1, at, why, (unsigned long long)capacity,
                               TAPE_FILEMARK_BYTES);
        return th_emu_fail(err, errlen, rc, "%s: object %zu at byte %ld: %s", path, bad, at, why);
    }
    pthread_mutex_lock(&t->lock);
    tape_truncate(t, 0);
    free(t->obj);
    t->obj = tmp.obj, t->n = tmp.n, t->cap = tmp.cap, t->used = tmp.used;
    t->pos = 0;
    pthread_mutex_unlock(&t->lock);
    return 0;
}
