/* validate, exec and run: the scenario commands. */
#include <getopt.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "../scenario/scenario.h"
#include "../scenario/session.h"
#include "../vm/vm.h"
#include "cli.h"
#include "th/th.h"

int cli_load_scenario(const char *path, scenario *sc)
{
    int rc = sc_load(path, sc);
    if (rc) {
        fputs(sc_errors(sc), stderr);
        sc_free(sc);
    }
    return rc;
}

int cmd_validate(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: tcmu-harness validate SCENARIO...\n"
                "  checks scenario files without a kernel; errors as FILE:LINE:COL: message\n");
        return argc < 2 ? CLI_USAGE : 0;
    }
    int bad = 0;
    scenario *sc = malloc(sizeof(*sc));
    for (int i = 1; i < argc; i++) {
        if (cli_load_scenario(argv[i], sc)) {
            bad++;
            continue;
        }
        printf("%s: ok (%s)\n", argv[i], sc->name);
        sc_free(sc);
    }
    free(sc);
    return bad ? CLI_USAGE : 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* "28 00 0000..." -> bytes; -1 on a bad digit. */
static long parse_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ' || *s == ':') {
            s++;
            continue;
        }
        int a = hexval(s[0]), b = s[1] ? hexval(s[1]) : -1;
        if (a < 0 || b < 0 || n >= cap) return -1;
        out[n++] = (uint8_t)(a << 4 | b);
        s += 2;
    }
    return (long)n;
}

static void print_hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
}

