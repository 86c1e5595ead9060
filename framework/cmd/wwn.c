/* Identifiers every layer above names units by (th/wwn.h). */
#include "th/wwn.h"
#include <stdlib.h>
#include <string.h>

#define FNV_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t naa3(uint64_t h)
{
    return (3ull << 60) | (h & 0x0fffffffffffffffull);
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (uint8_t)*s) * FNV_PRIME;
    return h;
}

uint64_t th_wwn_from_name(const char *name)
{
    return naa3(fnv_str(FNV_BASIS, name));
}

uint64_t th_wwn_for(uint32_t instance, const char *name)
{
    uint64_t h = FNV_BASIS;
    for (int i = 0; i < 4; i++) h = (h ^ ((instance >> (8 * i)) & 0xff)) * FNV_PRIME;
    return naa3(fnv_str(h, name));
}

bool th_wwn_parse(const char *s, uint64_t *out)
{
    if (!strncmp(s, "naa.", 4)) s += 4;
    if (strlen(s) != 16) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
            return false;
    uint64_t v = strtoull(s, NULL, 16);
    if (!v) return false; /* 0 means "derive one" everywhere */
    *out = v;
    return true;
}
