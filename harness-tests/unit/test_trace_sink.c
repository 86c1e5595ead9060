/* The rules' trace sink: the structured entry of each command and TMR, the one JSON
 * formatter, and th_rules_set_trace writing the same lines as before. */
#include <stdlib.h>
#include <unistd.h>
#include "rules_fixture.h"

/* What the sink saw, copied (the entry's pointers live only during the call). */
typedef struct seen {
    th_trace_entry e;
    char device[65], op_name[40], rule[64];
    bool op_named, rule_named;
    uint8_t cdb[32], sense[96];
    uint16_t ids[8];
} seen;
static seen got[16];
static int n_got;

static void collect(void *arg, const th_trace_entry *e)
{
    cr_assert_eq(arg, &n_got);
    cr_assert_lt(n_got, 16);
    seen *s = &got[n_got++];
    s->e = *e;
    snprintf(s->device, sizeof(s->device), "%s", e->device);
    s->op_named = e->op_name != NULL;
    if (e->op_name) snprintf(s->op_name, sizeof(s->op_name), "%s", e->op_name);
    s->rule_named = e->rule_name != NULL;
    if (e->rule_name) snprintf(s->rule, sizeof(s->rule), "%s", e->rule_name);
    if (!e->is_tmr) memcpy(s->cdb, e->cdb, e->cdb_len < 32 ? e->cdb_len : 32);
    if (e->sense) memcpy(s->sense, e->sense, e->sense_len < 96 ? e->sense_len : 96);
    for (uint32_t i = 0; i < e->n_ids && i < 8; i++) s->ids[i] = e->ids[i];
}

static void setup(void)
{
    rules_setup();
    n_got = 0;
    th_rules_set_trace_sink(r, collect, &n_got);
}
static void teardown(void)
{
    th_rules_set_trace_sink(r, NULL, NULL);
    rules_teardown();
}
TestSuite(trace_sink, .init = setup, .fini = teardown);

static void run_read(th_rules *rules, uint64_t lba, uint32_t blocks)
{
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 10, lba, blocks);
    th_cmd *c = th_fake_cmd_new(cdb, n, NULL, 0, blocks * 512u);
    cr_assert_not_null(c);
    th_fake_cmd_run(c, th_rules_handle, rules);
    th_fake_cmd_free(c);
}

static void add_named(const char *name, bool sense)
{
    th_rule x;
    th_rule_init(&x);
    if (name) snprintf(x.name, sizeof(x.name), "%s", name);
    x.match.op = 0x28;
    x.match.lba_set = true;
    x.match.lba_lo = x.match.lba_hi = 20;
    x.action.pass = false;
    if (sense) {
        x.action.sense_set = true;
        x.action.sense = th_sense_make(TH_KEY_MEDIUM_ERROR, TH_ASC_UNRECOVERED_READ_ERROR);
        x.action.info_from = TH_INFO_LBA;
    } else {
        x.action.status = TH_STATUS_BUSY;
    }
    cr_assert_geq(th_rules_add(r, &x, -1), 0);
}

Test(trace_sink, a_passed_read_has_its_cdb_lba_length_and_no_rule)
{
    uint64_t before = th_now_ns_for_tests();
    run_read(r, 7, 2);
    cr_assert_eq(n_got, 1);
    const seen *s = &got[0];
    cr_assert(!s->e.is_tmr);
    cr_assert_geq(s->e.t_ns, before);
    cr_assert_leq(s->e.t_ns, th_now_ns_for_tests());
    cr_assert_str_eq(s->device, "d0");
    cr_assert(s->op_named);
    cr_assert_str_eq(s->op_name, "READ_10");
    cr_assert_eq(s->e.op, 0x28);
    cr_assert_eq(s->e.cdb_len, 10);
    uint8_t cdb[16];
    th_cdb_read(cdb, 10, 7, 2);
    cr_assert_arr_eq(s->cdb, cdb, 10);
    cr_assert(s->e.has_lba);
    cr_assert_eq(s->e.lba, 7);
    cr_assert_eq(s->e.blocks, 2);
    cr_assert_eq(s->e.status, TH_STATUS_GOOD);
    cr_assert(!s->e.sense_ok);
    cr_assert_eq(s->e.sense_len, 0);
    cr_assert_eq(s->e.data_in, 1024);
    cr_assert_eq(s->e.buffer, 0);
    cr_assert_eq(s->e.rule_id, -1);
    cr_assert(!s->rule_named);
    cr_assert(!s->e.aborted);
}

