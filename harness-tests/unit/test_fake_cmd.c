/* The fake-command API itself: buffers, responses, residual, deferral. */
#include <pthread.h>
#include "helpers.h"

static int echo_handler(th_cmd *cmd, void *arg)
{
    (void)arg;
    uint8_t buf[64];
    size_t n = th_cmd_data_out_read(cmd, 0, buf, sizeof(buf));
    th_cmd_data_in_write(cmd, 0, buf, n);
    th_cmd_ok(cmd);
    return 0;
}

Test(fake_cmd, data_out_goes_in_and_data_in_comes_back)
{
    uint8_t cdb[6] = {0xc0};
    uint8_t out[16] = "hello, handler!";
    th_cmd *c = th_fake_cmd_new(cdb, 6, out, 16, 32);
    cr_assert_eq(th_fake_cmd_run(c, echo_handler, NULL), 0);
    cr_assert(th_fake_cmd_done(c));
    th_assert_good(c);
    th_assert_data_in(c, out, 16);
    cr_assert_eq(th_fake_residual(c), 16);
    th_fake_cmd_free(c);
}

Test(fake_cmd, segmented_iovecs_are_walked_across_boundaries)
{
    uint8_t cdb[6] = {0xc0};
    uint8_t out[40];
    fill_pattern(out, sizeof(out), 1);
    th_cmd *c = th_fake_cmd_new(cdb, 6, out, 40, 40);
    cr_assert_eq(th_fake_cmd_set_segment(c, 7), 0);
    const struct iovec *iov;
    cr_assert_eq(th_cmd_data_in_iov(c, &iov), 6);
    uint8_t mid[10];
    cr_assert_eq(th_cmd_data_out_read(c, 5, mid, 10), 10);
    cr_assert_arr_eq(mid, out + 5, 10);
    th_fake_cmd_run(c, echo_handler, NULL);
    th_assert_data_in(c, out, 40);
    th_fake_cmd_free(c);
}

Test(fake_cmd, writes_past_capacity_are_cut)
{
    uint8_t cdb[6] = {0xc0};
    th_cmd *c = th_fake_cmd_new(cdb, 6, NULL, 0, 8);
    uint8_t big[32] = {1};
    cr_assert_eq(th_cmd_data_in_write(c, 4, big, 32), 4);
    cr_assert_eq(th_cmd_get_data_in_len(c), 8);
    th_fake_cmd_free(c);
}

Test(fake_cmd, short_data_in_length_gives_a_residual)
{
    uint8_t cdb[6] = {0xc0};
    th_cmd *c = th_fake_cmd_new(cdb, 6, NULL, 0, 512);
    th_cmd_set_data_in_len(c, 100);
    cr_assert_eq(th_fake_residual(c), 412);
    th_cmd_set_data_in_len(c, 9999);
    cr_assert_eq(th_cmd_get_data_in_len(c), 512);
    th_fake_cmd_free(c);
}

Test(fake_cmd, constructor_rejects_bad_input)
{
    uint8_t cdb[300] = {0};
    cr_assert_null(th_fake_cmd_new(cdb, 0, NULL, 0, 0));
    cr_assert_null(th_fake_cmd_new(cdb, 261, NULL, 0, 0));
    cr_assert_null(th_fake_cmd_new(NULL, 6, NULL, 0, 0));
    cr_assert_null(th_fake_cmd_new(cdb, 6, NULL, 10, 0));
}

Test(fake_cmd, status_only_responses)
{
    uint8_t cdb[6] = {0};
    static const uint8_t st[] = {TH_STATUS_BUSY, TH_STATUS_TASK_SET_FULL,
                                 TH_STATUS_RESERVATION_CONFLICT, TH_STATUS_ACA_ACTIVE,
                                 TH_STATUS_TASK_ABORTED};
    for (size_t i = 0; i < sizeof(st); i++) {
        th_cmd *c = th_fake_cmd_new(cdb, 6, NULL, 0, 0);
        th_cmd_status(c, st[i]);
        th_assert_status(c, st[i]);
        size_t n;
        cr_assert_null(th_cmd_get_sense(c, &n));
        th_fake_cmd_free(c);
    }
}

Test(fake_cmd, raw_sense_is_returned_verbatim)
{
    uint8_t cdb[6] = {0};
    uint8_t raw[20] = {0x70, 0, 0x0b, 0, 0, 0, 0, 12, 0, 0, 0, 0, 0x47, 0x03};
    th_cmd *c = th_fake_cmd_new(cdb, 6, NULL, 0, 0);
    th_cmd_sense_raw(c, raw, 20);
    size_t n;
    const uint8_t *s = th_cmd_get_sense(c, &n);
    cr_assert_eq(n, 20);
    cr_assert_arr_eq(s, raw, 20);
    th_assert_sense(c, TH_KEY_ABORTED_COMMAND, 0x4703);
    th_fake_cmd_free(c);
}

static int defer_handler(th_cmd *cmd, void *arg)
{
    *(th_cmd **)arg = cmd;
    return TH_CMD_DEFERRED;
}

static void *complete_later(void *arg)
{
    th_cmd *c = arg;
    th_cmd_status(c, TH_STATUS_BUSY);
    th_cmd_complete(c);
    return NULL;
}

Test(fake_cmd, deferred_commands_complete_from_another_thread)
{
    uint8_t cdb[6] = {0};
    th_cmd *c = th_fake_cmd_new(cdb, 6, NULL, 0, 0), *held = NULL;
    cr_assert_eq(th_fake_cmd_run(c, defer_handler, &held), TH_CMD_DEFERRED);
    cr_assert_eq(held, c);
    cr_assert(!th_fake_cmd_done(c));
    pthread_t t;
    pthread_create(&t, NULL, complete_later, c);
    pthread_join(t, NULL);
    cr_assert(th_fake_cmd_done(c));
    th_assert_status(c, TH_STATUS_BUSY);
    th_cmd_complete(c); /* a second completion is ignored */
    th_fake_cmd_free(c);
}

static int no_answer(th_cmd *cmd, void *arg)
{
    (void)cmd, (void)arg;
    return 0;
}

Test(fake_cmd, a_handler_that_sets_no_response_gets_hardware_error)
{
    uint8_t cdb[6] = {0};
    th_cmd *c = th_fake_cmd_new(cdb, 6, NULL, 0, 0);
    th_fake_cmd_run(c, no_answer, NULL);
    th_assert_sense(c, TH_KEY_HARDWARE_ERROR, TH_ASC_INTERNAL_TARGET_FAILURE);
    th_fake_cmd_free(c);
}

Test(fake_cmd, abort_flag_is_visible_to_the_handler)
{
    uint8_t cdb[6] = {0};
    th_cmd *c = th_fake_cmd_new(cdb, 6, NULL, 0, 0);
    cr_assert(!th_cmd_is_aborted(c));
    th_fake_cmd_abort(c);
    cr_assert(th_cmd_is_aborted(c));
    th_fake_cmd_free(c);
}

/* Data-out and data-in share one buffer: sizes whose sum wraps must be refused, not
 * allocated small and written past. */
Test(fake_cmd, sizes_whose_sum_wraps_are_refused)
{
    uint8_t cdb[6] = {0}, out[16] = {0};
    cr_assert_null(th_fake_cmd_new(cdb, 6, out, sizeof(out), SIZE_MAX - 7));
    cr_assert_null(th_fake_cmd_new(cdb, 6, out, sizeof(out), SIZE_MAX));
}
