/* tcmu-harness run: scenarios on the real kernel (here, or in a VM), their JUnit, traces,
 * kernel logs and summaries. */
#include <errno.h>
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

/* mkdir -p: a --trace DIR a user names is made, with its parents, rather than failing
 * every scenario on its first write. *made says whether anything was (to undo on a later
 * usage error). */
static int make_dirs(const char *dir, bool *made)
{
    char p[PATH_MAX];
    if (!*dir) return -ENOENT; /* the loop below starts after the first byte */
    if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p)) return -ENAMETOOLONG;
    *made = false;
    for (char *s = p + 1;; s++) {
        if (*s && *s != '/') continue;
        char was = *s;
        *s = '\0';
        if (mkdir(p, 0777) == 0)
            *made = true;
        else if (errno != EEXIST)
            return -errno;
        *s = was;
        if (!was) break;
    }
    struct stat st;
    if (stat(p, &st)) return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* --golden-match and --golden-tolerance: only with --compare-golden, which excludes
 * --record-golden. 0, or -EINVAL after saying why. */
static int golden_options(cli_golden *g, const char *match, const char *tolerance)
{
    const char *why = NULL;
    if (g->record_dir && g->compare_dir)
        why = "--record-golden and --compare-golden exclude each other";
    else if ((match || tolerance) && !g->compare_dir)
        why = "--golden-match and --golden-tolerance go with --compare-golden";
    else if (match && !rp_match_from_name(match, &g->mode))
        why = "--golden-match is multiset or sequence";
    if (!why && tolerance) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(tolerance, &end, 10);
        if (tolerance[0] < '0' || tolerance[0] > '9' || *end || errno || v > 1000000)
            why = "--golden-tolerance is a whole number from 0 to 1000000";
        g->tolerance = (unsigned)v;
    }
    if (!why && g->compare_dir) { /* read only: it must be there already */
        struct stat st;
        int e = stat(g->compare_dir, &st) ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
        if (e) {
            fprintf(stderr, "tcmu-harness run: --compare-golden %s: %s\n", g->compare_dir,
                    strerror(e));
            return -EINVAL;
        }
    }
    if (why) fprintf(stderr, "tcmu-harness run: %s\n", why);
    return why ? -EINVAL : 0;
}

/* The golden comparison's verdict joins the scenario's: said on stdout, and a failure of
 * its own (a difference, a missing or unreadable golden file) fails the scenario. */
static void golden_verdict(const cli_golden_result *g, sc_result *res)
{
    if (!g->result) return;
    printf("  golden: %s\n", g->message);
    if (g->diff) {
        for (const char *p = g->diff; *p;) {
            const char *nl = strchr(p, '\n');
            int n = nl ? (int)(nl - p) : (int)strlen(p);
            printf("    %.*s\n", n, p);
            p += n + (nl ? 1 : 0);
        }
    }
    if (!g->failed) return;
    if (res->passed) {
        res->passed = false;
        snprintf(res->message, sizeof(res->message), "%s", g->message);
    } else {
        size_t n = strlen(res->message);
        snprintf(res->message + n, sizeof(res->message) - n, "; and %s", g->message);
    }
}

/* K/N: two whole numbers, 1 <= K <= N (sscanf took "1/2x" and overflowed silently). */
static int parse_shard(const char *text, int *k, int *n)
{
    const char *slash = strchr(text, '/');
    char kk[24];
    long long a, b;
    if (slash && (size_t)(slash - text) < sizeof(kk)) {
        snprintf(kk, sizeof(kk), "%.*s", (int)(slash - text), text);
        char *e;
        errno = 0;
        a = kk[0] >= '0' && kk[0] <= '9' ? strtoll(kk, &e, 10) : -1;
        bool ok_a = a >= 1 && !*e && !errno;
        b = slash[1] >= '0' && slash[1] <= '9' ? strtoll(slash + 1, &e, 10) : -1;
        if (ok_a && b >= 1 && !*e && !errno && a <= b && b <= 1000000) {
            *k = (int)a, *n = (int)b;
            return 0;
        }
    }
    fprintf(stderr,
            "tcmu-harness run: --shard '%s': K/N was expected, two whole numbers with "
            "1 <= K <= N <= 1000000\n",
            text);
    return CLI_USAGE;
}

static volatile int interrupted;
static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

