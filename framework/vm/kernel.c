/* Debian's own kernel, unpacked (never installed) into the cache and reused. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "vm_internal.h"

int th_cache_dir(th_vm_ctx *vc, char *buf, size_t cap)
{
    const char *c = getenv("TCMU_HARNESS_CACHE"), *x = getenv("XDG_CACHE_HOME"),
               *h = getenv("HOME"), *var;
    int n;
    if (c && *c)
        var = "TCMU_HARNESS_CACHE", n = snprintf(buf, cap, "%s", c);
    else if (x && *x)
        var = "XDG_CACHE_HOME", n = snprintf(buf, cap, "%s/tcmu-harness", x);
    else
        var = "HOME", n = snprintf(buf, cap, "%s/.cache/tcmu-harness", h && *h ? h : "/root");
    if (n >= 0 && (size_t)n < cap) return 0;
    return th_vm_fail(vc, -ENAMETOOLONG,
                      "%s: the cache folder would be %d characters long, more than %zu", var, n,
                      cap - 1);
}

static int mkdirs(const char *path)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) && errno != EEXIST) return -errno;
        *s = '/';
    }
    return mkdir(p, 0755) && errno != EEXIST ? -errno : 0;
}

/* Runs argv without a shell (paths and cache names may hold any character) and keeps
 * the first cap-1 bytes of its stdout in out; its exit status, or a negative errno. */
static int capture(char *const argv[], char *out, size_t cap)
{
    int fd[2];
    if (pipe(fd)) return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = -errno;
        close(fd[0]);
        close(fd[1]);
        return e;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 2);
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    char sink[512];
    for (;;) {
        char *dst = n + 1 < cap ? out + n : sink;
        size_t room = n + 1 < cap ? cap - 1 - n : sizeof(sink);
        ssize_t r = read(fd[0], dst, room);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (dst != sink) n += (size_t)r;
    }
    out[n] = 0;
    close(fd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -errno;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return -errno;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -EIO;
}

/* The package linux-image-amd64 depends on, e.g. linux-image-6.1.0-56-amd64. */
static int current_package(char *out, size_t cap)
{
    FILE *p = popen("apt-cache depends linux-image-amd64 2>/dev/null", "r");
    if (!p) return -errno;
    char line[512];
    int rc = -ENOENT;
    while (fgets(line, sizeof(line), p)) {
        char *d = strstr(line, "Depends: linux-image-");
        if (!d) continue;
        d += strlen("Depends: ");
        d[strcspn(d, " \n<>")] = 0;
        snprintf(out, cap, "%s", d);
        rc = 0;
        break;
    }
    pclose(p);
    return rc;
}

/* The bzImage's payload, decompressed once into an ELF vmlinux that QEMU boots through
 * PVH: no real-mode setup and no XZ decompression under TCG (about 5 s less per boot).
 * Only for kernels built with CONFIG_PVH and an XZ payload; others boot the bzImage. */
static bool pvh_capable(const char *dir, const char *version)
{
    char p[1200], line[256];
    snprintf(p, sizeof(p), "%s/boot/config-%s", dir, version);
    FILE *f = fopen(p, "r");
    bool yes = false;
    while (f && !yes && fgets(line, sizeof(line), f)) yes = !strcmp(line, "CONFIG_PVH=y\n");
    if (f) fclose(f);
    return yes;
}

