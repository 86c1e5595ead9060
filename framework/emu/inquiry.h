/* INQUIRY and VPD pages shared by the disk and tape emulations. */
#ifndef TH_INQUIRY_H
#define TH_INQUIRY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "th/cmd.h"

typedef struct th_identity {
    uint8_t type; /* peripheral device type */
    bool removable;
    bool third_party_copy; /* 3PC: EXTENDED COPY is implemented */
    char vendor[9];
    char product[17];
    char revision[5];
    char serial[33];
    uint64_t wwn;
    uint16_t version_descriptor; /* SBC-3 04C0h, SSC-3 0300h */
} th_identity;

/* Fills in defaults and derives the serial from the WWN if none was given. */
void th_identity_init(th_identity *id, uint8_t type, const char *vendor, const char *product,
                      const char *revision, const char *serial, uint64_t wwn);
/* Builds a VPD page beyond 00/80/83 into buf (header included); returns its length. */
typedef size_t (*th_vpd_fn)(void *dev, uint8_t page, uint8_t *buf, size_t cap);

/* INQUIRY: standard data, or VPD 00 (listing the common pages plus extra[]), 80, 83,
 * and extra pages built by fn. */
void th_inquiry(th_cmd *cmd, const th_identity *id, const uint8_t *extra, size_t n_extra,
                th_vpd_fn fn, void *dev);

#endif