/* exec with room for argc commands (cdbs, outs, allocs). */
static int exec_commands(int argc, char **argv, const char **cdbs, const char **outs, long *allocs)
{
    static const struct option longs[] = {{"device", 1, 0, 'd'},   {"cdb", 1, 0, 'c'},
                                          {"data-out", 1, 0, 'o'}, {"alloc", 1, 0, 'a'},
                                          {"help", 0, 0, 'h'},     {0, 0, 0, 0}};
    const char *device = NULL;
    int n = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        if (c == 'd')
            device = optarg;
        else if (c == 'c')
            cdbs[n] = optarg, allocs[n] = -1, outs[n] = NULL, n++;
        else if (c == 'o' && n)
            outs[n - 1] = optarg;
        else if (c == 'a' && n)
            allocs[n - 1] = atol(optarg);
        else {
            fprintf(
                c == 'h' ? stdout : stderr,
                "usage: tcmu-harness exec SCENARIO --device NAME --cdb HEX [--data-out HEX|@FILE]"
                " [--alloc N] [--cdb ...]\n  runs synthetic commands through the device's "
                "emulation and rules (no kernel); prints one JSON object per command\n");
            return c == 'h' ? 0 : CLI_USAGE;
        }
    }
    if (optind != argc - 1 || !device || !n) {
        fprintf(stderr, "tcmu-harness exec: needs SCENARIO, --device and at least one --cdb\n");
        return CLI_USAGE;
    }
    scenario *sc = malloc(sizeof(*sc));
    if (cli_load_scenario(argv[optind], sc)) {
        free(sc);
        return CLI_USAGE;
    }
    const sc_device *dc = NULL;
    for (int i = 0; i < sc->n_devices; i++)
        if (!strcmp(sc->devices[i].name, device)) dc = &sc->devices[i];
    if (!dc) {
        fprintf(stderr, "tcmu-harness exec: %s has no device '%s'\n", argv[optind], device);
        sc_free(sc);
        free(sc);
        return CLI_USAGE;
    }
    /* The device as run builds it (identity, backing, media, the instance's WWN), without
     * the kernel, with its rules in. */
    sc_session_opts so = {.kernel = false};
    sc_session *ses = NULL;
    char err[600];
    int rc = sc_session_new(&so, &ses, err, sizeof(err)) ? CLI_USAGE : 0;
    if (!rc && sc_session_add_device(ses, dc, err, sizeof(err))) rc = 1;
    for (int i = 0; i < sc->n_rules && !rc; i++) {
        sc_step arm = {.kind = SC_ADD_RULE, .rule = sc->rules[i], .position = -1};
        if (!strcmp(sc->rules[i].device, device) && sc_session_act(ses, &arm, err, sizeof(err)))
            rc = 1;
    }
    if (rc) {
        fprintf(stderr, "tcmu-harness exec: %s\n", err);
        sc_session_close(ses, err, sizeof(err));
        sc_free(sc);
        free(sc);
        return rc;
    }
    th_rules *rules = sc_session_rules(ses, device);
    bool tape = !strcmp(dc->type, "tape");
    static uint8_t out[1 << 20];
    for (int i = 0; i < n && !rc; i++) {
        uint8_t cdb[TH_CDB_MAX];
        long cl = parse_hex(cdbs[i], cdb, sizeof(cdb)), ol = 0;
        if (cl <= 0) {
            fprintf(stderr, "tcmu-harness exec: --cdb '%s' is not hex bytes\n", cdbs[i]);
            rc = CLI_USAGE;
            break;
        }
        if (outs[i] && outs[i][0] == '@') {
            FILE *f = fopen(outs[i] + 1, "rb");
            ol = f ? (long)fread(out, 1, sizeof(out), f) : -1;
            if (f) fclose(f);
        } else if (outs[i]) {
            ol = parse_hex(outs[i], out, sizeof(out));
        }
        if (ol < 0) {
            fprintf(stderr, "tcmu-harness exec: bad --data-out '%s'\n", outs[i]);
            rc = CLI_USAGE;
            break;
        }
        size_t alloc = allocs[i] >= 0 ? (size_t)allocs[i] : (ol ? 0 : 4096);
        if (allocs[i] < 0 && !tape &&
            (cdb[0] == 0x08 || cdb[0] == 0x28 || cdb[0] == 0x88 || cdb[0] == 0xa8)) {
            th_cmd *probe = th_fake_cmd_new(cdb, (size_t)cl, NULL, 0, 0);
            alloc = (size_t)th_cmd_xfer_len(probe) * dc->block_size;
            th_fake_cmd_free(probe);
        }
        th_cmd *cmd = th_fake_cmd_new(cdb, (size_t)cl, ol ? out : NULL, (size_t)ol, alloc);
        if (!cmd) {
            fprintf(stderr, "tcmu-harness exec: cannot build the command\n");
            rc = 1;
            break;
        }
        bool deferred = th_fake_cmd_run(cmd, th_rules_handle, rules) == TH_CMD_DEFERRED;
        for (int w = 0; deferred && w < 6000 && !th_fake_cmd_done(cmd); w++) usleep(1000);
        bool hung = !th_fake_cmd_done(cmd);
        if (hung) th_rules_release_all(rules); /* answers it, so it can be freed */
        printf("{\"cdb\":\"");
        print_hex(cdb, (size_t)cl);
        if (hung) {
            printf("\",\"hung\":true}\n");
        } else {
            th_sense s;
            printf("\",\"status\":%u,\"sense\":", th_cmd_get_status(cmd));
            if (!th_fake_sense(cmd, &s)) {
                char text[256];
                th_sense_format(&s, text, sizeof(text));
                printf("{\"key\":\"%s\",\"asc\":%u,\"ascq\":%u,\"info\":", th_sense_key_name(s.key),
                       s.asc, s.ascq);
                if (s.info_valid)
                    printf("%llu", (unsigned long long)s.info);
                else
                    printf("null");
                printf(",\"fm\":%s,\"eom\":%s,\"ili\":%s,\"text\":\"%s\"}",
                       s.filemark ? "true" : "false", s.eom ? "true" : "false",
                       s.ili ? "true" : "false", text);
            } else {
                printf("null");
            }
            size_t dl;
            const uint8_t *d = th_fake_data_in(cmd, &dl);
            printf(",\"data_in\":\"");
            print_hex(d, dl);
            printf("\",\"residual\":%zu}\n", th_fake_residual(cmd));
        }
        th_fake_cmd_free(cmd);
    }
    if (sc_session_close(ses, err, sizeof(err))) fprintf(stderr, "tcmu-harness exec: %s\n", err);
    sc_free(sc);
    free(sc);
    return rc;
}