static int extract_pvh(const char *bzimage, const char *out)
{
    FILE *f = fopen(bzimage, "rb");
    if (!f) return -errno;
    static const unsigned char magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    const unsigned char *m = memmem(buf, n, magic, sizeof(magic));
    if (!m) return -ENOEXEC;
    char tmp[1300];
    snprintf(tmp, sizeof(tmp), "%s~", out);
    /* xz reads the payload from the image's fd at its offset: no shell, as the cache
     * path may hold any character. */
    int in = open(bzimage, O_RDONLY), dst = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int st = -1;
    if (in >= 0 && dst >= 0 && lseek(in, (off_t)(m - buf), SEEK_SET) >= 0) {
        pid_t pid = fork();
        if (pid == 0) {
            dup2(in, 0);
            dup2(dst, 1);
            execlp("xz", "xz", "-dc", "--single-stream", (char *)NULL);
            _exit(127);
        }
        while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
    if (in >= 0) close(in);
    if (dst >= 0) close(dst);
    if (!(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        unlink(tmp);
        return -EIO;
    }
    return rename(tmp, out) ? -errno : 0;
}

/* "NAME VERSION" from .package; caches from before it existed ask apt-cache once. */
static void read_package(th_kernel *k, const char *dir)
{
    char p[1100];
    const char *name = strrchr(dir, '/');
    name = name ? name + 1 : dir;
    snprintf(p, sizeof(p), "%s/.package", dir);
    if (access(p, R_OK)) {
        char show[8192], line[600];
        char *ac[] = {"apt-cache", "show", "--no-all-versions", (char *)name, NULL};
        const char *v = NULL;
        if (capture(ac, show, sizeof(show)) == 0)
            for (const char *l = show; l && *l && !v; l = strchr(l, '\n'), l = l ? l + 1 : l)
                if (!strncmp(l, "Version: ", 9)) v = l + 9;
        if (v && *v != '\n' && *v) {
            snprintf(line, sizeof(line), "%s %.*s", name, (int)strcspn(v, "\n"), v);
            if (write_text(p, line)) unlink(p);
        }
    }
    FILE *f = fopen(p, "r");
    k->package[0] = 0;
    if (f) {
        if (!fgets(k->package, sizeof(k->package), f)) k->package[0] = 0;
        fclose(f);
    }
    k->package[strcspn(k->package, "\n")] = 0;
    if (!k->package[0]) snprintf(k->package, sizeof(k->package), "%s unknown", name);
}

/* Fills k from an unpacked package folder; 0 if complete. */
static int from_dir(th_kernel *k, const char *dir)
{
    char p[1100];
    snprintf(p, sizeof(p), "%s/.complete", dir);
    if (access(p, F_OK)) return -ENOENT;
    snprintf(p, sizeof(p), "%s/lib/modules", dir);
    DIR *d = opendir(p);
    if (!d) return -ENOENT;
    struct dirent *de;
    k->version[0] = 0;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') snprintf(k->version, sizeof(k->version), "%s", de->d_name);
    closedir(d);
    if (!k->version[0]) return -ENOENT;
    snprintf(k->modules, sizeof(k->modules), "%s/lib/modules/%s", dir, k->version);
    snprintf(k->vmlinuz, sizeof(k->vmlinuz), "%s/boot/vmlinuz-%s", dir, k->version);
    if (access(k->vmlinuz, R_OK)) return -ENOENT;
    read_package(k, dir);
    char pvh[1200];
    snprintf(pvh, sizeof(pvh), "%s/boot/vmlinux-%s.pvh", dir, k->version);
    if (pvh_capable(dir, k->version) && (!access(pvh, R_OK) || !extract_pvh(k->vmlinuz, pvh)))
        snprintf(k->vmlinuz, sizeof(k->vmlinuz), "%s", pvh);
    return 0;
}

static int newest_cached(th_kernel *k, const char *kdir)
{
    DIR *d = opendir(kdir);
    if (!d) return -ENOENT;
    struct dirent *de;
    char best[256] = "";
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, "linux-image-", 12) && !strchr(de->d_name, '~') &&
            strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", de->d_name);
    closedir(d);
    if (!best[0]) return -ENOENT;
    char p[1100];
    snprintf(p, sizeof(p), "%s/%s", kdir, best);
    return from_dir(k, p);
}

/* Downloads and unpacks pkg into the private folder tmp. */
static int unpack_into(th_vm_ctx *vc, const char *pkg, const char *tmp, bool quiet)
{
    char deb[1400];
    if (!quiet) th_vm_progress(vc, "downloading %s (apt-get download)...", pkg);
    char *dl[] = {"apt-get", "download", "-q", (char *)pkg, NULL};
    if (th_run(dl, tmp, quiet)) return th_vm_fail(vc, -EIO, "apt-get download %s failed", pkg);
    DIR *d = opendir(tmp);
    struct dirent *de;
    deb[0] = 0;
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".deb")) snprintf(deb, sizeof(deb), "%s/%s", tmp, de->d_name);
    if (d) closedir(d);
    if (!deb[0]) return th_vm_fail(vc, -ENOENT, "apt-get download left no .deb in %s", tmp);
    if (!quiet) th_vm_progress(vc, "unpacking %s...", pkg);
    char *x[] = {"dpkg", "-x", deb, (char *)tmp, NULL};
    if (th_run(x, NULL, quiet)) return th_vm_fail(vc, -EIO, "dpkg -x %s failed", deb);
    /* Name and Debian version, exported into the guest (TCMU_HARNESS_KERNEL_PACKAGE). */
    char pkgfile[1200], nv[600];
    snprintf(pkgfile, sizeof(pkgfile), "%s/.package", tmp);
    char *w[] = {"dpkg-deb", "-W", "--showformat=${Package} ${Version}", deb, NULL};
    if (capture(w, nv, sizeof(nv)) || !strchr(nv, ' ') || write_text(pkgfile, nv))
        return th_vm_fail(vc, -EIO, "dpkg-deb -W %s failed", deb);
    unlink(deb);
    th_kernel k;
    char mods[1200];
    snprintf(mods, sizeof(mods), "%s/lib/modules", tmp);
    d = opendir(mods);
    k.version[0] = 0;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') snprintf(k.version, sizeof(k.version), "%s", de->d_name);
    if (d) closedir(d);
    if (!k.version[0]) return th_vm_fail(vc, -ENOENT, "%s holds no kernel version", mods);
    /* The package ships no modules.dep: depmod makes it, as installing would. */
    char *dm[] = {"depmod", "-b", (char *)tmp, k.version, NULL};
    if (th_run(dm, NULL, quiet)) return th_vm_fail(vc, -EIO, "depmod failed (is kmod installed?)");
    char marker[1200];
    snprintf(marker, sizeof(marker), "%s/.complete", tmp);
    FILE *f = fopen(marker, "w");
    if (!f) return th_vm_fail(vc, -errno, "%s: %s", marker, strerror(errno));
    fclose(f);
    return 0;
}

