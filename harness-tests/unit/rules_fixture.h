/* The rules suites' fixture: a rules engine named d0 in front of a 1024-block disk. */
#ifndef TH_TEST_RULES_FIXTURE_H
#define TH_TEST_RULES_FIXTURE_H
#include "cmd/cmd_handler.h"
#include "helpers.h"

static th_disk *d;
static th_rules *r;

static inline void rules_setup(void)
{
    d = test_disk(1024, 512);
    cr_assert_eq(th_rules_new(NULL, &r, "d0", th_disk_handle, d, 512, th_disk_op_name), 0);
}

static inline void rules_teardown(void)
{
    th_rules_free(r);
    th_disk_free(d);
}

/* A READ(10) of one block at lba, not yet run. */
static inline th_cmd *new_read(uint64_t lba)
{
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 10, lba, 1);
    th_cmd *c = th_fake_cmd_new(cdb, n, NULL, 0, 512);
    cr_assert_not_null(c);
    return c;
}

/* A READ(10) of blocks at lba run through the fixture's rules: the rule id that answered
 * (-1 none). */
static inline int read_rule(uint64_t lba, uint32_t blocks)
{
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 10, lba, blocks);
    th_cmd *c = th_fake_cmd_new(cdb, n, NULL, 0, blocks * 512u);
    th_fake_cmd_run(c, th_rules_handle, r);
    int id = th_cmd_rule(c);
    th_fake_cmd_free(c);
    return id;
}

/* Appends a rule that hangs every command. */
static inline void add_hang_all(th_rules *rules)
{
    th_rule x;
    th_rule_init(&x);
    x.action.hang = true;
    cr_assert_geq(th_rules_add(rules, &x, -1), 0);
}

#endif
