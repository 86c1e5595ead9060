/* First match in table order with overlapping rules: the indexed engine picks the rule a
 * scan of the table would, and only the rules before it count the command. */
#include "cmd/cmd_handler.h"
#include "rules_fixture.h"

TestSuite(rules_order, .init = rules_setup, .fini = rules_teardown);

/* A rule answering status st, named name, for [lo, hi] (lo > hi: any LBA), op (-1 any). */
static th_rule rule_of(const char *name, int op, uint64_t lo, uint64_t hi, uint8_t st)
{
    th_rule x;
    th_rule_init(&x);
    snprintf(x.name, sizeof(x.name), "%s", name);
    x.match.op = op;
    if (lo <= hi) x.match.lba_set = true, x.match.lba_lo = lo, x.match.lba_hi = hi;
    x.action.pass = false;
    x.action.status = st;
    return x;
}

static void add(const th_rule *x, int at)
{
    cr_assert_geq(th_rules_add(r, x, at), 0, "%s", x->name);
}

static const char *name_at(size_t i)
{
    static th_rule x;
    uint64_t f;
    cr_assert_eq(th_rules_get(r, i, &x, &f), 0);
    return x.name;
}

Test(rules_order, overlapping_lba_ranges_the_earlier_rule_wins)
{
    th_rule wide = rule_of("wide", 0x28, 0, 1000, TH_STATUS_BUSY);
    th_rule narrow = rule_of("narrow", 0x28, 10, 20, TH_STATUS_TASK_SET_FULL);
    add(&wide, -1);   /* id 0 */
    add(&narrow, -1); /* id 1: shadowed where wide covers */
    cr_assert_eq(read_rule(15, 1), 0);
    cr_assert_eq(th_rules_fired(r, 1), 0);
    th_rules_remove(r, "wide");
    cr_assert_eq(read_rule(15, 1), 1);
    cr_assert_eq(read_rule(30, 1), -1);
}

Test(rules_order, a_range_rule_before_a_wildcard_wins_only_where_it_covers)
{
    th_rule any = rule_of("any", -1, 1, 0, TH_STATUS_BUSY);
    th_rule range = rule_of("range", 0x28, 100, 199, TH_STATUS_TASK_SET_FULL);
    add(&any, -1);  /* id 0 */
    add(&range, 0); /* id 1, before it */
    cr_assert_eq(read_rule(150, 8), 1);
    cr_assert_eq(read_rule(199, 8), 1); /* overlaps by its first block */
    cr_assert_eq(read_rule(200, 8), 0);
    cr_assert_eq(read_rule(92, 8), 0); /* 92-99 */
    cr_assert_eq(read_rule(92, 9), 1); /* 92-100 */
}

Test(rules_order, op_specific_and_wildcard_rules_keep_table_order)
{
    th_rule any = rule_of("any", -1, 1, 0, TH_STATUS_BUSY);
    th_rule rd = rule_of("read10", 0x28, 1, 0, TH_STATUS_TASK_SET_FULL);
    th_rule other = rule_of("read16", 0x88, 1, 0, TH_STATUS_RESERVATION_CONFLICT);
    add(&rd, -1);    /* id 0 */
    add(&any, -1);   /* id 1 */
    add(&other, -1); /* id 2 */
    cr_assert_eq(read_rule(0, 1), 0);
    th_rules_remove(r, "read10");
    cr_assert_eq(read_rule(0, 1), 1);
    add(&rd, 1); /* id 3, after any */
    cr_assert_eq(read_rule(0, 1), 1);
    cr_assert_str_eq(name_at(0), "any");
    cr_assert_str_eq(name_at(1), "read10");
    cr_assert_str_eq(name_at(2), "read16");
}

