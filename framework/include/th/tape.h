/* The SSC tape emulation: a media model (records of any length, filemarks, end of data,
 * capacity and early warning, write protection, a cartridge that can be unloaded) and
 * the commands the Linux st driver and mt-st use. */
#ifndef TH_TAPE_H
#define TH_TAPE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "th/cmd.h"
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef struct th_tape_config {
    uint64_t capacity;      /* bytes of records the cartridge holds; default 64 MiB */
    uint64_t early_warning; /* bytes before the end where EOM is reported; default 1 MiB */
    uint32_t block_size;    /* 0: variable block mode (the default) */
    uint64_t partition1;    /* bytes of an optional second partition (0: one partition) */
    bool write_protect;
    bool loaded; /* default true */
    const char *vendor, *product, *revision, *serial;
    uint64_t wwn;
} th_tape_config;

typedef struct th_tape th_tape;

void th_tape_config_init(th_tape_config *cfg);
/* Errors as in th/backend.h: -EINVAL with the parameter at fault in err, or -ENOMEM. */
int th_tape_new(const th_tape_config *cfg, th_tape **out, char *err, size_t errlen);
void th_tape_free(th_tape *t);
int th_tape_handle(th_cmd *cmd, void *tape);
const char *th_tape_op_name(uint8_t opcode, uint16_t sa);

/* Media, as a scenario or a test declares it (appended at the end of data). */
int th_tape_append_record(th_tape *t, const void *data, size_t len);
int th_tape_append_filemark(th_tape *t);
size_t th_tape_objects(const th_tape *t);  /* records + filemarks */
size_t th_tape_position(const th_tape *t); /* logical object number */
int th_tape_partition(const th_tape *t);   /* the active partition */
/* The current block size (MODE SELECT changes it); 0: variable block mode. */
uint32_t th_tape_block_size(const th_tape *t);
/* Cartridge handling: unload answers NOT READY, MEDIUM NOT PRESENT; load rewinds and
 * the next command gets UNIT ATTENTION, NOT READY TO READY CHANGE. */
void th_tape_set_loaded(th_tape *t, bool loaded);
void th_tape_set_write_protect(th_tape *t, bool wp);

/* Media image files (partition 0): "THTAPE1\n", then objects: 'R' + u32 length (big-endian) +
 * bytes, or 'F' for a filemark; the end of the file is the end of data. */
/* Loading replaces the active partition's objects; on any error (-errno, message in err)
 * the tape is left as it was. */
int th_tape_load_image(th_tape *t, const char *path, char *err, size_t errlen);
int th_tape_save_image(const th_tape *t, const char *path);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