int cmd_exec(int argc, char **argv)
{
    /* Any number of --cdb: each is an argument, so argc is room enough (the kernel's
     * ARG_MAX, the size of the argument list, is the one bound). */
    const char **cdbs = calloc((size_t)argc, sizeof(*cdbs));
    const char **outs = calloc((size_t)argc, sizeof(*outs));
    long *allocs = calloc((size_t)argc, sizeof(*allocs));
    int rc = 1;
    if (cdbs && outs && allocs)
        rc = exec_commands(argc, argv, cdbs, outs, allocs);
    else
        fprintf(stderr, "tcmu-harness exec: out of memory for %d arguments\n", argc);
    free(cdbs);
    free(outs);
    free(allocs);
    return rc;
}

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t') fputc(*s, f);
        }
    }
}

/* DIR/<stem>.kmsg beside the trace: the kernel log of the scenario's span. */
static void write_kmsg(const char *tpath, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%.*s.kmsg", (int)(strlen(tpath) - strlen(".jsonl")), tpath);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f))
        fprintf(stderr, "tcmu-harness run: cannot write %s\n", path);
}

/* The suite's baseline (--allow-kmsg) joins each scenario's own allow_kmsg. */
static int add_baseline(scenario *sc, const sc_kmsg_list *base)
{
    char err[300];
    for (int i = 0; i < base->n; i++)
        if (sc_kmsg_list_add(&sc->kmsg_allow, base->re[i].src, base->re[i].line, err, sizeof(err)))
            return -1;
    return 0;
}

/* Follows path while it is a symlink (up to 40 links, like the kernel), even to a target
 * that does not exist yet: the guest would follow the same link and write where it points. */
static void follow_links(char *path, size_t cap)
{
    char target[PATH_MAX];
    struct stat st;
    for (int hops = 0; hops < 40 && !lstat(path, &st) && S_ISLNK(st.st_mode); hops++) {
        ssize_t l = readlink(path, target, sizeof(target) - 1);
        if (l <= 0) return;
        target[l] = '\0';
        char *slash = strrchr(path, '/');
        if (target[0] == '/' || !slash)
            snprintf(path, cap, "%s", target);
        else {
            slash[1] = '\0'; /* a relative target is relative to the link's directory */
            char joined[PATH_MAX];
            snprintf(joined, sizeof(joined), "%s%s", path, target);
            snprintf(path, cap, "%s", joined);
        }
    }
}

/* The VM shares only the current directory read-write: a --junit or --trace path outside it
 * would be written into the guest's own file system and vanish with it. */
