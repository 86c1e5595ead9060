#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../vm/vm.h"
#include "cli.h"

static const char vm_usage[] =
    "usage: tcmu-harness vm [OPTIONS] -- CMD [ARGS...]\n"
    "  --kernel BZIMAGE   boot this kernel (with --modules) instead of Debian's\n"
    "  --modules DIR      its lib/modules/VERSION (with modules.dep)\n"
    "  --share DIR        shared read-write at the same path (default: current directory)\n"
    "  --mem MB           guest memory (default 1024)\n"
    "  --cpus N           guest CPUs (default 2)\n"
    "  --timeout S        kill the guest after S seconds, exit 124 (default 1800; 0: none)\n"
    "  --keep-log FILE    copy the guest console log to FILE\n"
    "  --accel tcg|kvm    QEMU accelerator (default tcg)\n"
    "  --forward [127.0.0.1:]HPORT:GPORT\n"
    "                     host loopback TCP port HPORT reaches the guest's port GPORT\n"
    "                     (the guest is " TH_VM_GUEST_IP "; give an iSCSI device\n"
    "                     portal=0.0.0.0:GPORT); repeatable\n"
    "  -q, --quiet        no progress messages\n"
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

static int parse_vm(int argc, char **argv, th_vm_opts *o, bool need_cmd)
{
    static const struct option longs[] = {
        {"kernel", 1, 0, 'k'},   {"modules", 1, 0, 'M'}, {"share", 1, 0, 's'},
        {"mem", 1, 0, 'm'},      {"cpus", 1, 0, 'c'},    {"timeout", 1, 0, 't'},
        {"keep-log", 1, 0, 'l'}, {"accel", 1, 0, 'a'},   {"forward", 1, 0, 'f'},
        {"quiet", 0, 0, 'q'},    {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    memset(o, 0, sizeof(*o));
    o->timeout_s = 1800;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+qh", longs, NULL)) != -1) {
        switch (c) {
        case 'k':
            o->kernel = optarg;
            break;
        case 'M':
            o->modules = optarg;
            break;
        case 's':
            o->share = optarg;
            break;
        case 'm':
            o->mem_mb = atoi(optarg);
            break;
        case 'c':
            o->cpus = atoi(optarg);
            break;
        case 't':
            o->timeout_s = atoi(optarg);
            break;
        case 'l':
            o->keep_log = optarg;
            break;
        case 'a':
            o->accel = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'f': {
            th_vm_ctx vc;
            th_vm_ctx_init(&vc, NULL, NULL);
            if (th_vm_parse_forward(&vc, o, optarg)) {
                fprintf(stderr, "tcmu-harness vm: %s\n", th_vm_errmsg(&vc));
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
    if ((o->kernel == NULL) != (o->modules == NULL)) {
        fprintf(stderr, "tcmu-harness vm: --kernel and --modules go together\n");
        return CLI_USAGE;
    }
    if (need_cmd && optind >= argc) {
        fputs(vm_usage, stderr);
        return CLI_USAGE;
    }
    o->argv = argv + optind;
    return 0;
}

int cmd_vm(int argc, char **argv)
{
    th_vm_opts o;
    int rc = parse_vm(argc, argv, &o, true);
    return rc ? rc : cli_vm_run(&o);
}

int cmd_with_kernel(int argc, char **argv)
{
    th_vm_opts o;
    int rc = parse_vm(argc, argv, &o, true);
    if (rc) return rc;
    char why[256];
    if (!getenv("TCMU_HARNESS_FORCE_VM") && th_native_available(why, sizeof(why))) {
        fprintf(stderr, "tcmu-harness: running natively (%s)\n", why);
        if (!cli_native_prepare()) return 125;
        execvp(o.argv[0], o.argv);
        perror(o.argv[0]);
        return 127;
    }
    fprintf(stderr, "tcmu-harness: using a VM (%s)\n", why);
    return cli_vm_run(&o);
}

int cmd_kernel(int argc, char **argv)
{
    bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    if (help || argc < 2 || (strcmp(argv[1], "fetch") && strcmp(argv[1], "path"))) {
        fprintf(help ? stdout : stderr,
                "usage: tcmu-harness kernel fetch|path\n"
                "  fetch  download Debian's current linux-image-amd64 into the cache\n"
                "         (~/.cache/tcmu-harness) and print its kernel and modules paths\n"
                "  path   print the cached kernel and modules paths (no download)\n");
        return help ? 0 : CLI_USAGE;
    }
    th_kernel k;
    th_vm_ctx vc;
    th_vm_ctx_init(&vc, print_progress, NULL);
    if (th_kernel_get(&vc, &k, !strcmp(argv[1], "fetch"), false)) {
        fprintf(stderr, "tcmu-harness: %s\n", th_vm_errmsg(&vc));
        return 1;
    }
    printf("%s\n%s\n", k.vmlinuz, k.modules);
    return 0;
}
