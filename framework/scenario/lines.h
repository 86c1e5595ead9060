/* Reading text files a line at a time with a bound on a line: getline grows its buffer to
 * whatever comes, and /dev/zero or a file without newlines took all memory, then ended the
 * loop as the end of the file does (its ENOMEM sets no error flag). */
#ifndef TH_SCENARIO_LINES_H
#define TH_SCENARIO_LINES_H
#include <stdio.h>
#include <sys/types.h>

/* The next line (with its newline, NUL-terminated) in *line (grown as needed): its length;
 * -1 at the end of the file or on an error (ferror tells); -2 if it is longer than max
 * bytes (the rest is not read); -3 without memory. */
ssize_t sc_getline_max(char **line, size_t *cap, FILE *f, size_t max);

#endif
