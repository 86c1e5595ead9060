/* Logging: one callback per context, quiet unless a sink is set. */
#ifndef TH_LOG_H
#define TH_LOG_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* One list for the enum, the names and the parsing: X(NAME, "name"), most severe first. */
#define TH_LOG_LEVEL_MAP(X)                                                                        \
    X(ERROR, "error")                                                                              \
    X(WARN, "warn")                                                                                \
    X(INFO, "info")                                                                                \
    X(DEBUG, "debug")

typedef enum {
#define TH_LOG_ENUM_(name, text) TH_LOG_##name,
    TH_LOG_LEVEL_MAP(TH_LOG_ENUM_)
#undef TH_LOG_ENUM_
} th_log_level;

typedef struct th_log_field {
    const char *key;
    const char *value;
} th_log_field;

typedef void (*th_log_fn)(void *arg, th_log_level level, const char *msg,
                          const th_log_field *fields, size_t nfields);

/* A ready sink: "level msg key=value ..." on stderr. arg is unused. */
void th_log_stderr(void *arg, th_log_level level, const char *msg, const th_log_field *fields,
                   size_t nfields);
/* "error"; "?" for a value not in the list. */
const char *th_log_level_name(th_log_level level);
/* The level, or -1; case-insensitive. */
int th_log_level_from_name(const char *name);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
