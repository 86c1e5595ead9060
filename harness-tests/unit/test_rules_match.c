/* Rule matching: opcode, LBA overlap, length, CDB mask, occurrence, probability, state. */
#include "rules_fixture.h"

TestSuite(rules_match, .init = rules_setup, .fini = rules_teardown);

static th_rule busy_rule(void)
{
    th_rule x;
    th_rule_init(&x);
    x.action.pass = false;
    x.action.status = TH_STATUS_BUSY;
    return x;
}

static uint8_t status_of_read(int size, uint64_t lba, uint32_t blocks)
{
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, size, lba, blocks);
    th_cmd *c = th_fake_cmd_new(cdb, n, NULL, 0, blocks * 512u);
    th_fake_cmd_run(c, th_rules_handle, r);
    uint8_t st = th_cmd_get_status(c);
    th_fake_cmd_free(c);
    return st;
}

Test(rules_match, no_rules_passes_to_the_emulation)
{
    cr_assert_eq(status_of_read(10, 0, 1), TH_STATUS_GOOD);
}

Test(rules_match, opcode_matches_only_that_opcode)
{
    th_rule x = busy_rule();
    x.match.op = 0x88;
    th_rules_add(r, &x, -1);
    cr_assert_eq(status_of_read(10, 0, 1), TH_STATUS_GOOD);
    cr_assert_eq(status_of_read(16, 0, 1), TH_STATUS_BUSY);
}

Test(rules_match, lba_range_matches_on_overlap)
{
    th_rule x = busy_rule();
    x.match.lba_set = true;
    x.match.lba_lo = 100;
    x.match.lba_hi = 107;
    th_rules_add(r, &x, -1);
    cr_assert_eq(status_of_read(10, 96, 4), TH_STATUS_GOOD); /* 96-99 */
    cr_assert_eq(status_of_read(10, 96, 5), TH_STATUS_BUSY); /* 96-100 */
    cr_assert_eq(status_of_read(10, 107, 8), TH_STATUS_BUSY);
    cr_assert_eq(status_of_read(10, 108, 8), TH_STATUS_GOOD);
    cr_assert_eq(status_of_read(6, 0, 256), TH_STATUS_BUSY); /* READ(6) of 256 blocks */
}

Test(rules_match, transfer_length_range)
{
    th_rule x = busy_rule();
    x.match.len_set = true;
    x.match.len_lo = 8;
    x.match.len_hi = 16;
    th_rules_add(r, &x, -1);
    cr_assert_eq(status_of_read(10, 0, 7), TH_STATUS_GOOD);
    cr_assert_eq(status_of_read(10, 0, 8), TH_STATUS_BUSY);
    cr_assert_eq(status_of_read(10, 0, 17), TH_STATUS_GOOD);
}

Test(rules_match, raw_cdb_bytes_with_mask)
{
    th_rule x = busy_rule();
    x.match.cdb_n = 2;
    x.match.cdb[0] = 0x28;
    x.match.cdb_mask[0] = 0xff;
    x.match.cdb[1] = 0x08; /* FUA set */
    x.match.cdb_mask[1] = 0x08;
    th_rules_add(r, &x, -1);
    cr_assert_eq(status_of_read(10, 0, 1), TH_STATUS_GOOD);
    uint8_t cdb[16];
    th_cdb_read(cdb, 10, 0, 1);
    cdb[1] |= 0x08;
    th_cmd *c = th_fake_cmd_new(cdb, 10, NULL, 0, 512);
    th_fake_cmd_run(c, th_rules_handle, r);
    th_assert_status(c, TH_STATUS_BUSY);
    th_fake_cmd_free(c);
}

Test(rules_match, nth_occurrence_only)
{
    th_rule x = busy_rule();
    x.match.op = 0x28;
    x.match.nth = 3;
    th_rules_add(r, &x, -1);
    uint8_t seen[5];
    for (int i = 0; i < 5; i++) seen[i] = status_of_read(10, 0, 1);
    uint8_t want[5] = {0, 0, TH_STATUS_BUSY, 0, 0};
    cr_assert_arr_eq(seen, want, 5);
}

Test(rules_match, every_nth_and_after_n)
{
    th_rule x = busy_rule();
    x.match.op = 0x28;
    x.match.every = 2;
    x.match.after = 2;
    th_rules_add(r, &x, -1);
    uint8_t seen[6];
    for (int i = 0; i < 6; i++) seen[i] = status_of_read(10, 0, 1);
    uint8_t want[6] = {0, 0, 0, TH_STATUS_BUSY, 0, TH_STATUS_BUSY};
    cr_assert_arr_eq(seen, want, 6);
}

Test(rules_match, probability_is_deterministic_for_a_seed)
{
    uint8_t first[64], second[64];
    for (int run = 0; run < 2; run++) {
        th_rules_clear(r);
        th_rule x = busy_rule();
        x.match.probability = 0.5;
        x.match.seed = 42;
        th_rules_add(r, &x, -1);
        for (int i = 0; i < 64; i++) (run ? second : first)[i] = status_of_read(10, 0, 1);
    }
    cr_assert_arr_eq(first, second, 64);
    int busy = 0;
    for (int i = 0; i < 64; i++) busy += first[i] == TH_STATUS_BUSY;
    cr_assert(busy > 16 && busy < 48, "%d of 64", busy);
}

