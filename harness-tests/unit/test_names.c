/* The name lists (X-macros in th/): every entry's value, name and parsing agree,
 * and the ASC/ASCQ table is sorted as its binary search needs. */
#include "cmd/sense_table.h"
#include "helpers.h"

Test(names, the_asc_table_is_sorted_by_code_and_ends_in_a_sentinel)
{
    cr_assert_gt(th_asc_table_len, 0);
    for (size_t i = 1; i < th_asc_table_len; i++)
        cr_assert_lt(th_asc_table[i - 1].code, th_asc_table[i].code, "%s before %s",
                     th_asc_table[i - 1].name, th_asc_table[i].name);
    cr_assert_null(th_asc_table[th_asc_table_len].name);
}

Test(names, every_asc_round_trips_name_to_code_to_name_and_has_a_text)
{
    for (size_t i = 0; i < th_asc_table_len; i++) {
        const th_asc_entry *e = &th_asc_table[i];
        uint8_t asc = (uint8_t)(e->code >> 8), ascq = (uint8_t)e->code;
        cr_assert_eq(th_asc_from_name(e->name), e->code, "%s", e->name);
        cr_assert_str_eq(th_asc_name(asc, ascq), e->name);
        cr_assert_not_null(th_sense_asc_text(asc, ascq), "%s", e->name);
        cr_assert_str_eq(th_sense_asc_text(asc, ascq), e->text);
    }
    cr_assert_eq(th_asc_from_name("invalid field in cdb"), TH_ASC_INVALID_FIELD_IN_CDB);
    cr_assert_eq(th_asc_from_name("no-such-asc"), -1);
    cr_assert_null(th_asc_name(0xff, 0xff));
    cr_assert_null(th_sense_asc_text(0x24, 0x77));
}

/* Every value 0..255 either has a name that parses back to it, or none. */
Test(names, every_status_round_trips)
{
    int named = 0;
    for (int v = 0; v < 256; v++) {
        const char *n = th_status_name((uint8_t)v);
        if (!n) continue;
        named++;
        cr_assert_eq(th_status_from_name(n), v, "%s", n);
    }
#define COUNT_(name, value) +1
    cr_assert_eq(named, 0 TH_STATUS_MAP(COUNT_));
#undef COUNT_
    cr_assert_eq(th_status_from_name("check-condition"), TH_STATUS_CHECK_CONDITION);
    cr_assert_eq(th_status_from_name("busy"), TH_STATUS_BUSY);
    cr_assert_eq(th_status_from_name("SO_SO"), -1);
}

Test(names, every_tmr_type_round_trips)
{
    int named = 0;
    for (int v = 0; v < 256; v++) {
        const char *n = th_tmr_name((uint8_t)v);
        cr_assert_not_null(n);
        if (v && !strcmp(n, "UNKNOWN")) continue;
        named++;
        cr_assert_eq(th_tmr_from_name(n), v, "%s", n);
    }
#define COUNT_(name, value) +1
    cr_assert_eq(named, 0 TH_TMR_MAP(COUNT_));
#undef COUNT_
    cr_assert_str_eq(th_tmr_name(TH_TMR_LUN_RESET_PRO), "LUN_RESET_PRO");
    cr_assert_eq(th_tmr_from_name("abort task set"), TH_TMR_ABORT_TASK_SET);
    cr_assert_eq(th_tmr_from_name("ABORT"), -1);
}

Test(names, every_log_level_round_trips)
{
    int levels = 0;
#define LEVEL_(name, text)                                                                         \
    levels++;                                                                                      \
    cr_assert_str_eq(th_log_level_name(TH_LOG_##name), text);                                      \
    cr_assert_eq(th_log_level_from_name(text), TH_LOG_##name);
    TH_LOG_LEVEL_MAP(LEVEL_)
#undef LEVEL_
    cr_assert_eq(levels, 4);
    cr_assert_eq(th_log_level_from_name("WARN"), TH_LOG_WARN);
    cr_assert_eq(th_log_level_from_name("loud"), -1);
    cr_assert_str_eq(th_log_level_name((th_log_level)9), "?");
}

Test(names, every_sense_key_round_trips)
{
    int keys = 0;
#define KEY_(name, value)                                                                          \
    keys++;                                                                                        \
    cr_assert_str_eq(th_sense_key_name(TH_KEY_##name), #name);                                     \
    cr_assert_eq(th_sense_key_from_name(#name), TH_KEY_##name);
    TH_SENSE_KEY_MAP(KEY_)
#undef KEY_
    cr_assert_eq(keys, 16);
    cr_assert_str_eq(th_sense_key_name(16), "?");
}

/* Every from-name lookup answers NULL as it answers an unknown name. */
Test(names, every_from_name_lookup_refuses_null)
{
    cr_assert_eq(th_status_from_name(NULL), -1);
    cr_assert_eq(th_asc_from_name(NULL), -1);
    cr_assert_eq(th_sense_key_from_name(NULL), -1);
    cr_assert_eq(th_tmr_from_name(NULL), -1);
    cr_assert_eq(th_log_level_from_name(NULL), -1);
}
