/* {dev.field} references in step commands, checked when the scenario is read: a typo in
 * a device or field name fails validate with its location, not the step at run time.
 * A brace group that names neither a device nor a field ({1..3}, awk's {print $1}) is
 * the shell's, left alone. The fields are those session_fields.c fills in. */
#include <stdio.h>
#include <string.h>
#include "parse_internal.h"

typedef enum { ANY, DISK, TAPE, ISCSI } field_needs;

// clang-format off
static const struct {
    const char *name;
    field_needs needs;
} fields[] = {
    {"sg", ANY},        {"sd", DISK},     {"sdname", DISK}, {"st", TAPE},
    {"nst", TAPE},      {"backstore", ANY}, {"address", ANY}, {"iscsi", ISCSI},
    {"name", ANY},      {"type", ANY},    {"state", ANY},   {"size", ANY},
    {"block_size", ANY}, {"wwn", ANY},
};
// clang-format on
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static int field_index(const char *f)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (!strcmp(fields[i].name, f)) return (int)i;
    return -1;
}

static const char *field_list(void)
{
    static const char list[] = "sg sd sdname st nst backstore address iscsi name type state "
                               "size block_size wwn";
    return list;
}

static bool is_tape(const sc_device *d)
{
    return !strcmp(d->type, "tape");
}

void sc_check_placeholders(yt *t, const scenario *sc, yaml_node_t *v, const char *text)
{
    for (const char *p = strchr(text, '{'); p; p = strchr(p + 1, '{')) {
        const char *close = strchr(p, '}');
        const char *dot = close ? memchr(p, '.', (size_t)(close - p)) : NULL;
        if (!dot) continue;
        char dev[80], f[40];
        if (dot - p - 1 >= (long)sizeof(dev) || close - dot - 1 >= (long)sizeof(f)) continue;
        snprintf(dev, sizeof(dev), "%.*s", (int)(dot - p - 1), p + 1);
        snprintf(f, sizeof(f), "%.*s", (int)(close - dot - 1), dot + 1);
        /* Only name-shaped tokens are references: jq's {name: .name} and awk's
         * {print a.size} are the shell's. */
        if (strspn(dev, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") !=
                strlen(dev) ||
            !*dev)
            continue;
        const sc_device *d = sc_find_device(sc, dev);
        /* After a declared device, any word is meant as its field: {d0.SG}, {d0.s g} aside,
         * {d0.Sg}, {d0.sg.x} and {d0.} went to the shell as they were written. */
        size_t word =
            strspn(f, d ? "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_."
                        : "abcdefghijklmnopqrstuvwxyz_");
        if (word != strlen(f) || (!d && !*f)) continue;
        int fi = field_index(f);
        if (!d && fi < 0) continue; /* the shell's braces */
        if (!d) {
            yt_error(t, v, "{%s.%s}: no device named '%s'", dev, f, dev);
        } else if (fi < 0) {
            yt_error(t, v, "{%s.%s}: a device has no field '%s' (fields: %s)", dev, f, f,
                     field_list());
        } else if (fields[fi].needs == DISK && is_tape(d)) {
            yt_error(t, v, "{%s.%s}: %s is a tape, and %s is a disk's node", dev, f, dev, f);
        } else if (fields[fi].needs == TAPE && !is_tape(d)) {
            yt_error(t, v, "{%s.%s}: %s is a disk, and %s is a tape's node", dev, f, dev, f);
        } else if (fields[fi].needs == ISCSI && !d->iscsi) {
            yt_error(t, v, "{%s.%s}: %s has no iSCSI export (export: iscsi)", dev, f, dev);
        } else if ((fields[fi].needs == DISK || fields[fi].needs == TAPE || !strcmp(f, "sg") ||
                    !strcmp(f, "address")) &&
                   (d->iscsi || d->external)) {
            yt_error(t, v, "{%s.%s}: %s has no local SCSI device (its export is not loopback)", dev,
                     f, dev);
        }
    }
}
