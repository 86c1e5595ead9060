/* The harness's version and the identity of the kernel it runs on. */
#include "th/version.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef TH_VERSION_STRING
#error "TH_VERSION_STRING comes from CMake's PROJECT_VERSION"
#endif

const char *th_version(void)
{
    return TH_VERSION_STRING;
}

/* Copies src keeping only characters a package name, version or release may have, so an
 * environment value can go into a shell command and into JSON/XML unescaped. */
static void copy_clean(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (; *src && n + 1 < cap; src++)
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-_~:# ", *src))
            dst[n++] = *src;
    dst[n] = '\0';
}

static void package_of(const char *release, char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    if (access("/usr/bin/dpkg-query", X_OK)) return;
    char cmd[300], line[256];
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/dpkg-query -W -f '${Package} ${Version}' 'linux-image-%s' 2>/dev/null",
             release);
    FILE *p = popen(cmd, "r");
    if (!p) return;
    if (fgets(line, sizeof(line), p) && line[0]) copy_clean(out, cap, line);
    /* Not installed as a package (a custom or a VM's kernel): dpkg says nothing, fails. */
    if (pclose(p) != 0 || !out[0]) snprintf(out, cap, "unknown");
}

void th_kernel_id_get(th_kernel_id *k)
{
    const char *rel = getenv("TCMU_HARNESS_KERNEL_RELEASE"), *pkg;
    struct utsname u;
    if (rel && *rel)
        copy_clean(k->release, sizeof(k->release), rel);
    else if (!uname(&u))
        copy_clean(k->release, sizeof(k->release), u.release);
    else
        k->release[0] = '\0';
    if (!k->release[0]) snprintf(k->release, sizeof(k->release), "unknown");
    /* Callers pass uninitialised structs: every branch below must leave package written. */
    k->package[0] = '\0';
    pkg = getenv("TCMU_HARNESS_KERNEL_PACKAGE");
    if (pkg && *pkg)
        copy_clean(k->package, sizeof(k->package), pkg);
    else if (strcmp(k->release, "unknown"))
        package_of(k->release, k->package, sizeof(k->package));
    if (!k->package[0]) snprintf(k->package, sizeof(k->package), "unknown");
}

size_t th_kernel_id_json(const th_kernel_id *k, char *out, size_t cap)
{
    int n = snprintf(out, cap,
                     "{\"tcmu_harness_version\":\"%s\",\"kernel_release\":\"%s\","
                     "\"kernel_package\":\"%s\"}",
                     th_version(), k->release, k->package);
    return n < 0 ? 0 : (size_t)n;
}
