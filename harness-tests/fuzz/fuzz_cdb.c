/* Commands through an emulation behind a rules table, both chosen by the input: a disk
 * or a tape, up to four rules (matchers, actions: sense with each INFORMATION source,
 * statuses, short transfers, corruption, hangs, unit attentions, states), then up to
 * eight commands (CDB, data-out, allocation length, data-in segmentation). Checked on
 * every command: it is answered (a hang once the table is released), data-in stays
 * inside what was asked for, sense inside its buffer. */
#include <stdlib.h>
#include "fuzz_input.h"
#include "th/be.h"
#include "th/fake.h"
#include "th/th.h"

#define BLOCKS 256u
#define BS     512u

static const uint8_t ops[] = {0x00, 0x03, 0x08, 0x0a, 0x12, 0x1a, 0x25, 0x28, 0x2a, 0x35,
                              0x01, 0x10, 0x11, 0x2b, 0x34, 0x5a, 0x88, 0x8a, 0x9e, 0xa3};

static void rule_from(fz *f, th_rule *x, int i)
{
    th_rule_init(x);
    snprintf(x->name, sizeof(x->name), "r%d", i);
    uint8_t m = fz_u8(f), a = fz_u8(f);
    if (m & 1) x->match.op = ops[fz_u8(f) % sizeof(ops)];
    if (m & 2) {
        x->match.lba_set = true;
        x->match.lba_lo = fz_u8(f);
        x->match.lba_hi = x->match.lba_lo + fz_u8(f);
    }
    if (m & 4) {
        x->match.len_set = true;
        x->match.len_lo = fz_u8(f);
        x->match.len_hi = x->match.len_lo + fz_u16(f);
    }
    if (m & 8) x->match.nth = fz_u8(f) % 4;
    if (m & 16) x->match.every = fz_u8(f) % 4;
    if (m & 32) x->match.probability = (fz_u8(f) % 100) / 100.0, x->match.seed = fz_u8(f);
    if (m & 64) snprintf(x->match.state, sizeof(x->match.state), "s%u", fz_u8(f) % 3u);
    if (m & 128) x->times = fz_u8(f) % 4;
    switch (a % 8) {
    case 0:
        break; /* pass */
    case 1:
        x->action.sense_set = true;
        x->action.sense = th_sense_make(fz_u8(f) & 0x0f, fz_u16(f));
        x->action.sense.descriptor = fz_u8(f) & 1;
        x->action.info_from = (th_info_from)(fz_u8(f) % 4);
        x->action.sense.info = fz_u32(f);
        x->action.sense.filemark = a & 8, x->action.sense.eom = a & 16,
        x->action.sense.ili = a & 32;
        x->action.pass = a & 64;
        break;
    case 2:
        x->action.status = fz_u8(f);
        break;
    case 3:
        x->action.pass = true;
        x->action.short_kind = (th_short_kind)(1 + fz_u8(f) % 3);
        x->action.short_value =
            x->action.short_kind == TH_SHORT_FRACTION ? fz_u8(f) / 255.0 : (double)fz_u16(f);
        break;
    case 4:
        x->action.pass = true;
        x->action.corrupt_bytes = fz_u8(f) % 16;
        x->action.corrupt_seed = fz_u8(f);
        break;
    case 5:
        x->action.hang = true;
        break;
    case 6:
        x->action.pass = true;
        x->action.queue_ua = true;
        x->action.ua_sense = th_sense_make(0x06, fz_u16(f));
        break;
    case 7:
        x->action.pass = true;
        snprintf(x->action.set_state, sizeof(x->action.set_state), "s%u", fz_u8(f) % 3u);
        break;
    }
}

static uint32_t tape_block_size(void *tape)
{
    return th_tape_block_size(tape);
}

static void check(const th_cmd *c, size_t cap)
{
    size_t len;
    const uint8_t *sense = th_cmd_get_sense(c, &len);
    if (len > TH_SENSE_MAX || (len && !sense)) abort();
    if (th_cmd_get_data_in_len(c) > cap) abort();
    const uint8_t *in = th_fake_data_in(c, &len);
    if (len > cap || (len && !in)) abort();
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < len; i++) sum += in[i]; /* every byte said to be there is */
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    uint8_t head = fz_u8(&f);
    bool tape = head & 1;
    th_disk *disk = NULL;
    th_tape *t = NULL;
    th_rules *r = NULL;
    if (tape) {
        th_tape_config tc;
        th_tape_config_init(&tc);
        tc.capacity = 64 << 10;
        tc.early_warning = 8 << 10;
        if (th_tape_new(&tc, &t, NULL, 0)) return 0;
        if (th_rules_new(NULL, &r, "t0", th_tape_handle, t, 0, th_tape_op_name)) goto out;
        th_rules_set_kind(r, TH_CDB_TAPE, tape_block_size, t);
    } else {
        th_backend *be;
        if (th_backend_memory_new(BLOCKS * BS, &be, NULL, 0)) return 0;
        th_disk_config dc;
        th_disk_config_init(&dc);
        dc.block_size = BS;
        if (th_disk_new(&dc, be, &disk, NULL, 0)) return 0;
        if (th_rules_new(NULL, &r, "d0", th_disk_handle, disk, BS, th_disk_op_name)) goto out;
    }
    int n_rules = (head >> 1) % 5;
    for (int i = 0; i < n_rules; i++) {
        th_rule x;
        rule_from(&f, &x, i);
        th_rules_add(r, &x, -1);
    }
    th_cmd *held[8];
    size_t caps[8];
    int n_held = 0;
    for (int k = 0; k < 8 && f.n; k++) {
        uint8_t cdb[32];
        size_t cdb_len = 1 + fz_u8(&f) % sizeof(cdb);
        memset(cdb, 0, sizeof(cdb));
        fz_bytes(&f, cdb, cdb_len);
        uint8_t out[1024];
        size_t out_len = fz_u16(&f) % (sizeof(out) + 1);
        out_len = fz_bytes(&f, out, out_len);
        size_t cap = fz_u16(&f) % 8193;
        uint8_t seg = fz_u8(&f);
        th_cmd *c = th_fake_cmd_new(cdb, cdb_len, out_len ? out : NULL, out_len, cap);
        if (!c) continue;
        if (seg & 0x80) th_fake_cmd_set_segment(c, 1 + seg % 64);
        th_fake_cmd_run(c, th_rules_handle, r);
        if (th_fake_cmd_done(c)) {
            check(c, cap);
            th_fake_cmd_free(c);
        } else {
            held[n_held] = c, caps[n_held++] = cap; /* hung by a rule */
        }
    }
    th_rules_release_all(r); /* answers what hangs, as close does */
    for (int i = 0; i < n_held; i++) {
        if (!th_fake_cmd_done(held[i])) abort(); /* lost: never answered */
        check(held[i], caps[i]);
        th_fake_cmd_free(held[i]);
    }
out:
    th_rules_free(r);
    th_disk_free(disk);
    th_tape_free(t);
    return 0;
}
