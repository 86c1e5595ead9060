#ifndef TH_INIT_SCRIPT_H
#define TH_INIT_SCRIPT_H
#include <stdbool.h>
#include <stdio.h>

void th_shell_quote(FILE *f, const char *s);
int th_write_init(const char *path, const char *kver, const char *share);
int th_write_nodes(const char *path);
int th_write_job(const char *path, const char *cwd, char *const *argv, char **env,
                 const char *kpackage, const char *krelease);

#endif