Test(trace_sink, a_rule_with_sense_gives_its_name_and_the_decoded_and_raw_sense)
{
    add_named("bad-sector", true);
    run_read(r, 20, 1);
    cr_assert_eq(n_got, 1);
    const seen *s = &got[0];
    cr_assert_eq(s->e.status, TH_STATUS_CHECK_CONDITION);
    cr_assert(s->e.sense_ok);
    cr_assert_eq(s->e.decoded.key, TH_KEY_MEDIUM_ERROR);
    cr_assert_eq(s->e.decoded.asc, 0x11);
    cr_assert(s->e.decoded.info_valid);
    cr_assert_eq(s->e.decoded.info, 20);
    cr_assert_geq(s->e.sense_len, 18);
    th_sense again;
    cr_assert_eq(th_sense_decode(s->sense, s->e.sense_len, &again), 0);
    cr_assert_eq(again.key, TH_KEY_MEDIUM_ERROR);
    cr_assert_geq(s->e.rule_id, 0);
    cr_assert(s->rule_named);
    cr_assert_str_eq(s->rule, "bad-sector");
    cr_assert_eq(s->e.data_in, 0);
}

Test(trace_sink, an_unnamed_rule_has_its_id_and_a_unit_attention_its_own_name)
{
    add_named(NULL, false);
    run_read(r, 20, 1);
    th_sense ua = th_sense_make(TH_KEY_UNIT_ATTENTION, TH_ASC_CAPACITY_CHANGED);
    th_rules_queue_ua(r, &ua);
    run_read(r, 0, 1);
    cr_assert_eq(n_got, 2);
    cr_assert_eq(got[0].e.status, TH_STATUS_BUSY);
    cr_assert_geq(got[0].e.rule_id, 0);
    cr_assert(!got[0].rule_named);
    cr_assert_eq(got[1].e.rule_id, -2);
    cr_assert(got[1].rule_named);
    cr_assert_str_eq(got[1].rule, "unit_attention");
    cr_assert_eq(got[1].e.decoded.key, TH_KEY_UNIT_ATTENTION);
}

Test(trace_sink, a_tmr_has_its_type_and_ids)
{
    uint16_t ids[] = {3, 9, 12};
    th_rules_on_tmr(r, TH_TMR_ABORT_TASK_SET, ids, 3);
    cr_assert_eq(n_got, 1);
    cr_assert(got[0].e.is_tmr);
    cr_assert_str_eq(got[0].device, "d0");
    cr_assert_eq(got[0].e.tmr_type, TH_TMR_ABORT_TASK_SET);
    cr_assert_eq(got[0].e.n_ids, 3);
    cr_assert_eq(got[0].e.ids_total, 3);
    cr_assert_arr_eq(got[0].ids, ids, sizeof(ids));
}

Test(trace_sink, without_op_names_the_entry_has_none_and_the_json_says_hex)
{
    th_rules *k;
    cr_assert_eq(th_rules_new(NULL, &k, "d1", th_disk_handle, d, 512, NULL), 0);
    th_rules_set_trace_sink(k, collect, &n_got);
    run_read(k, 0, 1);
    th_rules_free(k);
    cr_assert_eq(n_got, 1);
    cr_assert(!got[0].op_named);
    char line[512];
    th_trace_entry e = got[0].e;
    e.device = "d1";
    e.op_name = NULL;
    e.cdb = got[0].cdb;
    e.sense = NULL;
    th_trace_entry_json(&e, 0, line, sizeof(line));
    cr_assert(strstr(line, "\"op\":\"0x28\""), "%s", line);
}

Test(trace_sink, a_cleared_sink_is_not_called)
{
    th_rules_set_trace_sink(r, NULL, NULL);
    run_read(r, 0, 1);
    uint16_t id = 1;
    th_rules_on_tmr(r, TH_TMR_ABORT_TASK, &id, 1);
    cr_assert_eq(n_got, 0);
}

/* The lines as the trace wrote them before the sink existed (the runner parses them). */
/* A tape's SPACE shows its count (unsigned; the cdb keeps direction and CODE). */
Test(trace_sink, a_space_line_shows_its_count)
{
    uint8_t cdb[6] = {0x11, 1, 0xff, 0xff, 0xfe, 0};
    th_trace_entry e = {.device = "t0",
                        .id = 1,
                        .op = 0x11,
                        .op_name = "SPACE_6",
                        .cdb = cdb,
                        .cdb_len = 6,
                        .blocks = 2,
                        .unit = TH_XFER_COUNT,
                        .rule_id = -1};
    char line[1024];
    th_trace_entry_json(&e, 0.0, line, sizeof(line));
    cr_assert(strstr(line, "\"cdb\":\"1101fffffe00\",\"count\":2,\"status\":0,"), "%s", line);
    cr_assert(!strstr(line, "\"blocks\"") && !strstr(line, "\"bytes\""), "%s", line);
}

