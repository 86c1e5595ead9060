/* Sense keys and ASC/ASCQ texts as data, decoded in one place. */
#include <ctype.h>
#include <stddef.h>
#include "sense_table.h"

static const char *const key_names[16] = {
    "NO_SENSE",       "RECOVERED_ERROR", "NOT_READY",      "MEDIUM_ERROR",
    "HARDWARE_ERROR", "ILLEGAL_REQUEST", "UNIT_ATTENTION", "DATA_PROTECT",
    "BLANK_CHECK",    "VENDOR_SPECIFIC", "COPY_ABORTED",   "ABORTED_COMMAND",
    "EQUAL",          "VOLUME_OVERFLOW", "MISCOMPARE",     "COMPLETED",
};

const th_asc_entry th_asc_table[] = {
    {0x00, 0x00, "no additional sense information"},
    {0x00, 0x01, "filemark detected"},
    {0x00, 0x02, "end-of-partition/medium detected"},
    {0x00, 0x03, "setmark detected"},
    {0x00, 0x04, "beginning-of-partition/medium detected"},
    {0x00, 0x05, "end-of-data detected"},
    {0x00, 0x16, "operation in progress"},
    {0x04, 0x00, "logical unit not ready, cause not reportable"},
    {0x04, 0x01, "logical unit is in process of becoming ready"},
    {0x04, 0x02, "logical unit not ready, initializing command required"},
    {0x04, 0x03, "logical unit not ready, manual intervention required"},
    {0x04, 0x04, "logical unit not ready, format in progress"},
    {0x08, 0x00, "logical unit communication failure"},
    {0x08, 0x04, "unreachable copy target"},
    {0x0c, 0x00, "write error"},
    {0x0d, 0x02, "copy target device not reachable"},
    {0x0c, 0x02, "write error - auto reallocation failed"},
    {0x10, 0x01, "logical block guard check failed"},
    {0x11, 0x00, "unrecovered read error"},
    {0x11, 0x01, "read retries exhausted"},
    {0x11, 0x04, "unrecovered read error - auto reallocate failed"},
    {0x14, 0x00, "recorded entity not found"},
    {0x14, 0x01, "record not found"},
    {0x14, 0x03, "end-of-data not found"},
    {0x15, 0x00, "random positioning error"},
    {0x1a, 0x00, "parameter list length error"},
    {0x1d, 0x00, "miscompare during verify operation"},
    {0x20, 0x00, "invalid command operation code"},
    {0x21, 0x00, "logical block address out of range"},
    {0x24, 0x00, "invalid field in cdb"},
    {0x25, 0x00, "logical unit not supported"},
    {0x26, 0x00, "invalid field in parameter list"},
    {0x26, 0x01, "parameter not supported"},
    {0x26, 0x02, "parameter value invalid"},
    {0x26, 0x06, "too many target descriptors"},
    {0x26, 0x07, "unsupported target descriptor type code"},
    {0x26, 0x08, "too many segment descriptors"},
    {0x26, 0x09, "unsupported segment descriptor type code"},
    {0x27, 0x00, "write protected"},
    {0x27, 0x01, "hardware write protected"},
    {0x28, 0x00, "not ready to ready change, medium may have changed"},
    {0x29, 0x00, "power on, reset, or bus device reset occurred"},
    {0x29, 0x01, "power on occurred"},
    {0x29, 0x02, "scsi bus reset occurred"},
    {0x29, 0x03, "bus device reset function occurred"},
    {0x29, 0x07, "i_t nexus loss occurred"},
    {0x2a, 0x01, "mode parameters changed"},
    {0x2a, 0x09, "capacity data has changed"},
    {0x2c, 0x00, "command sequence error"},
    {0x30, 0x00, "incompatible medium installed"},
    {0x30, 0x02, "cannot read medium - incompatible format"},
    {0x31, 0x00, "medium format corrupted"},
    {0x33, 0x00, "tape length error"},
    {0x37, 0x00, "rounded parameter"},
    {0x39, 0x00, "saving parameters not supported"},
    {0x3a, 0x00, "medium not present"},
    {0x3b, 0x00, "sequential positioning error"},
    {0x3b, 0x01, "tape position error at beginning-of-medium"},
    {0x3b, 0x08, "reposition error"},
    {0x3f, 0x0e, "reported luns data has changed"},
    {0x44, 0x00, "internal target failure"},
    {0x47, 0x00, "scsi parity error"},
    {0x4b, 0x00, "data phase error"},
    {0x50, 0x00, "write append error"},
    {0x51, 0x00, "erase failure"},
    {0x52, 0x00, "cartridge fault"},
    {0x53, 0x00, "media load or eject failed"},
    {0x53, 0x02, "medium removal prevented"},
    {0x55, 0x03, "insufficient resources"},
    {0x5d, 0x00, "failure prediction threshold exceeded"},
    {0x3e, 0x02, "timeout on logical unit"},
    {0x0e, 0x03, "invalid field in command information unit"},
    {0x6f, 0x00, "copy protection key exchange failure"},
};
const size_t th_asc_table_len = sizeof(th_asc_table) / sizeof(th_asc_table[0]);

const char *th_sense_key_name(uint8_t key)
{
    return key < 16 ? key_names[key] : "?";
}

static int name_eq(const char *table, const char *name)
{
    for (; *table && *name; table++, name++) {
        char c = (char)toupper((unsigned char)*name);
        if (c == '-' || c == ' ') c = '_';
        if (c != *table) return 0;
    }
    return *table == 0 && *name == 0;
}

int th_sense_key_from_name(const char *name)
{
    for (int i = 0; i < 16; i++)
        if (name_eq(key_names[i], name)) return i;
    return -1;
}

const char *th_sense_asc_text(uint8_t asc, uint8_t ascq)
{
    for (size_t i = 0; i < th_asc_table_len; i++)
        if (th_asc_table[i].asc == asc && th_asc_table[i].ascq == ascq) return th_asc_table[i].text;
    return NULL;
}
