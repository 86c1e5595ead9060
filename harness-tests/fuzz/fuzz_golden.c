/* Golden traces: the input as a golden file read back from disk (hostile: another tool's
 * file, an edit gone wrong), and the same input as a trace made into golden text, which
 * must always read back and be the same as itself in both modes; then the one compared
 * with the other, whose diff must stay bounded. */
#include <stdlib.h>
#include <string.h>
#include "report/golden.h"

static size_t lines_of(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[600];
    rp_golden want, got;
    rp_golden_init(&want);
    rp_golden_init(&got);
    err[0] = '\0';
    int wrc = rp_golden_parse(&want, "F", (const char *)data, size, err, sizeof(err));
    if (wrc < 0 && strncmp(err, "F", 1)) abort(); /* a refusal names the file */

    rp_trace t;
    rp_trace_init(&t);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        rp_trace_add_line(&t, p, len, err, sizeof(err));
        p += len + 1;
    }
    char *text = NULL;
    if (!rp_golden_text(&t, &text, err, sizeof(err))) {
        /* what the writer makes, the reader takes */
        if (rp_golden_parse(&got, "G", text, strlen(text), err, sizeof(err))) abort();
        /* and skips none of its lines: past the header only its own comment begins '#' */
        const char *c = strstr(text, "\ncommands\n");
        for (; c && (c = strstr(c, "\n#")); c++)
            if (strncmp(c, "\n# the analysis stopped after ", 30)) abort();
        for (int m = 0; m < 2; m++) {
            char *diff = NULL;
            rp_match mode = m ? RP_MATCH_SEQUENCE : RP_MATCH_MULTISET;
            if (rp_golden_compare(&got, &got, mode, 0, "G", &diff) != 0 || diff) abort();
            if (!wrc) {
                int rc = rp_golden_compare(&want, &got, mode, (unsigned)size % 3, "F", &diff);
                if (rc < 0 || (rc == 1) != (diff != NULL)) abort();
                if (diff && lines_of(diff) > RP_GOLDEN_DIFF_LINES + 1) abort();
                free(diff);
            }
        }
        free(text);
    }
    rp_trace_free(&t);
    rp_golden_free(&want);
    rp_golden_free(&got);
    return 0;
}
