/* The VM code's error convention: a negative errno, the message in the th_vm_ctx,
 * and nothing printed. Only the parts that need no QEMU. */
#include <fcntl.h>
#include <unistd.h>
#include "helpers.h"
#include "vm/vm.h"

static int progress_lines;
static void count_progress(void *arg, const char *line)
{
    (void)arg;
    (void)line;
    progress_lines++;
}

/* stderr goes to a pipe during f(): library code must leave it empty. */
static size_t stderr_bytes_during(void (*f)(void))
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(p[1], 2);
    f();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    char buf[4096];
    ssize_t n = read(p[0], buf, sizeof(buf));
    close(p[0]);
    return n > 0 ? (size_t)n : 0;
}

static void bad_forwards(void)
{
    static const char *const specs[] = {"80", "10.0.0.1:80:80", "0:80", "80:99999", "x:80"};
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        th_vm_ctx vc;
        th_vm_ctx_init(&vc, count_progress, NULL);
        th_vm_opts o = {0};
        cr_assert_eq(th_vm_parse_forward(&vc, &o, specs[i]), -EINVAL, "%s", specs[i]);
        cr_assert(strstr(th_vm_errmsg(&vc), "--forward"), "%s: '%s'", specs[i], vc.err);
    }
    th_vm_ctx vc;
    th_vm_ctx_init(&vc, NULL, NULL);
    th_vm_opts o = {0};
    cr_assert_eq(th_vm_parse_forward(&vc, &o, "127.0.0.1:3260:3260"), 0);
    cr_assert_eq(th_vm_parse_forward(&vc, &o, "3260:3261"), -EINVAL);
    cr_assert(strstr(vc.err, "given twice"), "%s", vc.err);
}

Test(vm, bad_forwards_are_einval_with_a_message_and_print_nothing)
{
    cr_assert_eq(stderr_bytes_during(bad_forwards), 0);
}

static void missing_things(void)
{
    th_vm_ctx vc;
    th_vm_ctx_init(&vc, count_progress, NULL);
    th_kernel k;
    cr_assert_eq(th_kernel_custom(&vc, &k, "/nonexistent/bzImage", "/nonexistent"), -ENOENT);
    cr_assert(strstr(vc.err, "/nonexistent/bzImage"), "%s", vc.err);
    cr_assert_eq(th_kernel_custom(&vc, &k, "/dev/null", "/nonexistent/mods"), -ENOENT);
    cr_assert(strstr(vc.err, "modules.dep"), "%s", vc.err);
    static const char *const names[] = {"target_core_user"};
    char out[4][256];
    cr_assert_eq(th_modules_resolve(&vc, "/nonexistent/mods", names, 1, out, 4), -ENOENT);
    cr_assert(strstr(vc.err, "depmod"), "%s", vc.err);
    th_cpio *c;
    cr_assert_eq(th_cpio_open(&c, "/nonexistent/dir/initrd.cpio"), -ENOENT);
    cr_assert_null(c);
    char *argv[] = {"/nonexistent/tool", NULL};
    cr_assert_eq(th_run(argv, NULL, true), 127);
}

Test(vm, missing_kernel_modules_and_paths_are_negative_errnos_with_messages)
{
    progress_lines = 0;
    cr_assert_eq(stderr_bytes_during(missing_things), 0);
    cr_assert_eq(progress_lines, 0);
}

Test(vm, modules_resolve_orders_dependencies_and_reports_unknown_modules)
{
    char dir[] = "/tmp/th-vm-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char p[64];
    snprintf(p, sizeof(p), "%s/modules.dep", dir);
    FILE *f = fopen(p, "w");
    fputs("kernel/a.ko: kernel/b.ko kernel/c.ko\nkernel/b.ko:\nkernel/c.ko:\n", f);
    fclose(f);
    th_vm_ctx vc;
    th_vm_ctx_init(&vc, NULL, NULL);
    char out[4][256];
    static const char *const names[] = {"a"};
    cr_assert_eq(th_modules_resolve(&vc, dir, names, 1, out, 4), 3);
    cr_assert_str_eq(out[0], "kernel/c.ko");
    cr_assert_str_eq(out[2], "kernel/a.ko");
    cr_assert_eq(th_modules_resolve(&vc, dir, names, 1, out, 2), -E2BIG);
    cr_assert(strstr(vc.err, "more than 2 modules"), "%s", vc.err);
    static const char *const bogus[] = {"zz"};
    cr_assert_eq(th_modules_resolve(&vc, dir, bogus, 1, out, 4), -ENOENT);
    cr_assert(strstr(vc.err, "module zz"), "%s", vc.err);
    unlink(p);
    rmdir(dir);
}

Test(vm, run_results_map_to_the_documented_exit_statuses)
{
    th_vm_ctx vc;
    th_vm_ctx_init(&vc, NULL, NULL);
    cr_assert_eq(th_vm_exit_status(&vc, 0), 0);
    cr_assert_eq(th_vm_exit_status(&vc, 3), 3);
    cr_assert_eq(th_vm_exit_status(&vc, -ETIMEDOUT), 124);
    cr_assert_eq(th_vm_exit_status(&vc, -EIO), 125);
    vc.signal = 15;
    cr_assert_eq(th_vm_exit_status(&vc, -EINTR), 143);
}

Test(vm, kernel_versions_name_packages_and_junk_is_einval)
{
    static const char *const ok[][2] = {
        {"linux-image-6.1.0-57-amd64", "linux-image-6.1.0-57-amd64"},
        {"6.1.0-57-amd64", "linux-image-6.1.0-57-amd64"},
        {"6.1.0-57", "linux-image-6.1.0-57-amd64"},
    };
    char out[256];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        cr_assert_eq(th_kernel_package_name(out, sizeof(out), ok[i][0]), 0, "%s", ok[i][0]);
        cr_assert_str_eq(out, ok[i][1]);
    }
    static const char *const bad[] = {"", "latest", "6.1 0", "../6.1.0-57", "6.1'0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(th_kernel_package_name(out, sizeof(out), bad[i]), -EINVAL, "%s", bad[i]);
}

Test(vm, a_custom_kernel_without_modules_is_all_built_in)
{
    th_vm_ctx vc;
    th_vm_ctx_init(&vc, NULL, NULL);
    th_kernel k;
    cr_assert_eq(th_kernel_custom(&vc, &k, "/dev/null", NULL), 0, "%s", vc.err);
    cr_assert_str_eq(k.modules, "");
    cr_assert_str_eq(k.package, "custom /dev/null");
    cr_assert_eq(th_kernel_custom(&vc, &k, "/dev/null", ""), 0, "%s", vc.err);
}
