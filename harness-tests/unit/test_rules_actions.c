/* Rule actions: sense with derived INFORMATION, short transfers with sense, status only,
 * delay, hang and abort, unit attention, corruption, and the trace. */
#include <stdlib.h>
#include <unistd.h>
#include "rules_fixture.h"

static uint8_t media[64 * 512];
static void setup(void)
{
    rules_setup();
    fill_pattern(media, sizeof(media), 3);
    disk_write(d, 0, media, 64, 512);
}
TestSuite(rules_actions, .init = setup, .fini = rules_teardown);

static th_cmd *read10(uint64_t lba, uint32_t blocks)
{
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 10, lba, blocks);
    th_cmd *c = th_fake_cmd_new(cdb, n, NULL, 0, blocks * 512u);
    th_fake_cmd_run(c, th_rules_handle, r);
    return c;
}

static th_rule medium_error(th_info_from from)
{
    th_rule x;
    th_rule_init(&x);
    x.match.op = 0x28;
    x.match.lba_set = true;
    x.match.lba_lo = 20;
    x.match.lba_hi = 23;
    x.action.pass = false;
    x.action.sense_set = true;
    x.action.sense = th_sense_make(TH_KEY_MEDIUM_ERROR, TH_ASC_UNRECOVERED_READ_ERROR);
    x.action.info_from = from;
    return x;
}

Test(rules_actions, sense_with_the_first_failing_lba_as_information)
{
    th_rule x = medium_error(TH_INFO_LBA);
    th_rules_add(r, &x, -1);
    th_cmd *c = read10(16, 16);
    th_assert_sense(c, TH_KEY_MEDIUM_ERROR, TH_ASC_UNRECOVERED_READ_ERROR);
    th_sense s;
    th_fake_sense(c, &s);
    cr_assert(s.info_valid);
    cr_assert_eq(s.info, 20);
    cr_assert_eq(th_cmd_get_data_in_len(c), 0);
    th_fake_cmd_free(c);
}

Test(rules_actions, fixed_information_and_descriptor_format)
{
    th_rule x = medium_error(TH_INFO_FIXED);
    x.action.sense.info = 0x123456789ull;
    x.action.sense.descriptor = true;
    th_rules_add(r, &x, -1);
    th_cmd *c = read10(20, 1);
    th_sense s;
    cr_assert_eq(th_fake_sense(c, &s), 0);
    cr_assert(s.descriptor);
    cr_assert_eq(s.info, 0x123456789ull);
    th_fake_cmd_free(c);
}

Test(rules_actions, short_read_with_sense_returns_data_and_sense_together)
{
    th_rule x = medium_error(TH_INFO_RESIDUE);
    x.action.short_kind = TH_SHORT_BLOCKS;
    x.action.short_value = 4; /* the blocks before the bad one */
    th_rules_add(r, &x, -1);
    th_cmd *c = read10(16, 16);
    th_assert_sense(c, TH_KEY_MEDIUM_ERROR, TH_ASC_UNRECOVERED_READ_ERROR);
    th_assert_data_in(c, media + 16 * 512, 4 * 512);
    th_sense s;
    th_fake_sense(c, &s);
    cr_assert_eq(s.info, 12); /* 12 blocks not transferred */
    th_fake_cmd_free(c);
}

Test(rules_actions, short_transfers_in_bytes_and_fractions_without_sense)
{
    th_rule x;
    th_rule_init(&x);
    x.action.short_kind = TH_SHORT_BYTES;
    x.action.short_value = 100;
    x.times = 1;
    th_rules_add(r, &x, -1);
    th_rule y;
    th_rule_init(&y);
    y.action.short_kind = TH_SHORT_FRACTION;
    y.action.short_value = 0.5;
    th_rules_add(r, &y, -1);
    th_cmd *c = read10(0, 8);
    th_assert_good(c);
    th_assert_data_in(c, media, 100);
    cr_assert_eq(th_fake_residual(c), 8 * 512 - 100);
    th_fake_cmd_free(c);
    c = read10(0, 8);
    th_assert_data_in(c, media, 4 * 512);
    th_fake_cmd_free(c);
}

Test(rules_actions, status_only_answers)
{
    static const uint8_t st[] = {TH_STATUS_BUSY, TH_STATUS_TASK_SET_FULL,
                                 TH_STATUS_RESERVATION_CONFLICT, TH_STATUS_ACA_ACTIVE,
                                 TH_STATUS_TASK_ABORTED};
    for (size_t i = 0; i < sizeof(st); i++) {
        th_rules_clear(r);
        th_rule x;
        th_rule_init(&x);
        x.action.pass = false;
        x.action.status = st[i];
        th_rules_add(r, &x, -1);
        th_cmd *c = read10(0, 1);
        th_assert_status(c, st[i]);
        cr_assert_eq(th_cmd_get_data_in_len(c), 0);
        th_fake_cmd_free(c);
    }
}