Test(trace_sink, the_formatter_writes_the_known_lines)
{
    uint8_t cdb[10] = {0x28, 0, 0, 0, 0, 0x14, 0, 0, 1, 0};
    th_trace_entry e = {.t_ns = 12500000000ull,
                        .device = "d0",
                        .id = 3,
                        .op = 0x28,
                        .op_name = "READ_10",
                        .cdb = cdb,
                        .cdb_len = 10,
                        .has_lba = true,
                        .lba = 20,
                        .blocks = 1,
                        .unit = TH_XFER_BLOCKS,
                        .status = 2,
                        .sense_ok = true,
                        .data_in = 0,
                        .buffer = 0,
                        .rule_id = 0,
                        .rule_name = "bad-sector"};
    e.decoded = th_sense_make(TH_KEY_MEDIUM_ERROR, TH_ASC_UNRECOVERED_READ_ERROR);
    e.decoded.info_valid = true;
    e.decoded.info = 20;
    char line[1024];
    size_t n = th_trace_entry_json(&e, 10.0, line, sizeof(line));
    const char *want =
        "{\"t\":2.500000,\"device\":\"d0\",\"id\":3,\"op\":\"READ_10\",\"cdb\":"
        "\"28000000001400000100\",\"lba\":20,\"blocks\":1,\"status\":2,\"sense\":{\"key\":"
        "\"MEDIUM_ERROR\",\"asc\":17,\"ascq\":0,\"info\":20,\"fm\":false,\"eom\":false,\"ili\":"
        "false},\"data_in\":0,\"buffer\":0,\"rule\":\"bad-sector\",\"aborted\":false}\n";
    cr_assert_str_eq(line, want);
    cr_assert_eq(n, strlen(want));

    th_trace_entry g = {.t_ns = 1000,
                        .device = "d0",
                        .id = 1,
                        .op = 0xc1,
                        .cdb = cdb,
                        .cdb_len = 1,
                        .status = 0,
                        .data_in = 36,
                        .buffer = 512,
                        .rule_id = 4,
                        .aborted = true};
    th_trace_entry_json(&g, 0, line, sizeof(line));
    cr_assert_str_eq(line, "{\"t\":0.000001,\"device\":\"d0\",\"id\":1,\"op\":\"0xC1\",\"cdb\":"
                           "\"28\",\"status\":0,\"sense\":null,\"data_in\":36,\"buffer\":512,"
                           "\"rule\":4,\"aborted\":true}\n");
    g.rule_id = -1;
    th_trace_entry_json(&g, 0, line, sizeof(line));
    cr_assert(strstr(line, "\"rule\":null,"), "%s", line);

    uint16_t ids[] = {9, 10};
    th_trace_entry t = {.t_ns = 3000000000ull,
                        .device = "d0",
                        .is_tmr = true,
                        .tmr_type = TH_TMR_ABORT_TASK,
                        .ids = ids,
                        .n_ids = 2,
                        .ids_total = 2};
    th_trace_entry_json(&t, 1.0, line, sizeof(line));
    cr_assert_str_eq(line,
                     "{\"t\":2.000000,\"device\":\"d0\",\"tmr\":\"ABORT_TASK\",\"ids\":[9,10]}\n");
    t.ids_total = 40;
    th_trace_entry_json(&t, 1.0, line, sizeof(line));
    cr_assert(strstr(line, "\"ids\":[9,10],\"ids_total\":40}\n"), "%s", line);
}

Test(trace_sink, the_formatter_reports_the_length_it_needs_and_escapes_names)
{
    uint8_t cdb[1] = {0};
    th_trace_entry e = {
        .device = "d\"0", .cdb = cdb, .cdb_len = 1, .rule_id = 0, .rule_name = "a\\b\n"};
    char big[512], small[20];
    size_t n = th_trace_entry_json(&e, 0, big, sizeof(big));
    cr_assert_eq(n, strlen(big));
    cr_assert(strstr(big, "\"device\":\"d\\\"0\""), "%s", big);
    cr_assert(strstr(big, "\"rule\":\"a\\\\b\\u000a\""), "%s", big);
    cr_assert_eq(th_trace_entry_json(&e, 0, small, sizeof(small)), n);
    cr_assert_eq(strlen(small), sizeof(small) - 1);
    cr_assert_eq(strncmp(small, big, sizeof(small) - 1), 0);
}

