/* Review of the kernel-log verdicts: records cut at the buffer's end, reports longer than the
 * report window, and the real kernel formats the splat table must (and must not) match. */
#include <stdlib.h>
#include "helpers.h"
#include "scenario/kmsg.h"

/* A buffer exactly len long, no NUL after it (as read_log's is): ASan sees any over-read. */
static char *exact(const char *text, size_t *len)
{
    *len = strlen(text);
    char *b = malloc(*len);
    cr_assert_not_null(b);
    memcpy(b, text, *len);
    return b;
}

Test(review_kmsg, an_unparsable_record_is_quoted_alone_and_not_read_past_its_end)
{
    size_t len;
    char *b = exact("junk\n6,1,1,-;next record\nalso junk", &len);
    sc_kmsg_log log = {0};
    uint64_t next = UINT64_MAX;
    cr_assert_eq(sc_kmsg_parse(b, len, 1, &next, &log), 0);
    cr_assert_eq(log.n, 3);
    cr_assert(log.lines[0].note);
    cr_assert_str_eq(log.lines[0].text, "tcmu-harness: a kernel log record it cannot parse: junk",
                     "the note quotes its record only: %s", log.lines[0].text);
    cr_assert_str_eq(log.lines[1].text, "next record");
    cr_assert_str_eq(log.lines[2].text,
                     "tcmu-harness: a kernel log record it cannot parse: also junk");
    sc_kmsg_log_free(&log);
    free(b);
}

/* A lockdep report as the kernel prints it: a dependency chain of `links` locks with
 * `frames` frames each (no "Call Trace:" in the chain), the scenario, then the backtrace. */
static void lockdep_report(sc_kmsg_log *log, uint64_t *seq, int links, int frames)
{
    char buf[256];
    uint64_t next = UINT64_MAX;
#define REC(...)                                                                                   \
    do {                                                                                           \
        int n_ = snprintf(buf, sizeof(buf), "4,%llu,1,-;", (unsigned long long)(*seq)++);          \
        n_ += snprintf(buf + n_, sizeof(buf) - (size_t)n_, __VA_ARGS__);                           \
        cr_assert_eq(sc_kmsg_parse(buf, (size_t)n_, 0, &next, log), 0);                            \
    } while (0)
    next = *seq;
    REC("======================================================");
    REC("WARNING: possible circular locking dependency detected");
    REC("6.8.0 #1 Not tainted");
    REC("------------------------------------------------------");
    REC("kworker/u8:2/123 is trying to acquire lock:");
    REC("ffff888100a0c0b8 (&q->sysfs_lock){+.+.}-{3:3}, at: blk_mq_elv_switch+0x1c/0x80");
    REC("but task is already holding lock:");
    REC("ffff888100b1d0a8 (&disk->open_mutex){+.+.}-{3:3}, at: bdev_open+0x5a/0x3c0");
    REC("which lock already depends on the new lock.");
    REC("the existing dependency chain (in reverse order) is:");
    for (int l = links - 1; l >= 0; l--) {
        REC("-> #%d (&lock%d){+.+.}-{3:3}:", l, l);
        for (int f = 0; f < frames; f++) REC("       func%d_%d+0x1a/0x40", l, f);
    }
    REC("other info that might help us debug this:");
    REC(" *** DEADLOCK ***");
    REC("stack backtrace:");
    REC("CPU: 1 PID: 123 Comm: kworker/u8:2 Not tainted 6.8.0 #1");
    REC("Hardware name: QEMU Standard PC (i440FX + PIIX, 1996)");
    REC("Call Trace:");
    REC(" <TASK>");
    REC(" dump_stack_lvl+0x5b/0x80");
    REC(" </TASK>");
#undef REC
}

Test(review_kmsg, an_allowed_lockdep_report_with_a_long_chain_is_one_finding_or_none)
{
    sc_kmsg_log log = {0};
    uint64_t seq = 1;
    lockdep_report(&log, &seq, 5, 22); /* ~130 lines before its Call Trace */
    cr_assert_gt(log.n, 120);
    sc_kmsg_list allow = {0};
    char err[300];
    cr_assert_eq(sc_kmsg_list_add(&allow, "possible circular locking", 0, err, sizeof(err)), 0);
    sc_kmsg_failures f;
    int n = sc_kmsg_verdict(&log, allow.re, allow.n, NULL, 0, NULL, 0, &f);
    cr_assert_eq(n, 0, "the allowed report's own backtrace is not a finding: %s",
                 n > 0 ? f.msg[0] : "");
    sc_kmsg_failures_free(&f);
    n = sc_kmsg_verdict(&log, NULL, 0, NULL, 0, NULL, 0, &f);
    cr_assert_eq(n, 1, "not allowed: one finding, the report (%d)", n);
    cr_assert(strstr(f.msg[0], "a lockdep report"), "%s", f.msg[0]);
    sc_kmsg_failures_free(&f);
    sc_kmsg_list_free(&allow);
    sc_kmsg_log_free(&log);
}

