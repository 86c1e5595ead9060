#include "lines.h"
#include <stdlib.h>

ssize_t sc_getline_max(char **line, size_t *cap, FILE *f, size_t max)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(f)) != EOF) { /* one reader per FILE here */
        if (n == max) return -2;
        if (n + 2 > *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            char *p = realloc(*line, nc);
            if (!p) return -3;
            *line = p, *cap = nc;
        }
        (*line)[n++] = (char)c;
        if (c == '\n') break;
    }
    if (!n) return -1;
    (*line)[n] = 0;
    return (ssize_t)n;
}
