#include <stdio.h>
#include "th/log.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *th_log_level_name(th_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "?";
}

void th_log_stderr(void *arg, th_log_level level, const char *msg, const th_log_field *fields,
                   size_t nfields)
{
    (void)arg;
    /* One fprintf per line keeps lines from concurrent threads whole. */
    char line[1024];
    int n = snprintf(line, sizeof(line), "tcmu-harness %s: %s", th_log_level_name(level), msg);
    for (size_t i = 0; i < nfields && n > 0 && (size_t)n < sizeof(line); i++)
        n += snprintf(line + n, sizeof(line) - n, " %s=%s", fields[i].key, fields[i].value);
    fprintf(stderr, "%s\n", line);
}
