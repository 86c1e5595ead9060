/* Identifiers every layer above names units by (th/wwn.h). */
#include "th/wwn.h"

uint64_t th_wwn_from_name(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return (3ull << 60) | (h & 0x0fffffffffffffffull);
}
