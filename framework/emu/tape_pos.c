/* Positioning: SPACE, REWIND, LOCATE, READ POSITION, ERASE, LOAD UNLOAD. */
#include <string.h>
#include "th/be.h"
#include "tape_internal.h"

static void space_blocks(th_tape *t, th_cmd *cmd, int32_t count)
{
    if (count >= 0) {
        for (int32_t k = 0; k < count; k++) {
            if (t->pos == t->n) {
                tape_sense(cmd, TH_KEY_BLANK_CHECK, TH_ASC_END_OF_DATA, count - k, false, false,
                           false);
                return;
            }
            if (t->obj[t->pos++].filemark) {
                tape_sense(cmd, TH_KEY_NO_SENSE, TH_ASC_FILEMARK, count - k, true, false, false);
                return;
            }
        }
    } else {
        int32_t m = -count;
        for (int32_t k = 0; k < m; k++) {
            if (t->pos == 0) {
                tape_sense(cmd, TH_KEY_NO_SENSE, TH_ASC_BOP_BOM, m - k, false, true, false);
                return;
            }
            if (t->obj[--t->pos].filemark) { /* stops on the BOP side of the filemark */
                tape_sense(cmd, TH_KEY_NO_SENSE, TH_ASC_FILEMARK, m - k, true, false, false);
                return;
            }
        }
    }
    th_cmd_ok(cmd);
}

static void space_filemarks(th_tape *t, th_cmd *cmd, int32_t count)
{
    if (count >= 0) {
        for (int32_t k = 0; k < count; k++) {
            while (t->pos < t->n && !t->obj[t->pos].filemark) t->pos++;
            if (t->pos == t->n) {
                tape_sense(cmd, TH_KEY_BLANK_CHECK, TH_ASC_END_OF_DATA, count - k, false, false,
                           false);
                return;
            }
            t->pos++;
        }
    } else {
        int32_t m = -count;
        for (int32_t k = 0; k < m; k++) {
            while (t->pos > 0 && !t->obj[t->pos - 1].filemark) t->pos--;
            if (t->pos == 0) {
                tape_sense(cmd, TH_KEY_NO_SENSE, TH_ASC_BOP_BOM, m - k, false, true, false);
                return;
            }
            t->pos--; /* on the BOP side of it */
        }
    }
    th_cmd_ok(cmd);
}

static void space_sequential(th_tape *t, th_cmd *cmd, int32_t count)
{
    if (count <= 0) {
        th_cmd_ok(cmd);
        return;
    }
    for (size_t i = t->pos; i + (size_t)count <= t->n; i++) {
        bool run = true;
        for (int32_t k = 0; k < count && run; k++) run = t->obj[i + (size_t)k].filemark;
        if (run) {
            t->pos = i + (size_t)count;
            th_cmd_ok(cmd);
            return;
        }
    }
    t->pos = t->n;
    tape_sense(cmd, TH_KEY_BLANK_CHECK, TH_ASC_END_OF_DATA, count, false, false, false);
}

void tape_space(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    int32_t count = (int32_t)(th_be24(c + 2) << 8) >> 8; /* 24-bit two's complement */
    switch (c[1] & 0x07) {
    case 0:
        space_blocks(t, cmd, count);
        break;
    case 1:
        space_filemarks(t, cmd, count);
        break;
    case 2:
        space_sequential(t, cmd, count);
        break;
    case 3:
        t->pos = t->n;
        th_cmd_ok(cmd);
        break;
    default: {
        th_cmd_invalid_field(cmd, true, 1, 2);
    }
    }
}

void tape_rewind(void *arg, th_cmd *cmd)
{
    ((th_tape *)arg)->pos = 0;
    th_cmd_ok(cmd);
}

void tape_locate(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    bool sixteen = c[0] == 0x92;
    bool cp = c[1] & 0x02;
    uint8_t partition = sixteen ? c[3] : c[8];
    uint8_t dest = sixteen ? (c[1] >> 3) & 7 : 0;
    uint64_t id = sixteen ? th_be64(c + 4) : th_be32(c + 3);
    if (cp && partition >= t->partitions) {
        th_cmd_invalid_field(cmd, true, sixteen ? 3 : 8, -1);
        return;
    }
    if (dest > 1) { /* checked before CP moves anything: an error leaves the position */
        th_cmd_invalid_field(cmd, true, 1, 5);
        return;
    }
    if (cp) tape_switch_partition(t, partition);
    if (dest == 1) { /* a logical file: just after filemark number id */
        size_t pos = 0, seen = 0;
        while (seen < id && pos < t->n) seen += t->obj[pos++].filemark;
        id = seen == id ? pos : t->n + 1;
    }
    if (id > t->n) {
        t->pos = t->n;
        tape_sense(cmd, TH_KEY_BLANK_CHECK, TH_ASC_END_OF_DATA, 0, false, false, false);
        return;
    }
    t->pos = (size_t)id;
    th_cmd_ok(cmd);
}

void tape_read_position(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    const uint8_t *c = th_cmd_cdb(cmd);
    uint8_t sa = c[1] & 0x1f;
    uint8_t b[32] = {0};
    if (sa == 0 || sa == 1) { /* short form */
        b[0] = (uint8_t)(t->pos == 0 ? 0x80 : 0);
        b[1] = (uint8_t)t->active;
        th_put_be32(b + 4, (uint32_t)t->pos);
        th_put_be32(b + 8, (uint32_t)t->pos);
        th_respond_data(cmd, b, 20, 20);
    } else if (sa == 6 || sa == 8) { /* long, extended */
        b[0] = (uint8_t)(t->pos == 0 ? 0x80 : 0);
        if (sa == 6) {
            th_put_be32(b + 4, (uint32_t)t->active);
            th_put_be64(b + 8, t->pos);
            th_put_be64(b + 16, tape_filemarks_before(t, t->pos));
        } else {
            th_put_be16(b + 2, 28);
            th_put_be64(b + 16, t->pos);
            th_put_be64(b + 24, t->pos);
        }
        th_respond_data(cmd, b, 32, th_be16(c + 7) ? th_be16(c + 7) : 32);
    } else {
        th_cmd_invalid_field(cmd, true, 1, 4);
    }
}

void tape_erase(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    if (th_cmd_cdb(cmd)[1] & 0x01) tape_truncate(t, t->pos); /* LONG: to the end */
    th_cmd_ok(cmd);
}

void tape_load_unload(void *arg, th_cmd *cmd)
{
    th_tape *t = arg;
    bool load = th_cmd_cdb(cmd)[4] & 0x01;
    if (!load && t->prevent) {
        th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_MEDIUM_REMOVAL_PREVENTED);
        return;
    }
    t->loaded = load;
    tape_switch_partition(t, 0);
    t->pos = 0;
    th_cmd_ok(cmd);
}
