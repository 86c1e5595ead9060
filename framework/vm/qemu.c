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
    int n = th_modules_resolve(vc, k->modules, boot_mods, sizeof(boot_mods) / sizeof(boot_mods[0]),
                               mods, 64);
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

int th_vm_run(th_vm_ctx *vc, const th_vm_opts *o)
{
    th_kernel k;
    vc->signal = 0;
    vc->n_tail = 0;
    int result = o->kernel ? th_kernel_custom(vc, &k, o->kernel, o->modules ? o->modules : "")
                           : th_kernel_get(vc, &k, true, o->quiet);
    if (result) return result;
    char cwd[PATH_MAX], share[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd))) return th_vm_fail(vc, -errno, "getcwd: %s", strerror(errno));
    if (!realpath(o->share ? o->share : cwd, share))
        return th_vm_fail(vc, -errno, "cannot share %s: %s", o->share ? o->share : cwd,
                          strerror(errno));
    const char *tmp = getenv("TMPDIR");
    char work[PATH_MAX];
    snprintf(work, sizeof(work), "%s/th-vm-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(work)) return th_vm_fail(vc, -errno, "mkdtemp %s: %s", work, strerror(errno));
    result = -EIO;
    char p[PATH_MAX + 64], console[PATH_MAX + 64], rcfile[PATH_MAX + 64], ready[PATH_MAX + 64];
    snprintf(console, sizeof(console), "%s/console.log", work);
    snprintf(rcfile, sizeof(rcfile), "%s/rc", work);
    snprintf(ready, sizeof(ready), "%s/ready", work);
    snprintf(p, sizeof(p), "%s/job.sh", work);
    if ((result = build_initrd(vc, work, &k, share))) goto out;
    if ((result = th_write_job(p, cwd, o->argv, environ))) {
        th_vm_fail(vc, result, "%s: %s", p, strerror(-result));
        goto out;
    }
    result = -EIO;

    char mem[32], cpus[16], a_host[128], a_work[PATH_MAX + 128], a_share[PATH_MAX + 128],
        a_mods[PATH_MAX + 128], a_con[PATH_MAX + 64], initrd[PATH_MAX + 64], accel[32];
    snprintf(mem, sizeof(mem), "%d", o->mem_mb > 0 ? o->mem_mb : 1024);
    snprintf(cpus, sizeof(cpus), "%d", o->cpus > 0 ? o->cpus : 2);
    snprintf(a_host, sizeof(a_host),
             "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap");
    snprintf(a_work, sizeof(a_work),
             "local,path=%s,mount_tag=work,security_model=none,multidevs=remap", work);
    snprintf(a_share, sizeof(a_share),
             "local,path=%s,mount_tag=share,security_model=none,multidevs=remap", share);
    snprintf(a_mods, sizeof(a_mods),
             "local,path=%s,mount_tag=mods,security_model=none,readonly=on,multidevs=remap",
             k.modules);
    snprintf(a_con, sizeof(a_con), "file:%s", console);
    snprintf(initrd, sizeof(initrd), "%s/initrd.cpio", work);
    snprintf(accel, sizeof(accel), "%s", o->accel ? o->accel : "tcg");
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
                      accel,
                      "-cpu",
                      "max",
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
    int out_p[2], err_p[2];
    if (pipe(out_p) || pipe(err_p)) {
        result = th_vm_fail(vc, -errno, "pipe: %s", strerror(errno));
        goto out;
    }
    if (!o->quiet)
        th_vm_progress(vc, "booting %s in QEMU (%s, %s CPUs, %s MiB)...", k.version, accel, cpus,
                       mem);
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
    int status = 0;
    while (out_open || err_open || !exited) {
        struct pollfd fds[2] = {{out_open ? out_p[0] : -1, POLLIN, 0},
                                {err_open ? err_p[0] : -1, POLLIN, 0}};
        poll(fds, 2, 100);
        if (fds[0].revents) forward(out_p[0], 1, &out_open);
        if (fds[1].revents) forward(err_p[0], 2, &err_open);
        if (!announced && !access(ready, F_OK)) {
            announced = true;
            if (!o->quiet) th_vm_progress(vc, "guest ready after %.1f s", now_s() - t0);
        }
        if (!exited && waitpid(pid, &status, WNOHANG) == pid) exited = true;
        if (!exited && ((o->timeout_s > 0 && now_s() - t0 > o->timeout_s) || got_signal)) {
            timed_out = !got_signal;
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
    FILE *rf = fopen(rcfile, "r");
    int rc = -1;
    if (rf) {
        if (fscanf(rf, "%d", &rc) != 1) rc = -1;
        fclose(rf);
    }
    int qemu_exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (timed_out) {
        bool panic = keep_console_tail(vc, console);
        result = th_vm_fail(vc, -ETIMEDOUT, "timed out after %d s; the guest was killed%s",
                            o->timeout_s, panic ? " (the guest kernel panicked)" : "");
    } else if (got_signal) {
        vc->signal = got_signal;
        result = th_vm_fail(vc, -EINTR, "interrupted; the guest was killed");
    } else if (rc < 0 && qemu_exit == 127 && access(console, F_OK)) {
        result =
            th_vm_fail(vc, -ENOENT, "cannot run %s (apt-get install qemu-system-x86)", argv[0]);
    } else if (rc < 0) {
        bool panic = keep_console_tail(vc, console);
        result =
            th_vm_fail(vc, -EIO, "the guest stopped before the command finished (QEMU exit %d)%s",
                       qemu_exit, panic ? "; the guest kernel panicked" : "");
    } else {
        result = rc;
        if (!o->quiet) th_vm_progress(vc, "guest done in %.1f s, exit status %d", now_s() - t0, rc);
    }
out:
    if (o->keep_log) {
        char *cp[] = {"cp", console, (char *)o->keep_log, NULL};
        if (!access(console, F_OK)) th_run(cp, NULL, false);
    }
    char *rm[] = {"rm", "-rf", work, NULL};
    th_run(rm, NULL, true);
    return result;
}
