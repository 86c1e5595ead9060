/* A vendor's disk: one vendor-specific command of its own, READ FIRMWARE INFO (0xC0),
 * and everything else answered by tcmu-harness's built-in SBC disk emulation. */
#ifndef VENDOR_H
#define VENDOR_H
#include <stddef.h>
#include <stdint.h>
#include <th/th.h>

/* C0 00 00 00 ALLOC 00: up to ALLOC bytes of VENDOR_FW_INFO. */
#define VENDOR_OP_FW_INFO  0xC0
#define VENDOR_FW_INFO_LEN 16
extern const uint8_t VENDOR_FW_INFO[VENDOR_FW_INFO_LEN];

typedef struct vendor_dev {
    th_disk *disk;
    unsigned fw_queries; /* READ FIRMWARE INFO commands answered */
} vendor_dev;

/* A memory-backed disk of blocks x 512 bytes; 0 or a negative errno with err. */
int vendor_dev_init(vendor_dev *v, uint64_t blocks, char *err, size_t errlen);
void vendor_dev_free(vendor_dev *v);
/* The device handler (th_handler_fn): arg is the vendor_dev. */
int vendor_handle(th_cmd *cmd, void *arg);

#endif