Test(rules_match, state_machine_between_rules)
{
    th_rule arm;
    th_rule_init(&arm);
    arm.match.op = 0x00; /* a TEST UNIT READY arms the fault */
    snprintf(arm.action.set_state, sizeof(arm.action.set_state), "armed");
    th_rules_add(r, &arm, -1);
    th_rule x = busy_rule();
    snprintf(x.match.state, sizeof(x.match.state), "armed");
    th_rules_add(r, &x, -1);
    cr_assert_eq(status_of_read(10, 0, 1), TH_STATUS_GOOD);
    uint8_t tur[6] = {0};
    th_cmd *c = th_fake_cmd_new(tur, 6, NULL, 0, 0);
    th_fake_cmd_run(c, th_rules_handle, r);
    th_assert_good(c); /* the arming rule passes through */
    th_fake_cmd_free(c);
    cr_assert_eq(status_of_read(10, 0, 1), TH_STATUS_BUSY);
    char buf[32];
    cr_assert_str_eq(th_rules_state(r, buf, sizeof(buf)), "armed");
}

Test(rules_match, times_limits_and_first_match_wins)
{
    th_rule a = busy_rule();
    a.times = 2;
    th_rules_add(r, &a, -1);
    th_rule b = busy_rule();
    b.action.status = TH_STATUS_TASK_SET_FULL;
    b.times = 1;
    th_rules_add(r, &b, -1);
    uint8_t seen[4];
    for (int i = 0; i < 4; i++) seen[i] = status_of_read(10, 0, 1);
    uint8_t want[4] = {TH_STATUS_BUSY, TH_STATUS_BUSY, TH_STATUS_TASK_SET_FULL, 0};
    cr_assert_arr_eq(seen, want, 4);
    cr_assert_eq(th_rules_fired(r, 0), 2);
    cr_assert_eq(th_rules_fired(r, 1), 1);
}

Test(rules_match, until_and_after_state)
{
    th_rule before = busy_rule();
    snprintf(before.until_state, sizeof(before.until_state), "healed");
    th_rules_add(r, &before, -1);
    th_rule later = busy_rule();
    later.action.status = TH_STATUS_RESERVATION_CONFLICT;
    snprintf(later.after_state, sizeof(later.after_state), "healed");
    th_rules_add(r, &later, -1);
    cr_assert_eq(status_of_read(10, 0, 1), TH_STATUS_BUSY);
    th_rules_set_state(r, "healed");
    cr_assert_eq(status_of_read(10, 0, 1), TH_STATUS_RESERVATION_CONFLICT);
    th_rules_set_state(r, "other"); /* "until" stays spent, "after" stays live */
    cr_assert_eq(status_of_read(10, 0, 1), TH_STATUS_RESERVATION_CONFLICT);
}

Test(rules_match, remove_by_name)
{
    th_rule x = busy_rule();
    snprintf(x.name, sizeof(x.name), "flaky");
    th_rules_add(r, &x, -1);
    cr_assert_eq(status_of_read(10, 0, 1), TH_STATUS_BUSY);
    cr_assert_eq(th_rules_remove(r, "flaky"), 0);
    cr_assert_eq(th_rules_remove(r, "flaky"), -ENOENT);
    cr_assert_eq(status_of_read(10, 0, 1), TH_STATUS_GOOD);
}

Test(rules_match, failures_are_a_negative_errno_with_a_message_in_the_context)
{
    th_ctx *ctx;
    cr_assert_eq(th_ctx_new(&ctx), 0);
    th_rules *k;
    cr_assert_eq(th_rules_new(ctx, &k, "d1", NULL, NULL, 512, NULL), -EINVAL);
    cr_assert_null(k);
    cr_assert(strstr(th_ctx_errmsg(ctx), "no handler"), "%s", th_ctx_errmsg(ctx));
    cr_assert_eq(th_rules_new(ctx, &k, "d1", th_disk_handle, d, 512, NULL), 0);
    cr_assert_eq(th_rules_remove(k, "absent"), -ENOENT);
    cr_assert(strstr(th_ctx_errmsg(ctx), "no rule named absent"), "%s", th_ctx_errmsg(ctx));
    char longname[64];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[63] = 0;
    cr_assert_eq(th_rules_set_state(k, longname), -EINVAL);
    cr_assert(strstr(th_ctx_errmsg(ctx), "state name"), "%s", th_ctx_errmsg(ctx));
    th_rules_free(k);
    th_ctx_free(ctx);
}

/* States a scenario enters are remembered however many it names: an after_state rule
 * waiting for the 300th state fires once it was entered, an until_state rule for it
 * stops; with a fixed table the 33rd on never counted as entered. */
Test(rules_match, after_and_until_state_see_every_state_entered)
{
    th_rule a, u;
    th_rule_init(&a);
    snprintf(a.name, sizeof(a.name), "after");
    a.match.op = 0x28;
    a.action.status = TH_STATUS_BUSY;
    snprintf(a.after_state, sizeof(a.after_state), "s299");
    th_rule_init(&u);
    snprintf(u.name, sizeof(u.name), "until");
    u.match.op = 0x28;
    u.action.status = TH_STATUS_TASK_SET_FULL;
    snprintf(u.until_state, sizeof(u.until_state), "s299");
    int ia = th_rules_add(r, &a, -1), iu = th_rules_add(r, &u, -1);
    cr_assert_geq(ia, 0);
    cr_assert_geq(iu, 0);
    for (int i = 0; i < 299; i++) {
        char st[32];
        snprintf(st, sizeof(st), "s%d", i);
        cr_assert_eq(th_rules_set_state(r, st), 0);
    }
    cr_assert_eq(read_rule(0, 1), iu, "before s299: until fires, after waits");
    cr_assert_eq(th_rules_set_state(r, "s299"), 0);
    cr_assert_eq(th_rules_set_state(r, "s0"), 0); /* leaving it: it was still entered */
    cr_assert_eq(read_rule(0, 1), ia, "after s299: after fires, until is over");
}
