/* Matching a name a user typed against a canonical one from a name list. */
#ifndef TH_NAMES_H
#define TH_NAMES_H
#include <stdbool.h>

/* canon is upper case with '_'; name matches in any case, with '-' or ' ' for '_'. */
bool th_name_matches(const char *canon, const char *name);

#endif
