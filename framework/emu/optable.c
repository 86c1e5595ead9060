#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "th/be.h"
#include "optable.h"

static bool has_sa_entries(const th_optable *t, uint8_t op)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ops[i].op == op && t->ops[i].sa != TH_NO_SA) return true;
    return false;
}

const th_op *th_op_find(const th_optable *t, uint8_t op, uint16_t sa)
{
    for (size_t i = 0; i < t->n; i++) {
        const th_op *o = &t->ops[i];
        if (o->op == op && (o->sa == TH_NO_SA || o->sa == sa)) return o;
    }
    return NULL;
}

const th_op *th_op_by_name(const th_optable *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++) {
        const char *a = t->ops[i].name, *b = name;
        while (*a && *b) {
            char c = (char)toupper((unsigned char)*b);
            if (c == '-' || c == ' ' || c == '(') c = '_';
            if (c == ')') {
                b++;
                continue;
            }
            if (c != *a) break;
            a++, b++;
        }
        while (*b == ')') b++; /* "READ(10)": the loop stops before the last ')' */
        if (!*a && !*b) return &t->ops[i];
    }
    return NULL;
}

const th_op *th_op_lookup(const th_optable *t, th_cmd *cmd)
{
    const uint8_t *cdb = th_cmd_cdb(cmd);
    size_t len = th_cmd_cdb_len(cmd);
    bool by_sa = has_sa_entries(t, cdb[0]);
    const th_op *o = th_op_find(t, cdb[0], by_sa ? (uint16_t)(cdb[1] & 0x1f) : 0);
    if (!o) {
        if (by_sa) {
            th_cmd_invalid_field(cmd, true, 1, 4);
        } else {
            th_cmd_not_handled(cmd);
        }
        return NULL;
    }
    if (len < o->len) {
        th_cmd_invalid_field(cmd, true, (uint16_t)(len ? len - 1 : 0), -1);
        return NULL;
    }
    for (size_t i = 1; i < o->len && i < 16; i++) {
        /* INQUIRY's byte 1 bits 7-5 were SCSI-2's LUN field, which SPC made reserved. Linux
         * still fills it in the INQUIRY that probes a target it knows no level of yet (a
         * target without LUN 0: scsi_probe_lun's SCSI-2 default), so refusing it left any
         * other LUN of a target of its own without a SCSI device. */
        uint8_t legacy = o->op == 0x12 && i == 1 ? 0xe0 : 0;
        uint8_t bad = cdb[i] & (uint8_t) ~(o->mask[i] | legacy);
        if (bad) {
            int bit = 7;
            while (!(bad & (1u << bit))) bit--;
            th_cmd_invalid_field(cmd, true, (uint16_t)i, bit);
            return NULL;
        }
    }
    return o;
}

void th_respond_data(th_cmd *cmd, const void *buf, size_t len, size_t alloc)
{
    size_t n = len < alloc ? len : alloc;
    th_cmd_data_in_write(cmd, 0, buf, n);
    th_cmd_set_data_in_len(cmd, n);
    th_cmd_ok(cmd);
}

static size_t one_descriptor(const th_op *o, uint8_t *p, bool rctd)
{
    memset(p, 0, 8);
    p[0] = o->op;
    if (o->sa != TH_NO_SA) {
        th_put_be16(p + 2, o->sa);
        p[5] |= 0x01;
    }
    th_put_be16(p + 6, o->len);
    if (!rctd) return 8;
    p[5] |= 0x02;
    memset(p + 8, 0, 12);
    th_put_be16(p + 8, 0x0a);
    return 20;
}

void th_op_report_supported(const th_optable *t, th_cmd *cmd)
{
    const uint8_t *c = th_cmd_cdb(cmd);
    bool rctd = (c[2] & 0x80) != 0;
    uint8_t options = c[2] & 0x07;
    uint32_t alloc = th_be32(c + 6);
    uint8_t *buf = calloc(1, 4 + t->n * 20 + 64);
    if (!buf) {
        th_cmd_status(cmd, TH_STATUS_TASK_SET_FULL);
        return;
    }
    size_t n = 0;
    if (options == 0) {
        n = 4;
        for (size_t i = 0; i < t->n; i++) n += one_descriptor(&t->ops[i], buf + n, rctd);
        th_put_be32(buf, (uint32_t)(n - 4));
    } else if (options <= 3) {
        uint8_t op = c[3];
        uint16_t sa = th_be16(c + 4);
        bool sa_cmd = has_sa_entries(t, op);
        /* Option 1 names an opcode without service actions, 2 one with; 3 either. */
        if ((options == 1 && sa_cmd) || (options == 2 && !sa_cmd)) {
            free(buf);
            th_cmd_invalid_field(cmd, true, 2, 2);
            return;
        }
        const th_op *o = th_op_find(t, op, sa_cmd ? sa : 0);
        if (o && !sa_cmd && sa && options == 3) o = NULL;
        if (o) {
            buf[1] = (uint8_t)(rctd ? 0x83 : 0x03);
            th_put_be16(buf + 2, o->len);
            buf[4] = o->op;
            for (size_t i = 1; i < o->len; i++) buf[4 + i] = o->mask[i];
            n = 4u + o->len;
            if (rctd) {
                th_put_be16(buf + n, 0x0a);
                n += 12;
            }
        } else {
            buf[1] = 0x01; /* not supported */
            n = 4;
        }
    } else {
        free(buf);
        th_cmd_invalid_field(cmd, true, 2, 2);
        return;
    }
    th_respond_data(cmd, buf, n, alloc);
    free(buf);
}
