/* Which tcmu-harness and which kernel a result came from (recorded in JUnit files and traces). */
#ifndef TH_VERSION_H
#define TH_VERSION_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/* "0.2.0": the library's version, from the build's project(VERSION). */
const char *th_version(void);

typedef struct th_kernel_id {
    char release[128]; /* uname -r, or TCMU_HARNESS_KERNEL_RELEASE when set (the VM runner's) */
    char package[256]; /* "linux-image-6.1.0-57-amd64 6.1.192-3": TCMU_HARNESS_KERNEL_PACKAGE
                        * when set, else dpkg's record of linux-image-RELEASE, else "unknown" */
} th_kernel_id;

/* Fills k (never fails: what cannot be found is "unknown"). Runs dpkg-query once. */
void th_kernel_id_get(th_kernel_id *k);

/* The JSON object {"tcmu_harness_version":...,"kernel_release":...,"kernel_package":...}
 * (no newline) into out; returns the length it needs, like snprintf. */
size_t th_kernel_id_json(const th_kernel_id *k, char *out, size_t cap);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
