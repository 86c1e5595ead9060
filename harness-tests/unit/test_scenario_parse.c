/* The scenario parser, generated from its own key tables so that no key escapes: every key
 * once (valid), twice (a located "repeated" error), with a value of the wrong shape or
 * syntax, and every reference dangling or naming a device of the wrong type. Run under
 * ASan/UBSan: no case may crash. */
#include <stdlib.h>
#include <unistd.h>
#include "helpers.h"
#include "scenario/parse_internal.h"

/* Devices d0 (disk) and t0 (tape) and rule r0 on d0: what the tables' examples name. */
#define BASE                                                                                       \
    "name: t\ndevices:\n  - {name: d0}\n  - {name: t0, type: tape}\nrules:\n  - {device: d0, "     \
    "name: r0}\n"
#define DEVICES "name: t\ndevices:\n  - {name: d0}\n  - {name: t0, type: tape}\n"

/* Where each mapping sits in a document: the text before its keys and their indent. */
typedef struct place {
    const char *what;
    const char *prefix;
    const char *indent;
    const char *only_key; /* non-NULL: give only the keys the one under test goes with
                             (sc_step_needs) instead of all; NULL: all */
} place;

static const place places[] = {
    {"a scenario", "", "", NULL},
    {"a device", "name: t\ndevices:\n  - {name: t0, type: tape}\n  -\n", "    ", NULL},
    {"chap", "name: t\ndevices:\n  - name: d0\n    export: iscsi\n    chap:\n", "      ", NULL},
    {"a rule", DEVICES "rules:\n  -\n", "    ", NULL},
    {"match", DEVICES "rules:\n  - device: d0\n    match:\n", "      ", NULL},
    {"respond", DEVICES "rules:\n  - device: d0\n    respond:\n", "      ", NULL},
    {"sense", DEVICES "rules:\n  - device: d0\n    respond:\n      sense:\n", "        ", NULL},
    {"corrupt", DEVICES "rules:\n  - device: d0\n    respond:\n      corrupt:\n", "        ", NULL},
    {"a step", BASE "steps:\n  - {run: \"true\", background: bg}\n  -\n", "    ", "needs"},
    {"expect", BASE "steps:\n  - run: \"true\"\n    expect:\n", "      ", NULL},
    {"expect_trace", BASE "expect_trace:\n  - {device: d0, count: 0}\n  -\n", "    ", NULL},
    {"golden", BASE "golden:\n", "  ", NULL},
};

static const place *place_of(const char *what)
{
    for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++)
        if (!strcmp(places[i].what, what)) return &places[i];
    return NULL;
}

/* In a step, whether `other` is a key the key under test goes with (may_outlive: background,
 * which goes with run). */
static bool needed(const char *key, const char *other)
{
    for (const char *n = sc_step_needs(key); n; n = sc_step_needs(n))
        if (!strcmp(n, other)) return true;
    return false;
}

static char path[64];

