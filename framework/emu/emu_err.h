/* The emulations' error convention: a negative errno returned, and a message in the
 * caller's optional buffer (err may be NULL). */
#ifndef TH_EMU_ERR_H
#define TH_EMU_ERR_H
#include <stddef.h>

/* Formats the message into err (when given) and returns rc. */
__attribute__((format(printf, 4, 5))) int th_emu_fail(char *err, size_t errlen, int rc,
                                                      const char *fmt, ...);

#endif
