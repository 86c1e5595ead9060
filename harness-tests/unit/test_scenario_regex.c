/* The scenario's regexes: a pattern whose repetitions nest is refused before glibc's
 * regcomp expands it (fuzz_scenario found `Attac+++...+hed` in an expect_kmsg taking
 * gigabytes to compile); ordinary ones compile and match as before. */
#include "helpers.h"
#include "scenario/sc_regex.h"

Test(scenario_regex, the_cost_counts_the_copies_repetitions_make)
{
    cr_assert_eq(sc_regex_cost("abc"), 3);
    cr_assert_eq(sc_regex_cost("a*b?c"), 3, "star and question copy nothing");
    cr_assert_eq(sc_regex_cost("a+"), 2);
    cr_assert_eq(sc_regex_cost("(ab)+"), 4);
    cr_assert_eq(sc_regex_cost("a{3}"), 3);
    cr_assert_eq(sc_regex_cost("a{2,5}"), 5);
    cr_assert_eq(sc_regex_cost("a{4,}"), 5);
    cr_assert_eq(sc_regex_cost("a{,3}"), 3, "{,n} is {0,n}");
    cr_assert_eq(sc_regex_cost("a{ 3}"), 5, "not a bound: literals, for regcomp to judge");
    cr_assert_eq(sc_regex_cost("[a-z]+x"), 3, "a bracket is one atom");
    cr_assert_eq(sc_regex_cost("[]+)]x"), 2, "']' and '+' inside a bracket are members");
    cr_assert_eq(sc_regex_cost("[[:digit:]]{2}"), 2);
    cr_assert_eq(sc_regex_cost("\\++"), 2, "an escaped '+' is an atom");
    cr_assert_eq(sc_regex_cost("x|y+"), 3);
    cr_assert_eq(sc_regex_cost("sd [a-z]+: \\[sd[a-z]+\\] Attached SCSI disk"), 32);
}

Test(scenario_regex, nested_repetitions_are_too_complex)
{
    const char *bad[] = {
        "Attac+++++++++++++++++++++++++++++++++++++++hed",
        "((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)",
        "(a{255}){255}",
        "x{200}{200}",
        /* a repetition of a repetition: glibc's closures over it took 14 s (fuzz_scenario) */
        "sg_+urs+++++++++",
        "Attac+++?+++++++++++",
        "a**",
        ".*?",
        "a{2}+",
        /* {,n} is {0,n} to glibc: 32767 copies, 25 s and 8 GB (the second review) */
        "a{,32767}",
        "((a{,100}){,100}){,20}",
        /* back-references: glibc's matcher backtracks exponentially on a 1 KiB line */
        "(.*)(.*)(.*)\\3\\2\\1$",
        "(a|aa)*\\1b",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_gt(sc_regex_cost(bad[i]), SC_REGEX_MAX_NODES, "%s", bad[i]);
        regex_t re;
        char err[256] = "";
        cr_assert_eq(sc_regex_compile(&re, bad[i], REG_NOSUB, err, sizeof(err)), -EINVAL);
        cr_assert(strstr(err, "too complex a regex"), "%s", err);
    }
    /* deep nesting alone, with no repetition, is charged too */
    char deep[600];
    memset(deep, '(', 300);
    deep[300] = 'a';
    memset(deep + 301, ')', 298);
    deep[599] = 0;
    cr_assert_gt(sc_regex_cost(deep), SC_REGEX_MAX_NODES);
}

Test(scenario_regex, ordinary_patterns_compile_and_match)
{
    regex_t re;
    char err[256] = "";
    cr_assert_eq(sc_regex_compile(&re, "Sense Key : Medium Error( \\[current\\])?", REG_NOSUB, err,
                                  sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(regexec(&re, "sd 0:0:0:0: [sda] Sense Key : Medium Error [current]", 0, NULL, 0),
                 0);
    regfree(&re);
    cr_assert_eq(sc_regex_compile(&re, "[0-9]{1,3}(\\.[0-9]{1,3}){3}", REG_NOSUB, err, sizeof(err)),
                 0, "%s", err);
    regfree(&re);
    cr_assert_eq(sc_regex_compile(&re, "(ab+)+ x{2}", REG_NOSUB, err, sizeof(err)), 0, "%s", err);
    regfree(&re);
    cr_assert_eq(sc_regex_compile(&re, "(x", REG_NOSUB, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "'(x' is not an extended regex"), "%s", err);
}
