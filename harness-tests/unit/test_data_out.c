/* The class behind defects 2 and 3: every opcode of the disk and tape tables that takes
 * Data-Out, given less than its CDB asks for, must neither read past what arrived nor
 * change the medium, and must answer CHECK CONDITION. Then every opcode with bogus CDB
 * bytes. Meant for the ASan build, where an over-read is a crash. */
#include <stdlib.h>
#include "emu/optable.h"
#include "helpers.h"

#define BS 512

/* A CDB for op asking for a known amount of Data-Out; returns that amount, or 0 for
 * an opcode this test does not know (which fails the test: a new Data-Out opcode must
 * be added here). */
static size_t out_cdb(th_ops_kind kind, const th_op *o, uint8_t *c, uint8_t *data, size_t cap)
{
    memset(c, 0, 16);
    memset(data, 0, cap);
    c[0] = o->op;
    if (o->sa != TH_NO_SA) c[1] = (uint8_t)o->sa;
    const uint32_t n = 4;
    fill_pattern(data, cap, o->op);
    if (kind == TH_OPS_TAPE) {
        if (o->op == 0x0a) { /* WRITE(6), fixed: n blocks of the tape's BS */
            c[1] = 0x01;
            th_put_be24(c + 2, n);
            return n * BS;
        }
    }
    switch (o->op) {
    case 0x0a: /* WRITE(6) */
        c[4] = (uint8_t)n;
        return n * BS;
    case 0x2a:
    case 0x2e:
    case 0xaa:
    case 0xae:
    case 0x8a:
    case 0x8b:
    case 0x8e:
    case 0x9c:
    case 0x2f:
    case 0xaf:
    case 0x8f:
    case 0x89:
        if (o->len == 10) th_put_be16(c + 7, (uint16_t)n);
        if (o->len == 12) th_put_be32(c + 6, n);
        if (o->len == 16) th_put_be32(c + 10, n);
        if (o->op == 0x89) {
            c[13] = (uint8_t)n;
            c[10] = c[11] = c[12] = 0;
            memset(data, 0, n * BS); /* compares equal to the fresh medium */
            return 2 * n * BS;
        }
        if (o->op == 0x2f || o->op == 0xaf || o->op == 0x8f) c[1] = 0x02; /* BYTCHK 01b */
        return n * BS;
    case 0x41:
    case 0x93: /* WRITE SAME: one block */
        if (o->len == 10)
            th_put_be16(c + 7, (uint16_t)n);
        else
            th_put_be32(c + 10, n);
        return BS;
    case 0x42: /* UNMAP: header + one descriptor, LBA 0, one block */
        th_put_be16(c + 7, 24);
        th_put_be16(data, 22);
        th_put_be16(data + 2, 16);
        memset(data + 4, 0, 20);
        th_put_be32(data + 16, 1);
        return 24;
    case 0x15:
    case 0x55: /* MODE SELECT: header + caching page as MODE SENSE has it */
        c[1] = 0x10;
        memset(data, 0, 32);
        {
            size_t h = o->op == 0x55 ? 8 : 4;
            if (kind == TH_OPS_DISK) {
                uint8_t *p = data + h;
                p[0] = 0x08, p[1] = 0x12, p[2] = 0x04;
                th_put_be16(p + 4, 0xffff), th_put_be16(p + 8, 0xffff), th_put_be16(p + 10, 0xffff);
            }
            size_t len = h + 20;
            if (o->op == 0x55)
                th_put_be16(c + 7, (uint16_t)len);
            else
                c[4] = (uint8_t)len;
            return len;
        }
    case 0x83: /* EXTENDED COPY: a header and one (foreign) target descriptor */
        memset(data, 0, 48);
        th_put_be16(data + 2, 32);
        data[16] = 0xe4;
        th_put_be32(c + 10, 48);
        return 48;
    }
    return 0;
}

static bool medium_untouched(th_ops_kind kind, void *dev)
{
    if (kind == TH_OPS_TAPE) return th_tape_objects(dev) == 0;
    static uint8_t buf[8 * BS], zero[8 * BS];
    disk_read(dev, 0, buf, 8, BS);
    return memcmp(buf, zero, sizeof(buf)) == 0;
}

static void *fresh(th_ops_kind kind)
{
    if (kind == TH_OPS_DISK) return test_disk(64, BS);
    th_tape_config cfg;
    th_tape_config_init(&cfg);
    cfg.block_size = BS;
    th_tape *t;
    cr_assert_eq(th_tape_new(&cfg, &t, NULL, 0), 0);
    th_tape_set_loaded(t, true);
    th_cmd *c = tape_op6(t, 0x00, 0, 0, 0); /* takes the unit attention */
    th_fake_cmd_free(c);
    return t;
}

