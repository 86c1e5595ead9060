/* The scenario's regexes (kernel-log verdicts, expect checks), compiled in one place:
 * a pattern whose repetitions nest (`(a+)+`, `a++++`, `(a{255}){255}`) makes glibc's
 * regcomp duplicate its tree for every level, exponentially: a 100-character pattern
 * took gigabytes. Such patterns are refused, with a message, before regcomp sees them. */
#ifndef TH_SCENARIO_SC_REGEX_H
#define TH_SCENARIO_SC_REGEX_H
#include <regex.h>
#include <stddef.h>

/* How large the expanded pattern may get (atoms, counting each copy a repetition makes). */
#define SC_REGEX_MAX_NODES 5000

/* The size of src expanded as glibc expands repetitions (x+ is x x*, x{m,n} is n copies),
 * saturated at SC_REGEX_MAX_NODES + 1; a repetition applied to a repetition ('a++') is
 * charged as too many at once. Only an estimate of the cost: src need not be a
 * valid regex (regcomp judges that). */
size_t sc_regex_cost(const char *src);
/* regcomp(re, src, REG_EXTENDED | flags) after the cost check. 0, or -EINVAL with
 * "'SRC' is not an extended regex: why" / "... is too complex ..." in err. */
int sc_regex_compile(regex_t *re, const char *src, int flags, char *err, size_t cap);

#endif