Test(rules_actions, delay_answers_later_and_normally)
{
    th_rule x;
    th_rule_init(&x);
    x.action.delay_ms = 150;
    th_rules_add(r, &x, -1);
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 10, 0, 1);
    th_cmd *c = th_fake_cmd_new(cdb, n, NULL, 0, 512);
    uint64_t t0 = th_now_ns_for_tests();
    cr_assert_eq(th_fake_cmd_run(c, th_rules_handle, r), TH_CMD_DEFERRED);
    cr_assert(!th_fake_cmd_done(c));
    /* Due in 150 ms; up to 10 s for a loaded host (TSan), never for ever. */
    for (int i = 0; i < 2000 && !th_fake_cmd_done(c); i++) usleep(5000);
    cr_assert(th_fake_cmd_done(c));
    cr_assert_geq(th_now_ns_for_tests() - t0, 140000000ull);
    th_assert_good(c);
    th_assert_data_in(c, media, 512);
    th_fake_cmd_free(c);
}

Test(rules_actions, hang_until_a_tmr_aborts_it)
{
    add_hang_all(r);
    th_cmd *c = new_read(0);
    cr_assert_eq(th_fake_cmd_run(c, th_rules_handle, r), TH_CMD_DEFERRED);
    usleep(50000);
    cr_assert(!th_fake_cmd_done(c), "a hung command must not be answered");
    uint16_t id = th_cmd_id(c);
    th_fake_cmd_abort(c);
    th_rules_on_tmr(r, 1, &id, 1);
    cr_assert(th_fake_cmd_done(c));
    th_assert_status(c, TH_STATUS_TASK_ABORTED);
    th_fake_cmd_free(c);
}

Test(rules_actions, closing_answers_hung_commands)
{
    th_rule x;
    th_rule_init(&x);
    x.action.hang = true;
    th_rules_add(r, &x, -1);
    th_cmd *c = read10(0, 1);
    cr_assert(!th_fake_cmd_done(c));
    th_rules_release_all(r);
    cr_assert(th_fake_cmd_done(c));
    th_fake_cmd_free(c);
}

Test(rules_actions, unit_attention_goes_to_the_next_command_but_not_inquiry)
{
    th_rule x;
    th_rule_init(&x);
    x.match.op = 0x00;
    x.action.queue_ua = true;
    x.action.ua_sense = th_sense_make(TH_KEY_UNIT_ATTENTION, TH_ASC_CAPACITY_CHANGED);
    x.times = 1;
    th_rules_add(r, &x, -1);
    uint8_t tur[6] = {0}, inq[6];
    th_cmd *c = th_fake_cmd_new(tur, 6, NULL, 0, 0);
    th_fake_cmd_run(c, th_rules_handle, r);
    th_assert_good(c);
    th_fake_cmd_free(c);
    th_cdb_inquiry(inq, false, 0, 36);
    c = th_fake_cmd_new(inq, 6, NULL, 0, 36);
    th_fake_cmd_run(c, th_rules_handle, r);
    th_assert_good(c);
    th_fake_cmd_free(c);
    c = read10(0, 1);
    th_assert_sense(c, TH_KEY_UNIT_ATTENTION, TH_ASC_CAPACITY_CHANGED);
    th_fake_cmd_free(c);
    c = read10(0, 1);
    th_assert_good(c);
    th_fake_cmd_free(c);
}

Test(rules_actions, corruption_is_deterministic)
{
    th_rule x;
    th_rule_init(&x);
    x.action.corrupt_bytes = 3;
    x.action.corrupt_seed = 7;
    th_rules_add(r, &x, -1);
    th_cmd *a = read10(0, 2);
    th_assert_good(a);
    size_t n;
    const uint8_t *da = th_fake_data_in(a, &n);
    int diffs = 0;
    for (size_t i = 0; i < n; i++) diffs += da[i] != media[i];
    cr_assert(diffs >= 1 && diffs <= 3, "%d bytes differ", diffs);
    th_rules_clear(r);
    th_rules_add(r, &x, -1);
    th_cmd *b = read10(0, 2);
    size_t m;
    const uint8_t *db = th_fake_data_in(b, &m);
    cr_assert_arr_eq(da, db, n);
    th_fake_cmd_free(a);
    th_fake_cmd_free(b);
}

Test(rules_actions, trace_lines_name_the_rule_and_the_sense)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    th_rules_set_trace(r, f, 0);
    th_rule x = medium_error(TH_INFO_LBA);
    snprintf(x.name, sizeof(x.name), "bad-sector");
    th_rules_add(r, &x, -1);
    th_fake_cmd_free(read10(20, 1));
    th_fake_cmd_free(read10(0, 1));
    uint16_t id = 9;
    th_rules_on_tmr(r, 1, &id, 1);
    th_rules_set_trace(r, NULL, 0);
    fclose(f);
    cr_assert(strstr(buf, "\"op\":\"READ_10\""), "%s", buf);
    cr_assert(strstr(buf, "\"rule\":\"bad-sector\""), "%s", buf);
    cr_assert(strstr(buf, "\"key\":\"MEDIUM_ERROR\",\"asc\":17,\"ascq\":0,\"info\":20"), "%s", buf);
    cr_assert(strstr(buf, "\"lba\":0,\"blocks\":1,\"status\":0,\"sense\":null"), "%s", buf);
    cr_assert(strstr(buf, "\"tmr\":\"ABORT_TASK\",\"ids\":[9]"), "%s", buf);
    free(buf);
}
