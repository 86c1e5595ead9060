/* The subset of Criterion the threaded suites use, for the ThreadSanitizer lane:
 * Criterion's sandbox maps its shared arena at random addresses that TSan reserves for
 * its shadow memory, so a Criterion binary cannot start under TSan. Same test sources,
 * run by runner.c, one forked child per test. */
#ifndef TH_TSAN_CRITERION_SHIM_H
#define TH_TSAN_CRITERION_SHIM_H
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct shim_test {
    const char *suite, *name;
    void (*fn)(void);
    struct shim_test *next;
};
struct shim_suite {
    const char *name;
    void (*init)(void);
    void (*fini)(void);
    struct shim_suite *next;
};
void shim_register_test(struct shim_test *t);
void shim_register_suite(struct shim_suite *s);
_Noreturn void shim_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define Test(suite, name, ...)                                                                     \
    static void suite##_##name(void);                                                              \
    static struct shim_test shim_t_##suite##_##name = {#suite, #name, suite##_##name, NULL};       \
    __attribute__((constructor)) static void shim_reg_##suite##_##name(void)                       \
    {                                                                                              \
        shim_register_test(&shim_t_##suite##_##name);                                              \
    }                                                                                              \
    static void suite##_##name(void)

#define TestSuite(suite, ...)                                                                      \
    static struct shim_suite shim_s_##suite = {.name = #suite, __VA_ARGS__};                       \
    __attribute__((constructor)) static void shim_reg_suite_##suite(void)                          \
    {                                                                                              \
        shim_register_suite(&shim_s_##suite);                                                      \
    }

#define cr_assert(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) shim_fail(__FILE__, __LINE__, #cond, "" __VA_ARGS__);                         \
    } while (0)
#define cr_assert_eq(a, b, ...)        cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...)       cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...)       cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...)        cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...)       cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...)        cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_not_null(p, ...)     cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)    cr_assert(strcmp((a), (b)) == 0, __VA_ARGS__)
#define cr_assert_arr_eq(a, b, n, ...) cr_assert(memcmp((a), (b), (n)) == 0, __VA_ARGS__)

#endif