/* Each fetch unpacks into its own mkdtemp folder next to final and renames it into
 * place, so concurrent fetches of one kernel never share or delete each other's work;
 * when another fetch completed final first, this one's copy is dropped. */
static int fetch(th_vm_ctx *vc, const char *pkg, const char *final, bool quiet)
{
    char tmp[1100], done[1200];
    snprintf(tmp, sizeof(tmp), "%s~partial.XXXXXX", final);
    if (!mkdtemp(tmp)) return th_vm_fail(vc, -errno, "mkdtemp %s: %s", tmp, strerror(errno));
    chmod(tmp, 0755); /* mkdtemp's 0700 would hide the cache from a guest's other users */
    char *rm[] = {"rm", "-rf", tmp, NULL};
    int rc = unpack_into(vc, pkg, tmp, quiet);
    snprintf(done, sizeof(done), "%s/.complete", final);
    for (int tries = 0; !rc && rename(tmp, final); tries++) {
        if ((errno != EEXIST && errno != ENOTEMPTY) || tries == 3) {
            rc = th_vm_fail(vc, -errno, "rename %s: %s", tmp, strerror(errno));
        } else if (!access(done, F_OK)) {
            break; /* the other fetch won; its copy is as good as ours */
        } else {
            /* An incomplete leftover (not a fetch in flight: those live in ~partial.*). */
            char *rmf[] = {"rm", "-rf", (char *) final, NULL};
            th_run(rmf, NULL, true);
        }
    }
    th_run(rm, NULL, true);
    return rc;
}

int th_kernel_package_name(char *out, size_t cap, const char *want)
{
    size_t n = strlen(want);
    if (!n || strchr(want, '/') || strchr(want, '\'') || strchr(want, ' ')) return -EINVAL;
    if (!strncmp(want, "linux-image-", 12))
        snprintf(out, cap, "%s", want);
    else if (n > 6 && !strcmp(want + n - 6, "-amd64"))
        snprintf(out, cap, "linux-image-%s", want);
    else if (want[0] >= '0' && want[0] <= '9')
        snprintf(out, cap, "linux-image-%s-amd64", want);
    else
        return -EINVAL;
    return 0;
}

int th_kernel_default(char *out, size_t cap)
{
    return current_package(out, cap);
}

