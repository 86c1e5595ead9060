/* The run report as HTML: one self-contained page per run (its result, steps, a timeline
 * per device with every fired rule, fault, TMR and step marked, the initiator's reactions,
 * the faults, the kernel log) and a suite page linking them. No network: the style and
 * the script are embedded (framework/report/assets/, built into report_assets.c). */
#ifndef TH_REPORT_HTML_H
#define TH_REPORT_HTML_H
#include <stdio.h>
#include "reaction.h"
#include "trace_read.h"

/* A page embeds at most this many commands (every one a rule answered, and the first of
 * the others); it says so when it holds fewer than the trace. */
#define RP_HTML_MAX_ENTRIES    200000
#define RP_HTML_MAX_FAULT_ROWS 2000

/* A rule that puts its device in a state when it answers (the scenario's set_state):
 * the page marks each command it answered as a state change. */
typedef struct rp_state_rule {
    const char *device, *rule, *state;
} rp_state_rule;

typedef struct rp_page {
    const char *trace_path; /* shown in the header */
    const rp_trace *trace;
    const rp_reactions *reactions;
    const rp_run *run;    /* the run's result, or NULL (a trace of serve) */
    const char *run_json; /* its text (the steps), or NULL */
    size_t run_json_len;
    const char *kmsg; /* the kernel log of the run's span, or NULL */
    size_t kmsg_len;
    const char *index_href;      /* a link back to the suite page, or NULL */
    const rp_state_rule *states; /* from the scenario, when it could be read */
    size_t n_states;
} rp_page;

/* 0, or -EIO when writing failed, -ENOMEM. */
int rp_html_page(FILE *f, const rp_page *p);

typedef struct rp_suite_row {
    const char *name, *file; /* the scenario */
    const char *href;        /* its page, or NULL */
    bool has_result, passed;
    double seconds;
    const char *message; /* a failure's, or NULL */
    size_t commands, faults, reactions, recovered;
    const char *golden; /* "same", "differs", ... or NULL */
} rp_suite_row;

typedef struct rp_suite {
    const char *title;
    const char *kernel, *version; /* from a trace's header or JUnit's properties; or NULL */
    const rp_suite_row *rows;
    size_t n;
} rp_suite;

int rp_html_suite(FILE *f, const rp_suite *s);

#endif
