/* LBA range lists kept in a file beside the scenario (a `match: {lba_file: F}` rule). */
#ifndef TH_SCENARIO_LBA_FILE_H
#define TH_SCENARIO_LBA_FILE_H
#include <stddef.h>
#include "th/rules.h"

/* Ranges a file may hold: each costs 16 bytes in the list and about 56 in the rules'
 * index, so this bounds one rule at about 300 MB. */
#define SC_LBA_FILE_MAX 4000000

/* Reads path: one range a line, as `N` (one LBA, what badblocks prints), `FIRST-LAST`,
 * `FIRST LAST` or `FIRST+COUNT` (numbers decimal, or hex with 0x; spaces around - and +
 * allowed), `#` to the end of a line a comment, blank lines skipped. 0 and a malloc'd
 * *out (NULL when empty) of *n ranges, or -errno with "SHOWN:LINE: message" lines (at
 * most SC_LBA_FILE_ERRORS, then how many more) in err, SHOWN the path as given. */
#define SC_LBA_FILE_ERRORS 8
int sc_lba_file_read(const char *path, th_lba_range **out, size_t *n, char *err, size_t cap);

#endif
