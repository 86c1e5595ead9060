/* What a trace store above the rules needs of them beyond th/rules.h (scenario/trace.c). */
#ifndef TH_RULES_TRACE_H
#define TH_RULES_TRACE_H
#include "th/rules.h"

/* The arg of r's sink if that sink is fn, else NULL: which store r is attached to. */
void *th_rules_trace_sink_arg(th_rules *r, th_trace_fn fn);
/* The device name the rules were made with (fixed for their life). */
const char *th_rules_device(const th_rules *r);

#endif
