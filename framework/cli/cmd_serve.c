/* serve: devices from a scenario or from --device specs, served until SIGINT/SIGTERM. Both
 * forms are one scenario model brought up by one session (sc_serve_open). */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/un.h>
#include "../control/control.h"
#include "../scenario/scenario.h"
#include "../scenario/session.h"
#include "../scenario/spec.h"
#include "cli.h"
#include "th/th.h"

static const char serve_usage[] =
    "usage: tcmu-harness serve [--trace FILE] [--log-level LEVEL] SCENARIO\n"
    "       tcmu-harness serve [--trace FILE] [--log-level LEVEL] --device SPEC [--device "
    "SPEC...]\n"
    "  Either form takes --control PATH, and with it needs no device at all.\n"
    "  --trace-keep N: trace entries kept in memory for wait_trace and the control\n"
    "    channel's trace (default 262144, about 330 bytes each; 1 to 16777216)\n"
    "  With SCENARIO: its devices and rules (steps are not run); the trace goes to FILE.\n"
    "  --control PATH: take requests on a Unix socket at PATH (JSON lines, mode 0600;\n"
    "    docs/control-protocol.md, and `tcmu-harness ctl` to send one from a shell).\n"
    "    One serve per PATH: it holds a lock on PATH.lock (removed at exit) from before\n"
    "    its devices are made; a second exits 1 naming the holder's pid.\n"
    "  SPEC: comma-separated key=value, the keys of a scenario device (docs/scenario-format.md);\n"
    "  a list key repeats (initiators=A,initiators=B), chap is chap.user=,chap.password=:\n"
    "    name=NAME        required; letters, digits, '_', '-', '.'\n"
    "    type=disk|tape   a disk (SBC) or a tape drive (SSC)\n"
    "    size=64MiB       capacity (K/M/G/T, KiB/MiB/...); of a tape too\n"
    "    block_size=512   logical block size\n"
    "    backing=memory   memory, or file:PATH (created if missing)\n"
    "    vendor=, product=, revision=, serial=  INQUIRY identity (serial: default the WWN's hex)\n"
    "    wwn=naa.X        pin the NAA identifier (16 hex digits); default: derived from\n"
    "                     the name and this harness instance, unique per serve process\n"
    "    workers=N        handler threads (default: 1, commands in ring order)\n"
    "    lun=N            LUN on the loopback (or iSCSI) target, 0 to 16383\n"
    "    hba=N            configfs core/user_N (default 1)\n"
    "    spin=N           polls for more work before sleeping (default 5000, 0: never)\n"
    "    target=naa.X     share a loopback target between devices (16 hex digits)\n"
    "    external=1       no loopback export (link the backstore to another fabric)\n"
    "    export=iscsi     export over LIO iSCSI instead (iqn=, portal=IP:PORT; default\n"
    "                     127.0.0.1:3260); the JSON line gets an \"iscsi\" URL\n"
    "    initiators=IQN   with export=iscsi: only these initiators get in (repeatable;\n"
    "                     none: any initiator)\n"
    "    chap.user=, chap.password=  with export=iscsi: require CHAP\n"
    "    early_warning=, second_partition=SIZE, write_protect=1, loaded=0, image=FILE,\n"
    "    media=record:N|text:TEXT|filemark:N (repeatable)   tapes\n"
    "  Older names still work: capacity= (size), partition1= (second_partition),\n"
    "  chap_user=, chap_password=, initiator=.\n"
    "  LEVEL: error (default), warn, info, debug; logs go to stderr.\n"
    "Prints one JSON object per device on stdout when all are ready.\n";

/* `shutdown` over the control socket: the sigwait below takes it as it takes ^C. */
static void control_shutdown(void *arg)
{
    (void)arg;
    kill(getpid(), SIGTERM);
}

/* Brings the scenario's devices up on a session, serves until a signal, tears down. With
 * a control socket, the device lines wait until it listens: a client that read them can
 * connect. */
static int serve_scenario(const scenario *sc, const sc_session_opts *o, const char *control,
                          const sigset_t *set)
{
    sc_session *ses;
    sc_result res;
    char *lines = NULL, err[600];
    size_t len = 0;
    FILE *out = control ? open_memstream(&lines, &len) : stdout;
    if (!out) {
        fprintf(stderr, "tcmu-harness serve: out of memory\n");
        return 1;
    }
    int rc = sc_serve_open(sc, o, out, &ses, &res);
    if (out != stdout) fclose(out);
    if (rc) {
        fprintf(stderr, "tcmu-harness serve: %s\n", res.message);
        free(lines);
        return 1;
    }
    ctl_server *srv = NULL;
    ctl_opts co = {.on_shutdown = control_shutdown};
    if (control && ctl_server_start(ses, control, &co, &srv, err, sizeof(err))) {
        fprintf(stderr, "tcmu-harness serve: %s\n", err);
        free(lines);
        sc_session_close(ses, err, sizeof(err));
        return 1;
    }
    if (lines) {
        fputs(lines, stdout);
        fflush(stdout);
        free(lines);
    }
    int sig;
    sigwait(set, &sig);
    ctl_server_stop(srv);
    if (sc_session_close(ses, err, sizeof(err))) {
        fprintf(stderr, "tcmu-harness serve: %s\n", err);
        return 1;
    }
    return 0;
}

