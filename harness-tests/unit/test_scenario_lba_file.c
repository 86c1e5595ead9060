/* A scenario's `match: {lba_file: F}`: read beside the scenario (or from an absolute
 * path in a control request), bad lines and missing files are located errors naming the
 * scenario's line and the range file's. */
#include <unistd.h>
#include "helpers.h"
#include "scenario/request.h"
#include "scenario/scenario.h"

static char dir[64], yaml[128], list[128];

static void put(const char *file, const char *text)
{
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f, "%s", file);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/th-lbaf-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(yaml, sizeof(yaml), "%s/s.yaml", dir);
    snprintf(list, sizeof(list), "%s/bad.txt", dir);
}

static void teardown(void)
{
    unlink(yaml);
    unlink(list);
    rmdir(dir);
}

TestSuite(scenario_lba_file, .init = setup, .fini = teardown);

#define HEAD "name: t\ndevices:\n  - {name: d0}\n  - {name: t0, type: tape}\n"

static int load(const char *text, scenario *sc)
{
    put(yaml, text);
    return sc_load(yaml, sc);
}

Test(scenario_lba_file, a_rule_reads_its_ranges_beside_the_scenario)
{
    put(list, "# from badblocks\n1000\n1001\n2000-2007\n");
    scenario sc;
    int rc = load(HEAD "rules:\n"
                       "  - device: d0\n"
                       "    match: {op: READ_10, lba_file: bad.txt}\n"
                       "    respond: {sense: {key: MEDIUM_ERROR, asc: 0x11, info: lba}}\n"
                       "steps:\n"
                       "  - add_rule: {device: d0, name: late, match: {lba_file: bad.txt}}\n",
                  &sc);
    cr_assert_eq(rc, 0, "%s", sc_errors(&sc));
    const th_rule_match *m = &sc.rules[0].rule.match;
    cr_assert(m->ranges_set);
    cr_assert_eq(m->n_ranges, 3);
    cr_assert_eq(m->ranges[2].first, 2000);
    cr_assert_eq(m->ranges[2].last, 2007);
    cr_assert_eq(sc.steps[0].rule.rule.match.n_ranges, 3);
    sc_free(&sc);
}

Test(scenario_lba_file, a_bad_line_is_located_in_both_files)
{
    put(list, "1000\n\n10-5\n");
    scenario sc;
    cr_assert_eq(load(HEAD "rules:\n  - device: d0\n    match: {lba_file: bad.txt}\n", &sc),
                 -EINVAL);
    char want[256];
    snprintf(want, sizeof(want), "%s:7:", yaml);
    cr_assert(strstr(sc_errors(&sc), want), "%s", sc_errors(&sc));
    snprintf(want, sizeof(want), "lba_file %s:3: the range ends (5) before it starts (10)", list);
    cr_assert(strstr(sc_errors(&sc), want), "%s", sc_errors(&sc));
    sc_free(&sc);
}

Test(scenario_lba_file, a_missing_file_is_a_located_error)
{
    scenario sc;
    cr_assert_eq(load(HEAD "rules:\n  - device: d0\n    match: {lba_file: nope.txt}\n", &sc),
                 -EINVAL);
    char want[256];
    snprintf(want, sizeof(want), "%s:7:", yaml);
    cr_assert(strstr(sc_errors(&sc), want), "%s", sc_errors(&sc));
    cr_assert(strstr(sc_errors(&sc), "nope.txt: cannot open: No such file"), "%s", sc_errors(&sc));
    sc_free(&sc);
}

Test(scenario_lba_file, lba_and_lba_file_together_or_on_a_tape_are_refused)
{
    put(list, "5\n");
    scenario sc;
    cr_assert_eq(
        load(HEAD "rules:\n  - device: d0\n    match: {lba: 1-2, lba_file: bad.txt}\n", &sc),
        -EINVAL);
    cr_assert(strstr(sc_errors(&sc), "lba_file and lba together"), "%s", sc_errors(&sc));
    sc_free(&sc);
    cr_assert_eq(load(HEAD "rules:\n  - device: t0\n    match: {lba_file: bad.txt}\n", &sc),
                 -EINVAL);
    cr_assert(strstr(sc_errors(&sc), "lba_file: device t0 is a tape"), "%s", sc_errors(&sc));
    sc_free(&sc);
}

static scenario model;

static scenario *live(void *arg)
{
    (void)arg;
    return &model;
}

Test(scenario_lba_file, a_control_request_takes_an_absolute_path_only)
{
    put(list, "7\n9-10\n");
    cr_assert_eq(load(HEAD, &model), 0, "%s", sc_errors(&model));
    model.dir[0] = 0; /* as the session's model: no scenario file to be relative to */
    char line[512], err[1024];
    sc_request rq;
    snprintf(line, sizeof(line),
             "{\"request\":\"add_rule\",\"device\":\"d0\",\"match\":{\"lba_file\":\"%s\"}}", list);
    cr_assert_eq(sc_request_parse(line, strlen(line), live, NULL, &rq, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(rq.step.rule.rule.match.n_ranges, 2);
    sc_request_free(&rq);
    snprintf(line, sizeof(line),
             "{\"request\":\"add_rule\",\"device\":\"d0\",\"match\":{\"lba_file\":\"bad.txt\"}}");
    cr_assert_eq(sc_request_parse(line, strlen(line), live, NULL, &rq, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "request:1:"), "%s", err);
    cr_assert(strstr(err, "a control request takes an absolute path"), "%s", err);
    sc_request_free(&rq);
    sc_free(&model);
}
