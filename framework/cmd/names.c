/* Names of SCSI statuses and TMR types, generated from their lists in th/cmd.h and
 * th/tmr.h. */
#include <ctype.h>
#include <stddef.h>
#include "names.h"
#include "th/cmd.h"
#include "th/tmr.h"

bool th_name_matches(const char *canon, const char *name)
{
    if (!name) return false; /* every from-name lookup answers NULL with -1 */
    for (; *canon && *name; canon++, name++) {
        char c = (char)toupper((unsigned char)*name);
        if (c == '-' || c == ' ') c = '_';
        if (c != *canon) return false;
    }
    return *canon == 0 && *name == 0;
}

typedef struct named {
    int value;
    const char *name;
} named;

#define NAMED_(name, value) {value, #name},
static const named statuses[] = {TH_STATUS_MAP(NAMED_){-1, NULL}};
static const named tmrs[] = {TH_TMR_MAP(NAMED_){-1, NULL}};
#undef NAMED_

static const char *name_of(const named *list, int value)
{
    for (; list->name; list++)
        if (list->value == value) return list->name;
    return NULL;
}

static int from_name(const named *list, const char *name)
{
    for (; name && list->name; list++)
        if (th_name_matches(list->name, name)) return list->value;
    return -1;
}

const char *th_status_name(uint8_t status)
{
    return name_of(statuses, status);
}

int th_status_from_name(const char *name)
{
    return from_name(statuses, name);
}

const char *th_tmr_name(uint8_t type)
{
    const char *n = name_of(tmrs, type);
    return n ? n : "UNKNOWN";
}

int th_tmr_from_name(const char *name)
{
    return from_name(tmrs, name);
}
