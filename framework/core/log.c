#include <stdio.h>
#include <strings.h>
#include "th/log.h"

#define LEVEL_NAME_(name, text) text,
static const char *const level_names[] = {TH_LOG_LEVEL_MAP(LEVEL_NAME_)};
#undef LEVEL_NAME_
#define N_LEVELS (sizeof(level_names) / sizeof(level_names[0]))

const char *th_log_level_name(th_log_level level)
{
    return (unsigned)level < N_LEVELS ? level_names[level] : "?";
}

int th_log_level_from_name(const char *name)
{
    for (size_t i = 0; name && i < N_LEVELS; i++)
        if (!strcasecmp(level_names[i], name)) return (int)i;
    return -1;
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
