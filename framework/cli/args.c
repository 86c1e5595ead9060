/* Option values checked where they are read: each bad one is said with the option's name
 * and what it takes, and is a usage error (CLI_USAGE), before any kernel or VM work. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

int cli_parse_uint(const char *cmd, const char *opt, const char *text, long long lo, long long hi,
                   long long *out)
{
    char *end;
    errno = 0;
    /* Decimal digits only: strtoll would take a sign, blanks and (base 0) 0x and octal,
     * atoi "10x" as 10 and "1e99" as 1. */
    long long v = text[0] >= '0' && text[0] <= '9' ? strtoll(text, &end, 10) : -1;
    if (v < 0 || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "tcmu-harness %s: %s '%s': a whole number from %lld to %lld was expected\n",
                cmd, opt, text, lo, hi);
        return CLI_USAGE;
    }
    *out = v;
    return 0;
}

int cli_once(const char *cmd, const char *opt, const void *prev)
{
    if (!prev) return 0;
    fprintf(stderr, "tcmu-harness %s: %s given twice (it takes one value)\n", cmd, opt);
    return CLI_USAGE;
}

/* The directory part of path ("." for a bare name), in buf. */
static const char *dir_of(const char *path, char *buf, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return ".";
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    snprintf(buf, cap, "%.*s", (int)n, path);
    return buf;
}

int cli_check_path(const char *cmd, const char *opt, const char *path, cli_path_kind kind)
{
    struct stat st;
    char dir[PATH_MAX];
    const char *why = NULL;
    if (!*path)
        why = "an empty path";
    else if (strlen(path) >= PATH_MAX)
        why = "longer than PATH_MAX";
    else if (kind == CLI_PATH_OUT) {
        /* Written later: what can be known now is that it is no directory and that its
         * directory is there. */
        if (!stat(path, &st) && S_ISDIR(st.st_mode))
            why = "is a directory (a file to write was expected)";
        else if (stat(dir_of(path, dir, sizeof(dir)), &st) || !S_ISDIR(st.st_mode))
            why = "its directory does not exist";
    } else if (stat(path, &st)) {
        why = strerror(errno);
    } else if (kind == CLI_PATH_DIR && !S_ISDIR(st.st_mode)) {
        why = "not a directory";
    } else if (kind == CLI_PATH_FILE && S_ISDIR(st.st_mode)) {
        why = "is a directory (a file was expected)";
    } else if (kind == CLI_PATH_FILE && access(path, R_OK)) {
        why = strerror(errno);
    }
    if (!why) return 0;
    fprintf(stderr, "tcmu-harness %s: %s '%s': %s\n", cmd, opt, path, why);
    return CLI_USAGE;
}
