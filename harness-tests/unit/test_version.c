/* th_version and the kernel identity that JUnit files and traces record. */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include "helpers.h"
#include "th/version.h"

Test(version, is_the_project_version)
{
    /* the build passes project(VERSION); a version.c built without it would not compile */
    cr_assert_str_eq(th_version(), "0.2.0");
}

Test(version, kernel_id_takes_the_vm_runners_environment)
{
    setenv("TCMU_HARNESS_KERNEL_RELEASE", "6.1.0-57-amd64", 1);
    setenv("TCMU_HARNESS_KERNEL_PACKAGE", "linux-image-6.1.0-57-amd64 6.1.192-3", 1);
    th_kernel_id k;
    th_kernel_id_get(&k);
    unsetenv("TCMU_HARNESS_KERNEL_RELEASE");
    unsetenv("TCMU_HARNESS_KERNEL_PACKAGE");
    cr_assert_str_eq(k.release, "6.1.0-57-amd64");
    cr_assert_str_eq(k.package, "linux-image-6.1.0-57-amd64 6.1.192-3");
    char json[600];
    th_kernel_id_json(&k, json, sizeof(json));
    cr_assert_str_eq(json, "{\"tcmu_harness_version\":\"0.2.0\",\"kernel_release\":\"6.1.0-57-"
                           "amd64\",\"kernel_package\":\"linux-image-6.1.0-57-amd64 6.1.192-3\"}");
}

Test(version, kernel_id_defaults_to_uname_and_drops_quotes)
{
    /* a value that could break the JSON, the XML or the dpkg-query command line is cleaned */
    setenv("TCMU_HARNESS_KERNEL_PACKAGE", "pkg\"<'x", 1);
    th_kernel_id k;
    th_kernel_id_get(&k);
    unsetenv("TCMU_HARNESS_KERNEL_PACKAGE");
    struct utsname u;
    cr_assert_eq(uname(&u), 0);
    cr_assert_str_eq(k.release, u.release);
    cr_assert_str_eq(k.package, "pkgx");
}

Test(version, kernel_package_not_from_dpkg_is_unknown)
{
    setenv("TCMU_HARNESS_KERNEL_RELEASE", "0.0.0-no-such-kernel", 1);
    th_kernel_id k;
    th_kernel_id_get(&k);
    unsetenv("TCMU_HARNESS_KERNEL_RELEASE");
    cr_assert_str_eq(k.release, "0.0.0-no-such-kernel");
    cr_assert_str_eq(k.package, "unknown");
}

Test(version, kernel_package_is_unknown_when_the_release_is_unknown)
{
    /* Callers pass an uninitialised th_kernel_id (cmd_run, sc_trace_new): with no usable
     * release, th_kernel_id_get skips dpkg and must still write package ("never fails: what
     * cannot be found is \"unknown\""), not leave the caller's stack bytes, unterminated, to
     * go into the JUnit XML and the trace header. */
    setenv("TCMU_HARNESS_KERNEL_RELEASE", "<<<", 1); /* cleaned to "", so "unknown" */
    unsetenv("TCMU_HARNESS_KERNEL_PACKAGE");
    th_kernel_id k;
    memset(&k, 'A', sizeof(k));
    th_kernel_id_get(&k);
    unsetenv("TCMU_HARNESS_KERNEL_RELEASE");
    cr_assert_str_eq(k.release, "unknown");
    cr_assert_not_null(memchr(k.package, '\0', sizeof(k.package)), "package left unterminated");
    cr_assert_str_eq(k.package, "unknown");
}
