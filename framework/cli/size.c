#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int64_t cli_parse_size(const char *s)
{
    if (!s || !isdigit((unsigned char)*s)) return -1;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    static const struct {
        const char *suffix;
        int shift;
    } units[] = {{"", 0},     {"B", 0},   {"K", 10},   {"KiB", 10}, {"M", 20},
                 {"MiB", 20}, {"G", 30},  {"GiB", 30}, {"T", 40},   {"TiB", 40},
                 {"k", 10},   {"KB", 10}, {"MB", 20},  {"GB", 30},  {"TB", 40}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix)) continue;
        if (v > (unsigned long long)INT64_MAX >> units[i].shift) return -1;
        return (int64_t)(v << units[i].shift);
    }
    return -1;
}