int cmd_run(int argc, char **argv)
{
    static const struct option longs[] = {{"junit", 1, 0, 'j'},
                                          {"trace", 1, 0, 't'},
                                          {"shard", 1, 0, 's'},
                                          {"in-vm", 0, 0, 'v'},
                                          {"allow-kmsg", 1, 0, 'k'},
                                          {"help", 0, 0, 'h'},
                                          {"kernel-version", 1, 0, 'K'},
                                          {"summary", 0, 0, 'S'},
                                          {"record-golden", 1, 0, 'R'},
                                          {"compare-golden", 1, 0, 'C'},
                                          {"golden-match", 1, 0, 'M'},
                                          {"golden-tolerance", 1, 0, 'T'},
                                          {0, 0, 0, 0}};
    const char *junit = NULL, *trace_dir = NULL, *kernel_version = NULL, *match = NULL,
               *tolerance = NULL;
    int shard_k = 1, shard_n = 1, c;
    bool in_vm = false, summary = false;
    cli_golden golden = {.mode = RP_MATCH_MULTISET};
    sc_kmsg_list baseline = {0};
    char err[400];
    optind = 1;
    const char *shard = NULL;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        /* an option given twice keeps neither: say so rather than let the last win */
        const char *opt = c == 'j'   ? "--junit"
                          : c == 't' ? "--trace"
                          : c == 's' ? "--shard"
                          : c == 'K' ? "--kernel-version"
                          : c == 'R' ? "--record-golden"
                          : c == 'C' ? "--compare-golden"
                          : c == 'M' ? "--golden-match"
                          : c == 'T' ? "--golden-tolerance"
                                     : NULL;
        const void *prev = c == 'j'   ? junit
                           : c == 't' ? trace_dir
                           : c == 's' ? shard
                           : c == 'K' ? kernel_version
                           : c == 'R' ? golden.record_dir
                           : c == 'C' ? golden.compare_dir
                           : c == 'M' ? match
                           : c == 'T' ? tolerance
                                      : NULL;
        if (opt && cli_once("run", opt, prev)) {
            sc_kmsg_list_free(&baseline);
            return CLI_USAGE;
        }
        char pkg[256];
        if (c == 'K' && th_kernel_package_name(pkg, sizeof(pkg), optarg)) {
            fprintf(stderr,
                    "tcmu-harness run: --kernel-version '%s': neither a package "
                    "(linux-image-6.1.0-57-amd64) nor a version (6.1.0-57)\n",
                    optarg);
            sc_kmsg_list_free(&baseline);
            return CLI_USAGE;
        }
        if (c == 's' && parse_shard(optarg, &shard_k, &shard_n)) {
            sc_kmsg_list_free(&baseline);
            return CLI_USAGE;
        }
        if (c == 's')
            shard = optarg;
        else if (c == 'j')
            junit = optarg;
        else if (c == 't')
            trace_dir = optarg;
        else if (c == 'v')
            in_vm = true;
        else if (c == 'S')
            summary = true;
        else if (c == 'K')
            kernel_version = optarg; /* the VM's kernel; ignored inside it */
        else if (c == 'R')
            golden.record_dir = optarg;
        else if (c == 'C')
            golden.compare_dir = optarg;
        else if (c == 'M')
            match = optarg;
        else if (c == 'T')
            tolerance = optarg;
        else if (c == 'k' && sc_kmsg_list_load(&baseline, optarg, err, sizeof(err))) {
            fprintf(stderr, "tcmu-harness run: --allow-kmsg %s\n", err);
            sc_kmsg_list_free(&baseline);
            return CLI_USAGE;
        } else if (c == 'k')
            continue;
        else if (c == 's')
            continue;
        else {
            fprintf(
                c == 'h' ? stdout : stderr,
                "usage: tcmu-harness run [--junit FILE] [--trace DIR] [--summary] [--shard K/N]\n"
                "                        [--allow-kmsg FILE] [--kernel-version V]\n"
                "                        [--record-golden DIR | --compare-golden DIR\n"
                "                         [--golden-match M] [--golden-tolerance N]] SCENARIO...\n"
                "  runs scenarios on the real kernel (natively, else in a throwaway VM);\n"
                "  exit 0 only if every scenario passed\n"
                "  a scenario also fails if the kernel logged a splat during it (WARNING:, BUG:,\n"
                "  Oops, lockdep, KASAN, hung task, ...) that no allow_kmsg regex excuses\n"
                "  --junit FILE       JUnit XML; each test case has its kernel log in system-out\n"
                "  --trace DIR        DIR/<file>.jsonl, the trace; DIR/<file>.kmsg, the log;\n"
                "                     DIR/<file>.run.json, the result and steps (made if\n"
                "                     missing; tcmu-harness report DIR makes pages of them)\n"
                "  --summary          after each scenario, the initiator's reaction to each\n"
                "                     fault a rule injected (retries, aborts, how it ended);\n"
                "                     JUnit has them with --trace or --summary\n"
                "  --allow-kmsg FILE  a baseline of known kernel warnings for every scenario:\n"
                "                     one extended regex per line, blank lines and # comments\n"
                "                     ignored\n"
                "  --kernel-version V the VM's kernel package or version (see tcmu-harness vm)\n"
                "  --record-golden DIR   DIR/<file>.golden: what the initiator sent, normalised\n"
                "                        (no times or ids), from each scenario that passed\n"
                "  --compare-golden DIR  fails a scenario whose initiator behaved differently\n"
                "                        from DIR/<file>.golden (the diff in JUnit, run.json)\n"
                "  --golden-match M      multiset (default: the same lines and counts in any\n"
                "                        order) or sequence (in the same order)\n"
                "  --golden-tolerance N  counts (retries, attempts) may differ by N (default 0)\n");
            sc_kmsg_list_free(&baseline);
            return c == 'h' ? 0 : CLI_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "tcmu-harness run: no scenario given\n");
        sc_kmsg_list_free(&baseline);
        return CLI_USAGE;
    }
    if (golden_options(&golden, match, tolerance)) {
        sc_kmsg_list_free(&baseline);
        return CLI_USAGE;
    }
    /* Every file is checked before any kernel work. */
    scenario *sc = malloc(sizeof(*sc));
    if (!sc) {
        fprintf(stderr, "tcmu-harness run: out of memory\n");
        sc_kmsg_list_free(&baseline);
        return 125;
    }
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
    /* The directories written into are made (mkdir -p), with what made each, to undo. */
    const char *dirs[] = {trace_dir, golden.record_dir};
    const char *dir_opt[] = {"--trace", "--record-golden"};
    bool made[2] = {false, false};
    for (int i = 0; i < 2; i++) {
        int mrc = dirs[i] ? make_dirs(dirs[i], &made[i]) : 0;
        if (mrc) {
            fprintf(stderr, "tcmu-harness run: %s %s: cannot make the directory: %s\n", dir_opt[i],
                    dirs[i], strerror(-mrc));
            if (i && made[0]) rmdir(trace_dir);
            free(sc);
            sc_kmsg_list_free(&baseline);
            return CLI_USAGE;
        }
    }
    /* --junit FILE once its directory may be there: it may be the --trace DIR made now */
    if (junit && cli_check_path("run", "--junit", junit, CLI_PATH_OUT)) {
        for (int k = 1; k >= 0; k--)
            if (made[k]) rmdir(dirs[k]);
        free(sc);
        sc_kmsg_list_free(&baseline);
        return CLI_USAGE;
    }
    char why[256];
    if (!in_vm && devices && !th_native_available(why, sizeof(why))) {
        /* the guest sees the host read-only but for the current directory: what run writes
         * must be under it (a --compare-golden DIR is only read: anywhere will do) */
        const char *outs[] = {junit, trace_dir, golden.record_dir};
        const char *names[] = {"--junit", "--trace", "--record-golden"};
        for (int i = 0; i < 3; i++) {
            char probe[PATH_MAX];
            /* a DIR is itself the directory; a JUnit FILE's is its parent */
            snprintf(probe, sizeof(probe), "%s%s", outs[i] ? outs[i] : "", i ? "/x" : "");
            if (outs[i] && outside_share(probe)) {
                fprintf(
                    stderr,
                    "tcmu-harness run: %s %s is outside the current directory, the only "
                    "one the VM shares (a VM is needed: %s); run from a directory that holds it\n",
                    names[i], outs[i], why);
                for (int k = 1; k >= 0; k--) /* made just now, for nothing */
                    if (made[k]) rmdir(dirs[k]);
                free(sc);
                sc_kmsg_list_free(&baseline);
                return CLI_USAGE;
            }
        }
        fprintf(stderr, "tcmu-harness: using a VM (%s)\n", why);
        char self[PATH_MAX];
        ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char **args = l > 0 ? calloc((size_t)argc + 3, sizeof(char *)) : NULL;
        if (!args) {
            fprintf(stderr, "tcmu-harness run: %s\n",
                    l <= 0 ? "cannot find its own executable (/proc/self/exe)" : "out of memory");
            free(sc);
            sc_kmsg_list_free(&baseline);
            return 125;
        }
        self[l] = 0;
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
        char tpath[PATH_MAX] = "", stem[NAME_MAX + 1];
        cli_stem(argv[i], stem, sizeof(stem));
        if (trace_dir) snprintf(tpath, sizeof(tpath), "%s/%s.jsonl", trace_dir, stem);
        /* The reactions and the golden trace are read back from the trace: without --trace
         * one is kept in a temporary file for as long as it takes. */
        char tmp[PATH_MAX];
        const char *tdir = getenv("TMPDIR"); /* a TMPDIR that does not fit is not used */
        if (!tdir || !*tdir || strlen(tdir) > PATH_MAX - 64) tdir = "/tmp";
        bool tmp_trace = false;
        bool want_golden = golden.record_dir || golden.compare_dir;
        if (!tpath[0] && (summary || want_golden)) {
            snprintf(tmp, sizeof(tmp), "%s/th-summary-XXXXXX.jsonl", tdir);
            int fd = mkstemps(tmp, 6);
            if (fd < 0 && strcmp(tdir, "/tmp")) { /* a TMPDIR not there, or not writable */
                snprintf(tmp, sizeof(tmp), "/tmp/th-summary-XXXXXX.jsonl");
                fd = mkstemps(tmp, 6);
            }
            if (fd >= 0) {
                close(fd);
                snprintf(tpath, sizeof(tpath), "%s", tmp);
                tmp_trace = true;
            }
        }
        printf("RUN  %s (%s)\n", sc->name, argv[i]);
        fflush(stdout);
        sc_result res;
        sc_run(sc, tpath[0] ? tpath : NULL, &res, stdout, &interrupted);
        char *reactions = tpath[0] ? cli_reactions_text(tpath, summary ? 20 : 200, "  ") : NULL;
        if (summary && reactions) printf("  initiator's reactions:\n%s", reactions);
        cli_golden_result gr = {0};
        if (want_golden && tpath[0]) {
            /* run's options, where given, over the scenario's golden: key, over the default */
            cli_golden gs = golden;
            if (!match && sc->golden_match)
                gs.mode =
                    sc->golden_match == SC_GOLDEN_SEQUENCE ? RP_MATCH_SEQUENCE : RP_MATCH_MULTISET;
            if (!tolerance && sc->golden_tolerance >= 0)
                gs.tolerance = (unsigned)sc->golden_tolerance;
            cli_golden_after(&gs, argv[i], stem, tpath, res.passed, &gr);
        } else if (want_golden) {
            gr = (cli_golden_result){.result = "error", .failed = true};
            snprintf(gr.message, sizeof(gr.message),
                     "no trace to make a golden trace of: no "
                     "temporary file could be made in TMPDIR or /tmp");
        }
        golden_verdict(&gr, &res);
        if (tpath[0] && !tmp_trace) cli_write_run_json(tpath, sc, argv[i], &res, &gr);
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
            if (gr.diff) { /* the whole difference, as the golden file's lines */
                fprintf(cf, "\n");
                xml_escape(cf, gr.diff);
            }
            fprintf(cf, "</failure>");
        }
        if (res.kmsg || reactions) {
            /* the kernel log first, as it always was; the reactions after it */
            fprintf(cf, "<system-out>");
            xml_escape(cf, res.kmsg ? res.kmsg : "");
            if (reactions) {
                fprintf(cf, "--- the initiator's reactions to the faults\n");
                xml_escape(cf, reactions);
            }
            fprintf(cf, "</system-out>");
            if (tpath[0] && !tmp_trace && res.kmsg) write_kmsg(tpath, res.kmsg);
        }
        free(reactions);
        cli_golden_result_clear(&gr);
        if (tmp_trace) unlink(tpath);
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