/* --device SPEC adds a device to the model serve brings up. */
static int add_spec(scenario *sc, const char *spec)
{
    sc_device *d = sc_devices_add(sc);
    if (!d) {
        fprintf(stderr, "tcmu-harness serve: --device '%s': out of memory\n", spec);
        return 1;
    }
    char err[320];
    int rc = sc_spec_parse(spec, d, err, sizeof(err));
    /* Caught here, by YAML's check (the model's name index), not by the session after the
     * first one is up. */
    if (!rc && sc_devices_find(sc, d->name, sc->n_devices - 1) >= 0)
        rc = -EINVAL, snprintf(err, sizeof(err), "device name '%s' is used twice", d->name);
    if (rc) {
        fprintf(stderr, "tcmu-harness serve: --device '%s': %s\n", spec, err);
        return CLI_USAGE;
    }
    return 0;
}

/* --trace-keep: a whole number within the bounds, said otherwise. */
static int parse_keep(const char *s, size_t *keep)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-' || v < 1 || v > 16777216) {
        fprintf(stderr,
                "tcmu-harness serve: --trace-keep '%s': a whole number of entries from 1 to "
                "16777216 was expected\n",
                s);
        return CLI_USAGE;
    }
    *keep = (size_t)v;
    return 0;
}

/* --control PATH: a Unix socket path has a length limit, which is known now, not after the
 * lock file was taken. */
static int check_control(const char *path)
{
    struct sockaddr_un a;
    if (*path && strlen(path) < sizeof(a.sun_path)) return 0;
    fprintf(stderr, "tcmu-harness serve: --control '%s': %s\n", path,
            *path ? "longer than a Unix socket path may be (107 bytes)" : "an empty path");
    return CLI_USAGE;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option longs[] = {{"device", 1, 0, 'd'}, {"log-level", 1, 0, 'l'},
                                          {"trace", 1, 0, 't'},  {"control", 1, 0, 'c'},
                                          {"help", 0, 0, 'h'},   {"trace-keep", 1, 0, 'k'},
                                          {0, 0, 0, 0}};
    sc_session_opts o = {.kernel = true, .log_stderr = true, .log_level = TH_LOG_ERROR};
    const char *control = NULL; /* --control PATH: the control channel's socket */
    scenario *sc = calloc(1, sizeof(*sc));
    int c, rc = 0;
    const char *given[128] = {0}; /* by option letter: each but --device takes one value */
    if (!sc) return 1;
    snprintf(sc->name, sizeof(sc->name), "serve");
    optind = 1;
    while (!rc && (c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        if (c == 'h') {
            fputs(serve_usage, stdout);
            sc_free(sc);
            free(sc);
            return 0;
        }
        if (c > 0 && c < 128 && c != 'd' && c != 'h' && optarg) {
            const char *name = "?";
            for (const struct option *l = longs; l->name; l++)
                if (l->val == c) name = l->name;
            char opt[32];
            snprintf(opt, sizeof(opt), "--%s", name);
            if ((rc = cli_once("serve", opt, given[c]))) break;
            given[c] = optarg;
        }
        if (c == 'l' && th_log_level_from_name(optarg) >= 0)
            o.log_level = (th_log_level)th_log_level_from_name(optarg);
        else if (c == 'l')
            rc = CLI_USAGE, fprintf(stderr,
                                    "tcmu-harness serve: --log-level '%s': error, warn, info or "
                                    "debug was expected\n",
                                    optarg);
        else if (c == 't')
            rc = cli_check_path("serve", "--trace", optarg, CLI_PATH_OUT), o.trace_path = optarg;
        else if (c == 'c')
            rc = check_control(optarg), control = optarg;
        else if (c == 'k')
            rc = parse_keep(optarg, &o.keep);
        else if (c == 'd')
            rc = add_spec(sc, optarg);
        else
            rc = CLI_USAGE, fputs(serve_usage, stderr);
    }
    int specs = sc->n_devices;
    bool from_scenario = !rc && !specs && optind == argc - 1;
    /* With the control channel, no device at all is a valid start: clients add them. */
    bool empty = !specs && optind == argc && control;
    if (!rc && specs && optind < argc)
        rc = CLI_USAGE, fprintf(stderr,
                                "tcmu-harness serve: a SCENARIO ('%s') and --device exclude each "
                                "other\n",
                                argv[optind]);
    else if (!rc && optind < argc - 1)
        rc = CLI_USAGE,
        fprintf(stderr, "tcmu-harness serve: one SCENARIO at a time (%d given)\n", argc - optind);
    else if (!rc && !specs && !from_scenario && !empty)
        rc = CLI_USAGE, fputs(serve_usage, stderr);
    if (!rc && from_scenario && cli_load_scenario(argv[optind], sc)) rc = CLI_USAGE;
    int lock = -1;
    if (!rc && control) {
        char err[PATH_MAX + 200];
        if (ctl_lock_take(control, &lock, err, sizeof(err))) {
            fprintf(stderr, "tcmu-harness serve: %s\n", err);
            rc = 1;
        }
    }
    if (!rc) {
        /* Signals are taken by sigwait, never by the serving threads. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        rc = serve_scenario(sc, &o, control, &set);
    }
    ctl_lock_release(control, lock); /* after the teardown: the path is ours until then */
    sc_free(sc);
    free(sc);
    return rc;
}
