/* serve: devices from --device specs, served until SIGINT/SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../scenario/scenario.h"
#include "../scenario/session.h"
#include "../scenario/spec.h"
#include "cli.h"
#include "th/th.h"

static const char serve_usage[] =
    "usage: tcmu-harness serve [--trace FILE] SCENARIO\n"
    "       tcmu-harness serve [--log-level LEVEL] --device SPEC [--device SPEC...]\n"
    "  With SCENARIO: its devices and rules (steps are not run); the trace goes to FILE.\n"
    "  SPEC: comma-separated key=value:\n"
    "    name=NAME        required; letters, digits, '_', '-', '.'\n"
    "    type=disk|tape   a disk (SBC) or a tape drive (SSC)\n"
    "    capacity=, early_warning=, partition1=SIZE, write_protect=1, loaded=0,\n"
    "    image=FILE       (tapes; partition1 adds a second partition of that size)\n"
    "    size=64MiB       capacity (K/M/G/T, KiB/MiB/...)\n"
    "    block_size=512   logical block size\n"
    "    backing=memory   memory, or file:PATH (created if missing)\n"
    "    workers=N        handler threads (default: 1, commands in ring order)\n"
    "    lun=N            LUN on the loopback target\n"
    "    spin=N           polls for more work before sleeping (default 5000, 0: never)\n"
    "    target=naa.X     share a loopback target between devices (16 hex digits)\n"
    "    external=1       no loopback export (link the backstore to another fabric)\n"
    "    export=iscsi     export over LIO iSCSI instead (iqn=, portal=IP:PORT; default\n"
    "                     127.0.0.1:3260); the JSON line gets an \"iscsi\" URL\n"
    "    initiator=IQN    with export=iscsi: only these initiators get in (repeatable,\n"
    "                     up to 16; none: any initiator)\n"
    "    chap_user=, chap_password=  with export=iscsi: require CHAP\n"
    "    vendor=, product=, serial=  INQUIRY identity (serial: default the WWN's hex)\n"
    "    wwn=naa.X        pin the NAA identifier (16 hex digits); default: derived from\n"
    "                     the name and this harness instance, unique per serve process\n"
    "  LEVEL: error (default), warn, info, debug; logs go to stderr.\n"
    "Prints one JSON object per device on stdout when all are ready.\n";

static void json_str(const char *key, const char *v, bool *first)
{
    printf("%s\"%s\":", *first ? "" : ",", key);
    *first = false;
    if (!v) {
        printf("null");
        return;
    }
    putchar('"');
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            printf("\\%c", *v);
        else if ((unsigned char)*v < 0x20)
            printf("\\u%04x", *v);
        else
            putchar(*v);
    }
    putchar('"');
}

/* Brings the scenario's devices up on a session, serves until a signal, tears down. */
static int serve_scenario(const scenario *sc, const char *trace, const sigset_t *set)
{
    sc_session_opts o = {.trace_path = trace, .kernel = true};
    sc_session *ses;
    sc_result res;
    if (sc_serve_open(sc, &o, stdout, &ses, &res)) {
        fprintf(stderr, "tcmu-harness serve: %s\n", res.message);
        return 1;
    }
    /* CONTROL: the control channel starts here, on ses (and stops before the close). */
    int sig;
    sigwait(set, &sig);
    char err[600];
    if (sc_session_close(ses, err, sizeof(err))) {
        fprintf(stderr, "tcmu-harness serve: %s\n", err);
        return 1;
    }
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    static const struct option longs[] = {{"device", 1, 0, 'd'},
                                          {"log-level", 1, 0, 'l'},
                                          {"trace", 1, 0, 't'},
                                          {"help", 0, 0, 'h'},
                                          {0, 0, 0, 0}};
    const char *trace = NULL;
    const char *control = NULL; /* --control PATH: the control channel's socket */
    static sc_spec specs[16];   /* large; one serve per process */
    int n = 0, c;
    th_log_level level = TH_LOG_ERROR;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        if (c == 'h') {
            fputs(serve_usage, stdout);
            return 0;
        }
        if (c == 'l' && th_log_level_from_name(optarg) >= 0) {
            level = (th_log_level)th_log_level_from_name(optarg);
            continue;
        }
        if (c == 't') {
            trace = optarg;
            continue;
        }
        if (c == 'd' && n < 16) {
            if (!sc_spec_parse(optarg, &specs[n])) {
                n++;
                continue;
            }
            fprintf(stderr, "tcmu-harness serve: %s\n", specs[n].err);
        }
        fputs(serve_usage, stderr);
        return CLI_USAGE;
    }
    bool from_scenario = !n && optind == argc - 1;
    /* With the control channel, no device at all is a valid start: clients add them. */
    bool empty = !n && optind == argc && control;
    if ((!n && !from_scenario && !empty) || (n && optind < argc)) {
        fputs(serve_usage, stderr);
        return CLI_USAGE;
    }
    /* Signals are taken by sigwait below, never by the serving threads. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (from_scenario || empty) {
        scenario *sc = calloc(1, sizeof(*sc));
        if (!sc || (from_scenario && cli_load_scenario(argv[optind], sc))) {
            free(sc);
            return CLI_USAGE;
        }
        int rc = serve_scenario(sc, trace, &set);
        sc_free(sc);
        free(sc);
        return rc;
    }
    th_ctx *ctx;
    if (th_ctx_new(&ctx)) {
        fprintf(stderr, "tcmu-harness serve: TCMU_HARNESS_INSTANCE must be 1 to 8 hex digits\n");
        return CLI_USAGE;
    }
    th_ctx_set_logger(ctx, th_log_stderr, NULL, level);
    for (int i = 0; i < n; i++) sc_spec_bind(&specs[i], ctx);
    th_device *devs[16] = {0};
    th_disk *disks[16] = {0};
    int rc = 0;
    th_tape *tapes[16] = {0};
    th_iscsi *exports[16] = {0};
    char why[256];
    for (int i = 0; i < n && !rc; i++) {
        sc_spec *s = &specs[i];
        if (s->cfg.type == TH_TYPE_TAPE) {
            s->cfg.size = s->tape.capacity - s->tape.capacity % s->cfg.block_size;
            if ((rc = th_tape_new(&s->tape, &tapes[i], why, sizeof(why)))) {
                fprintf(stderr, "tcmu-harness serve: %s: %s\n", s->name, why);
                break;
            }
            if (s->image[0] && (rc = th_tape_load_image(tapes[i], s->image, why, sizeof(why)))) {
                fprintf(stderr, "tcmu-harness serve: %s: image: %s\n", s->name, why);
                break;
            }
            s->cfg.handler = th_tape_handle;
            s->cfg.handler_arg = tapes[i];
            if ((rc = th_device_open(ctx, &s->cfg, &devs[i])))
                fprintf(stderr, "tcmu-harness serve: %s: %s\n", s->name, th_ctx_errmsg(ctx));
            continue;
        }
        th_backend *be = NULL;
        if (!strcmp(s->backing, "memory"))
            rc = th_backend_memory_new(s->cfg.size, &be, why, sizeof(why));
        else if (!strncmp(s->backing, "file:", 5))
            rc = th_backend_file_open(s->backing + 5, s->cfg.size, true, &be, why, sizeof(why));
        else
            rc = -EINVAL, snprintf(why, sizeof(why), "neither memory nor file:PATH");
        if (rc) {
            fprintf(stderr, "tcmu-harness serve: %s: backing '%s': %s\n", s->name, s->backing, why);
            break;
        }
        if ((rc = th_disk_new(&s->disk, be, &disks[i], why, sizeof(why)))) {
            th_backend_free(be);
            fprintf(stderr, "tcmu-harness serve: %s: %s\n", s->name, why);
            break;
        }
        s->cfg.handler = th_disk_handle;
        s->cfg.handler_arg = disks[i];
        if ((rc = th_device_open(ctx, &s->cfg, &devs[i])))
            fprintf(stderr, "tcmu-harness serve: %s: %s\n", s->name, th_ctx_errmsg(ctx));
    }
    for (int i = 0; i < n && !rc; i++) {
        if (!specs[i].iscsi) continue;
        th_iscsi_opts io;
        th_iscsi_opts_init(&io);
        io.iqn = specs[i].iqn[0] ? specs[i].iqn : NULL;
        io.portal = specs[i].portal[0] ? specs[i].portal : NULL;
        io.lun = specs[i].cfg.lun;
        io.chap_user = specs[i].chap_user[0] ? specs[i].chap_user : NULL;
        io.chap_password = specs[i].chap_password[0] ? specs[i].chap_password : NULL;
        const char *inis[SC_MAX_INITIATORS];
        for (int j = 0; j < specs[i].n_initiators; j++) inis[j] = specs[i].initiators[j];
        io.initiators = inis;
        io.n_initiators = (size_t)specs[i].n_initiators;
        if ((rc = th_iscsi_export(ctx, devs[i], &io, &exports[i])))
            fprintf(stderr, "tcmu-harness serve: %s: %s\n", specs[i].name, th_ctx_errmsg(ctx));
    }
    if (!rc) {
        for (int i = 0; i < n; i++) {
            bool first = true;
            char wwn[24], size[24];
            snprintf(wwn, sizeof(wwn), "naa.%016llx", (unsigned long long)specs[i].cfg.wwn);
            snprintf(size, sizeof(size), "%llu", (unsigned long long)specs[i].cfg.size);
            putchar('{');
            json_str("name", specs[i].name, &first);
            json_str("type", specs[i].cfg.type == TH_TYPE_TAPE ? "tape" : "disk", &first);
            json_str("st", th_device_node(devs[i], TH_NODE_ST), &first);
            json_str("nst", th_device_node(devs[i], TH_NODE_NST), &first);
            json_str("sd", th_device_node(devs[i], TH_NODE_SD), &first);
            json_str("sg", th_device_node(devs[i], TH_NODE_SG), &first);
            json_str("address", th_device_scsi_address(devs[i]), &first);
            json_str("backstore", th_device_backstore_path(devs[i]), &first);
            json_str("iscsi", exports[i] ? th_iscsi_url(exports[i]) : NULL, &first);
            json_str("wwn", wwn, &first);
            printf(",\"size\":%s,\"block_size\":%u}\n", size, specs[i].cfg.block_size);
        }
        fflush(stdout);
        int sig;
        sigwait(&set, &sig);
    }
    int close_rc = 0;
    for (int i = n - 1; i >= 0; i--) {
        if (exports[i] && th_iscsi_close(exports[i])) {
            fprintf(stderr, "tcmu-harness serve: unexporting %s: %s\n", specs[i].name,
                    th_ctx_errmsg(ctx));
            close_rc = 1;
        }
        if (devs[i] && th_device_close(devs[i])) {
            fprintf(stderr, "tcmu-harness serve: closing %s: %s\n", specs[i].name,
                    th_ctx_errmsg(ctx));
            close_rc = 1;
        }
        th_disk_free(disks[i]);
        th_tape_free(tapes[i]);
    }
    th_ctx_free(ctx);
    return rc ? 1 : close_rc;
}
