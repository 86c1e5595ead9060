#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../scenario/scenario.h"
#include "../vm/vm.h"
#include "cli.h"

static const char vm_usage[] =
    "usage: tcmu-harness vm [OPTIONS] -- CMD [ARGS...]\n"
    "  --kernel BZIMAGE   boot this kernel (with --modules) instead of Debian's\n"
    "  --modules DIR      its lib/modules/VERSION (with modules.dep); without it, the\n"
    "                     needed drivers must be built in (docs/vm.md lists them)\n"
    "  --kernel-version V Debian kernel package or version to boot, cached or fetched\n"
    "                     (linux-image-6.1.0-57-amd64, 6.1.0-57); default:\n"
    "                     $TCMU_HARNESS_KERNEL_VERSION, else linux-image-amd64's\n"
    "  --share DIR        shared read-write at the same path (default: current directory)\n"
    "  --mem MB           guest memory (default 1024)\n"
    "  --cpus N           guest CPUs (default 2)\n"
    "  --timeout S        kill the guest after S seconds, exit 124 (default 1800; 0: none)\n"
    "  --keep-log FILE    copy the guest console log to FILE\n"
    "  --accel tcg|kvm    force an accelerator; default: KVM when /dev/kvm opens and the\n"
    "                     guest reaches /init within seconds, else TCG\n"
    "  --forward [127.0.0.1:]HPORT:GPORT\n"
    "                     host loopback TCP port HPORT reaches the guest's port GPORT\n"
    "                     (the guest is " TH_VM_GUEST_IP "; give an iSCSI device\n"
    "                     portal=0.0.0.0:GPORT); repeatable\n"
    "  -q, --quiet        no progress messages\n"
    "The guest gets TCMU_HARNESS_KERNEL_PACKAGE (\"NAME DEBIAN-VERSION\") and\n"
    "TCMU_HARNESS_KERNEL_RELEASE (uname -r) in CMD's environment.\n"
    "Exit status: CMD's; 124 on timeout; 125 if the guest failed.\n";

static void print_progress(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "tcmu-harness: %s\n", line);
}

/* A failed VM call's message, and the guest console's last lines when there are any. */
static void print_vm_error(const th_vm_ctx *vc)
{
    fprintf(stderr, "tcmu-harness vm: %s\n", th_vm_errmsg(vc));
    if (!vc->n_tail) return;
    fprintf(stderr, "tcmu-harness vm: last lines of the guest console:\n");
    for (int i = 0; i < vc->n_tail; i++) fprintf(stderr, "  | %s", vc->tail[i]);
}

int cli_vm_run(const th_vm_opts *o)
{
    th_vm_ctx vc;
    th_vm_ctx_init(&vc, print_progress, NULL);
    int rc = th_vm_run(&vc, o);
    if (rc < 0) print_vm_error(&vc);
    return th_vm_exit_status(&vc, rc);
}

bool cli_native_prepare(void)
{
    th_vm_ctx vc;
    th_vm_ctx_init(&vc, print_progress, NULL);
    if (!th_native_prepare(&vc)) return true;
    print_vm_error(&vc);
    return false;
}

/* The bounds of --mem (MiB), --cpus and --timeout (s, 0: none). */
#define VM_MEM_MIN     128
#define VM_MEM_MAX     1048576
#define VM_CPUS_MAX    256
#define VM_TIMEOUT_MAX 31536000

/* TCMU_HARNESS_KERNEL_VERSION, when no --kernel or --kernel-version overrides it, is
 * checked as the option is: a bad one was reported only after the accelerator was chosen,
 * as a VM failure (125), without the variable's name. */
static int check_env_kernel_version(const char *cmd, const th_vm_opts *o)
{
    const char *env = getenv("TCMU_HARNESS_KERNEL_VERSION");
    char pkg[256];
    if (o->kernel || o->kernel_version || !env || !*env ||
        !th_kernel_package_name(pkg, sizeof(pkg), env))
        return 0;
    fprintf(stderr,
            "tcmu-harness %s: TCMU_HARNESS_KERNEL_VERSION='%s': neither a package "
            "(linux-image-6.1.0-57-amd64) nor a version (6.1.0-57)\n",
            cmd, env);
    return CLI_USAGE;
}

