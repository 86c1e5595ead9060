#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include "vm_internal.h"

extern char **environ;

int th_run(char *const argv[], const char *cwd, bool quiet)
{
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
        if (cwd && chdir(cwd)) _exit(126);
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
        } else {
            dup2(2, 1); /* progress of helpers goes where ours goes */
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0) return -errno;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool dir_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

bool th_native_available(char *why, size_t cap)
{
    if (dir_exists("/sys/kernel/config/target/core") &&
        dir_exists("/sys/kernel/config/target/loopback")) {
        snprintf(why, cap, "configfs target core and tcm_loop are loaded");
        return true;
    }
    if (geteuid() != 0) {
        snprintf(why, cap, "not root, and target_core_user/tcm_loop are not loaded");
        return false;
    }
    char *a[] = {"modprobe", "-n", "-q", "target_core_user", NULL};
    char *b[] = {"modprobe", "-n", "-q", "tcm_loop", NULL};
    if (th_run(a, NULL, true) == 0 && th_run(b, NULL, true) == 0) {
        snprintf(why, cap, "target_core_user and tcm_loop can be loaded");
        return true;
    }
    snprintf(why, cap, "this kernel cannot load target_core_user and tcm_loop");
    return false;
}

int th_native_prepare(th_vm_ctx *vc)
{
    struct utsname u;
    char mods[sizeof(u.release) + 16] = "/lib/modules";
    if (!uname(&u)) snprintf(mods, sizeof(mods), "/lib/modules/%s", u.release);
    /* Already there, and nothing for modprobe to find: the drivers are built in. */
    if (dir_exists("/sys/kernel/config/target/core") &&
        dir_exists("/sys/kernel/config/target/loopback") && !dir_exists(mods))
        return 0;
    char *mp[] = {"modprobe", "-a", "configfs", "target_core_user", "tcm_loop", "sd_mod",
                  "sg",       "st", NULL};
    if (th_run(mp, NULL, false))
        return th_vm_fail(vc, -EIO, "loading the target modules failed (modprobe)");
    if (!dir_exists("/sys/kernel/config/target")) {
        char *m[] = {"mount", "-t", "configfs", "configfs", "/sys/kernel/config", NULL};
        if (th_run(m, NULL, false)) return th_vm_fail(vc, -EIO, "mounting configfs failed");
    }
    return 0;
}
