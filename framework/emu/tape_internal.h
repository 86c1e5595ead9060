#ifndef TH_TAPE_INTERNAL_H
#define TH_TAPE_INTERNAL_H
#include <pthread.h>
#include "inquiry.h"
#include "optable.h"
#include "th/tape.h"

typedef struct tape_obj {
    bool filemark;
    uint32_t len;
    uint8_t *data;
} tape_obj;

/* What a filemark takes of the capacity. At nothing, one CDB could ask for 2^24 - 1
 * objects of host memory; at 1 KiB the object list stays near 3% of the capacity. */
#define TAPE_FILEMARK_BYTES 1024u

static inline uint64_t tape_obj_bytes(const tape_obj *o)
{
    return o->filemark ? TAPE_FILEMARK_BYTES : o->len;
}

/* What a partition holds. The active one lives in th_tape itself (every command works
 * on it); the other is parked here and swapped in by tape_switch_partition. */
typedef struct tape_part {
    tape_obj *obj;
    size_t n, cap, pos;
    uint64_t used, capacity;
} tape_part;

struct th_tape {
    pthread_mutex_t lock; /* commands are ordered, but tests poke the media too */
    tape_obj *obj;
    size_t n, cap;
    size_t pos; /* 0 = BOP, n = EOD */
    uint64_t used;
    uint64_t capacity, early_warning;
    int partitions; /* 1 or 2 */
    int active;
    tape_part parked;
    uint32_t block_size;
    bool write_protect, loaded, ua_pending, prevent, compression;
    uint8_t density;
    th_identity id;
};

extern const th_optable th_tape_optable;

/* Media model. */
void tape_truncate(th_tape *t, size_t at); /* everything from object `at` on is gone */
int tape_insert(th_tape *t, bool filemark, const void *data, uint32_t len);
size_t tape_filemarks_before(const th_tape *t, size_t pos);
void tape_switch_partition(th_tape *t, int p);

/* Sense helpers: a NO SENSE / BLANK CHECK ... with INFORMATION and the stream bits. */
void tape_sense(th_cmd *cmd, uint8_t key, uint16_t asc, int64_t info, bool fm, bool eom, bool ili);

void tape_read6(void *t, th_cmd *cmd);
void tape_write6(void *t, th_cmd *cmd);
void tape_write_filemarks(void *t, th_cmd *cmd);
void tape_space(void *t, th_cmd *cmd);
void tape_rewind(void *t, th_cmd *cmd);
void tape_locate(void *t, th_cmd *cmd);
void tape_read_position(void *t, th_cmd *cmd);
void tape_erase(void *t, th_cmd *cmd);
void tape_load_unload(void *t, th_cmd *cmd);
void tape_tur(void *t, th_cmd *cmd);
void tape_inquiry(void *t, th_cmd *cmd);
void tape_request_sense(void *t, th_cmd *cmd);
void tape_read_block_limits(void *t, th_cmd *cmd);
void tape_mode_sense(void *t, th_cmd *cmd);
void tape_mode_select(void *t, th_cmd *cmd);
void tape_report_density(void *t, th_cmd *cmd);
void tape_prevent_allow(void *t, th_cmd *cmd);
void tape_log_sense(void *t, th_cmd *cmd);
void tape_report_opcodes(void *t, th_cmd *cmd);

#endif
