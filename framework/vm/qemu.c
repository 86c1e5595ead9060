/* One throwaway guest per call: build the initramfs, boot QEMU, forward the
 * command's stdout/stderr, carry its exit status back, remove every trace. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "init_script.h"
#include "vm_internal.h"

/* How long a KVM guest may take to reach /init: probing (then TCG), or forced (then fail). */
#define TH_VM_KVM_PROBE_S  6
#define TH_VM_KVM_FORCED_S 60

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A dynamically linked busybox cannot run from the initramfs. */
static bool is_static_elf(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    Elf64_Ehdr eh;
    bool ok = fread(&eh, sizeof(eh), 1, f) == 1 && !memcmp(eh.e_ident, ELFMAG, SELFMAG);
    for (int i = 0; ok && i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (fseek(f, (long)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize), SEEK_SET) ||
            fread(&ph, sizeof(ph), 1, f) != 1 || ph.p_type == PT_INTERP)
            ok = false;
    }
    fclose(f);
    return ok;
}

static int build_initrd(th_vm_ctx *vc, const char *work, const th_kernel *k, const char *share)
{
    /* Everything the harness needs, inserted from the initramfs: loading them with
     * modprobe over 9p costs seconds under TCG. */
    static const char *const boot_mods[] = {
        "virtio_pci",       "9pnet_virtio",   "9p",        "overlay", "configfs",
        "target_core_user", "tcm_loop",       "sd_mod",    "sg",      "st",
        "iscsi_target_mod", "crc32c_generic", "virtio_net"};
    char mods[64][256], p[PATH_MAX], init[PATH_MAX];
    int n = k->modules[0] ? th_modules_resolve(vc, k->modules, boot_mods,
                                               sizeof(boot_mods) / sizeof(boot_mods[0]), mods, 64)
                          : 0;
    if (n < 0) return n;
    const char *bb = "/bin/busybox";
    if (!is_static_elf(bb))
        return th_vm_fail(vc, -ENOEXEC,
                          "%s is missing or not static: apt-get install busybox-static", bb);
    snprintf(init, sizeof(init), "%s/init.sh", work);
    int rc = th_write_init(init, k->version, share);
    if (rc) return th_vm_fail(vc, rc, "%s: %s", init, strerror(-rc));
    snprintf(p, sizeof(p), "%s/initrd.cpio", work);
    th_cpio *c;
    rc = th_cpio_open(&c, p);
    if (rc) return th_vm_fail(vc, rc, "%s: %s", p, strerror(-rc));
    if (!rc) rc = th_cpio_dir(c, "bin");
    if (!rc) rc = th_cpio_dir(c, "modules");
    if (!rc) rc = th_cpio_copy(c, "bin/busybox", bb, 0755);
    if (!rc) rc = th_cpio_copy(c, "init", init, 0755);
    if (rc) th_vm_fail(vc, rc, "writing %s: %s", p, strerror(-rc));
    char order[4096] = "";
    for (int i = 0; i < n && !rc; i++) {
        const char *base = strrchr(mods[i], '/');
        base = base ? base + 1 : mods[i];
        char src[1400], dst[300];
        snprintf(src, sizeof(src), "%s/%s", k->modules, mods[i]);
        snprintf(dst, sizeof(dst), "modules/%s", base);
        rc = th_cpio_copy(c, dst, src, 0644);
        if (rc) th_vm_fail(vc, rc, "cannot read %s (compressed modules are not supported)", src);
        strncat(order, base, sizeof(order) - strlen(order) - 2);
        strcat(order, "\n");
    }
    if (!rc) rc = th_cpio_file(c, "modules/order", order, strlen(order), 0644);
    if (!rc) rc = th_cpio_file(c, "modules/has-tree", "1", k->modules[0] ? 1 : 0, 0644);
    int closed = th_cpio_close(c);
    if (!rc && closed) rc = th_vm_fail(vc, closed, "writing %s: %s", p, strerror(-closed));
    return rc;
}

static void forward(int from, int to, bool *open_)
{
    char buf[65536];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0) {
        *open_ = false;
        return;
    }
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w <= 0) break;
        off += w;
    }
}

/* Keeps the console's last lines in vc for the caller to show; true if the guest
 * kernel panicked. */
static bool keep_console_tail(th_vm_ctx *vc, const char *log)
{
    vc->n_tail = 0;
    FILE *f = fopen(log, "r");
    if (!f) return false;
    char lines[TH_VM_TAIL][256];
    int n = 0;
    char line[256];
    bool panic = false;
    while (fgets(line, sizeof(line), f)) {
        panic |= strstr(line, "Kernel panic") != NULL;
        snprintf(lines[n % TH_VM_TAIL], sizeof(lines[0]), "%s", line);
        n++;
    }
    fclose(f);
    for (int i = n > TH_VM_TAIL ? n - TH_VM_TAIL : 0; i < n; i++)
        snprintf(vc->tail[vc->n_tail++], sizeof(vc->tail[0]), "%s", lines[i % TH_VM_TAIL]);
    return panic;
}

