/* Task management request types as the TCMU ring carries them: one list for the
 * enum, the names and the parsing (TH_TMR_<NAME>, th_tmr_name, th_tmr_from_name). */
#ifndef TH_TMR_H
#define TH_TMR_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* X(NAME, value), in value order. */
#define TH_TMR_MAP(X)                                                                              \
    X(UNKNOWN, 0)                                                                                  \
    X(ABORT_TASK, 1)                                                                               \
    X(ABORT_TASK_SET, 2)                                                                           \
    X(CLEAR_ACA, 3)                                                                                \
    X(CLEAR_TASK_SET, 4)                                                                           \
    X(LUN_RESET, 5)                                                                                \
    X(TARGET_WARM_RESET, 6)                                                                        \
    X(TARGET_COLD_RESET, 7)                                                                        \
    X(LUN_RESET_PRO, 128)

enum {
#define TH_TMR_ENUM_(name, value) TH_TMR_##name = value,
    TH_TMR_MAP(TH_TMR_ENUM_)
#undef TH_TMR_ENUM_
};

/* "ABORT_TASK"; "UNKNOWN" for a type not in the list. */
const char *th_tmr_name(uint8_t type);
/* The type, or -1; case-insensitive, '-' and ' ' match '_'. */
int th_tmr_from_name(const char *name);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
