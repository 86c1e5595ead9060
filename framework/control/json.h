/* A small JSON writer for the control channel's responses: a growing buffer, commas
 * placed by the writer, strings escaped (bytes that are not UTF-8 become U+FFFD, since
 * messages may quote a cut-off piece of the input). */
#ifndef TH_CONTROL_JSON_H
#define TH_CONTROL_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ctl_json {
    char *buf; /* NUL-terminated; NULL until the first write */
    size_t len, cap;
    bool oom;   /* a write failed: the text is incomplete */
    bool first; /* the next item is the first of its container (or follows a key) */
} ctl_json;

void ctl_json_init(ctl_json *j);
void ctl_json_free(ctl_json *j);
void ctl_json_reset(ctl_json *j);             /* empty again, keeping the buffer */
void ctl_json_open(ctl_json *j, char brace);  /* '{' or '[' */
void ctl_json_close(ctl_json *j, char brace); /* '}' or ']' */
void ctl_json_key(ctl_json *j, const char *key);
void ctl_json_str(ctl_json *j, const char *s); /* NULL: null */
void ctl_json_strn(ctl_json *j, const char *s, size_t n);
void ctl_json_int(ctl_json *j, long long v);
void ctl_json_u64(ctl_json *j, uint64_t v);
void ctl_json_bool(ctl_json *j, bool v);
/* A value that is JSON text already (an id as sent, an object the session made). */
void ctl_json_raw(ctl_json *j, const char *text);
void ctl_json_rawn(ctl_json *j, const char *text, size_t n);

#endif