int th_kernel_get(th_vm_ctx *vc, th_kernel *k, const char *want, bool do_fetch, bool quiet)
{
    char cache[900], kdir[1000], dir[1300], pkg[256];
    int crc = th_cache_dir(vc, cache, sizeof(cache));
    if (crc) return crc;
    snprintf(kdir, sizeof(kdir), "%s/kernels", cache);
    if (want && th_kernel_package_name(pkg, sizeof(pkg), want))
        return th_vm_fail(vc, -EINVAL,
                          "kernel version '%s' is neither a package (linux-image-6.1.0-57-amd64) "
                          "nor a version (6.1.0-57)",
                          want);
    if (!want && current_package(pkg, sizeof(pkg))) {
        /* No package lists (offline, or apt-get update never ran): use what is cached. */
        if (!newest_cached(k, kdir)) return 0;
        return th_vm_fail(vc, -ENOENT,
                          "no kernel found. apt-cache cannot resolve linux-image-amd64 and %s "
                          "holds none.\n  Run: apt-get update && tcmu-harness kernel fetch\n"
                          "  or pass --kernel BZIMAGE --modules /lib/modules/VERSION",
                          kdir);
    }
    snprintf(dir, sizeof(dir), "%s/%s", kdir, pkg);
    if (!from_dir(k, dir)) return 0;
    if (!do_fetch)
        return th_vm_fail(vc, -ENOENT,
                          "kernel %s is not cached; run 'tcmu-harness kernel fetch%s%s'", pkg,
                          want ? " " : "", want ? want : "");
    int rc = mkdirs(kdir);
    if (rc) return th_vm_fail(vc, rc, "mkdir %s: %s", kdir, strerror(-rc));
    rc = fetch(vc, pkg, dir, quiet);
    if (!rc && (rc = from_dir(k, dir))) th_vm_fail(vc, rc, "%s is incomplete after unpacking", dir);
    if (rc) {
        char why[sizeof(vc->err)];
        snprintf(why, sizeof(why), "%s", vc->err);
        return th_vm_fail(vc, rc,
                          "kernel %s is not cached in %s and could not be fetched: %s\n"
                          "  Run: apt-get update && tcmu-harness kernel fetch%s%s",
                          pkg, kdir, why, want ? " " : "", want ? want : "");
    }
    if (!quiet) th_vm_progress(vc, "kernel %s ready in %s", k->version, dir);
    return 0;
}

int th_kernel_list(th_vm_ctx *vc, char names[][256], int cap)
{
    char cache[900], kdir[1000];
    if (th_cache_dir(vc, cache, sizeof(cache))) return -ENAMETOOLONG;
    snprintf(kdir, sizeof(kdir), "%s/kernels", cache);
    DIR *d = opendir(kdir);
    if (!d) return 0;
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) && n < cap) {
        th_kernel k;
        char p[1300];
        snprintf(p, sizeof(p), "%s/%s", kdir, de->d_name);
        if (!strncmp(de->d_name, "linux-image-", 12) && !strchr(de->d_name, '~') &&
            !from_dir(&k, p))
            snprintf(names[n++], 256, "%s", de->d_name);
    }
    closedir(d);
    (void)vc;
    return n;
}

int th_kernel_custom(th_vm_ctx *vc, th_kernel *k, const char *vmlinuz, const char *modules)
{
    if (access(vmlinuz, R_OK))
        return th_vm_fail(vc, -errno, "cannot read kernel %s: %s", vmlinuz, strerror(errno));
    snprintf(k->vmlinuz, sizeof(k->vmlinuz), "%s", vmlinuz);
    snprintf(k->package, sizeof(k->package), "custom %s", vmlinuz);
    if (!modules || !*modules) {
        /* Everything built in (=y): no modules tree; the init checks each feature. */
        k->modules[0] = 0;
        snprintf(k->version, sizeof(k->version), "unknown");
        return 0;
    }
    char dep[1100];
    snprintf(dep, sizeof(dep), "%s/modules.dep", modules);
    if (access(dep, R_OK))
        return th_vm_fail(vc, -ENOENT,
                          "%s is missing: pass --modules /path/lib/modules/VERSION (after depmod)",
                          dep);
    /* The guest mounts the tree at /lib/modules/$(uname -r): the release is the real
     * folder's name, whatever trailing slash or symlink name the path was given with. */
    char *real = realpath(modules, NULL);
    if (!real) return th_vm_fail(vc, -errno, "%s: %s", modules, strerror(errno));
    snprintf(k->modules, sizeof(k->modules), "%s", real);
    const char *base = strrchr(real, '/');
    snprintf(k->version, sizeof(k->version), "%s", base && base[1] ? base + 1 : real);
    free(real);
    return 0;
}
