/* Criterion assertions for fake commands: include after <criterion/criterion.h>. */
#ifndef TH_CRITERION_H
#define TH_CRITERION_H
#include <criterion/criterion.h>
#include "th/fake.h"
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

#define th_assert_status(cmd, st)                                                                  \
    cr_assert_eq(th_cmd_get_status(cmd), (st), "status %#x, expected %#x", th_cmd_get_status(cmd), \
                 (unsigned)(st))

#define th_assert_good(cmd)                                                                        \
    do {                                                                                           \
        th_sense s_;                                                                               \
        bool has_ = th_fake_sense(cmd, &s_) == 0;                                                  \
        cr_assert_eq(th_cmd_get_status(cmd), TH_STATUS_GOOD,                                       \
                     "status %#x (sense key %#x asc %#x ascq %#x), expected GOOD",                 \
                     th_cmd_get_status(cmd), has_ ? s_.key : 0, has_ ? s_.asc : 0,                 \
                     has_ ? s_.ascq : 0);                                                          \
    } while (0)

/* CHECK CONDITION with this key and (asc << 8 | ascq). */
#define th_assert_sense(cmd, k, asc_ascq)                                                          \
    do {                                                                                           \
        th_sense s_;                                                                               \
        th_assert_status(cmd, TH_STATUS_CHECK_CONDITION);                                          \
        cr_assert_eq(th_fake_sense(cmd, &s_), 0, "no decodable sense");                            \
        cr_assert_eq(s_.key, (k), "sense key %#x, expected %#x", s_.key, (unsigned)(k));           \
        cr_assert_eq((s_.asc << 8) | s_.ascq, (asc_ascq), "asc/ascq %02x/%02x, expected %04x",     \
                     s_.asc, s_.ascq, (unsigned)(asc_ascq));                                       \
    } while (0)

/* INVALID FIELD IN CDB pointing at byte (and bit, or -1). */
#define th_assert_invalid_field(cmd, byte, bit)                                                    \
    do {                                                                                           \
        th_sense s_;                                                                               \
        th_assert_sense(cmd, TH_KEY_ILLEGAL_REQUEST, TH_ASC_INVALID_FIELD_IN_CDB);                 \
        th_fake_sense(cmd, &s_);                                                                   \
        cr_assert(s_.sks_valid, "no sense-key-specific field pointer");                            \
        cr_assert_eq((s_.sks[1] << 8) | s_.sks[2], (byte), "field pointer %u, expected %u",        \
                     (s_.sks[1] << 8) | s_.sks[2], (unsigned)(byte));                              \
        if ((bit) >= 0)                                                                            \
            cr_assert_eq(s_.sks[0] & 0x0f, 0x08 | (bit), "bit pointer %#x", s_.sks[0] & 0x0f);     \
    } while (0)

#define th_assert_data_in(cmd, expect, len)                                                        \
    do {                                                                                           \
        size_t n_;                                                                                 \
        const uint8_t *d_ = th_fake_data_in(cmd, &n_);                                             \
        cr_assert_eq(n_, (size_t)(len), "data-in %zu bytes, expected %zu", n_, (size_t)(len));     \
        cr_assert_arr_eq(d_, (expect), (len));                                                     \
    } while (0)

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
