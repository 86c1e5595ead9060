/* The indexed engine against a reference: a plain scan of the table written here, fed
 * the same random rules (overlapping LBA ranges, range lists, wildcard and per-opcode,
 * nth/every/after/times/probability), the same random adds at any index and removes,
 * and thousands of commands. Each command must be answered by the rule the scan picks,
 * and every rule's fired count must agree. */
#include "cmd/cmd_handler.h"
#include "rules_fixture.h"

TestSuite(rules_diff, .init = rules_setup, .fini = rules_teardown);

#define LBA_SPACE 2000
#define MAX_RULES 4000

typedef struct ref_rule {
    int id;
    char name[8];
    int op;
    int lba; /* 0 none, 1 range, 2 list */
    uint64_t lo, hi;
    th_lba_range list[4];
    size_t n_list;
    uint64_t nth, every, after, times;
    double p;
    uint64_t rng, seen, fired;
} ref_rule;

static ref_rule table[MAX_RULES];
static size_t n_table;
static uint64_t state = 0x1234abcd9876ull;

static uint64_t rnd(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static uint64_t below(uint64_t n)
{
    return rnd() % n;
}

static uint64_t ref_xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static bool ref_overlaps(const ref_rule *x, bool has_lba, uint64_t first, uint64_t last)
{
    if (!x->lba) return true;
    if (!has_lba) return false;
    if (x->lba == 1) return first <= x->hi && last >= x->lo;
    for (size_t i = 0; i < x->n_list; i++)
        if (first <= x->list[i].last && last >= x->list[i].first) return true;
    return false;
}

/* The scan: the index of the rule that fires, -1 none. */
static int ref_pick(uint8_t op, bool has_lba, uint64_t first, uint64_t last)
{
    for (size_t i = 0; i < n_table; i++) {
        ref_rule *x = &table[i];
        if (x->times && x->fired >= x->times) continue;
        if (x->op >= 0 && x->op != op) continue;
        if (!ref_overlaps(x, has_lba, first, last)) continue;
        uint64_t k = ++x->seen;
        if (x->nth && k != x->nth) continue;
        if (x->every && k % x->every) continue;
        if (x->after && k <= x->after) continue;
        if (x->p > 0 && x->p < 1 &&
            (double)(ref_xorshift(&x->rng) >> 11) / (double)(1ull << 53) >= x->p)
            continue;
        x->fired++;
        return (int)i;
    }
    return -1;
}

static const int ops[] = {-1, 0x28, 0x28, 0x88, 0x2a};

static void random_rule(ref_rule *x, th_rule *t)
{
    memset(x, 0, sizeof(*x));
    th_rule_init(t);
    snprintf(x->name, sizeof(x->name), "n%d", (int)below(50)); /* names repeat */
    snprintf(t->name, sizeof(t->name), "%s", x->name);
    x->op = t->match.op = ops[below(5)];
    int k = (int)below(4); /* none, a range, a list (a range twice as often) */
    x->lba = k == 3 ? 1 : k;
    if (x->lba == 1) {
        x->lo = below(LBA_SPACE);
        x->hi = x->lo + below(below(4) ? 20 : 400);
        t->match.lba_set = true, t->match.lba_lo = x->lo, t->match.lba_hi = x->hi;
    } else if (x->lba == 2) {
        x->n_list = 1 + below(4);
        for (size_t i = 0; i < x->n_list; i++) {
            x->list[i].first = below(LBA_SPACE);
            x->list[i].last = x->list[i].first + below(30);
        }
        t->match.ranges_set = true, t->match.ranges = x->list, t->match.n_ranges = x->n_list;
    }
    switch (below(6)) {
    case 0:
        x->nth = t->match.nth = 1 + below(5);
        break;
    case 1:
        x->every = t->match.every = 2 + below(3);
        break;
    case 2:
        x->after = t->match.after = below(5);
        break;
    case 3:
        x->p = t->match.probability = 0.5, t->match.seed = x->rng = 1 + below(1000);
        break;
    default:
        break;
    }
    if (!x->rng) x->rng = 0x9e3779b97f4a7c15ull;
    if (!below(4)) x->times = t->times = 1 + below(4);
    t->action.pass = false;
    t->action.status = TH_STATUS_BUSY;
}

static int next_id;

static void add_random(void)
{
    if (n_table == MAX_RULES) return;
    ref_rule x;
    th_rule t;
    random_rule(&x, &t);
    size_t at = below(4) ? below(n_table + 1) : n_table;
    cr_assert_eq(th_rules_add(r, &t, (int)at), (int)at);
    x.id = next_id++;
    memmove(table + at + 1, table + at, (n_table - at) * sizeof(*table));
    table[at] = x;
    n_table++;
}

static void remove_random(void)
{
    char name[8];
    snprintf(name, sizeof(name), "n%d", (int)below(50));
    size_t i = 0;
    while (i < n_table && strcmp(table[i].name, name)) i++;
    cr_assert_eq(th_rules_remove(r, name), i < n_table ? 0 : -ENOENT, "%s", name);
    if (i == n_table) return;
    memmove(table + i, table + i + 1, (n_table - i - 1) * sizeof(*table));
    n_table--;
}

static void command(void)
{
    uint8_t cdb[16];
    size_t len;
    int kind = (int)below(8);
    uint64_t lba = below(LBA_SPACE + 100);
    uint32_t blocks = 1 + (uint32_t)below(below(3) ? 8 : 64);
    uint8_t op;
    if (kind == 0) {
        len = th_cdb_tur(cdb), op = 0x00;
    } else if (kind == 1) {
        len = th_cdb_read(cdb, 16, lba, blocks), op = 0x88;
    } else if (kind == 2) {
        len = th_cdb_write(cdb, 10, lba, blocks), op = 0x2a;
    } else {
        len = th_cdb_read(cdb, 10, lba, blocks), op = 0x28;
    }
    bool has_lba = kind != 0;
    int want = ref_pick(op, has_lba, lba, lba + blocks - 1);
    static uint8_t out[64 * 512];
    th_cmd *c = th_fake_cmd_new(cdb, len, kind == 2 ? out : NULL, kind == 2 ? blocks * 512u : 0,
                                kind == 2 || kind == 0 ? 0 : blocks * 512u);
    cr_assert_not_null(c);
    th_fake_cmd_run(c, th_rules_handle, r);
    int got = th_cmd_rule(c);
    th_fake_cmd_free(c);
    cr_assert_eq(got, want < 0 ? -1 : table[want].id,
                 "op 0x%02x lba %llu+%u: rule id %d, the scan says %d", op, (unsigned long long)lba,
                 blocks, got, want < 0 ? -1 : table[want].id);
}

static void compare_counters(void)
{
    cr_assert_eq(th_rules_count(r), n_table);
    for (size_t i = 0; i < n_table; i++) {
        th_rule t;
        uint64_t fired;
        cr_assert_eq(th_rules_get(r, i, &t, &fired), 0);
        cr_assert_str_eq(t.name, table[i].name, "index %zu", i);
        cr_assert_eq(fired, table[i].fired, "index %zu (%s): fired %llu, the scan says %llu", i,
                     t.name, (unsigned long long)fired, (unsigned long long)table[i].fired);
    }
}

Test(rules_diff, random_tables_and_commands_pick_what_a_scan_picks, .timeout = 120)
{
    for (int i = 0; i < 2000; i++) add_random();
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 1000; i++) command();
        for (int i = 0; i < 50; i++) remove_random();
        for (int i = 0; i < 60; i++) add_random();
        compare_counters();
    }
}

/* Few rules, so spent and counted ones matter more than the index's reach. */
Test(rules_diff, small_dense_tables_pick_what_a_scan_picks)
{
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 3; i++) add_random();
        for (int i = 0; i < 40; i++) command();
        remove_random();
        compare_counters();
    }
}
