/* tcmu-harness report: what the initiator did, from traces (run --trace DIR's files, or
 * serve's). Prints the initiator's reaction to every fault a rule injected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cmd_report(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: tcmu-harness report TRACE.jsonl...\n"
                "  the initiator's reaction to each fault a rule injected, per trace: its\n"
                "  retries and their intervals, REQUEST SENSE, aborts and resets, and how\n"
                "  and when the I/O ended (docs/scenario-format.md, \"Reactions\")\n");
        return argc < 2 ? CLI_USAGE : 0;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            fprintf(stderr, "tcmu-harness report: unknown option '%s'\n", argv[i]);
            return CLI_USAGE;
        }
    }
    for (int i = 1; i < argc; i++) {
        char *text = cli_reactions_text(argv[i], (size_t)-1, "  ");
        if (!text) return 1;
        printf("%s:\n%s", argv[i], text);
        if (strstr(text, "the trace could not be read")) rc = 1;
        free(text);
    }
    return rc;
}
