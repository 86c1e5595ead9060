/* The ASC/ASCQ list as a table, sorted by code, ended by a NULL name (tests walk it). */
#ifndef TH_SENSE_TABLE_H
#define TH_SENSE_TABLE_H
#include <stddef.h>
#include <stdint.h>
#include "th/sense.h"

typedef struct th_asc_entry {
    uint16_t code; /* asc << 8 | ascq */
    const char *name;
    const char *text;
} th_asc_entry;

extern const th_asc_entry th_asc_table[];
extern const size_t th_asc_table_len; /* without the sentinel */

#endif