/* th_rules_set_trace: the built-in sink writes those lines for real commands. */
Test(trace_sink, set_trace_writes_the_same_lines_for_commands_and_tmrs)
{
    th_rules_set_trace_sink(r, NULL, NULL);
    add_named("bad-sector", true);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    double t0 = (double)th_now_ns_for_tests() / 1e9;
    th_rules_set_trace(r, f, t0);
    run_read(r, 20, 1);
    uint16_t id = 0;
    th_rules_on_tmr(r, TH_TMR_LUN_RESET, &id, 1);
    th_rules_set_trace(r, NULL, 0);
    run_read(r, 0, 1); /* not traced */
    fclose(f);
    char *second = strchr(buf, '\n');
    cr_assert_not_null(second);
    *second++ = '\0';
    double t;
    int off = 0;
    cr_assert_eq(sscanf(buf, "{\"t\":%lf,%n", &t, &off), 1, "%s", buf);
    cr_assert(t >= 0 && t < 60, "%s", buf);
    long lat = -1;
    char *lat_at = strstr(buf, "\"lat_us\":");
    cr_assert_not_null(lat_at, "%s", buf);
    cr_assert_eq(sscanf(lat_at, "\"lat_us\":%ld}", &lat), 1, "%s", buf);
    cr_assert(lat >= 0 && lat < 60000000, "%s", buf);
    lat_at[strlen("\"lat_us\":")] = '\0'; /* the latency varies: checked above */
    cr_assert_str_eq(buf + off,
                     "\"device\":\"d0\",\"id\":0,\"op\":\"READ_10\",\"cdb\":"
                     "\"28000000001400000100\",\"lba\":20,\"blocks\":1,\"status\":2,\"sense\":{"
                     "\"key\":\"MEDIUM_ERROR\",\"asc\":17,\"ascq\":0,\"info\":20,\"fm\":false,"
                     "\"eom\":false,\"ili\":false},\"data_in\":0,\"buffer\":0,\"rule\":\"bad-"
                     "sector\",\"aborted\":false,\"lat_us\":");
    cr_assert_eq(sscanf(second, "{\"t\":%lf,%n", &t, &off), 1, "%s", second);
    cr_assert_str_eq(second + off, "\"device\":\"d0\",\"tmr\":\"LUN_RESET\",\"ids\":[0]}\n");
    free(buf);
}

/* The latency is the time from the rules' first look to the answer: a delayed command's
 * includes its delay; a command the rules never saw (a fake command's sink call with no
 * arrival time) has none, so no reader mistakes 0 for instant. */
Test(trace_sink, a_delayed_command_has_its_delay_in_lat_us_and_an_unseen_one_has_none)
{
    th_rule x;
    th_rule_init(&x);
    x.match.op = 0x28;
    x.action.pass = true;
    x.action.delay_ms = 30;
    cr_assert_geq(th_rules_add(r, &x, -1), 0);
    uint8_t cdb[16];
    th_cmd *c = th_fake_cmd_new(cdb, th_cdb_read(cdb, 10, 5, 1), NULL, 0, 512);
    cr_assert_eq(th_fake_cmd_run(c, th_rules_handle, r), TH_CMD_DEFERRED);
    while (!th_fake_cmd_done(c)) usleep(1000);
    th_fake_cmd_free(c);
    cr_assert_eq(n_got, 1);
    /* the entry's pointers lived only during the sink's call: point them at the copies */
    th_trace_entry copy = got[0].e;
    copy.cdb = got[0].cdb;
    copy.device = got[0].device;
    copy.op_name = got[0].op_named ? got[0].op_name : NULL;
    copy.rule_name = got[0].rule_named ? got[0].rule : NULL;
    copy.sense = NULL;
    const th_trace_entry *e = &copy;
    cr_assert_neq(e->in_ns, 0);
    cr_assert_geq(e->t_ns - e->in_ns, 30000000ull);
    char line[1024];
    th_trace_entry_json(e, 0, line, sizeof(line));
    long lat = -1;
    cr_assert_eq(sscanf(strstr(line, "\"lat_us\":"), "\"lat_us\":%ld}", &lat), 1, "%s", line);
    cr_assert_geq(lat, 30000, "%s", line);
    th_trace_entry unseen = *e;
    unseen.in_ns = 0;
    th_trace_entry_json(&unseen, 0, line, sizeof(line));
    cr_assert_null(strstr(line, "lat_us"), "%s", line);
}
