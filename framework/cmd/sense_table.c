/* Sense keys and the ASC/ASCQ list (th/sense.h) as data, decoded in one place. */
#include <stddef.h>
#include "names.h"
#include "sense_table.h"

#define KEY_NAME_(name, value) [value] = #name,
static const char *const key_names[16] = {TH_SENSE_KEY_MAP(KEY_NAME_)};
#undef KEY_NAME_

#define ASC_ROW_(name, asc, ascq, text) {(asc) << 8 | (ascq), #name, text},
const th_asc_entry th_asc_table[] = {TH_ASC_MAP(ASC_ROW_){0xffff, NULL, NULL}};
#undef ASC_ROW_
const size_t th_asc_table_len = sizeof(th_asc_table) / sizeof(th_asc_table[0]) - 1;

const char *th_sense_key_name(uint8_t key)
{
    return key < 16 ? key_names[key] : "?";
}

int th_sense_key_from_name(const char *name)
{
    for (int i = 0; i < 16; i++)
        if (th_name_matches(key_names[i], name)) return i;
    return -1;
}

/* Binary search: the list is sorted by code (a unit test holds it to that). */
static const th_asc_entry *find(uint8_t asc, uint8_t ascq)
{
    uint16_t code = (uint16_t)(asc << 8 | ascq);
    size_t lo = 0, hi = th_asc_table_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (th_asc_table[mid].code == code) return &th_asc_table[mid];
        if (th_asc_table[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *th_sense_asc_text(uint8_t asc, uint8_t ascq)
{
    const th_asc_entry *e = find(asc, ascq);
    return e ? e->text : NULL;
}

const char *th_asc_name(uint8_t asc, uint8_t ascq)
{
    const th_asc_entry *e = find(asc, ascq);
    return e ? e->name : NULL;
}

int th_asc_from_name(const char *name)
{
    for (const th_asc_entry *e = th_asc_table; name && e->name; e++)
        if (th_name_matches(e->name, name)) return e->code;
    return -1;
}
