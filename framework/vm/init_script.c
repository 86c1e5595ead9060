/* The guest's /init (busybox sh) and the job script that runs the command. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "init_script.h"
#include "vm.h"

void th_shell_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

#define NINEP "-t 9p -o trans=virtio,version=9p2000.L,msize=512000"

int th_write_init(const char *path, const char *kver, const char *share)
{
    FILE *f = fopen(path, "w");
    if (!f) return -errno;
    fputs("#!/bin/busybox sh\n"
          "/bin/busybox --install -s /bin\n"
          "export PATH=/bin\n"
          "fail() { echo \"tcmu-harness init: $*\"; poweroff -f; }\n"
          "mkdir -p /proc /sys /dev /lower /upper /newroot\n"
          "mount -t proc proc /proc\n"
          "mount -t sysfs sysfs /sys\n"
          "mount -t devtmpfs devtmpfs /dev\n"
          "ip link set lo up\n"
          /* LIO writes persistent-reservation (APTPL) and ALUA state from kernel threads,
             whose root is this initramfs, not the chroot below: without these directories
             every PERSISTENT RESERVE OUT fails with LOGICAL UNIT COMMUNICATION FAILURE. */
          "mkdir -p /var/target/pr /var/target/alua\n"
          "for m in $(cat /modules/order); do insmod /modules/$m || fail \"insmod $m\"; done\n"
          /* eth0 exists only with --forward (QEMU user networking). */
          "if [ -e /sys/class/net/eth0 ]; then\n"
          "  ip addr add " TH_VM_GUEST_IP "/24 dev eth0 && ip link set eth0 up\n"
          "fi\n"
          /* The host root is the read-only lower layer; writes land in tmpfs and vanish. */
          "mount " NINEP ",ro host /lower || fail 'mount host root'\n"
          "mount -t tmpfs -o mode=755 tmpfs /upper && mkdir /upper/u /upper/w\n"
          "mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot"
          " || fail overlay\n",
          f);
    fprintf(f, "K=/newroot/lib/modules/%s\n", kver);
    fputs("S=/newroot", f);
    th_shell_quote(f, share);
    fputs("\nmkdir -p /newroot/th-work \"$K\" \"$S\"\n"
          "mount " NINEP " work /newroot/th-work || fail 'mount work'\n"
          "mount " NINEP ",ro mods \"$K\" || fail 'mount modules'\n"
          "mount " NINEP " share \"$S\" || fail 'mount share'\n"
          "for d in proc sys dev; do mount -o bind /$d /newroot/$d; done\n"
          "mkdir -p /newroot/dev/pts /newroot/dev/shm\n"
          "mount -t devpts devpts /newroot/dev/pts\n"
          "mount -t tmpfs tmpfs /newroot/dev/shm\n"
          "stty -F /dev/ttyS1 raw -echo\n"
          "stty -F /dev/ttyS2 raw -echo\n"
          "chroot /newroot /bin/sh /th-work/job.sh\n"
          "echo $? > /newroot/th-work/rc\n"
          "sync\n"
          "poweroff -f\n",
          f);
    return fclose(f) ? -errno : 0;
}

static bool passable(const char *kv)
{
    static const char *const skip[] = {"PWD=", "OLDPWD=", "SHLVL=", "_=", "TERM=", NULL};
    for (int i = 0; skip[i]; i++)
        if (!strncmp(kv, skip[i], strlen(skip[i]))) return false;
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) return false;
    for (const char *p = kv; p < eq; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
              (p > kv && *p >= '0' && *p <= '9')))
            return false;
    return true;
}

int th_write_job(const char *path, const char *cwd, char *const *argv, char **env)
{
    FILE *f = fopen(path, "w");
    if (!f) return -errno;
    fputs("exec </dev/null\n"
          "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
          "{ grep -q ' /sys/kernel/config ' /proc/mounts ||"
          " mount -t configfs configfs /sys/kernel/config; } >/dev/ttyS0 2>&1 ||\n"
          "  echo 'tcmu-harness guest: mounting configfs failed' >/dev/ttyS2\n"
          ": > /th-work/ready\n",
          f);
    for (char **e = env; e && *e; e++) {
        if (!passable(*e)) continue;
        const char *eq = strchr(*e, '=');
        fprintf(f, "export %.*s=", (int)(eq - *e), *e);
        th_shell_quote(f, eq + 1);
        fputc('\n', f);
    }
    fputs("export TERM=dumb TCMU_HARNESS_IN_VM=1\ncd ", f);
    th_shell_quote(f, cwd);
    fputs(" || exit 125\nexec", f);
    for (char *const *a = argv; *a; a++) {
        fputc(' ', f);
        th_shell_quote(f, *a);
    }
    fputs(" >/dev/ttyS1 2>/dev/ttyS2\n", f);
    return fclose(f) ? -errno : 0;
}