Test(rules_order, insert_at_zero_middle_and_end_lands_at_that_index)
{
    char name[16];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "e%d", i);
        th_rule x = rule_of(name, 0x28, 100, 100, TH_STATUS_BUSY);
        add(&x, -1);
    }
    th_rule first = rule_of("first", 0x28, 0, 200, TH_STATUS_BUSY);
    th_rule mid = rule_of("mid", 0x28, 0, 200, TH_STATUS_BUSY);
    th_rule last = rule_of("last", 0x28, 0, 200, TH_STATUS_BUSY);
    cr_assert_eq(th_rules_add(r, &first, 0), 0);
    cr_assert_eq(th_rules_add(r, &mid, 3), 3);
    cr_assert_eq(th_rules_add(r, &last, 99), 7); /* past the end: appended */
    const char *want[] = {"first", "e0", "e1", "mid", "e2", "e3", "e4", "last"};
    cr_assert_eq(th_rules_count(r), 8);
    for (size_t i = 0; i < 8; i++) cr_assert_str_eq(name_at(i), want[i], "index %zu", i);
    cr_assert_eq(read_rule(100, 1), 5); /* first: id 5 */
    th_rules_remove(r, "first");
    cr_assert_eq(read_rule(100, 1), 0); /* e0 */
    cr_assert_eq(read_rule(150, 1), 6); /* mid: e* cover 100 only */
}

/* Many inserts into one gap: the order keys renumber and the order holds. */
Test(rules_order, repeated_inserts_at_one_index_keep_order)
{
    th_rule a = rule_of("a", 0x28, 1, 0, TH_STATUS_BUSY), z = rule_of("z", 0x28, 1, 0, 0);
    add(&a, -1);
    add(&z, -1);
    char name[16];
    for (int i = 0; i < 300; i++) { /* each at index 1: newest first after a */
        snprintf(name, sizeof(name), "m%d", i);
        th_rule x = rule_of(name, 0x28, 1, 0, TH_STATUS_BUSY);
        add(&x, 1);
    }
    for (int i = 0; i < 300; i++) { /* each just before z */
        snprintf(name, sizeof(name), "n%d", i);
        th_rule x = rule_of(name, 0x28, 1, 0, TH_STATUS_BUSY);
        add(&x, (int)th_rules_count(r) - 1);
    }
    cr_assert_str_eq(name_at(0), "a");
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "m%d", 299 - i);
        cr_assert_str_eq(name_at((size_t)i + 1), name);
        snprintf(name, sizeof(name), "n%d", i);
        cr_assert_str_eq(name_at((size_t)i + 301), name);
    }
    cr_assert_str_eq(name_at(601), "z");
    th_rules_remove(r, "a");
    cr_assert_eq(read_rule(0, 1), 301); /* m299 (ids: a 0, z 1, m 2.., n 302..) */
}

Test(rules_order, a_rule_after_the_one_that_fires_is_not_seen)
{
    th_rule first = rule_of("first", 0x28, 0, 100, TH_STATUS_BUSY);
    first.times = 2;
    th_rule second = rule_of("second", 0x28, 50, 60, TH_STATUS_TASK_SET_FULL);
    second.match.nth = 1; /* fires on the first command it sees */
    add(&first, -1);
    add(&second, -1);
    cr_assert_eq(read_rule(55, 1), 0);
    cr_assert_eq(read_rule(55, 1), 0);
    /* first is spent: second sees its first command only now */
    cr_assert_eq(read_rule(55, 1), 1);
    cr_assert_eq(read_rule(55, 1), -1);
    cr_assert_eq(th_rules_fired(r, 0), 2);
    cr_assert_eq(th_rules_fired(r, 1), 1);
}

Test(rules_order, counters_of_overlapping_rules_advance_as_in_a_scan)
{
    /* every: 2 on a wide range, after: 1 on a narrow one behind it, nth: 3 on a wildcard. */
    th_rule ev = rule_of("every2", 0x28, 0, 1000, TH_STATUS_BUSY);
    ev.match.every = 2;
    th_rule af = rule_of("after1", 0x28, 10, 20, TH_STATUS_TASK_SET_FULL);
    af.match.after = 1;
    th_rule nt = rule_of("nth3", -1, 1, 0, TH_STATUS_RESERVATION_CONFLICT);
    nt.match.nth = 3;
    add(&ev, -1);
    add(&af, -1);
    add(&nt, -1);
    /* cmd 1 at 15: ev seen 1 (no), af seen 1 (no, after 1), nt seen 1 (no) -> none
     * cmd 2 at 15: ev seen 2 fires
     * cmd 3 at 15: ev 3 no, af 2 fires
     * cmd 4 at 500: ev 4 fires
     * cmd 5 at 500: ev 5 no, af not a candidate, nt 2 no -> none
     * cmd 6 at 500: ev 6 fires
     * cmd 7 at 500: ev 7 no, nt 3 fires */
    int want[] = {-1, 0, 1, 0, -1, 0, 2};
    uint64_t lba[] = {15, 15, 15, 500, 500, 500, 500};
    for (int i = 0; i < 7; i++) cr_assert_eq(read_rule(lba[i], 1), want[i], "command %d", i + 1);
    cr_assert_eq(th_rules_fired(r, 0), 3);
    cr_assert_eq(th_rules_fired(r, 1), 1);
    cr_assert_eq(th_rules_fired(r, 2), 1);
}

