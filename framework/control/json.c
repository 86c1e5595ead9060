#include "json.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ctl_json_init(ctl_json *j)
{
    memset(j, 0, sizeof(*j));
    j->first = true;
}

void ctl_json_free(ctl_json *j)
{
    free(j->buf);
    ctl_json_init(j);
}

void ctl_json_reset(ctl_json *j)
{
    j->len = 0;
    j->oom = false;
    j->first = true;
    if (j->buf) j->buf[0] = 0;
}

static bool room(ctl_json *j, size_t n)
{
    if (j->oom) return false;
    if (j->len + n + 1 <= j->cap) return true;
    size_t cap = j->cap ? j->cap : 256;
    while (cap < j->len + n + 1) cap *= 2;
    char *b = realloc(j->buf, cap);
    if (!b) {
        j->oom = true;
        return false;
    }
    j->buf = b;
    j->cap = cap;
    return true;
}

static void put(ctl_json *j, const char *s, size_t n)
{
    if (!room(j, n)) return;
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = 0;
}

/* Before a value or a key: the comma that separates it from the one before. */
static void item(ctl_json *j)
{
    if (!j->first) put(j, ",", 1);
    j->first = false;
}

void ctl_json_open(ctl_json *j, char brace)
{
    item(j);
    put(j, &brace, 1);
    j->first = true;
}

void ctl_json_close(ctl_json *j, char brace)
{
    put(j, &brace, 1);
    j->first = false;
}

void ctl_json_key(ctl_json *j, const char *key)
{
    ctl_json_str(j, key);
    put(j, ":", 1);
    j->first = true;
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c < 0x80                ? 1
                 : c >= 0xc2 && c < 0xe0 ? 2
                 : c >= 0xe0 && c < 0xf0 ? 3
                 : c >= 0xf0 && c < 0xf5 ? 4
                                         : 0;
    if (!len || len > n) return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xc0) != 0x80) return 0;
    /* overlong 3- and 4-byte forms, surrogates, above U+10FFFF */
    if (len == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))) return 0;
    if (len == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))) return 0;
    return len;
}

void ctl_json_strn(ctl_json *j, const char *s, size_t n)
{
    item(j);
    put(j, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0; /* bytes copied as they are, written in one go */
    while (i + run < n) {
        const unsigned char *c = p + i + run;
        size_t len = *c >= 0x20 && *c != '"' && *c != '\\' ? utf8_len(c, n - i - run) : 0;
        if (len) {
            run += len;
            continue;
        }
        put(j, s + i, run);
        i += run;
        run = 0;
        char esc[8];
        static const char short_esc[] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r',
                                         ['\t'] = 't', ['"'] = '"',  ['\\'] = '\\'};
        if (*c < sizeof(short_esc) && short_esc[*c]) {
            esc[0] = '\\', esc[1] = short_esc[*c];
            put(j, esc, 2);
        } else if (*c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", *c);
            put(j, esc, 6);
        } else {
            put(j, "\\ufffd", 6); /* not UTF-8 */
        }
        i++;
    }
    put(j, s + i, run);
    put(j, "\"", 1);
}

void ctl_json_str(ctl_json *j, const char *s)
{
    if (!s) {
        ctl_json_raw(j, "null");
        return;
    }
    ctl_json_strn(j, s, strlen(s));
}

void ctl_json_int(ctl_json *j, long long v)
{
    char b[24];
    ctl_json_rawn(j, b, (size_t)snprintf(b, sizeof(b), "%lld", v));
}

void ctl_json_u64(ctl_json *j, uint64_t v)
{
    char b[24];
    ctl_json_rawn(j, b, (size_t)snprintf(b, sizeof(b), "%" PRIu64, v));
}

void ctl_json_bool(ctl_json *j, bool v)
{
    ctl_json_raw(j, v ? "true" : "false");
}

void ctl_json_raw(ctl_json *j, const char *text)
{
    ctl_json_rawn(j, text, strlen(text));
}

void ctl_json_rawn(ctl_json *j, const char *text, size_t n)
{
    item(j);
    put(j, text, n);
}
