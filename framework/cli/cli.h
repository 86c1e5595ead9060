#ifndef TH_CLI_H
#define TH_CLI_H
#include <stdint.h>

int cmd_vm(int argc, char **argv);
int cmd_kernel(int argc, char **argv);
int cmd_with_kernel(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_cleanup(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_run(int argc, char **argv);

struct scenario;
/* sc_load, printing its errors on stderr; frees what it loaded on failure. 0 or -errno. */
int cli_load_scenario(const char *path, struct scenario *sc);
/* Exit code for usage errors. */
#define CLI_USAGE 2

#endif
