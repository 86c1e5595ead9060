/* validate and exec: a scenario checked, commands run through a handler without a kernel. */
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

/* The most data one command takes or gives here (the data-out buffer below). */
#define EXEC_DATA_MAX 1048576
/* What --alloc may ask for: a data-in buffer of that size is allocated for the command. */
#define EXEC_ALLOC_MAX (16 << 20)
#define TH_STR_(x)     #x
#define TH_STR(x)      TH_STR_(x)

/* "28 00 0000..." -> bytes; -1 on a bad digit, -2 past cap. */
static long parse_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ' || *s == ':') {
            s++;
            continue;
        }
        int a = hexval(s[0]), b = s[1] ? hexval(s[1]) : -1;
        if (a < 0 || b < 0) return -1;
        if (n >= cap) return -2;
        out[n++] = (uint8_t)(a << 4 | b);
        s += 2;
    }
    return (long)n;
}

/* --data-out @FILE: the whole file, which must fit (a longer one was cut silently, a
 * directory read as no data at all). Length, or -1 with the reason in why. */
static long read_data_out(const char *path, uint8_t *buf, size_t cap, char *why, size_t wcap)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st)) {
        snprintf(why, wcap, "%s", strerror(errno));
        if (f) fclose(f);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(f);
        snprintf(why, wcap, "is a directory (a file was expected)");
        return -1;
    }
    size_t n = fread(buf, 1, cap, f);
    bool more = n == cap && fgetc(f) != EOF, err = ferror(f);
    fclose(f);
    if (err) snprintf(why, wcap, "cannot read it");
    if (more) snprintf(why, wcap, "more than %zu bytes (a command's data here)", cap);
    return err || more ? -1 : (long)n;
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
        long long v = 0;
        if (c == 'd' && cli_once("exec", "--device", device))
            return CLI_USAGE;
        else if (c == 'd')
            device = optarg;
        else if (c == 'c')
            cdbs[n] = optarg, allocs[n] = -1, outs[n] = NULL, n++;
        else if ((c == 'o' || c == 'a') && !n) {
            /* Each belongs to the --cdb before it: one before any would be lost. */
            fprintf(stderr,
                    "tcmu-harness exec: %s '%s' before any --cdb (it belongs to the --cdb "
                    "it follows)\n",
                    c == 'o' ? "--data-out" : "--alloc", optarg);
            return CLI_USAGE;
        } else if (c == 'o' && cli_once("exec", "--data-out of one --cdb", outs[n - 1]))
            return CLI_USAGE;
        else if (c == 'o')
            outs[n - 1] = optarg;
        else if (c == 'a' && allocs[n - 1] >= 0)
            return cli_once("exec", "--alloc of one --cdb", "");
        else if (c == 'a' && cli_parse_uint("exec", "--alloc", optarg, 0, EXEC_ALLOC_MAX, &v))
            return CLI_USAGE;
        else if (c == 'a')
            allocs[n - 1] = (long)v;
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
        fprintf(stderr,
                "tcmu-harness exec: needs one SCENARIO (%d given), --device and at least "
                "one --cdb\n",
                argc - optind);
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
    static uint8_t out[EXEC_DATA_MAX];
    for (int i = 0; i < n && !rc; i++) {
        uint8_t cdb[TH_CDB_MAX];
        long cl = parse_hex(cdbs[i], cdb, sizeof(cdb)), ol = 0;
        if (cl <= 0) {
            fprintf(stderr, "tcmu-harness exec: --cdb '%s': %s\n", cdbs[i],
                    cl == -2 ? "longer than " TH_STR(TH_CDB_MAX) " bytes (the largest CDB)"
                             : "not hex bytes (like 28 00 00 00 00 00 00 00 08 00)");
            rc = CLI_USAGE;
            break;
        }
        if (outs[i] && outs[i][0] == '@') {
            char why[PATH_MAX + 100];
            ol = read_data_out(outs[i] + 1, out, sizeof(out), why, sizeof(why));
            if (ol < 0) {
                fprintf(stderr, "tcmu-harness exec: --data-out '%s': %s\n", outs[i], why);
                rc = CLI_USAGE;
                break;
            }
        } else if (outs[i]) {
            ol = parse_hex(outs[i], out, sizeof(out));
        }
        if (ol < 0) {
            fprintf(stderr, "tcmu-harness exec: --data-out '%.80s': %s\n", outs[i],
                    ol == -2 ? "more than " TH_STR(EXEC_DATA_MAX) " bytes"
                             : "not hex bytes or @FILE");
            rc = CLI_USAGE;
            break;
        }
        size_t alloc = allocs[i] >= 0 ? (size_t)allocs[i] : (ol ? 0 : 4096);
        if (allocs[i] < 0 && !tape &&
            (cdb[0] == 0x08 || cdb[0] == 0x28 || cdb[0] == 0x88 || cdb[0] == 0xa8)) {
            th_cmd *probe = th_fake_cmd_new(cdb, (size_t)cl, NULL, 0, 0);
            alloc = (size_t)th_cmd_xfer_len(probe) * dc->block_size;
            th_fake_cmd_free(probe);
            /* A READ of 2^32 blocks would ask malloc for terabytes: say so, not "cannot
             * build the command". */
            if (alloc > EXEC_ALLOC_MAX) {
                fprintf(stderr,
                        "tcmu-harness exec: --cdb '%s' reads %zu bytes, more than exec gives a "
                        "command (%d); --alloc N sets a smaller buffer\n",
                        cdbs[i], alloc, EXEC_ALLOC_MAX);
                rc = CLI_USAGE;
                break;
            }
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
