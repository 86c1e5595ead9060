#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "th/version.h"

static const char usage[] =
    "usage: tcmu-harness COMMAND [ARGS]\n"
    "\n"
    "Throwaway virtual SCSI devices (TCMU) with scripted misbehaviour.\n"
    "\n"
    "commands:\n"
    "  run [--junit FILE] [--trace DIR] [--summary] [--shard K/N] SCENARIO...\n"
    "                              run scenarios on the real kernel (natively or in the VM)\n"
    "  validate SCENARIO...        check scenario files (FILE:LINE:COL errors, exit 2)\n"
    "  exec SCENARIO --device NAME --cdb HEX [--data-out HEX|@FILE] [--alloc N]\n"
    "                              synthetic commands through a device's emulation and rules,\n"
    "                              built as run builds it, no kernel\n"
    "  serve --device SPEC...      create devices, print one JSON line per device, serve until\n"
    "                              SIGINT/SIGTERM, then remove everything\n"
    "      [--control PATH]        ... driven live over a Unix socket (JSON lines)\n"
    "  ctl PATH REQUEST|-          send one request to a serve --control socket, print the\n"
    "                              response; exit 0 ok, 1 not ok, 2 no connection\n"
    "  vm [OPTIONS] -- CMD [ARGS]  run CMD as root in a throwaway QEMU guest with the real\n"
    "                              target_core_user/tcm_loop; exits with CMD's status\n"
    "  with-kernel -- CMD [ARGS]   run CMD natively if this kernel has TCMU, else in the VM\n"
    "  kernel fetch|path [V] | list\n"
    "                              fetch a Debian kernel (default or V) into the cache /\n"
    "                              print it / list the cached ones\n"
    "  cleanup                     remove configfs objects a crashed harness left behind\n"
    "  report TRACE.jsonl...       the initiator's reaction to each fault in a trace\n"
    "\n"
    "options:\n"
    "  --version                   print \"tcmu-harness VERSION\" and exit\n"
    "  --help, -h                  print this help and exit\n"
    "\n"
    "Run 'tcmu-harness COMMAND --help' for a command's options.\n";

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tcmu-harness %s\n", th_version());
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"serve", cmd_serve},   {"vm", cmd_vm},           {"with-kernel", cmd_with_kernel},
                {"kernel", cmd_kernel}, {"cleanup", cmd_cleanup}, {"validate", cmd_validate},
                {"exec", cmd_exec},     {"run", cmd_run},         {"ctl", cmd_ctl},
                {"report", cmd_report}};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "tcmu-harness: unknown command '%s'\n\n%s", argv[1], usage);
    return CLI_USAGE;
}