static int parse_vm(const char *cmd, int argc, char **argv, th_vm_opts *o, bool need_cmd)
{
    static const struct option longs[] = {{"kernel", 1, 0, 'k'},
                                          {"modules", 1, 0, 'M'},
                                          {"share", 1, 0, 's'},
                                          {"mem", 1, 0, 'm'},
                                          {"cpus", 1, 0, 'c'},
                                          {"timeout", 1, 0, 't'},
                                          {"keep-log", 1, 0, 'l'},
                                          {"accel", 1, 0, 'a'},
                                          {"forward", 1, 0, 'f'},
                                          {"quiet", 0, 0, 'q'},
                                          {"help", 0, 0, 'h'},
                                          {"kernel-version", 1, 0, 'K'},
                                          {0, 0, 0, 0}};
    memset(o, 0, sizeof(*o));
    o->timeout_s = 1800;
    int c;
    long long v = 0;
    const char *given[128] = {0}; /* by option letter: each takes one value, --forward many */
    optind = 1;
    while ((c = getopt_long(argc, argv, "+qh", longs, NULL)) != -1) {
        if (c > 0 && c < 128 && c != 'f' && c != 'q' && optarg) {
            char name[32];
            for (const struct option *l = longs; l->name; l++)
                if (l->val == c) snprintf(name, sizeof(name), "--%s", l->name);
            if (cli_once(cmd, name, given[c])) return CLI_USAGE;
            given[c] = optarg;
        }
        switch (c) {
        /* Paths are looked at here, not after a kernel download and a boot. */
        case 'k':
            if (cli_check_path(cmd, "--kernel", optarg, CLI_PATH_FILE)) return CLI_USAGE;
            o->kernel = optarg;
            break;
        case 'M':
            if (cli_check_path(cmd, "--modules", optarg, CLI_PATH_DIR)) return CLI_USAGE;
            o->modules = optarg;
            break;
        case 's':
            if (cli_check_path(cmd, "--share", optarg, CLI_PATH_DIR)) return CLI_USAGE;
            o->share = optarg;
            break;
        /* atoi took "10x" as 10 MiB, "1e99" as 1 s and "abc" as the default. */
        case 'm':
            if (cli_parse_uint(cmd, "--mem", optarg, VM_MEM_MIN, VM_MEM_MAX, &v)) return CLI_USAGE;
            o->mem_mb = (int)v;
            break;
        case 'c':
            if (cli_parse_uint(cmd, "--cpus", optarg, 1, VM_CPUS_MAX, &v)) return CLI_USAGE;
            o->cpus = (int)v;
            break;
        case 't':
            if (cli_parse_uint(cmd, "--timeout", optarg, 0, VM_TIMEOUT_MAX, &v)) return CLI_USAGE;
            o->timeout_s = (int)v;
            break;
        case 'l':
            if (cli_check_path(cmd, "--keep-log", optarg, CLI_PATH_OUT)) return CLI_USAGE;
            o->keep_log = optarg;
            break;
        case 'a':
            if (strcmp(optarg, "tcg") && strcmp(optarg, "kvm")) {
                fprintf(stderr, "tcmu-harness %s: --accel %s: use tcg or kvm\n", cmd, optarg);
                return CLI_USAGE;
            }
            o->accel = optarg;
            break;
        case 'K': {
            char pkg[256];
            if (th_kernel_package_name(pkg, sizeof(pkg), optarg)) {
                fprintf(stderr,
                        "tcmu-harness %s: --kernel-version '%s': neither a package "
                        "(linux-image-6.1.0-57-amd64) nor a version (6.1.0-57)\n",
                        cmd, optarg);
                return CLI_USAGE;
            }
            o->kernel_version = optarg;
            break;
        }
        case 'q':
            o->quiet = true;
            break;
        case 'f': {
            th_vm_ctx vc;
            th_vm_ctx_init(&vc, NULL, NULL);
            if (th_vm_parse_forward(&vc, o, optarg)) {
                fprintf(stderr, "tcmu-harness %s: %s\n", cmd, th_vm_errmsg(&vc));
                return CLI_USAGE;
            }
            break;
        }
        case 'h':
            fputs(vm_usage, stdout);
            exit(0);
        default:
            fputs(vm_usage, stderr);
            return CLI_USAGE;
        }
    }
    if (o->modules && !o->kernel) {
        fprintf(stderr, "tcmu-harness %s: --modules needs --kernel\n", cmd);
        return CLI_USAGE;
    }
    if (o->kernel && o->kernel_version) {
        fprintf(stderr, "tcmu-harness %s: --kernel and --kernel-version exclude each other\n", cmd);
        return CLI_USAGE;
    }
    if (need_cmd && optind >= argc) {
        fprintf(stderr, "tcmu-harness %s: no command given (-- CMD [ARGS...])\n", cmd);
        fputs(vm_usage, stderr);
        return CLI_USAGE;
    }
    if (check_env_kernel_version(cmd, o)) return CLI_USAGE;
    o->argv = argv + optind;
    return 0;
}

