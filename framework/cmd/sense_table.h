#ifndef TH_SENSE_TABLE_H
#define TH_SENSE_TABLE_H
#include <stddef.h>
#include <stdint.h>
#include "th/sense.h"

typedef struct th_asc_entry {
    uint8_t asc;
    uint8_t ascq;
    const char *text;
} th_asc_entry;

extern const th_asc_entry th_asc_table[];
extern const size_t th_asc_table_len;

#endif
