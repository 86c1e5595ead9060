/* The consumer side beyond th/cmd.h, for a handler that wraps others and holds
 * commands (the rules engine): watch the response leave, remember which rule
 * answered, and offer a deferred command back when its source closes. */
#ifndef TH_CMD_HANDLER_H
#define TH_CMD_HANDLER_H
#include <stdbool.h>
#include <stdint.h>
#include "th/cmd.h"

/* Sees the response just before it leaves (traces); cleared by every reset. */
typedef void (*th_cmd_observer_fn)(th_cmd *cmd, void *arg);
void th_cmd_set_observer(th_cmd *cmd, th_cmd_observer_fn fn, void *arg);

/* A slot for the handler's own tag of who answered (the rules engine's rule id);
 * -1 after every reset. */
void th_cmd_set_rule(th_cmd *cmd, int rule);
int th_cmd_rule(const th_cmd *cmd);

/* When the handler first saw the command (CLOCK_MONOTONIC ns; 0 after every reset:
 * unknown), for the trace's latency. Set only by a handler that traces, so the untraced
 * path reads no clock. */
void th_cmd_set_arrived_ns(th_cmd *cmd, uint64_t ns);
uint64_t th_cmd_arrived_ns(const th_cmd *cmd);

/* Asks whoever holds a deferred command to give it back (the source is closing).
 * True: the holder dropped it and will never touch it again; false: it already
 * started completing it and will call th_cmd_complete(). */
typedef bool (*th_cmd_revoke_fn)(th_cmd *cmd, void *arg);
/* Registered by the holder before the handler returns TH_CMD_DEFERRED; cleared by
 * every reset. */
void th_cmd_set_revoke(th_cmd *cmd, th_cmd_revoke_fn fn, void *arg);

#endif
