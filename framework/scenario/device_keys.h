/* One description of a device: its keys (names, kinds, ranges, the device types they apply
 * to), their defaults, one setter per key and the checks across keys. A YAML mapping
 * (parse_device.c) and a SPEC string (spec.c) are two spellings of it: both call the same
 * setters and the same check, so a bad value gets the same message either way (YAML puts
 * FILE:LINE:COL: in front). */
#ifndef TH_SCENARIO_DEVICE_KEYS_H
#define TH_SCENARIO_DEVICE_KEYS_H
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include "scenario.h"
#include "th/device.h"

/* The device types a key or an action applies to. */
#define SC_ON_NONE 0u /* no device (run, sleep_ms) */
#define SC_ON_DISK 1u
#define SC_ON_TAPE 2u
#define SC_ON_ANY  (SC_ON_DISK | SC_ON_TAPE)

#define SC_KEY_ISCSI    1u /* only with export: iscsi */
#define SC_KEY_EMPTY_OK 2u /* "" means the default (the identity strings) */

typedef enum {
    SC_DK_TEXT,
    SC_DK_NAME,
    SC_DK_TYPE,
    SC_DK_SIZE,
    SC_DK_BLOCK,
    SC_DK_INT,
    SC_DK_LUN, /* an integer whose bound has a reason to give */
    SC_DK_BOOL,
    SC_DK_NOT_BOOL, /* loaded: stored as unloaded */
    SC_DK_WWN,
    SC_DK_TARGET,
    SC_DK_BACKING,
    SC_DK_EXPORT,
    SC_DK_INITIATOR, /* a list: each value is one item */
    SC_DK_MEDIA,     /* a list: KIND:VALUE items */
    SC_DK_MAP,       /* chap: its keys are sub-keys (chap.user in a SPEC) */
    SC_DK_KINDS
} sc_dk_kind;

typedef struct sc_device_key {
    const char *name; /* canonical: the YAML key */
    sc_dk_kind kind;
    unsigned on;    /* SC_ON_DISK | SC_ON_TAPE */
    unsigned flags; /* SC_KEY_* */
    size_t off, cap;
    long long lo, hi;                /* numbers, sizes; lists: at least lo items, at most hi */
    const char *example;             /* a valid value as SPEC text (a list's one item) */
    const char *yaml;                /* the same as a YAML value */
    const struct sc_device_key *sub; /* SC_DK_MAP */
    size_t n_sub;
} sc_device_key;

/* The keys, in one list for both tables (sc_device_keys here, the YAML parser's yt_keys):
 * X(name, kind, on, flags, field, lo, hi, YAML shape, SPEC example, YAML example, sub). */