Test(rules_order, remove_takes_the_first_of_a_name)
{
    th_rule a = rule_of("dup", 0x28, 0, 10, TH_STATUS_BUSY);
    th_rule b = rule_of("dup", 0x28, 0, 10, TH_STATUS_TASK_SET_FULL);
    add(&a, -1); /* id 0 */
    add(&b, 0);  /* id 1, first in the table */
    cr_assert_eq(th_rules_remove(r, "dup"), 0);
    cr_assert_eq(read_rule(0, 1), 0);
    cr_assert_eq(th_rules_remove(r, "dup"), 0);
    cr_assert_eq(th_rules_remove(r, "dup"), -ENOENT);
    cr_assert_eq(read_rule(0, 1), -1);
}

Test(rules_order, clear_then_add_starts_an_empty_table)
{
    th_rule a = rule_of("a", 0x28, 0, 10, TH_STATUS_BUSY);
    add(&a, -1);
    th_rules_clear(r);
    cr_assert_eq(read_rule(0, 1), -1);
    cr_assert_eq(th_rules_remove(r, "a"), -ENOENT);
    add(&a, -1); /* id 1 */
    cr_assert_eq(read_rule(0, 1), 1);
}

Test(rules_order, a_range_list_matches_any_of_its_ranges_and_info_is_the_first_bad_lba)
{
    th_lba_range g[] = {{300, 300}, {100, 104}, {105, 110}, {50, 60}, {55, 58}};
    th_rule x = rule_of("list", 0x28, 1, 0, 0);
    x.action.status = -1;
    x.action.sense_set = true;
    x.action.sense = (th_sense){.key = TH_KEY_MEDIUM_ERROR, .asc = 0x11};
    x.action.info_from = TH_INFO_LBA;
    x.match.ranges_set = true;
    x.match.ranges = g;
    x.match.n_ranges = 5;
    add(&x, -1);
    th_rule got;
    uint64_t f;
    cr_assert_eq(th_rules_get(r, 0, &got, &f), 0);
    cr_assert_eq(got.match.n_ranges, 3); /* 50-60, 100-110, 300 */
    cr_assert_null(got.match.ranges);
    cr_assert_eq(read_rule(61, 39), -1); /* 61-99 */
    cr_assert_eq(read_rule(301, 8), -1);
    uint64_t at[] = {40, 96, 299, 108};
    uint64_t info[] = {50, 100, 300, 108};
    for (int i = 0; i < 4; i++) {
        uint8_t cdb[16];
        size_t n = th_cdb_read(cdb, 10, at[i], 16);
        th_cmd *c = th_fake_cmd_new(cdb, n, NULL, 0, 16 * 512u);
        th_fake_cmd_run(c, th_rules_handle, r);
        th_sense s;
        cr_assert_eq(th_fake_sense(c, &s), 0, "read at %llu", (unsigned long long)at[i]);
        cr_assert_eq(s.info, info[i], "read at %llu", (unsigned long long)at[i]);
        th_fake_cmd_free(c);
    }
}

Test(rules_order, an_empty_range_list_matches_nothing_and_bad_lists_are_refused)
{
    th_rule x = rule_of("empty", 0x28, 1, 0, TH_STATUS_BUSY);
    x.match.ranges_set = true;
    add(&x, -1);
    cr_assert_eq(read_rule(0, 1), -1);
    th_lba_range bad = {10, 5};
    x.match.ranges = &bad;
    x.match.n_ranges = 1;
    cr_assert_eq(th_rules_add(r, &x, -1), -EINVAL);
    bad.last = 20;
    x.match.lba_set = true;
    cr_assert_eq(th_rules_add(r, &x, -1), -EINVAL);
}