static void drop(th_ops_kind kind, void *dev)
{
    if (kind == TH_OPS_DISK)
        th_disk_free(dev);
    else
        th_tape_free(dev);
}

static th_handler_fn handler_of(th_ops_kind kind)
{
    return kind == TH_OPS_DISK ? th_disk_handle : th_tape_handle;
}

static void short_data_out_every_opcode(th_ops_kind kind)
{
    const th_optable *t = th_optable_of(kind);
    int tried = 0;
    for (size_t i = 0; i < t->n; i++) {
        const th_op *o = &t->ops[i];
        if (!(o->flags & TH_OPF_OUT)) continue;
        uint8_t cdb[16], full[4096];
        size_t want = out_cdb(kind, o, cdb, full, sizeof(full));
        cr_assert(want > 0 && want <= sizeof(full), "%s: no Data-Out length known to the test",
                  o->name);
        size_t sizes[] = {0, 1, want - 1};
        for (size_t k = 0; k < 3; k++) {
            void *dev = fresh(kind);
            /* An exact-size heap copy, so ASan sees any read past what arrived. */
            uint8_t *out = sizes[k] ? malloc(sizes[k]) : NULL;
            if (out) memcpy(out, full, sizes[k]);
            th_cmd *c = run_cmd(handler_of(kind), dev, cdb, o->len, out, sizes[k], 0);
            cr_expect_eq(th_cmd_get_status(c), TH_STATUS_CHECK_CONDITION,
                         "%s with %zu of %zu Data-Out bytes: status %#x", o->name, sizes[k], want,
                         th_cmd_get_status(c));
            cr_expect(medium_untouched(kind, dev), "%s with %zu of %zu bytes changed the medium",
                      o->name, sizes[k], want);
            th_fake_cmd_free(c);
            free(out);
            drop(kind, dev);
        }
        tried++;
    }
    cr_assert_gt(tried, 0);
}

TestSuite(data_out);

Test(data_out, every_disk_opcode_refuses_short_data_out_without_reading_past_it)
{
    short_data_out_every_opcode(TH_OPS_DISK);
}

Test(data_out, every_tape_opcode_refuses_short_data_out_without_reading_past_it)
{
    short_data_out_every_opcode(TH_OPS_TAPE);
}

/* Small deterministic generator: the same bogus CDBs on every run. */
static uint32_t next(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void bogus_cdbs_every_opcode(th_ops_kind kind)
{
    uint32_t seed = 1;
    const th_optable *t = th_optable_of(kind);
    for (size_t i = 0; i < t->n; i++) {
        const th_op *o = &t->ops[i];
        void *dev = fresh(kind);
        for (int r = 0; r < 64; r++) {
            uint8_t cdb[16], out[64];
            for (size_t b = 0; b < sizeof(cdb); b++) cdb[b] = (uint8_t)next(&seed);
            for (size_t b = 0; b < sizeof(out); b++) out[b] = (uint8_t)next(&seed);
            cdb[0] = o->op;
            if (o->sa != TH_NO_SA) cdb[1] = (uint8_t)((cdb[1] & 0xe0) | o->sa);
            if (r & 1) /* half legal bits only, so the handler itself runs */
                for (size_t b = 1; b < o->len; b++) cdb[b] &= o->mask[b];
            if (o->sa != TH_NO_SA) cdb[1] = (uint8_t)((cdb[1] & 0xe0) | o->sa);
            if (kind == TH_OPS_TAPE && o->len == 6) cdb[2] = 0; /* counts below 64 Ki */
            size_t out_len = next(&seed) % (sizeof(out) + 1);
            size_t in_cap = next(&seed) % 1024;
            uint8_t *heap = out_len ? malloc(out_len) : NULL;
            if (heap) memcpy(heap, out, out_len);
            th_cmd *c = run_cmd(handler_of(kind), dev, cdb, o->len, heap, out_len, in_cap);
            uint8_t st = th_cmd_get_status(c);
            cr_expect(th_cmd_has_response(c), "%s: no response", o->name);
            cr_expect(st == TH_STATUS_GOOD || st == TH_STATUS_CHECK_CONDITION ||
                          st == TH_STATUS_CONDITION_MET,
                      "%s: status %#x", o->name, st);
            if (st == TH_STATUS_CHECK_CONDITION) {
                th_sense s;
                cr_expect_eq(th_fake_sense(c, &s), 0, "%s: CHECK CONDITION without sense", o->name);
            }
            th_fake_cmd_free(c);
            free(heap);
        }
        drop(kind, dev);
    }
}

Test(data_out, every_disk_opcode_survives_bogus_cdbs)
{
    bogus_cdbs_every_opcode(TH_OPS_DISK);
}

Test(data_out, every_tape_opcode_survives_bogus_cdbs)
{
    bogus_cdbs_every_opcode(TH_OPS_TAPE);
}
