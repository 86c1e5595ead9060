/* The throwaway VM: the real kernel for machines without target_core_user.
 *
 * Every fallible call returns a negative errno and leaves what failed in a th_vm_ctx
 * (th_vm_errmsg). Nothing here prints: progress lines go to the context's callback,
 * and the CLI decides what reaches the terminal. */
#ifndef TH_VM_H
#define TH_VM_H
#include <stdbool.h>
#include <stddef.h>

typedef void (*th_vm_progress_fn)(void *arg, const char *line);

#define TH_VM_TAIL 20
typedef struct th_vm_ctx {
    th_vm_progress_fn progress; /* NULL: no progress lines */
    void *progress_arg;
    int signal;                 /* th_vm_run returned -EINTR: this signal */
    int n_tail;                 /* after a failed guest: its console's last lines */
    char tail[TH_VM_TAIL][256]; /* oldest first, each ending in '\n' */
    char err[1024];
} th_vm_ctx;

void th_vm_ctx_init(th_vm_ctx *vc, th_vm_progress_fn progress, void *arg);
const char *th_vm_errmsg(const th_vm_ctx *vc);

typedef struct th_kernel {
    char vmlinuz[1024];
    char modules[1024]; /* .../lib/modules/<version> with modules.dep */
    char version[128];  /* the release (uname -r); "unknown" for a --kernel without modules */
    char package[256];  /* "NAME DEBIAN-VERSION", or "custom PATH" */
} th_kernel;

#define TH_VM_MAX_FORWARDS 8
#define TH_VM_GUEST_IP     "10.0.2.15"
/* The guest's /init prints this first: the kernel reached user space. */
#define TH_VM_INIT_MARKER "tcmu-harness init: started"

typedef struct th_vm_opts {
    const char *kernel;   /* --kernel: a bzImage; NULL: Debian's, from the cache */
    const char *modules;  /* --modules: its lib/modules/<version> */
    const char *share;    /* shared read-write at the same path; default: cwd */
    const char *keep_log; /* copy the guest console here */
    const char *accel;    /* "tcg", "kvm", or NULL: KVM if /dev/kvm opens and the guest boots */
    const char *kernel_version; /* a cached or fetchable package/version; NULL: default */
    int mem_mb;
    int cpus;
    int timeout_s;
    bool quiet;
    /* --forward: host 127.0.0.1:host_port -> guest eth0 (10.0.2.15):guest_port, TCP */
    struct {
        int host_port, guest_port;
    } forwards[TH_VM_MAX_FORWARDS];
    int nforwards;
    char *const *argv; /* the command */
} th_vm_opts;

/* Parses [127.x.y.z|localhost:]HOST_PORT:GUEST_PORT into o->forwards; only loopback
 * host addresses are accepted. Returns 0 or -EINVAL. */
int th_vm_parse_forward(th_vm_ctx *vc, th_vm_opts *o, const char *spec);

/* The command's exit status (0..255), or a negative errno: -ETIMEDOUT when the guest
 * was killed at the timeout, -EINTR when a signal stopped it (vc->signal), others when
 * the guest could not be built, booted, or finish the command. */
int th_vm_run(th_vm_ctx *vc, const th_vm_opts *o);
/* The kernel asked for: --kernel-version, else $TCMU_HARNESS_KERNEL_VERSION, else NULL. */
const char *th_vm_kernel_version(const th_vm_opts *o);
/* A th_vm_run result as an exit status: 124 timeout, 128+N signal, 125 other failures. */
int th_vm_exit_status(const th_vm_ctx *vc, int rc);

/* The cache folder: $TCMU_HARNESS_CACHE, else $XDG_CACHE_HOME or ~/.cache, + /tcmu-harness.
 * 0, or -ENAMETOOLONG (with vc's message naming the variable) when it does not fit cap:
 * cut short, it named another folder. */
int th_cache_dir(th_vm_ctx *vc, char *buf, size_t cap);
/* Resolves a kernel package: want names one (linux-image-6.1.0-57-amd64, 6.1.0-57-amd64
 * or 6.1.0-57); NULL: Debian's current one (what linux-image-amd64 depends on). Fetches
 * it if needed and allowed (progress unless quiet). */
int th_kernel_get(th_vm_ctx *vc, th_kernel *k, const char *want, bool fetch, bool quiet);
/* want as a package name; -EINVAL if it is neither a package nor a version. */
int th_kernel_package_name(char *out, size_t cap, const char *want);
/* The package linux-image-amd64 depends on; -ENOENT without package lists. */
int th_kernel_default(char *out, size_t cap);
/* The complete cached kernel packages, up to cap; returns the count. */
int th_kernel_list(th_vm_ctx *vc, char names[][256], int cap);
/* Uses a user-supplied kernel and modules directory (modules NULL or "": all built in). */
int th_kernel_custom(th_vm_ctx *vc, th_kernel *k, const char *vmlinuz, const char *modules);

/* Modules to insert, dependencies first, skipping built-ins; out holds paths
 * relative to the modules directory. Returns the count or a negative errno. */
int th_modules_resolve(th_vm_ctx *vc, const char *moddir, const char *const *names, size_t n,
                       char out[][256], size_t cap);

/* newc cpio archive writer; every call returns 0 or a negative errno. */
typedef struct th_cpio th_cpio;
int th_cpio_open(th_cpio **out, const char *path);
int th_cpio_dir(th_cpio *c, const char *name);
int th_cpio_file(th_cpio *c, const char *name, const void *data, size_t len, unsigned mode);
int th_cpio_copy(th_cpio *c, const char *name, const char *host_path, unsigned mode);
int th_cpio_symlink(th_cpio *c, const char *name, const char *target);
int th_cpio_close(th_cpio *c); /* writes the trailer */

/* Runs argv, waits, returns its exit status, or a negative errno when it could not
 * be started or waited for; output to /dev/null if quiet. */
int th_run(char *const argv[], const char *cwd, bool quiet);
/* Is target_core_user usable right here (modules loadable or loaded, configfs)? */
bool th_native_available(char *why, size_t cap);
/* Loads the modules and mounts configfs for native mode. */
int th_native_prepare(th_vm_ctx *vc);

#endif