static int load_text(const char *text, scenario *sc)
{
    snprintf(path, sizeof(path), "/tmp/th-scenario-XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    int rc = sc_load(path, sc);
    unlink(path);
    return rc;
}

/* tmr and a command filter (op, lba, status, rule) never match together and are refused
 * together (parse_wait.c): a trace filter's document holds one side only. So are a rule's
 * lba and lba_file (parse_rule.c): lba_file appears only when it is the key under test. */
static bool excluded_by(const char *key, const char *other)
{
    if (!strcmp(other, "lba_file")) return strcmp(key, "lba_file") != 0;
    if (!strcmp(key, "lba_file")) return !strcmp(other, "lba");
    static const char *const cmd[] = {"op", "lba", "status", "rule"};
    bool other_cmd = false;
    for (size_t i = 0; i < sizeof(cmd) / sizeof(cmd[0]); i++) other_cmd |= !strcmp(other, cmd[i]);
    return !strcmp(key, "tmr") ? other_cmd : !strcmp(other, "tmr");
}

/* A document with the mapping `keys` at its place: the other keys with their examples,
 * then `lines` (the key under test). *line gets the line number of the first of them. */
static char *document(const yt_keys *keys, const place *p, const char *key, const char *lines,
                      int *line)
{
    size_t cap = 8192, len = 0;
    char *doc = malloc(cap);
    cr_assert_not_null(doc);
    len += (size_t)snprintf(doc + len, cap - len, "%s", p->prefix);
    /* A device gets the keys of the type the key under test is for (a tape's keys on a
     * disk are an error). */
    int idx;
    const sc_device_key *dk = keys == &sc_keys_device ? sc_device_key_find(key, &idx) : NULL;
    unsigned on = dk && dk->on == SC_ON_TAPE ? SC_ON_TAPE : SC_ON_DISK;
    for (size_t i = 0; i < keys->n; i++) {
        const yt_key *k = &keys->keys[i];
        if (!strcmp(k->name, key) || (p->only_key && !needed(key, k->name))) continue;
        if (excluded_by(key, k->name)) continue;
        const sc_device_key *other =
            keys == &sc_keys_device ? sc_device_key_find(k->name, &idx) : NULL;
        if (other && !(other->on & on)) continue;
        const char *example =
            other && !strcmp(k->name, "type") ? (on == SC_ON_TAPE ? "tape" : "disk") : k->example;
        len += (size_t)snprintf(doc + len, cap - len, "%s%s: %s\n", p->indent, k->name, example);
    }
    *line = 1;
    for (size_t i = 0; i < len; i++) *line += doc[i] == '\n';
    for (const char *l = lines; *l;) {
        size_t n = strcspn(l, "\n");
        len += (size_t)snprintf(doc + len, cap - len, "%s%.*s\n", p->indent, (int)n, l);
        l += n + (l[n] == '\n');
    }
    cr_assert_lt(len, cap - 1);
    return doc;
}

/* The error text names FILE:LINE:COL and contains `what`. */
static void assert_located(const scenario *sc, int line, int col, const char *what, const char *doc)
{
    char at[128];
    snprintf(at, sizeof(at), "%s:%d:%d: ", path, line, col);
    const char *e = sc_errors(sc);
    const char *hit = strstr(e, at);
    cr_assert_not_null(hit, "no error at %s\n--- document\n%s--- errors\n%s", at, doc, e);
    size_t n = strcspn(hit, "\n");
    cr_assert(memmem(hit, n, what, strlen(what)), "error at %s lacks '%s'\n%s--- errors\n%s", at,
              what, doc, e);
}

typedef void (*key_case)(const yt_keys *keys, const place *p, const yt_key *k);

/* Every table of the format and every device action's own table, each at its place. */
static void each_key(key_case fn)
{
    int tables = 0;
    for (const yt_keys *const *t = sc_key_tables; *t; t++, tables++) {
        const place *p = place_of((*t)->what);
        cr_assert_not_null(p, "no place for the key table '%s' in this test", (*t)->what);
        cr_assert_leq((*t)->n, YT_MAX_KEYS, "%s", (*t)->what);
        for (size_t i = 0; i < (*t)->n; i++) fn(*t, p, &(*t)->keys[i]);
    }
    cr_assert_geq(tables, 11);
    for (size_t a = 0; a < sc_n_actions; a++) {
        if (!sc_actions[a].keys) continue;
        char prefix[512];
        snprintf(prefix, sizeof(prefix), BASE "steps:\n  - %s:\n", sc_actions[a].key);
        place p = {sc_actions[a].keys->what, prefix, "      ", NULL};
        for (size_t i = 0; i < sc_actions[a].keys->n; i++)
            fn(sc_actions[a].keys, &p, &sc_actions[a].keys->keys[i]);
    }
}

static void once_is_valid(const yt_keys *keys, const place *p, const yt_key *k)
{
    char lines[512];
    int line;
    snprintf(lines, sizeof(lines), "%s: %s", k->name, k->example);
    char *doc = document(keys, p, k->name, lines, &line);
    scenario sc;
    int rc = load_text(doc, &sc);
    cr_assert_eq(rc, 0, "%s: %s\n--- document\n%s--- errors\n%s", keys->what, k->name, doc,
                 sc_errors(&sc));
    sc_free(&sc);
    free(doc);
}

static void twice_is_a_located_error(const yt_keys *keys, const place *p, const yt_key *k)
{
    char lines[1024], what[160];
    int line;
    snprintf(lines, sizeof(lines), "%s: %s\n%s: %s", k->name, k->example, k->name, k->example);
    char *doc = document(keys, p, k->name, lines, &line);
    scenario sc;
    cr_assert_eq(load_text(doc, &sc), -EINVAL, "%s: %s twice accepted\n%s", keys->what, k->name,
                 doc);
    snprintf(what, sizeof(what), "key '%s' repeated in %s (first at line %d)", k->name, keys->what,
             line);
    assert_located(&sc, line + 1, (int)strlen(p->indent) + 1, what, doc);
    sc_free(&sc);
    free(doc);
}

static void wrong_value(const yt_keys *keys, const place *p, const yt_key *k, const char *value)
{
    char lines[512];
    int line;
    snprintf(lines, sizeof(lines), "%s: %s", k->name, value);
    char *doc = document(keys, p, k->name, lines, &line);
    scenario sc;
    cr_assert_eq(load_text(doc, &sc), -EINVAL, "%s: %s: %s accepted\n%s", keys->what, k->name,
                 value, doc);
    assert_located(&sc, line, (int)(strlen(p->indent) + strlen(k->name) + 3), "", doc);
    sc_free(&sc);
    free(doc);
}

static void wrong_shape_is_a_located_error(const yt_keys *keys, const place *p, const yt_key *k)
{
    /* a mapping where a value or a list is wanted, a list where a mapping is */
    wrong_value(keys, p, k, k->shape == YT_MAP ? "[1]" : "{a: 1}");
    if (k->shape == YT_MAP) wrong_value(keys, p, k, "word");
    /* a word where a number, size, flag or name from a list is wanted */
    if (k->shape == YT_TYPED) wrong_value(keys, p, k, "not-a-number");
}

Test(scenario_parse, every_key_once_with_its_example_is_valid)
{
    in_dir_with_example_image();
    each_key(once_is_valid);
}

Test(scenario_parse, every_key_repeated_is_an_error_at_the_second)
{
    each_key(twice_is_a_located_error);
}

Test(scenario_parse, every_key_with_a_value_of_the_wrong_type_is_an_error_at_the_value)
{
    each_key(wrong_shape_is_a_located_error);
}

/* An action step naming `device`, its other keys with their examples, as one line. */
static char *action_step(const sc_action *a, const char *device, int *line, int *col)
{
    char step[512];
    size_t len = (size_t)snprintf(step, sizeof(step), "  - %s: {", a->key);
    for (size_t i = 0; i < a->keys->n; i++) {
        const yt_key *k = &a->keys->keys[i];
        if (!strcmp(k->name, "device")) *col = (int)len + (i ? 2 : 0) + 9;
        len += (size_t)snprintf(step + len, sizeof(step) - len, "%s%s: %s", i ? ", " : "", k->name,
                                strcmp(k->name, "device") ? k->example : device);
    }
    snprintf(step + len, sizeof(step) - len, "}\n");
    size_t cap = strlen(BASE) + strlen(step) + 16;
    char *doc = malloc(cap);
    snprintf(doc, cap, BASE "steps:\n%s", step);
    *line = 8; /* BASE is 6 lines, then steps: */
    return doc;
}

Test(scenario_parse, every_action_on_an_unknown_device_is_an_error_at_the_name)
{
    for (size_t a = 0; a < sc_n_actions; a++) {
        if (!sc_actions[a].keys) continue;
        int line, col;
        char *doc = action_step(&sc_actions[a], "nosuch", &line, &col);
        scenario sc;
        cr_assert_eq(load_text(doc, &sc), -EINVAL, "%s", doc);
        assert_located(&sc, line, col, "no device named 'nosuch'", doc);
        sc_free(&sc);
        free(doc);
    }
}

Test(scenario_parse, every_action_on_a_device_type_it_does_not_apply_to_is_an_error)
{
    static const struct {
        const char *device;
        unsigned on;
        const char *word;
    } types[] = {{"d0", SC_ON_DISK, "a disk"}, {"t0", SC_ON_TAPE, "a tape"}};
    int cases = 0;
    for (size_t a = 0; a < sc_n_actions; a++) {
        if (!sc_actions[a].keys) continue;
        for (size_t t = 0; t < 2; t++) {
            if (sc_actions[a].on & types[t].on) continue;
            int line, col;
            char *doc = action_step(&sc_actions[a], types[t].device, &line, &col);
            scenario sc;
            cr_assert_eq(load_text(doc, &sc), -EINVAL, "%s", doc);
            char what[128];
            snprintf(what, sizeof(what), "%s is for ", sc_actions[a].key);
            assert_located(&sc, line, col, what, doc);
            snprintf(what, sizeof(what), "'%s' is %s", types[t].device, types[t].word);
            assert_located(&sc, line, col, what, doc);
            sc_free(&sc);
            free(doc);
            cases++;
        }
    }
    cr_assert_geq(cases, 3, "set_capacity (disks), load and unload (tapes) at least");
}

Test(scenario_parse, dangling_rule_device_rule_name_and_trace_device_are_located_errors)
{
    static const struct {
        const char *text;
        int line, col;
        const char *what;
    } cases[] = {
        {DEVICES "rules:\n  - {device: nosuch, name: r}\n", 6, 14, "no device named 'nosuch'"},
        {DEVICES "steps:\n  - add_rule: {device: nosuch}\n", 6, 24, "no device named 'nosuch'"},
        {BASE "steps:\n  - remove_rule: {device: d0, name: nosuch}\n", 8, 5,
         "device 'd0' has no rule named 'nosuch'"},
        {BASE "steps:\n  - remove_rule: {device: t0, name: r0}\n", 8, 5,
         "device 't0' has no rule named 'r0'"},
        {BASE "expect_trace:\n  - {device: nosuch, count: 1}\n", 8, 14, "no device named 'nosuch'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        scenario sc;
        cr_assert_eq(load_text(cases[i].text, &sc), -EINVAL, "%s", cases[i].text);
        assert_located(&sc, cases[i].line, cases[i].col, cases[i].what, cases[i].text);
        sc_free(&sc);
    }
}

Test(scenario_parse, a_rule_added_or_an_offline_step_can_be_removed_later)
{
    scenario sc;
    int rc = load_text(BASE "steps:\n  - add_rule: {device: t0, name: late}\n"
                            "  - remove_rule: {device: t0, name: late}\n"
                            "  - offline: {device: t0}\n"
                            "  - remove_rule: {device: t0, name: offline}\n",
                       &sc);
    cr_assert_eq(rc, 0, "%s", sc_errors(&sc));
    cr_assert_eq(sc.n_steps, 4);
    sc_free(&sc);
}

Test(scenario_parse, errors_are_collected_not_printed_and_a_missing_file_is_an_errno)
{
    scenario sc;
    cr_assert_eq(sc_load("/nonexistent/s.yaml", &sc), -ENOENT);
    cr_assert(strstr(sc_errors(&sc), "/nonexistent/s.yaml:1:1: cannot open"), "%s", sc_errors(&sc));
    sc_free(&sc);
    cr_assert_eq(load_text("name: a\nname: b\ncolour: red\n", &sc), -EINVAL);
    const char *e = sc_errors(&sc);
    cr_assert(strstr(e, ":2:1: key 'name' repeated in a scenario (first at line 1)"), "%s", e);
    cr_assert(strstr(e, ":3:1: unknown key 'colour' in a scenario"), "%s", e);
    cr_assert(strstr(e, ":1:1: a scenario needs devices"), "%s", e);
    sc_free(&sc);
    cr_assert_str_eq(sc_errors(&sc), "");
}

Test(scenario_parse, many_repeated_keys_cost_time_linear_in_the_file, .timeout = 20)
{
    enum { N = 60000 };
    char *doc = malloc(N * 8 + 64);
    cr_assert_not_null(doc);
    size_t len = (size_t)sprintf(doc, "devices: []\n");
    for (int i = 0; i < N; i++) len += (size_t)sprintf(doc + len, "name: x\n");
    scenario sc;
    cr_assert_eq(load_text(doc, &sc), -EINVAL);
    cr_assert(strstr(sc_errors(&sc), ":60001:1: key 'name' repeated in a scenario"));
    sc_free(&sc);
    free(doc);
}

/* strtoull skips blanks and takes a sign: numbers and ranges that only parse that way
 * are refused where they stand. */
Test(scenario_parse, signed_numbers_and_ranges_are_located_errors)
{
    static const struct {
        const char *text, *what;
        int line, col;
    } cases[] = {
        {"name: t\ndevices: [{name: d0}]\nrules:\n  - {device: d0, name: r0, match: {lba: "
         "10--1}}\n",
         "is not a number or a range", 4, 41},
        {"name: t\ndevices: [{name: d0}]\nrules:\n  - {device: d0, name: r0, match: {lba: 1-+5}}\n",
         "is not a number or a range", 4, 41},
        {"name: t\ndevices: [{name: d0}]\nexpect_trace:\n  - {device: d0, lba: \" -5\", count: "
         "0}\n",
         "is not a non-negative integer", 4, 23},
        {"name: t\ndevices: [{name: d0}]\nexpect_trace:\n  - {device: d0, lba: \"+5\", count: 0}\n",
         "is not a non-negative integer", 4, 23},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static scenario sc;
        cr_assert_eq(load_text(cases[i].text, &sc), -EINVAL, "accepted:\n%s", cases[i].text);
        assert_located(&sc, cases[i].line, cases[i].col, cases[i].what, cases[i].text);
        sc_free(&sc);
    }
}

/* libyaml's scanner costs O(depth) per token: 500,000 levels (what 1 MiB allows) took
 * minutes. The depth check stops at the first level too deep, wherever it is. */
Test(scenario_parse, nesting_deeper_than_64_levels_is_a_located_error)
{
    static const size_t depths[] = {65, 1000, 500000};
    for (size_t k = 0; k < sizeof(depths) / sizeof(depths[0]); k++) {
        size_t depth = depths[k];
        char *doc = malloc(depth * 2 + 64);
        cr_assert_not_null(doc);
        size_t n = (size_t)sprintf(doc, "name: t\ndevices: ");
        for (size_t i = 0; i < depth; i++) doc[n++] = '[';
        for (size_t i = 0; i < depth; i++) doc[n++] = ']';
        doc[n++] = '\n';
        doc[n] = 0;
        static scenario sc;
        cr_assert_eq(load_text(doc, &sc), -EINVAL, "depth %zu accepted", depth);
        /* The top-level mapping is level 1; the 64th '[' is level 65, at column 9 + 64. */
        assert_located(&sc, 2, 9 + 64, "nested deeper than 64 levels", "(deep document)\n");
        sc_free(&sc);
        free(doc);
    }
    static scenario ok;
    cr_assert_eq(load_text("name: t\ndevices: [{name: d0, media: [[x]]}]\n", &ok), -EINVAL);
    cr_assert_null(strstr(sc_errors(&ok), "nested deeper"), "%s", sc_errors(&ok));
    sc_free(&ok);
}

/* An empty IQN in initiators: is refused at the entry, not later by the export. */
Test(scenario_parse, an_empty_initiator_is_a_located_error)
{
    static const char text[] =
        "name: t\ndevices:\n  - {name: d0, export: iscsi, initiators: [\"\"]}\n";
    static scenario sc;
    cr_assert_eq(load_text(text, &sc), -EINVAL);
    assert_located(&sc, 3, 44, "an initiator IQN is empty", text);
    sc_free(&sc);
}

/* add_rule says where the rule goes; a rule of the rules list is already in its place. */
Test(scenario_parse, add_rule_takes_a_position_and_defaults_to_last)
{
    static scenario sc;
    cr_assert_eq(load_text(DEVICES "steps:\n  - add_rule: {device: d0, name: a, position: 0}\n"
                                   "  - add_rule: {device: d0, name: b}\n",
                           &sc),
                 0, "%s", sc_errors(&sc));
    cr_assert_eq(sc.steps[0].position, 0);
    cr_assert_eq(sc.steps[1].position, -1);
    sc_free(&sc);
    static const char text[] = DEVICES "rules:\n  - {device: d0, name: a, position: 0}\n";
    cr_assert_eq(load_text(text, &sc), -EINVAL);
    assert_located(&sc, 6, 27, "unknown key 'position' in a rule", text);
    sc_free(&sc);
}