#define SC_TIB 1099511627776ll
#define SC_DEVICE_KEYS(X)                                                                          \
    X("name", SC_DK_NAME, SC_ON_ANY, 0, name, 0, 0, YT_TEXT, "d0", "d0", NULL)                     \
    X("type", SC_DK_TYPE, SC_ON_ANY, 0, type, 0, 0, YT_TYPED, "disk", "disk", NULL)                \
    X("size", SC_DK_SIZE, SC_ON_ANY, 0, size, 1, 16 * SC_TIB, YT_TYPED, "1MiB", "1MiB", NULL)      \
    X("block_size", SC_DK_BLOCK, SC_ON_ANY, 0, block_size, 512, 65536, YT_TYPED, "512", "512",     \
      NULL)                                                                                        \
    X("backing", SC_DK_BACKING, SC_ON_DISK, 0, backing, 0, 0, YT_TYPED, "memory", "memory", NULL)  \
    X("vendor", SC_DK_TEXT, SC_ON_ANY, SC_KEY_EMPTY_OK, vendor, 0, 0, YT_TEXT, "ACME", "ACME",     \
      NULL)                                                                                        \
    X("product", SC_DK_TEXT, SC_ON_ANY, SC_KEY_EMPTY_OK, product, 0, 0, YT_TEXT, "Anvil", "Anvil", \
      NULL)                                                                                        \
    X("revision", SC_DK_TEXT, SC_ON_DISK, SC_KEY_EMPTY_OK, revision, 0, 0, YT_TEXT, "0001",        \
      "0001", NULL)                                                                                \
    X("serial", SC_DK_TEXT, SC_ON_ANY, SC_KEY_EMPTY_OK, serial, 0, 0, YT_TEXT, "S0", "S0", NULL)   \
    X("wwn", SC_DK_WWN, SC_ON_ANY, 0, wwn, 0, 0, YT_TYPED, "naa.3000000000000001",                 \
      "naa.3000000000000001", NULL)                                                                \
    X("workers", SC_DK_INT, SC_ON_ANY, 0, workers, 0, 64, YT_TYPED, "2", "2", NULL)                \
    X("lun", SC_DK_LUN, SC_ON_ANY, 0, lun, 0, TH_LUN_MAX, YT_TYPED, "1", "1", NULL)                \
    X("hba", SC_DK_INT, SC_ON_ANY, 0, hba, 0, 1 << 20, YT_TYPED, "3", "3", NULL)                   \
    X("spin", SC_DK_INT, SC_ON_ANY, 0, spin, 0, 1 << 30, YT_TYPED, "0", "0", NULL)                 \
    X("target", SC_DK_TARGET, SC_ON_ANY, 0, target, 0, 0, YT_TYPED, "naa.5001405000000001",        \
      "naa.5001405000000001", NULL)                                                                \
    X("external", SC_DK_BOOL, SC_ON_ANY, 0, external, 0, 0, YT_TYPED, "false", "false", NULL)      \
    X("export", SC_DK_EXPORT, SC_ON_ANY, 0, iscsi, 0, 0, YT_TYPED, "iscsi", "iscsi", NULL)         \
    X("iqn", SC_DK_TEXT, SC_ON_ANY, SC_KEY_ISCSI, iqn, 0, 0, YT_TEXT, "iqn.2026-11.org.example:t", \
      "iqn.2026-11.org.example:t", NULL)                                                           \
    X("portal", SC_DK_TEXT, SC_ON_ANY, SC_KEY_ISCSI, portal, 0, 0, YT_TEXT, "127.0.0.1:3260",      \
      "127.0.0.1:3260", NULL)                                                                      \
    X("chap", SC_DK_MAP, SC_ON_ANY, SC_KEY_ISCSI, chap_user, 0, 0, YT_MAP, NULL,                   \
      "{user: u, password: p}", sc_chap_keys)                                                      \
    X("initiators", SC_DK_INITIATOR, SC_ON_ANY, SC_KEY_ISCSI, initiators, 1, INT_MAX, YT_LIST,     \
      "iqn.2026-11.org.example:a", "[iqn.2026-11.org.example:a, iqn.2026-11.org.example:b]", NULL) \
    X("early_warning", SC_DK_SIZE, SC_ON_TAPE, 0, early_warning, 0, 16 * SC_TIB, YT_TYPED, "64K",  \
      "64K", NULL)                                                                                 \
    X("second_partition", SC_DK_SIZE, SC_ON_TAPE, 0, second_partition, 0, 16 * SC_TIB, YT_TYPED,   \
      "64K", "64K", NULL)                                                                          \
    X("write_protect", SC_DK_BOOL, SC_ON_TAPE, 0, write_protect, 0, 0, YT_TYPED, "false", "false", \
      NULL)                                                                                        \
    X("loaded", SC_DK_NOT_BOOL, SC_ON_TAPE, 0, unloaded, 0, 0, YT_TYPED, "true", "true", NULL)     \
    X("image", SC_DK_TEXT, SC_ON_TAPE, 0, image, 0, 0, YT_TEXT, "tape.img", "tape.img", NULL)      \
    X("media", SC_DK_MEDIA, SC_ON_TAPE, 0, media, 0, INT_MAX, YT_LIST, "record:10",                \
      "[record: 10, text: hi, filemark: 1]", NULL)

#define SC_CHAP_KEYS(X)                                                                            \
    X("user", SC_DK_TEXT, SC_ON_ANY, 0, chap_user, 0, 0, YT_TEXT, "th-user", "th-user", NULL)      \
    X("password", SC_DK_TEXT, SC_ON_ANY, 0, chap_password, 0, 0, YT_TEXT, "th-secret-1234",        \
      "th-secret-1234", NULL)

extern const sc_device_key sc_device_keys[];
extern const sc_device_key sc_chap_keys[];
extern const size_t sc_n_chap_keys;
extern const size_t sc_n_device_keys;

/* The defaults of both spellings: a 64 MiB memory disk of 512-byte blocks. */
void sc_device_defaults(sc_device *d);
/* A key by canonical name (sub-keys as "chap.user"); *index: its index in sc_device_keys
 * (the parent's for a sub-key). NULL if unknown. */
const sc_device_key *sc_device_key_find(const char *name, int *index);
/* Sets one key (a list key: adds one item) from its text. 0, or -EINVAL with
 * "KEY: why" in err. */
int sc_device_set(sc_device *d, const sc_device_key *k, const char *v, char *err, size_t cap);
/* A deep copy (media and initiators duplicated), and the release of what a description
 * owns (its media and initiators). */
int sc_device_copy(sc_device *dst, const sc_device *src);
void sc_device_clear(sc_device *d);
/* The checks across keys, after the last one; given: bit i set if sc_device_keys[i] was
 * given. 0, or -EINVAL with the message in err and in *at the index of the key to blame
 * (-1: the whole device). */
int sc_device_check(const sc_device *d, uint64_t given, char *err, size_t cap, int *at);
/* The files a device names, looked at when it is read rather than when it is built (after
 * the devices before it are up, or a kernel booted): a tape's image must be an image that
 * fits the tape, a file: backing a file or block device, or a name in an existing
 * directory. 0, or -errno with "KEY: why" in err and the key's index in *at. */
int sc_device_check_files(const sc_device *d, char *err, size_t cap, int *at);

#endif
