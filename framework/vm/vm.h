/* The throwaway VM: the real kernel for machines without target_core_user. */
#ifndef TH_VM_H
#define TH_VM_H
#include <stdbool.h>
#include <stddef.h>

typedef struct th_kernel {
    char vmlinuz[1024];
    char modules[1024]; /* .../lib/modules/<version> with modules.dep */
    char version[128];
} th_kernel;

#define TH_VM_MAX_FORWARDS 8
#define TH_VM_GUEST_IP     "10.0.2.15"

typedef struct th_vm_opts {
    const char *kernel;   /* --kernel: a bzImage; NULL: Debian's, from the cache */
    const char *modules;  /* --modules: its lib/modules/<version> */
    const char *share;    /* shared read-write at the same path; default: cwd */
    const char *keep_log; /* copy the guest console here */
    const char *accel;    /* "tcg" (default) or "kvm" */
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
 * host addresses are accepted. Returns 0, or -1 with a message in err. */
int th_vm_parse_forward(th_vm_opts *o, const char *spec, char *err, size_t cap);

/* Exit status of the command, 124 on timeout, 125 when the guest failed. */
int th_vm_run(const th_vm_opts *o);

/* The cache folder: $TCMU_HARNESS_CACHE, else $XDG_CACHE_HOME or ~/.cache, + /tcmu-harness. */
void th_cache_dir(char *buf, size_t cap);
/* Resolves (fetching if needed, with progress on stderr) Debian's current kernel. */
int th_kernel_get(th_kernel *k, bool fetch, bool quiet);
/* Uses a user-supplied kernel and modules directory. */
int th_kernel_custom(th_kernel *k, const char *vmlinuz, const char *modules);

/* Modules to insert, dependencies first, skipping built-ins; out holds paths
 * relative to the modules directory. Returns the count or -1 with a message. */
int th_modules_resolve(const char *moddir, const char *const *names, size_t n, char out[][256],
                       size_t cap, char *err, size_t errcap);

/* newc cpio archive writer. */
typedef struct th_cpio th_cpio;
th_cpio *th_cpio_open(const char *path);
int th_cpio_dir(th_cpio *c, const char *name);
int th_cpio_file(th_cpio *c, const char *name, const void *data, size_t len, unsigned mode);
int th_cpio_copy(th_cpio *c, const char *name, const char *host_path, unsigned mode);
int th_cpio_symlink(th_cpio *c, const char *name, const char *target);
int th_cpio_close(th_cpio *c); /* writes the trailer */

/* Runs argv, waits, returns its exit status (or -1); output to /dev/null if quiet. */
int th_run(char *const argv[], const char *cwd, bool quiet);
/* Is target_core_user usable right here (modules loadable or loaded, configfs)? */
bool th_native_available(char *why, size_t cap);
/* Loads the modules and mounts configfs for native mode. */
int th_native_prepare(void);

#endif
