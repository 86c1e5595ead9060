#include <stdio.h>
#include <string.h>
#include "th/be.h"
#include "inquiry.h"
#include "optable.h"

static void copy_padded(char *dst, size_t cap, const char *src, const char *dflt)
{
    snprintf(dst, cap, "%s", src && *src ? src : dflt);
}

void th_identity_init(th_identity *id, uint8_t type, const char *vendor, const char *product,
                      const char *revision, const char *serial, uint64_t wwn)
{
    memset(id, 0, sizeof(*id));
    id->type = type;
    id->wwn = wwn;
    copy_padded(id->vendor, sizeof(id->vendor), vendor, "TCMUHARN");
    copy_padded(id->product, sizeof(id->product), product,
                type == 1 ? "VIRTUAL TAPE" : "VIRTUAL DISK");
    copy_padded(id->revision, sizeof(id->revision), revision, "0001");
    if (serial && *serial)
        snprintf(id->serial, sizeof(id->serial), "%s", serial);
    else
        snprintf(id->serial, sizeof(id->serial), "%016llx", (unsigned long long)wwn);
}

static void put_ascii(uint8_t *dst, const char *s, size_t n)
{
    size_t l = strlen(s);
    memset(dst, ' ', n);
    memcpy(dst, s, l < n ? l : n);
}

static size_t standard(const th_identity *id, uint8_t *b)
{
    memset(b, 0, 74);
    b[0] = id->type;
    b[1] = id->removable ? 0x80 : 0;
    b[2] = 0x06; /* SPC-4 */
    b[3] = 0x12; /* HISUP, response data format 2 */
    b[4] = 74 - 5;
    b[5] = id->third_party_copy ? 0x08 : 0;
    b[7] = 0x02; /* CMDQUE */
    put_ascii(b + 8, id->vendor, 8);
    put_ascii(b + 16, id->product, 16);
    put_ascii(b + 32, id->revision, 4);
    th_put_be16(b + 58, 0x00a0); /* SAM-5 */
    th_put_be16(b + 60, 0x0460); /* SPC-4 */
    th_put_be16(b + 62, id->version_descriptor);
    return 74;
}

static size_t vpd83(const th_identity *id, uint8_t *b)
{
    size_t n = 4;
    /* NAA: what initiators use to tell devices apart. */
    b[n] = 0x01;
    b[n + 1] = 0x03;
    b[n + 3] = 8;
    th_put_be64(b + n + 4, id->wwn);
    n += 12;
    size_t slen = strlen(id->serial);
    b[n] = 0x02;
    b[n + 1] = 0x01;
    b[n + 3] = (uint8_t)(8 + slen);
    put_ascii(b + n + 4, id->vendor, 8);
    memcpy(b + n + 12, id->serial, slen);
    n += 12 + slen;
    th_put_be16(b + 2, (uint16_t)(n - 4));
    return n;
}

void th_inquiry(th_cmd *cmd, const th_identity *id, const uint8_t *extra, size_t n_extra,
                th_vpd_fn fn, void *dev)
{
    const uint8_t *c = th_cmd_cdb(cmd);
    size_t alloc = th_be16(c + 3);
    uint8_t b[512];
    size_t n;
    memset(b, 0, sizeof(b));
    if (!(c[1] & 1)) {
        if (c[2]) {
            th_cmd_invalid_field(cmd, true, 2, 7);
            return;
        }
        n = standard(id, b);
    } else {
        uint8_t page = c[2];
        bool known = page == 0x00 || page == 0x80 || page == 0x83;
        for (size_t i = 0; i < n_extra; i++) known |= extra[i] == page;
        if (!known) {
            th_cmd_invalid_field(cmd, true, 2, 7);
            return;
        }
        if (page == 0x00) {
            b[4] = 0x00, b[5] = 0x80, b[6] = 0x83;
            if (n_extra) memcpy(b + 7, extra, n_extra); /* a tape has no extra pages: NULL */
            n = 7 + n_extra;
            th_put_be16(b + 2, (uint16_t)(n - 4));
        } else if (page == 0x80) {
            size_t l = strlen(id->serial);
            memcpy(b + 4, id->serial, l);
            n = 4 + l;
            th_put_be16(b + 2, (uint16_t)l);
        } else if (page == 0x83) {
            n = vpd83(id, b);
        } else {
            n = fn(dev, page, b, sizeof(b));
        }
        b[0] = id->type; /* every VPD page carries the device type */
        b[1] = page;
    }
    th_respond_data(cmd, b, n, alloc);
}
