/* serve --device SPEC: a device from "key=value,key=value". */
#ifndef TH_SCENARIO_SPEC_H
#define TH_SCENARIO_SPEC_H
#include <stdbool.h>
#include "scenario.h"
#include "th/device.h"
#include "th/disk.h"
#include "th/tape.h"

typedef struct sc_spec {
    /* Ready for th_device_open, th_disk_new and th_tape_new; their strings point into this
     * struct, so it must not be copied. */
    th_device_config cfg;
    th_disk_config disk;
    th_tape_config tape;
    char image[512];
    bool iscsi;
    char iqn[224], portal[64];
    char chap_user[128], chap_password[128];
    char initiators[SC_MAX_INITIATORS][224];
    int n_initiators;
    char name[65], backing[512], target[32], vendor[16], product[32], serial[40];
    char err[320]; /* why sc_spec_parse failed */
} sc_spec;

/* The keys a SPEC takes, with an example value each (NULL-terminated). */
typedef struct sc_spec_key {
    const char *name;
    const char *example;
    bool repeatable;
} sc_spec_key;
extern const sc_spec_key sc_spec_keys[];

/* 0, or -EINVAL with the reason in s->err. */
int sc_spec_parse(const char *text, sc_spec *s);
/* Gives an unpinned spec (no wwn=) the WWN of its name on ctx's harness instance;
 * call before th_disk_new / th_tape_new / th_device_open. */
void sc_spec_bind(sc_spec *s, const th_ctx *ctx);
/* "64MiB", "1G", "4096" (K/M/G/T, KiB.., KB..); false if not a size. */
bool sc_parse_size(const char *s, uint64_t *out);

#endif