static bool outside_share(const char *path)
{
    char cwd[PATH_MAX], dir[PATH_MAX], real[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    follow_links(dir, sizeof(dir)); /* the file itself may be a link out of the share */
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    if (!getcwd(cwd, sizeof(cwd)) || !realpath(dir, real)) return false; /* run reports it */
    size_t n = strlen(cwd);
    if (n == 1) return false; /* the share is "/": everything is under it */
    return strncmp(real, cwd, n) || (real[n] && real[n] != '/');
}

static volatile int interrupted;
static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

int cmd_run(int argc, char **argv)
{
    static const struct option longs[] = {{"junit", 1, 0, 'j'},          {"trace", 1, 0, 't'},
                                          {"shard", 1, 0, 's'},          {"in-vm", 0, 0, 'v'},
                                          {"allow-kmsg", 1, 0, 'k'},     {"help", 0, 0, 'h'},
                                          {"kernel-version", 1, 0, 'K'}, {0, 0, 0, 0}};
    const char *junit = NULL, *trace_dir = NULL, *kernel_version = NULL;
    int shard_k = 1, shard_n = 1, c;
    bool in_vm = false;
    sc_kmsg_list baseline = {0};
    char err[400];
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        if (c == 'j')
            junit = optarg;
        else if (c == 't')
            trace_dir = optarg;
        else if (c == 'v')
            in_vm = true;
        else if (c == 'K')
            kernel_version = optarg; /* the VM's kernel; ignored inside it */
        else if (c == 'k' && sc_kmsg_list_load(&baseline, optarg, err, sizeof(err))) {
            fprintf(stderr, "tcmu-harness run: --allow-kmsg %s\n", err);
            sc_kmsg_list_free(&baseline);
            return CLI_USAGE;
        } else if (c == 'k')
            continue;
        else if (c == 's' && sscanf(optarg, "%d/%d", &shard_k, &shard_n) == 2 && shard_k >= 1 &&
                 shard_k <= shard_n)
            continue;
        else {
            fprintf(
                c == 'h' ? stdout : stderr,
                "usage: tcmu-harness run [--junit FILE] [--trace DIR] [--shard K/N]\n"
                "                        [--allow-kmsg FILE] [--kernel-version V] SCENARIO...\n"
                "  runs scenarios on the real kernel (natively, else in a throwaway VM);\n"
                "  exit 0 only if every scenario passed\n"
                "  a scenario also fails if the kernel logged a splat during it (WARNING:, BUG:,\n"
                "  Oops, lockdep, KASAN, hung task, ...) that no allow_kmsg regex excuses\n"
                "  --junit FILE       JUnit XML; each test case has its kernel log in system-out\n"
                "  --trace DIR        DIR/<file>.jsonl, the trace; DIR/<file>.kmsg, the log\n"
                "  --allow-kmsg FILE  a baseline of known kernel warnings for every scenario:\n"
                "                     one extended regex per line, blank lines and # comments\n"
                "                     ignored\n"
                "  --kernel-version V the VM's kernel package or version (see tcmu-harness vm)\n");
            sc_kmsg_list_free(&baseline);
            return c == 'h' ? 0 : CLI_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "tcmu-harness run: no scenario given\n");
        sc_kmsg_list_free(&baseline);
        return CLI_USAGE;
    }
    /* Every file is checked before any kernel work. */
    scenario *sc = malloc(sizeof(*sc));
    int bad = 0;
    bool devices = false; /* scenarios of commands only need no kernel: they run here */
    for (int i = optind; i < argc; i++) {
        if (cli_load_scenario(argv[i], sc))
            bad++;
        else
            devices |= sc->n_devices > 0, sc_free(sc);
    }
    if (bad) {
        free(sc);
        sc_kmsg_list_free(&baseline);
        return CLI_USAGE;
    }
    char why[256];
    if (!in_vm && devices && !th_native_available(why, sizeof(why))) {
        const char *outs[] = {junit, trace_dir ? trace_dir : NULL};
        for (int i = 0; i < 2; i++) {
            char probe[PATH_MAX];
            /* a trace DIR is itself the directory; a JUnit FILE's is its parent */
            snprintf(probe, sizeof(probe), "%s%s", outs[i] ? outs[i] : "", i ? "/x" : "");
            if (outs[i] && outside_share(probe)) {
                fprintf(
                    stderr,
                    "tcmu-harness run: %s %s is outside the current directory, the only "
                    "one the VM shares (a VM is needed: %s); run from a directory that holds it\n",
                    i ? "--trace" : "--junit", outs[i], why);
                free(sc);
                sc_kmsg_list_free(&baseline);
                return CLI_USAGE;
            }
        }
        fprintf(stderr, "tcmu-harness: using a VM (%s)\n", why);
        char self[PATH_MAX];
        ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (l <= 0) return 125;
        self[l] = 0;
        char **args = calloc((size_t)argc + 3, sizeof(char *));
        args[0] = self;
        args[1] = "run";
        args[2] = "--in-vm";
        for (int i = 1; i < argc; i++) args[i + 2] = argv[i];
        th_vm_opts o = {
            .argv = args, .timeout_s = 3600, .quiet = false, .kernel_version = kernel_version};
        int rc = cli_vm_run(&o);
        free(args);
        free(sc);
        sc_kmsg_list_free(&baseline);
        return rc;
    }
    if (!in_vm && devices && !cli_native_prepare()) {
        free(sc);
        sc_kmsg_list_free(&baseline);
        return 125;
    }
    /* A signal ends the current step and the run; devices are always torn down. */
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    FILE *jf = junit ? fopen(junit, "w") : NULL;
    if (junit && !jf) {
        perror(junit);
        free(sc);
        sc_kmsg_list_free(&baseline);
        return CLI_USAGE;
    }
    int passed = 0, failed = 0, idx = 0;
    double total = 0;
    char *cases = NULL;
    size_t cases_len = 0;
    FILE *cf = open_memstream(&cases, &cases_len);
    for (int i = optind; i < argc && !interrupted; i++, idx++) {
        if (idx % shard_n != shard_k - 1) continue;
        if (cli_load_scenario(argv[i], sc)) continue;
        if (add_baseline(sc, &baseline)) {
            fprintf(stderr, "tcmu-harness run: out of memory\n");
            sc_free(sc);
            break;
        }
        char tpath[PATH_MAX] = "";
        if (trace_dir) {
            const char *base = strrchr(argv[i], '/');
            base = base ? base + 1 : argv[i];
            snprintf(tpath, sizeof(tpath), "%s/%.*s.jsonl", trace_dir, (int)(strcspn(base, ".")),
                     base);
        }
        printf("RUN  %s (%s)\n", sc->name, argv[i]);
        fflush(stdout);
        sc_result res;
        sc_run(sc, tpath[0] ? tpath : NULL, &res, stdout, &interrupted);
        total += res.seconds;
        if (res.passed) {
            passed++;
            printf("PASS %s (%.1f s)\n", sc->name, res.seconds);
        } else {
            failed++;
            printf("FAIL %s (%.1f s): %s\n", sc->name, res.seconds, res.message);
        }
        fflush(stdout);
        fprintf(cf, "  <testcase classname=\"scenarios\" name=\"");
        xml_escape(cf, sc->name);
        fprintf(cf, "\" file=\"");
        xml_escape(cf, argv[i]);
        fprintf(cf, "\" time=\"%.3f\">", res.seconds);
        if (!res.passed) {
            fprintf(cf, "<failure message=\"scenario failed\">");
            xml_escape(cf, res.message);
            fprintf(cf, "</failure>");
        }
        if (res.kmsg) {
            fprintf(cf, "<system-out>");
            xml_escape(cf, res.kmsg);
            fprintf(cf, "</system-out>");
            if (tpath[0]) write_kmsg(tpath, res.kmsg);
        }
        fprintf(cf, "</testcase>\n");
        sc_result_clear(&res);
        sc_free(sc);
    }
    fclose(cf);
    if (jf) {
        th_kernel_id k; /* which harness and kernel these results came from */
        th_kernel_id_get(&k);
        fprintf(jf,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites><testsuite "
                "name=\"tcmu-harness scenarios\" tests=\"%d\" failures=\"%d\" time=\"%.3f\">\n"
                "  <properties>\n"
                "    <property name=\"tcmu-harness.version\" value=\"%s\"/>\n"
                "    <property name=\"kernel.release\" value=\"%s\"/>\n"
                "    <property name=\"kernel.package\" value=\"%s\"/>\n"
                "  </properties>\n%s"
                "</testsuite></testsuites>\n",
                passed + failed, failed, total, th_version(), k.release, k.package,
                cases ? cases : "");
        fclose(jf);
    }
    free(cases);
    free(sc);
    sc_kmsg_list_free(&baseline);
    printf("%d passed, %d failed\n", passed, failed);
    return interrupted ? 130 : failed || !passed ? 1 : 0;
}