Test(review_kmsg, a_lone_stack_trace_long_after_an_allowed_report_is_still_a_finding)
{
    sc_kmsg_log log = {0};
    uint64_t seq = 1, next = UINT64_MAX;
    char buf[128];
    /* A WARNING with its trace and end marker, many ordinary lines, then a bare dump_stack. */
    const char *head[] = {"WARNING: CPU: 0 PID: 1 at drivers/scsi/x.c:1 f+0x1/0x2",
                          "Call Trace:", " f+0x1/0x2", "---[ end trace 0000000000000000 ]---"};
    for (size_t i = 0; i < 4; i++) {
        int n = snprintf(buf, sizeof(buf), "4,%llu,1,-;%s", (unsigned long long)seq++, head[i]);
        cr_assert_eq(sc_kmsg_parse(buf, (size_t)n, 0, &next, &log), 0);
    }
    for (int i = 0; i < 5; i++) {
        int n = snprintf(buf, sizeof(buf), "6,%llu,1,-;sd 0:0:0:0: [sda] line %d",
                         (unsigned long long)seq++, i);
        cr_assert_eq(sc_kmsg_parse(buf, (size_t)n, 0, &next, &log), 0);
    }
    int n = snprintf(buf, sizeof(buf), "4,%llu,1,-;Call Trace:", (unsigned long long)seq++);
    cr_assert_eq(sc_kmsg_parse(buf, (size_t)n, 0, &next, &log), 0);
    sc_kmsg_list allow = {0};
    char err[300];
    cr_assert_eq(sc_kmsg_list_add(&allow, "at drivers/scsi/", 0, err, sizeof(err)), 0);
    sc_kmsg_failures f;
    cr_assert_eq(sc_kmsg_verdict(&log, allow.re, allow.n, NULL, 0, NULL, 0, &f), 1);
    cr_assert(strstr(f.msg[0], "a stack trace"), "%s", f.msg[0]);
    sc_kmsg_failures_free(&f);
    sc_kmsg_list_free(&allow);
    sc_kmsg_log_free(&log);
}

Test(review_kmsg, the_real_kernel_formats_are_splats)
{
    const char *lines[] = {
        "WARNING: CPU: 0 PID: 1 at drivers/scsi/sd.c:123 sd_probe+0x12/0x30",
        "BUG: KASAN: slab-use-after-free in scsi_queue_rq+0x1c/0x80",
        "UBSAN: array-index-out-of-bounds in drivers/scsi/sd.c:1:2",
        "BUG: KFENCE: use-after-free read in sd_done+0x10/0x20",
        "WARNING: possible circular locking dependency detected",
        "INFO: task kworker/u8:1:123 blocked for more than 122 seconds.",
        /* one line split in two: the parentheses tell clang the concatenation is meant */
        ("general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 "
         "[#1] PREEMPT SMP KASAN NOPTI"),
        "Oops: 0000 [#1] SMP",
        "Oops: general protection fault, probably for non-canonical address 0x1: 0000 [#1] SMP",
        "BUG: kernel NULL pointer dereference, address: 0000000000000008",
        "watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [kworker/1:1:45]",
        "kernel BUG at drivers/scsi/scsi_lib.c:1234!",
        "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
        "rcu: INFO: rcu_sched self-detected stall on CPU",
        "rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-... } 21002 jiffies",
        "watchdog: Watchdog detected hard LOCKUP on cpu 1",
        "NMI watchdog: CPU1: Watchdog detected hard LOCKUP on cpu 1",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        cr_assert_geq(sc_kmsg_splat_match(lines[i]), 0, "not a splat: %s", lines[i]);
}

Test(review_kmsg, ordinary_sd_st_and_user_space_lines_are_not_splats)
{
    const char *lines[] = {
        "sd 2:0:0:0: [sdb] tag#0 FAILED Result: hostbyte=DID_OK driverbyte=DRIVER_OK "
        "cmd_age=0s",
        "sd 2:0:0:0: [sdb] tag#0 Sense Key : Medium Error [current]",
        "sd 2:0:0:0: [sdb] tag#0 Add. Sense: Unrecovered read error",
        "critical medium error, dev sdb, sector 2048 op 0x0:(READ) flags 0x0 phys_seg 1 prio "
        "class 2",
        "Buffer I/O error on dev sdb, logical block 256, async page read",
        "sd 2:0:0:0: [sdb] Synchronizing SCSI cache",
        "st 3:0:0:0: [st0] Sense Key : Blank Check [current]",
        "st0: Block limits 1 - 16777215 bytes.",
        "scsi 2:0:0:0: Direct-Access     LIO-ORG  TCMU device      0002 PQ: 0 ANSI: 5",
        "sd 2:0:0:0: [sdb] Write cache: enabled, read cache: enabled, doesn't support DPO or FUA",
        "sd 2:0:0:0: timing out command, waited 180s",
        "scsi_io_completion_action: 2 callbacks suppressed",
        /* a user-space program's crash, not the kernel's (traps.c show_signal) */
        "traps: sg_raw[1234] general protection fault ip:7f1c2a3b4c5d sp:7ffd1e2f3a4b error:0 "
        "in libc.so.6[7f1c2a300000+16b000]",
        "sg_raw[1234]: segfault at 0 ip 000055d0c0de0000 sp 00007ffd00000000 error 4",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        cr_assert_eq(sc_kmsg_splat_match(lines[i]), -1, "a splat: %s (pattern %d)", lines[i],
                     sc_kmsg_splat_match(lines[i]));
}

Test(review_kmsg, an_empty_regex_is_refused_not_an_allow_of_everything)
{
    sc_kmsg_list l = {0};
    char err[300] = "";
    cr_assert_eq(sc_kmsg_list_add(&l, "", 4, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "empty regex"), "%s", err);
    cr_assert_eq(l.n, 0);
    cr_assert_eq(sc_kmsg_list_add(&l, ".*", 4, err, sizeof(err)), 0, "spelled out, it is taken");
    sc_kmsg_list_free(&l);
}
