/* Fake commands: build a command without any kernel, run it through a handler,
 * read back status, sense, data-in and residual. The way handlers are unit-tested. */
#ifndef TH_FAKE_H
#define TH_FAKE_H
#include "th/cmd.h"
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* data_out may be NULL; data_in_cap 0 means no data-in. Returns NULL on bad input
 * (cdb_len 0 or over TH_CDB_MAX) or no memory. */
th_cmd *th_fake_cmd_new(const uint8_t *cdb, size_t cdb_len, const void *data_out, size_t out_len,
                        size_t data_in_cap);
/* Split data-in into segments of seg bytes (exercises handlers' iovec walking). */
int th_fake_cmd_set_segment(th_cmd *cmd, size_t seg);
void th_fake_cmd_free(th_cmd *cmd);
/* Runs the handler; returns the handler's result (0 or TH_CMD_DEFERRED). */
int th_fake_cmd_run(th_cmd *cmd, th_handler_fn fn, void *arg);
/* Marks the command as aborted by a TMR (what the kernel would do). */
void th_fake_cmd_abort(th_cmd *cmd);
bool th_fake_cmd_done(const th_cmd *cmd);

const uint8_t *th_fake_data_in(const th_cmd *cmd, size_t *len);
size_t th_fake_residual(const th_cmd *cmd);
/* Decoded sense; -ENOENT when the command has no sense. */
int th_fake_sense(const th_cmd *cmd, th_sense *out);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