static volatile sig_atomic_t got_signal;
static void on_signal(int sig)
{
    got_signal = sig;
}

/* KVM when /dev/kvm opens (and --accel does not say otherwise), else TCG; why says why. */
static const char *choose_accel(const char *forced, char *why, size_t cap)
{
    if (forced) {
        snprintf(why, cap, "--accel %s", forced);
        return forced;
    }
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, cap, "cannot open /dev/kvm: %s", strerror(errno));
        return "tcg";
    }
    close(fd);
    snprintf(why, cap, "/dev/kvm opens; TCG if the guest does not reach /init in %d s",
             TH_VM_KVM_PROBE_S);
    return "kvm";
}

static bool console_has(const char *log, const char *what)
{
    FILE *f = fopen(log, "r");
    if (!f) return false;
    char line[512];
    bool yes = false;
    while (!yes && fgets(line, sizeof(line), f)) yes = strstr(line, what) != NULL;
    fclose(f);
    return yes;
}

/* The init's own "tcmu-harness init: ..." failure (a missing kernel option), if any. */
static void init_failure(const char *log, char *out, size_t cap)
{
    FILE *f = fopen(log, "r");
    out[0] = 0;
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "tcmu-harness init: ") && !strstr(line, TH_VM_INIT_MARKER)) {
            line[strcspn(line, "\r\n")] = 0;
            snprintf(out, cap, "; %s", strstr(line, "tcmu-harness init: "));
        }
    fclose(f);
}

typedef struct boot_files {
    char console[PATH_MAX + 64], rcfile[PATH_MAX + 64], ready[PATH_MAX + 64];
} boot_files;

/* One QEMU process. init_limit_s > 0: kill it when the console shows no init marker
 * by then (*no_init). Returns what th_vm_run returns. */
/* run_t0: when the first boot started; --timeout counts from it, so a KVM probe that
 * falls back to TCG spends the same budget rather than adding its own. */
static int boot_once(th_vm_ctx *vc, const th_vm_opts *o, char **argv, const boot_files *bf,
                     double init_limit_s, double run_t0, bool *no_init)
{
    *no_init = false;
    unlink(bf->rcfile);
    unlink(bf->ready);
    int out_p[2], err_p[2];
    if (pipe(out_p) || pipe(err_p)) return th_vm_fail(vc, -errno, "pipe: %s", strerror(errno));
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(out_p[1], 3);
        dup2(err_p[1], 4);
        for (int fd = 5; fd < 1024; fd++) close(fd);
        execvp(argv[0], argv);
        _exit(127); /* told apart from QEMU's own exit codes below */
    }
    close(out_p[1]);
    close(err_p[1]);
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    bool out_open = true, err_open = true, announced = false, exited = false, timed_out = false;
    bool in_init = init_limit_s <= 0, killed_stuck = false;
    int status = 0;
    while (out_open || err_open || !exited) {
        struct pollfd fds[2] = {{out_open ? out_p[0] : -1, POLLIN, 0},
                                {err_open ? err_p[0] : -1, POLLIN, 0}};
        poll(fds, 2, 100);
        if (fds[0].revents) forward(out_p[0], 1, &out_open);
        if (fds[1].revents) forward(err_p[0], 2, &err_open);
        if (!in_init) in_init = console_has(bf->console, TH_VM_INIT_MARKER);
        if (!announced && !access(bf->ready, F_OK)) {
            announced = true;
            if (!o->quiet) th_vm_progress(vc, "guest ready after %.1f s", now_s() - t0);
        }
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) exited = true;
        if (exited && !in_init) *no_init = true;
        bool stuck = !in_init && now_s() - t0 > init_limit_s;
        if (!exited &&
            ((o->timeout_s > 0 && now_s() - run_t0 > o->timeout_s) || got_signal || stuck)) {
            timed_out = !got_signal && !stuck;
            *no_init = killed_stuck = stuck;
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            exited = true;
        }
        if (exited && !out_open && !err_open) break;
        if (exited) { /* drain what is left, without waiting for writers that are gone */
            if (out_open) forward(out_p[0], 1, &out_open);
            if (err_open) forward(err_p[0], 2, &err_open);
        }
    }
    close(out_p[0]);
    close(err_p[0]);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    FILE *rf = fopen(bf->rcfile, "r");
    int rc = -1;
    if (rf) {
        if (fscanf(rf, "%d", &rc) != 1) rc = -1;
        fclose(rf);
    }
    int qemu_exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (got_signal) {
        vc->signal = got_signal;
        return th_vm_fail(vc, -EINTR, "interrupted; the guest was killed");
    }
    if (*no_init) {
        keep_console_tail(vc, bf->console);
        if (killed_stuck)
            return th_vm_fail(vc, -ETIME, "the guest kernel never reached /init within %.0f s",
                              init_limit_s);
        return th_vm_fail(
            vc, -ETIME, "QEMU exited (status %d) before the guest kernel reached /init", qemu_exit);
    }
    if (timed_out) {
        bool panic = keep_console_tail(vc, bf->console);
        return th_vm_fail(vc, -ETIMEDOUT, "timed out after %d s; the guest was killed%s",
                          o->timeout_s, panic ? " (the guest kernel panicked)" : "");
    }
    if (rc < 0 && qemu_exit == 127 && access(bf->console, F_OK))
        return th_vm_fail(vc, -ENOENT, "cannot run %s (apt-get install qemu-system-x86)", argv[0]);
    if (rc < 0) {
        bool panic = keep_console_tail(vc, bf->console);
        char why[600];
        init_failure(bf->console, why, sizeof(why));
        return th_vm_fail(vc, -EIO,
                          "the guest stopped before the command finished (QEMU exit %d)%s%s",
                          qemu_exit, panic ? "; the guest kernel panicked" : "", why);
    }
    if (!o->quiet) th_vm_progress(vc, "guest done in %.1f s, exit status %d", now_s() - t0, rc);
    return rc;
}

