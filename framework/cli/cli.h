#ifndef TH_CLI_H
#define TH_CLI_H
#include <stdbool.h>
#include <stdint.h>

int cmd_vm(int argc, char **argv);
int cmd_kernel(int argc, char **argv);
int cmd_with_kernel(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_cleanup(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_run(int argc, char **argv);

/* Runs o->argv in a throwaway VM with progress and errors on stderr; returns the exit
 * status to report (the command's, 124 timeout, 125 guest failure). */
struct th_vm_opts;
int cli_vm_run(const struct th_vm_opts *o);
/* Loads the target modules for native mode; false (after saying why) on failure. */
bool cli_native_prepare(void);

/* "64MiB", "1G", "4096" -> bytes; -1 on error. */
int64_t cli_parse_size(const char *s);
/* Exit code for usage errors. */
#define CLI_USAGE 2

#endif
