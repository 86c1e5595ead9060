/* The public face of the opcode tables (th/ops.h), and the Data-Out length check every
 * handler of a data-carrying command shares. */
#include <errno.h>
#include "disk_internal.h"
#include "tape_internal.h"

/* INVALID FIELD IN COMMAND INFORMATION UNIT: SAM's answer when the data an initiator
 * sends does not match what the CDB describes, and what LIO itself answers before a
 * disk backstore sees such a WRITE. Not in th/sense.h's list (yet). */
#define ASC_INVALID_FIELD_IN_IU 0x0e03

const th_optable *th_optable_of(th_ops_kind kind)
{
    return kind == TH_OPS_TAPE ? &th_tape_optable : &th_disk_optable;
}

/* A TCMU backstore receives exactly the Data-Out the initiator sent, and for a tape
 * (passthrough parsing) the kernel does not compare it with the CDB. Short Data-Out is
 * refused before anything is written: writing the blocks that did arrive would need a
 * Data-Out residual, which a TCMU device cannot report, and answering GOOD would claim
 * data the initiator never sent (SAM-5 leaves an overrun/underrun to the device server
 * to reject; LIO rejects WRITE-type underruns the same way). */
bool th_op_need_data_out(th_cmd *cmd, size_t need)
{
    if (th_cmd_data_out_len(cmd) >= need) return true;
    th_cmd_check(cmd, TH_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_IU);
    return false;
}

static void to_info(const th_op *o, th_op_info *out)
{
    out->opcode = o->op;
    out->sa = o->sa;
    out->cdb_len = o->len;
    out->flags = o->flags;
    out->name = o->name;
}

int th_ops_by_name(th_ops_kind kind, const char *name, th_op_info *out)
{
    const th_op *o = name ? th_op_by_name(th_optable_of(kind), name) : NULL;
    if (!o) return -ENOENT;
    to_info(o, out);
    return 0;
}

int th_ops_find(th_ops_kind kind, uint8_t opcode, uint16_t sa, th_op_info *out)
{
    const th_op *o = th_op_find(th_optable_of(kind), opcode, sa);
    if (!o) return -ENOENT;
    to_info(o, out);
    return 0;
}

const char *th_ops_name(th_ops_kind kind, uint8_t opcode, uint16_t sa)
{
    const th_op *o = th_op_find(th_optable_of(kind), opcode, sa);
    return o ? o->name : NULL;
}

bool th_ops_ua_exempt(uint8_t opcode)
{
    if (opcode == 0xa0) return true; /* REPORT LUNS */
    const th_op *o = th_op_find(&th_disk_optable, opcode, 0);
    if (!o) o = th_op_find(&th_tape_optable, opcode, 0);
    return o && (o->flags & TH_OPF_NO_UA);
}
