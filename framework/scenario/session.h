/* A session: the live devices of one harness instance (one ctx), built from their
 * descriptions by one builder, with one trace. run, serve (both forms), the control
 * channel and (without the kernel) exec all go through it, and the fault actions of
 * steps and of control requests are the same calls. Thread-safe: steps, control clients
 * and the serving threads may call in at once. */
#ifndef TH_SCENARIO_SESSION_H
#define TH_SCENARIO_SESSION_H
#include <stdbool.h>
#include <stddef.h>
#include "scenario.h"
#include "th/ctx.h"

typedef struct sc_session sc_session;
typedef struct sc_trace sc_trace; /* trace.h */

typedef struct sc_session_opts {
    const char *trace_path; /* JSON lines written here; NULL: none (the memory trace stays) */
    bool kernel;            /* false: emulations and rules only, no th_device (exec) */
    bool log_stderr;        /* the ctx logs to stderr, up to log_level (a th_log_level) */
    int log_level;
    size_t keep; /* trace entries kept in memory (0: SC_TRACE_KEEP) */
} sc_session_opts;

/* 0 or -errno with the reason in err. Creates the ctx (TCMU_HARNESS_INSTANCE) and trace.
 * Until the memory trace (trace.h) is wired in, the trace is the JSON-lines file only and
 * sc_session_trace returns NULL. */
int sc_session_new(const sc_session_opts *o, sc_session **out, char *err, size_t cap);
/* Tears down every device, at once on the pool; 0, or -errno with a failure in err (the
 * newest failing device's).
 * Frees s either way. */
int sc_session_close(sc_session *s, char *err, size_t cap);

th_ctx *sc_session_ctx(sc_session *s);
sc_trace *sc_session_trace(sc_session *s);

/* The one builder: backend + emulation + rules (wired to the trace) + device (+ iSCSI
 * export). The description was validated by the parser (YAML, SPEC or request);
 * -EEXIST if the name is taken. The copy of d is the session's. */
int sc_session_add_device(sc_session *s, const sc_device *d, char *err, size_t cap);
/* Adds devs[0..n) as sc_session_add_device does, built at once on a bounded pool of threads
 * (the kernel's work for each is mostly waiting); listed in their order. All or none: on a
 * failure the message in err is that of the device that failed first in time (its own, as
 * it failed; a later failure may be a knock-on of it), devices not yet begun are not, and
 * the others are torn down again. */
int sc_session_add_devices(sc_session *s, const sc_device *devs, int n, char *err, size_t cap);
int sc_session_remove_device(sc_session *s, const char *name, char *err, size_t cap);
/* The descriptions of the live devices, as a scenario model for the parsers' checks
 * (device names, types): a snapshot into *out (devices only, without their media), which
 * must be zeroed or a model this filled before (its lists are released first); release
 * it with sc_free. 0, or -ENOMEM with the devices that fitted. */
int sc_session_model(sc_session *s, scenario *out);
/* Waits for the kernel's probing of new devices to end (at most max_s): first for every
 * disk's partition scan (an event: opening the block node waits for it), then until no
 * device has served a command for quiet_s (what else probes a new disk, such as udev). */
void sc_session_settle(sc_session *s, double quiet_s, double max_s);

/* A fault action: kinds SC_ADD_RULE (step->rule, step->position), SC_REMOVE_RULE,
 * SC_QUEUE_UA, SC_SET_STATE, SC_SET_CAPACITY, SC_OFFLINE, SC_ONLINE, SC_LOAD, SC_UNLOAD.
 * 0, or -errno with a message ("device d0 has no rule 'r9'") in err. */
int sc_session_act(sc_session *s, const sc_step *step, char *err, size_t cap);

/* {dev.field}: sg sd st nst backstore address name size block_size wwn sdname iscsi
 * type state. 0, -ENOENT (no such device), -ENODATA (the device has no such node). */
int sc_session_field(sc_session *s, const char *dev, const char *field, char *buf, size_t cap);
/* The JSON object of one device (the line serve prints, an item of `devices`):
 * name type state sd sg st nst address backstore iscsi wwn size block_size. */
int sc_session_device_json(sc_session *s, const char *dev, char *buf, size_t cap);
/* The names of the live devices, in creation order, the first max of them; returns how
 * many there are (more than max: call again with room for that many). */
int sc_session_names(sc_session *s, char names[][65], int max);
/* The rules of a device (exec runs fake commands through them), NULL if there is no such
 * device; valid until the device is removed. */
th_rules *sc_session_rules(sc_session *s, const char *dev);
/* list_rules: a JSON array of {name, index, fired, times, spent} (malloc'd, caller frees). */
int sc_session_rules_json(sc_session *s, const char *dev, char **json, char *err, size_t cap);
/* stats: a JSON object per device {commands, tmrs, rules fired, ...} (malloc'd). */
int sc_session_stats_json(sc_session *s, char **json);

/* serve: a session with the scenario's devices (none is fine) and rules, settled and
 * armed; one JSON line per device (sc_session_device_json) printed on out. 0 and *out_s,
 * or 1 with the failure in res->message and nothing left behind. The caller serves
 * (waits) and closes the session. */
int sc_serve_open(const scenario *sc, const sc_session_opts *o, FILE *out, sc_session **out_s,
                  sc_result *res);

#endif
