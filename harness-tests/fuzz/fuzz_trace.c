/* A trace file as `report` and `run --summary` read it back: lines of JSON (a hostile or
 * cut-off file: another tool's, a disk that filled up), then the reaction analysis and its
 * text over whatever was read. A refused line must say why. */
#include <stdlib.h>
#include <string.h>
#include "report/reaction.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_trace t;
    rp_trace_init(&t);
    char err[256];
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        err[0] = '\0';
        if (rp_trace_add_line(&t, p, len, err, sizeof(err)) < 0 && !err[0]) abort();
        p += len + 1;
    }
    rp_reactions rs;
    if (!rp_reactions_find(&t, &rs)) {
        char line[1024];
        for (size_t i = 0; i < rs.n; i++) {
            const rp_reaction *r = &rs.r[i];
            if (r->fault >= t.n || r->last >= t.n || r->attempts < 1 || r->failed > r->attempts)
                abort();
            rp_reaction_text(&t, r, line, sizeof(line));
            if (strlen(line) >= sizeof(line)) abort();
        }
        rp_reactions_free(&rs);
    }
    rp_trace_free(&t);
    return 0;
}
