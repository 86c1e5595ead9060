/* Scenario parsing across its files: the key tables (one per mapping of the format, which
 * the parser enforces and the tests generate cases from) and the shared helpers. */
#ifndef TH_SCENARIO_PARSE_INTERNAL_H
#define TH_SCENARIO_PARSE_INTERNAL_H
#include "device_keys.h" /* SC_ON_*: the device types an action applies to */
#include "scenario.h"
#include "yaml_tree.h"

/* A step's kinds: the key that makes a step of that kind. */
typedef struct sc_action {
    const char *key;
    sc_kind kind;
    unsigned on;
    const yt_keys *keys; /* the action's own mapping (NULL: not a device action) */
} sc_action;

extern const sc_action sc_actions[];
extern const size_t sc_n_actions;
/* The step key that `key` qualifies and must be given with (expect: run, signal: kill),
 * or NULL for a key that makes a step of its own. */
const char *sc_step_needs(const char *key);
/* Every mapping of the format, NULL-terminated. */
extern const yt_keys *const sc_key_tables[];

extern const yt_keys sc_keys_top, sc_keys_device, sc_keys_chap, sc_keys_rule, sc_keys_add_rule,
    sc_keys_match, sc_keys_respond, sc_keys_sense, sc_keys_corrupt, sc_keys_step, sc_keys_expect,
    sc_keys_trace, sc_keys_golden;

unsigned sc_device_on(const sc_device *d); /* SC_ON_DISK or SC_ON_TAPE */
bool sc_parse_status(yt *t, yaml_node_t *v, int *out);
void sc_parse_sense(yt *t, yaml_node_t *v, th_sense *s, th_info_from *from);
void sc_parse_rule(yt *t, scenario *sc, yaml_node_t *n, sc_rule *out);
/* A rule that a step or request adds: also position (its index; -1 when not given). */
void sc_parse_rule_at(yt *t, scenario *sc, yaml_node_t *n, sc_rule *out, int *position);
/* Frees what a parsed rule owns (an lba_file's ranges); copies of it only borrow them. */
void sc_rule_clear(sc_rule *r);
/* A device action's own mapping (a->keys: remove_rule's {device, name}, ...) as a step of
 * that kind reads it, for the control requests of the same name. */
void sc_parse_action(yt *t, scenario *sc, const sc_action *a, yaml_node_t *n, sc_step *s);
/* expect_kmsg, forbid_kmsg, allow_kmsg (and kmsg_check's lists): each regex compiled. */
void sc_parse_kmsg_list(yt *t, yaml_node_t *v, sc_kmsg_list *l);
/* List items, i-th of their list. */
void sc_each_device(yt *t, scenario *sc, yaml_node_t *n, int i);
void sc_each_step(yt *t, scenario *sc, yaml_node_t *n, int i);
/* {dev.field} references in text (a step's command), checked against the model's devices
 * and the fields a device of that type and export has; errors located at v. */
void sc_check_placeholders(yt *t, const scenario *sc, yaml_node_t *v, const char *text);
void sc_each_expect(yt *t, scenario *sc, yaml_node_t *n, int i);

/* The trace filter that a wait_trace step and a wait request share (parse_wait.c): its
 * keys (each context adds where it starts counting: the step since, the request after),
 * and their handler. The examples are JSON, which YAML reads too. */
#define SC_WAIT_TIMEOUT_MAX 86400 /* seconds */
#define SC_WAIT_FILTER_KEYS                                                                        \
    {"device", YT_TEXT, "\"d0\""}, {"op", YT_TYPED, "\"READ_10\""},                                \
        {"tmr", YT_TEXT, "\"ABORT_TASK\""}, {"lba", YT_TYPED, "10"},                               \
        {"status", YT_TYPED, "\"CHECK_CONDITION\""}, {"rule", YT_TEXT, "\"r0\""},                  \
        {"count", YT_TYPED, "1"},                                                                  \
    {                                                                                              \
        "timeout", YT_TYPED, "2.5"                                                                 \
    }
extern const yt_key sc_wait_filter_keys[];
extern const size_t sc_n_wait_filter_keys;
/* Handles a key of the shared table (false: not one of them): device (one of sc's),
 * op (a name or a number), tmr (a type by name), lba, status, rule, count (>= 1) into e,
 * timeout (seconds, fractions allowed, 0..SC_WAIT_TIMEOUT_MAX) into *timeout_s. */
bool sc_wait_filter_pair(yt *t, const scenario *sc, const char *key, yaml_node_t *v,
                         sc_trace_expect *e, double *timeout_s, yaml_node_t **op_node);
/* After the mapping: the filter's op again by its device's type (errors name the type). */
void sc_op_by_device(yt *t, const scenario *sc, yaml_node_t *op_node, sc_trace_expect *e);
/* op and tmr as every trace filter reads them (expect_trace too). */
bool sc_parse_trace_op(yt *t, yaml_node_t *v, char *op, size_t cap);
void sc_parse_trace_tmr(yt *t, yaml_node_t *v, char *tmr, size_t cap);

#endif
