/* Control requests: one JSON object per line, parsed by the scenario parser's own
 * functions (the arguments of a fault action are the mapping of the step of the same
 * name), checked against the live devices, with the YAML errors' messages prefixed
 * "request:1:COL:". */
#ifndef TH_SCENARIO_REQUEST_H
#define TH_SCENARIO_REQUEST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "scenario.h"
#include "kmsg.h"
#include "trace.h"

/* The protocol's version: 2 named the request "request" (1: "op"). */
#define SC_REQ_PROTOCOL 2

typedef enum sc_req_kind {
    SC_REQ_VERSION,
    SC_REQ_CURSOR,
    SC_REQ_DEVICES,
    SC_REQ_ADD_DEVICE,
    SC_REQ_REMOVE_DEVICE,
    SC_REQ_ACTION, /* add_rule, remove_rule, queue_ua, ...: rq->step for sc_session_act */
    SC_REQ_LIST_RULES,
    SC_REQ_TRACE,
    SC_REQ_WAIT,
    SC_REQ_STATS,
    SC_REQ_SHUTDOWN,
    SC_REQ_KMSG_MARK,
    SC_REQ_KMSG_CHECK,
} sc_req_kind;

#define SC_REQ_ID_MAX    256     /* characters of the id's JSON text */
#define SC_REQ_LINE_MAX  1048576 /* bytes of a request line, without its newline */
#define SC_REQ_TRACE_MAX 100000  /* entries one trace request returns */

typedef struct sc_request {
    sc_req_kind kind;
    char op[16];
    char id[SC_REQ_ID_MAX + 1]; /* the id's JSON text, echoed; "" when there was none */
    sc_step step;               /* SC_REQ_ACTION */
    sc_device device;           /* SC_REQ_ADD_DEVICE */
    char name[65];              /* remove_device, list_rules: the device */
    bool after_set;             /* trace, wait: the cursor to start from */
    uint64_t after;
    long max;             /* trace */
    sc_trace_expect wait; /* wait: as parsed (the wait_trace step's filter keys) */
    double timeout_s;
    sc_trace_filter filter; /* wait: for sc_trace_wait, from `wait` */
    long count;
    int timeout_ms;
    uint64_t since; /* kmsg_check: a mark kmsg_mark gave */
    sc_kmsg_list allow, expect, forbid;
} sc_request;

/* The live devices for the checks: called at most once, only by requests that name a
 * device; returns a model whose devices the parse may add to (add_device), or NULL when
 * there is no memory for it (the request then fails, saying so). */
typedef scenario *(*sc_request_model_fn)(void *arg);

/* Parses one line (without its newline). 0, or -EINVAL with "request:1:COL: message"
 * lines (no final newline) in err; rq->id is set whenever the id could be read, so an
 * error response can carry it. Call sc_request_free either way. */
int sc_request_parse(const char *line, size_t len, sc_request_model_fn model, void *arg,
                     sc_request *rq, char *err, size_t cap);
void sc_request_free(sc_request *rq);
/* A wait_trace step's or a wait request's filter, for sc_trace_wait (parse_wait.c). */
void sc_trace_expect_filter(const sc_trace_expect *e, sc_trace_filter *f);
/* The ops, comma-separated, for messages and help. */
const char *sc_request_ops(void);

#endif
