/* The producer API sources use to build commands (cmd/cmd_source.h): what a source
 * fills in is what handlers see, and the response reads back as a completion
 * writes it. */
#include "cmd/cmd_source.h"
#include "helpers.h"

static int done_calls;
static void *done_owner;
static void on_done(th_cmd *cmd)
{
    done_calls++;
    done_owner = th_cmd_owner(cmd);
}

Test(cmd_source, a_built_command_reads_back_as_handlers_see_it)
{
    th_cmd *cmd = th_cmd_alloc();
    cr_assert_not_null(cmd);
    uint8_t cdb[10];
    size_t n = th_cdb_read(cdb, 10, 77, 2);
    cr_assert_eq(th_cmd_set_cdb(cmd, cdb, n), 0);
    uint8_t big[TH_CDB_MAX + 1] = {0};
    cr_assert_eq(th_cmd_set_cdb(cmd, big, sizeof(big)), -EINVAL);
    th_cmd_set_id(cmd, 4242);
    uint8_t a[512], b[512];
    cr_assert_eq(th_cmd_reserve_iov(cmd, 2), 0);
    th_cmd_set_iov(cmd, 0, a, sizeof(a));
    th_cmd_set_iov(cmd, 1, b, sizeof(b));
    th_cmd_set_data_dirs(cmd, 0, 0, 2);
    cr_assert_eq(th_cmd_opcode(cmd), 0x28);
    cr_assert_eq(th_cmd_lba(cmd), 77);
    cr_assert_eq(th_cmd_id(cmd), 4242);
    cr_assert_eq(th_cmd_data_in_cap(cmd), 1024);
    cr_assert_eq(th_cmd_data_out_len(cmd), 0);
    int owner;
    th_cmd_set_done(cmd, on_done, &owner, NULL);
    done_calls = 0;
    th_cmd_data_in_write(cmd, 0, "xy", 2);
    th_cmd_check(cmd, TH_KEY_MEDIUM_ERROR, TH_ASC_UNRECOVERED_READ_ERROR);
    th_cmd_complete(cmd);
    th_cmd_complete(cmd);
    cr_assert_eq(done_calls, 1, "done runs exactly once");
    cr_assert_eq(done_owner, &owner);
    th_cmd_response rsp;
    th_cmd_get_response(cmd, &rsp);
    cr_assert_eq(rsp.id, 4242);
    cr_assert_eq(rsp.status, TH_STATUS_CHECK_CONDITION);
    cr_assert_eq(rsp.data_in_cap, 1024);
    cr_assert_geq(rsp.sense_len, 14);
    cr_assert_eq(rsp.sense[2] & 0x0f, TH_KEY_MEDIUM_ERROR);
    /* Reset for reuse: response gone, iovecs kept. */
    th_cmd_reset(cmd);
    th_cmd_get_response(cmd, &rsp);
    cr_assert_eq(rsp.status, TH_STATUS_GOOD);
    cr_assert_eq(rsp.sense_len, 0);
    cr_assert_not(rsp.data_in_set);
    th_cmd_clear_data(cmd);
    cr_assert_eq(th_cmd_data_in_cap(cmd), 0);
    th_cmd_free(cmd);
}

Test(cmd_source, bidi_iovecs_keep_data_out_and_data_in_apart)
{
    th_cmd *cmd = th_cmd_alloc();
    uint8_t out[8] = "outdata", in[16] = {0};
    cr_assert_eq(th_cmd_reserve_iov(cmd, 2), 0);
    th_cmd_set_iov(cmd, 0, out, sizeof(out));
    th_cmd_set_iov(cmd, 1, in, sizeof(in));
    th_cmd_set_data_dirs(cmd, 1, 1, 1);
    cr_assert_eq(th_cmd_data_out_len(cmd), 8);
    cr_assert_eq(th_cmd_data_in_cap(cmd), 16);
    uint8_t got[8];
    cr_assert_eq(th_cmd_data_out_read(cmd, 0, got, 8), 8);
    cr_assert_arr_eq(got, "outdata", 8);
    th_cmd_data_in_write(cmd, 0, "IN", 2);
    cr_assert_arr_eq(in, "IN", 2);
    cr_assert_arr_eq(out, "outdata", 8);
    th_cmd_free(cmd);
}
