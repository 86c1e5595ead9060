/* Environment variables that switch something on: one reading of their values, so that
 * TCMU_HARNESS_TIMING=0 or TCMU_HARNESS_FORCE_VM=no does not mean "on" because it is set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "scenario.h"

int sc_env_flag(const char *name, bool *on, char *err, size_t cap)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no",
                                                                                "off"};
    const char *v = getenv(name);
    *on = false;
    if (!v || !*v) return 0;
    for (size_t i = 0; i < 4; i++) {
        if (!strcmp(v, yes[i])) return *on = true, 0;
        if (!strcmp(v, no[i])) return 0;
    }
    snprintf(err, cap, "%s='%.40s': 1 (true, yes, on), 0 (false, no, off) or unset was expected",
             name, v);
    return -EINVAL;
}