int cmd_vm(int argc, char **argv)
{
    th_vm_opts o;
    int rc = parse_vm("vm", argc, argv, &o, true);
    return rc ? rc : cli_vm_run(&o);
}

int cmd_with_kernel(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        /* vm's options, under with-kernel's own name. */
        fputs("usage: tcmu-harness with-kernel [OPTIONS] -- CMD [ARGS...]\n"
              "  runs CMD natively if this kernel has TCMU, else in the VM with these options:\n",
              stdout);
        fputs(strchr(vm_usage, '\n') + 1, stdout);
        return 0;
    }
    th_vm_opts o;
    int rc = parse_vm("with-kernel", argc, argv, &o, true);
    if (rc) return rc;
    char why[256];
    bool force = false;
    if (sc_env_flag("TCMU_HARNESS_FORCE_VM", &force, why, sizeof(why))) {
        fprintf(stderr, "tcmu-harness with-kernel: %s\n", why);
        return CLI_USAGE;
    }
    if (!force && th_native_available(why, sizeof(why))) {
        fprintf(stderr, "tcmu-harness: running natively (%s)\n", why);
        if (!cli_native_prepare()) return 125;
        execvp(o.argv[0], o.argv);
        perror(o.argv[0]);
        return 127;
    }
    fprintf(stderr, "tcmu-harness: using a VM (%s)\n", why);
    return cli_vm_run(&o);
}

static const char kernel_usage[] =
    "usage: tcmu-harness kernel fetch [PACKAGE-OR-VERSION] | path [PACKAGE-OR-VERSION] | list\n"
    "  fetch   download (apt-get download, no root needed) and unpack a Debian kernel into\n"
    "          the cache; default: the one linux-image-amd64 depends on today\n"
    "  path    print a cached kernel's image and modules directory\n"
    "  list    the cached kernels, the default marked with '*' (offline: the newest)\n";

static int kernel_list(void)
{
    static char names[64][256];
    th_vm_ctx vc;
    th_vm_ctx_init(&vc, NULL, NULL);
    int n = th_kernel_list(&vc, names, 64);
    if (n < 0) {
        fprintf(stderr, "tcmu-harness kernel: %s\n", th_vm_errmsg(&vc));
        return 1;
    }
    char def[256] = "";
    const char *env = getenv("TCMU_HARNESS_KERNEL_VERSION");
    bool newest = false;
    if (env && *env) {
        /* said, not dropped: the list would show no default and not why */
        if (th_kernel_package_name(def, sizeof(def), env)) {
            fprintf(stderr,
                    "tcmu-harness kernel: TCMU_HARNESS_KERNEL_VERSION='%s': neither a package "
                    "(linux-image-6.1.0-57-amd64) nor a version (6.1.0-57)\n",
                    env);
            return CLI_USAGE;
        }
    } else if (th_kernel_default(def, sizeof(def))) {
        /* No package lists (offline): vm and path use the newest cached kernel. */
        def[0] = 0;
        newest = true;
    }
    for (int i = 0; i < n && newest; i++)
        if (strcmp(names[i], def) > 0) snprintf(def, sizeof(def), "%s", names[i]);
    for (int i = 0; i < n; i++) printf("%s %s\n", strcmp(names[i], def) ? " " : "*", names[i]);
    return 0;
}

int cmd_kernel(int argc, char **argv)
{
    bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    if (!help && argc == 2 && !strcmp(argv[1], "list")) return kernel_list();
    if (help || argc < 2 || argc > 3 || (strcmp(argv[1], "fetch") && strcmp(argv[1], "path"))) {
        fputs(kernel_usage, help ? stdout : stderr);
        return help ? 0 : CLI_USAGE;
    }
    th_kernel k;
    th_vm_ctx vc;
    th_vm_ctx_init(&vc, print_progress, NULL);
    th_vm_opts o = {.kernel_version = argc == 3 ? argv[2] : NULL};
    if (check_env_kernel_version("kernel", &o)) return CLI_USAGE;
    if (th_kernel_get(&vc, &k, th_vm_kernel_version(&o), !strcmp(argv[1], "fetch"), false)) {
        fprintf(stderr, "tcmu-harness: %s\n", th_vm_errmsg(&vc));
        return 1;
    }
    printf("%s\n%s\n", k.vmlinuz, k.modules);
    return 0;
}