const char *th_vm_kernel_version(const th_vm_opts *o)
{
    const char *env = getenv("TCMU_HARNESS_KERNEL_VERSION");
    return o->kernel_version ? o->kernel_version : env && *env ? env : NULL;
}

int th_vm_run(th_vm_ctx *vc, const th_vm_opts *o)
{
    th_kernel k;
    vc->signal = 0;
    vc->n_tail = 0;
    char why_accel[160];
    const char *accel = choose_accel(o->accel, why_accel, sizeof(why_accel));
    if (!o->quiet) th_vm_progress(vc, "accelerator %s (%s)", accel, why_accel);
    int result = o->kernel ? th_kernel_custom(vc, &k, o->kernel, o->modules)
                           : th_kernel_get(vc, &k, th_vm_kernel_version(o), true, o->quiet);
    if (result) return result;
    char cwd[PATH_MAX], share[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd))) return th_vm_fail(vc, -errno, "getcwd: %s", strerror(errno));
    if (!realpath(o->share ? o->share : cwd, share))
        return th_vm_fail(vc, -errno, "cannot share %s: %s", o->share ? o->share : cwd,
                          strerror(errno));
    const char *tmp = getenv("TMPDIR");
    char work[PATH_MAX];
    int wn = snprintf(work, sizeof(work), "%s/th-vm-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    /* Cut short, the template lost its XXXXXX and mkdtemp said only "Invalid argument". */
    if (wn < 0 || (size_t)wn >= sizeof(work))
        return th_vm_fail(vc, -ENAMETOOLONG, "TMPDIR is longer than a path may be");
    if (!mkdtemp(work))
        return th_vm_fail(vc, -errno, "mkdtemp %s%s: %s", work, tmp && *tmp ? " (in $TMPDIR)" : "",
                          strerror(errno));
    result = -EIO;
    boot_files bf;
    char p[PATH_MAX + 64];
    snprintf(bf.console, sizeof(bf.console), "%s/console.log", work);
    snprintf(bf.rcfile, sizeof(bf.rcfile), "%s/rc", work);
    snprintf(bf.ready, sizeof(bf.ready), "%s/ready", work);
    snprintf(p, sizeof(p), "%s/job.sh", work);
    if ((result = build_initrd(vc, work, &k, share))) goto out;
    snprintf(p, sizeof(p), "%s/nodes.sh", work);
    if ((result = th_write_nodes(p))) {
        th_vm_fail(vc, result, "%s: %s", p, strerror(-result));
        goto out;
    }
    snprintf(p, sizeof(p), "%s/job.sh", work);
    if ((result = th_write_job(p, cwd, o->argv, environ, k.package, k.version))) {
        th_vm_fail(vc, result, "%s: %s", p, strerror(-result));
        goto out;
    }
    result = -EIO;

    char mem[32], cpus[16], a_host[128], a_work[PATH_MAX + 128], a_share[PATH_MAX + 128],
        a_mods[PATH_MAX + 128], a_con[PATH_MAX + 64], initrd[PATH_MAX + 64], acc[32], cpu[64];
    snprintf(mem, sizeof(mem), "%d", o->mem_mb > 0 ? o->mem_mb : 1024);
    snprintf(cpus, sizeof(cpus), "%d", o->cpus > 0 ? o->cpus : 2);
    snprintf(a_host, sizeof(a_host),
             "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap");
    snprintf(a_work, sizeof(a_work),
             "local,path=%s,mount_tag=work,security_model=none,multidevs=remap", work);
    snprintf(a_share, sizeof(a_share),
             "local,path=%s,mount_tag=share,security_model=none,multidevs=remap", share);
    /* Without a modules tree the tag is unused; QEMU still needs a folder. */
    snprintf(a_mods, sizeof(a_mods),
             "local,path=%s,mount_tag=mods,security_model=none,readonly=on,multidevs=remap",
             k.modules[0] ? k.modules : work);
    snprintf(a_con, sizeof(a_con), "file:%s", bf.console);
    snprintf(initrd, sizeof(initrd), "%s/initrd.cpio", work);
    if (strchr(share, ',') || strchr(work, ',') || strchr(k.modules, ',')) {
        result = th_vm_fail(vc, -EINVAL, "paths with ',' cannot be shared with QEMU");
        goto out;
    }
    char *argv[48] = {"qemu-system-x86_64",
                      "-nodefaults",
                      "-no-user-config",
                      "-machine",
                      "q35",
                      "-accel",
                      acc,
                      "-cpu",
                      cpu,
                      "-m",
                      mem,
                      "-smp",
                      cpus,
                      "-display",
                      "none",
                      "-no-reboot",
                      "-kernel",
                      k.vmlinuz,
                      "-initrd",
                      initrd,
                      "-append",
                      "console=ttyS0 panic=-1 quiet loglevel=4",
                      "-virtfs",
                      a_host,
                      "-virtfs",
                      a_work,
                      "-virtfs",
                      a_share,
                      "-virtfs",
                      a_mods,
                      "-serial",
                      a_con,
                      "-chardev",
                      "file,id=out,path=/proc/self/fd/3",
                      "-serial",
                      "chardev:out",
                      "-chardev",
                      "file,id=err,path=/proc/self/fd/4",
                      "-serial",
                      "chardev:err",
                      NULL};
    /* User networking only when asked: restrict=on keeps the guest off the host and the
       network; the explicit forwards still work, and bind to loopback only. */
    char netdev[64 + TH_VM_MAX_FORWARDS * 48];
    if (o->nforwards) {
        size_t argc = 0, len = 0;
        while (argv[argc]) argc++;
        len += (size_t)snprintf(netdev, sizeof(netdev), "user,id=n0,restrict=on");
        for (int i = 0; i < o->nforwards; i++)
            len += (size_t)snprintf(netdev + len, sizeof(netdev) - len,
                                    ",hostfwd=tcp:127.0.0.1:%d-" TH_VM_GUEST_IP ":%d",
                                    o->forwards[i].host_port, o->forwards[i].guest_port);
        argv[argc++] = "-netdev";
        argv[argc++] = netdev;
        argv[argc++] = "-device";
        argv[argc++] = "virtio-net-pci,netdev=n0";
        argv[argc] = NULL;
    }
    double run_t0 = now_s();
    for (;;) {
        bool kvm = !strcmp(accel, "kvm");
        snprintf(acc, sizeof(acc), "%s", accel);
        /* QEMU's host/max models set IA32_ARCH_CAPABILITIES (MSR 0x10a), which the
           paravirtual KVM of some hosts refuses (QEMU aborts): leave that bit out. */
        snprintf(cpu, sizeof(cpu), "%s", kvm ? "host,-arch-capabilities" : "max");
        if (!o->quiet)
            th_vm_progress(vc, "booting %s in QEMU (%s, %s CPUs, %s MiB)...", k.version, accel,
                           cpus, mem);
        bool no_init = false;
        double limit = !kvm ? 0 : o->accel ? TH_VM_KVM_FORCED_S : TH_VM_KVM_PROBE_S;
        result = boot_once(vc, o, argv, &bf, limit, run_t0, &no_init);
        if (!(no_init && kvm && !o->accel)) break;
        if (!o->quiet)
            th_vm_progress(vc, "KVM: %s; falling back to TCG (docs/vm.md)", th_vm_errmsg(vc));
        accel = "tcg";
        vc->n_tail = 0;
    }
out:
    if (o->keep_log) {
        char *cp[] = {"cp", bf.console, (char *)o->keep_log, NULL};
        if (!access(bf.console, F_OK)) th_run(cp, NULL, false);
    }
    char *rm[] = {"rm", "-rf", work, NULL};
    th_run(rm, NULL, true);
    return result;
}
