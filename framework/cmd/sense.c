/* Sense encoding and decoding: fixed (70h/71h) and descriptor (72h/73h) formats. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "th/be.h"
#include "th/sense.h"

th_sense th_sense_make(uint8_t key, uint16_t asc_ascq)
{
    th_sense s = {0};
    s.key = key;
    s.asc = (uint8_t)(asc_ascq >> 8);
    s.ascq = (uint8_t)asc_ascq;
    return s;
}

th_sense th_sense_invalid_field(bool in_cdb, uint16_t byte, int bit)
{
    th_sense s = th_sense_make(TH_KEY_ILLEGAL_REQUEST, in_cdb ? TH_ASC_INVALID_FIELD_IN_CDB
                                                              : TH_ASC_INVALID_FIELD_IN_PARAM_LIST);
    s.sks_valid = true;
    s.sks[0] = (uint8_t)((in_cdb ? 0x40 : 0) | (bit >= 0 ? 0x08 | (bit & 7) : 0));
    th_put_be16(s.sks + 1, byte);
    return s;
}

/* Does INFORMATION fit the 4 bytes of fixed format? An LBA above 2^32 does not, and
 * SBC-3 (4.18.1) then wants VALID zero rather than a truncated value; a tape's negative
 * residue (SSC: a signed 32-bit count, stored sign-extended here) does. */
static bool info_fits_fixed(uint64_t info)
{
    int64_t v = (int64_t)info;
    return info <= 0xffffffffu || (v < 0 && v >= INT32_MIN);
}

static size_t encode_fixed(const th_sense *s, uint8_t *b, size_t cap)
{
    if (cap < 18) return 0;
    memset(b, 0, 18);
    bool valid = s->info_valid && info_fits_fixed(s->info);
    b[0] = (uint8_t)((s->deferred ? 0x71 : 0x70) | (valid ? 0x80 : 0));
    b[2] = (uint8_t)((s->key & 0x0f) | (s->filemark ? 0x80 : 0) | (s->eom ? 0x40 : 0) |
                     (s->ili ? 0x20 : 0));
    if (valid) th_put_be32(b + 3, (uint32_t)s->info);
    b[7] = 10;
    b[12] = s->asc;
    b[13] = s->ascq;
    if (s->sks_valid) {
        b[15] = (uint8_t)(0x80 | s->sks[0]);
        b[16] = s->sks[1];
        b[17] = s->sks[2];
    }
    return 18;
}

static size_t encode_desc(const th_sense *s, uint8_t *b, size_t cap)
{
    size_t n = 8;
    size_t need = 8 + (s->info_valid ? 12 : 0) + (s->sks_valid ? 8 : 0) +
                  ((s->filemark || s->eom || s->ili) ? 4 : 0);
    if (cap < need) return 0;
    memset(b, 0, need);
    b[0] = s->deferred ? 0x73 : 0x72;
    b[1] = s->key & 0x0f;
    b[2] = s->asc;
    b[3] = s->ascq;
    if (s->info_valid) {
        b[n] = 0x00;
        b[n + 1] = 0x0a;
        b[n + 2] = 0x80;
        th_put_be64(b + n + 4, s->info);
        n += 12;
    }
    if (s->sks_valid) {
        b[n] = 0x02;
        b[n + 1] = 0x06;
        b[n + 4] = (uint8_t)(0x80 | s->sks[0]);
        b[n + 5] = s->sks[1];
        b[n + 6] = s->sks[2];
        n += 8;
    }
    if (s->filemark || s->eom || s->ili) {
        b[n] = 0x04;
        b[n + 1] = 0x02;
        b[n + 3] = (uint8_t)((s->filemark ? 0x80 : 0) | (s->eom ? 0x40 : 0) | (s->ili ? 0x20 : 0));
        n += 4;
    }
    b[7] = (uint8_t)(n - 8);
    return n;
}

size_t th_sense_encode(const th_sense *s, uint8_t *buf, size_t cap)
{
    return s->descriptor ? encode_desc(s, buf, cap) : encode_fixed(s, buf, cap);
}

static int decode_desc(const uint8_t *b, size_t len, th_sense *s)
{
    s->descriptor = true;
    s->key = len > 1 ? b[1] & 0x0f : 0;
    s->asc = len > 2 ? b[2] : 0;
    s->ascq = len > 3 ? b[3] : 0;
    size_t end = len < 8 ? len : 8u + b[7];
    if (end > len) end = len;
    for (size_t p = 8; p + 2 <= end;) {
        uint8_t type = b[p], dlen = b[p + 1];
        if (p + 2 + dlen > end) break;
        const uint8_t *d = b + p;
        if (type == 0x00 && dlen >= 0x0a) {
            s->info_valid = (d[2] & 0x80) != 0;
            s->info = th_be64(d + 4);
        } else if (type == 0x02 && dlen >= 6) {
            s->sks_valid = (d[4] & 0x80) != 0;
            s->sks[0] = d[4] & 0x7f;
            s->sks[1] = d[5];
            s->sks[2] = d[6];
        } else if (type == 0x04 && dlen >= 2) {
            s->filemark = (d[3] & 0x80) != 0;
            s->eom = (d[3] & 0x40) != 0;
            s->ili = (d[3] & 0x20) != 0;
        }
        p += 2u + dlen;
    }
    return 0;
}

int th_sense_decode(const uint8_t *b, size_t len, th_sense *s)
{
    memset(s, 0, sizeof(*s));
    if (len < 2) return -EINVAL;
    uint8_t code = b[0] & 0x7f;
    s->deferred = code == 0x71 || code == 0x73;
    if (code == 0x72 || code == 0x73) return decode_desc(b, len, s);
    if (code != 0x70 && code != 0x71) return -EINVAL;
    if (len < 3) return -EINVAL;
    s->key = b[2] & 0x0f;
    s->filemark = (b[2] & 0x80) != 0;
    s->eom = (b[2] & 0x40) != 0;
    s->ili = (b[2] & 0x20) != 0;
    if (len >= 7) {
        s->info_valid = (b[0] & 0x80) != 0;
        s->info = th_be32(b + 3);
    }
    if (len >= 14) {
        s->asc = b[12];
        s->ascq = b[13];
    }
    if (len >= 18 && (b[15] & 0x80)) {
        s->sks_valid = true;
        s->sks[0] = b[15] & 0x7f;
        s->sks[1] = b[16];
        s->sks[2] = b[17];
    }
    return 0;
}

size_t th_sense_format(const th_sense *s, char *buf, size_t cap)
{
    const char *text = th_sense_asc_text(s->asc, s->ascq);
    int n = snprintf(buf, cap, "%s, %02x/%02x %s", th_sense_key_name(s->key), s->asc, s->ascq,
                     text ? text : "(unknown)");
    if (s->info_valid && n > 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - n, ", info=%llu", (unsigned long long)s->info);
    if (s->filemark && n > 0 && (size_t)n < cap) n += snprintf(buf + n, cap - n, ", FM");
    if (s->eom && n > 0 && (size_t)n < cap) n += snprintf(buf + n, cap - n, ", EOM");
    if (s->ili && n > 0 && (size_t)n < cap) n += snprintf(buf + n, cap - n, ", ILI");
    return n < 0 ? 0 : (size_t)n;
}
