/* Logging: one callback per context, quiet unless a sink is set. */
#ifndef TH_LOG_H
#define TH_LOG_H
#include <stddef.h>

typedef enum { TH_LOG_ERROR = 0, TH_LOG_WARN, TH_LOG_INFO, TH_LOG_DEBUG } th_log_level;

typedef struct th_log_field {
    const char *key;
    const char *value;
} th_log_field;

typedef void (*th_log_fn)(void *arg, th_log_level level, const char *msg,
                          const th_log_field *fields, size_t nfields);

/* A ready sink: "level msg key=value ..." on stderr. arg is unused. */
void th_log_stderr(void *arg, th_log_level level, const char *msg, const th_log_field *fields,
                   size_t nfields);
const char *th_log_level_name(th_log_level level);

#endif
