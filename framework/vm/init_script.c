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

/* Each kernel feature the harness needs, how the init sees it without modules, and the
 * option that provides it: a kernel lacking one stops with that name, not a hang. */
static const char *const needed[][2] = {
    {"grep -qw 9p /proc/filesystems", "CONFIG_9P_FS and CONFIG_NET_9P_VIRTIO"},
    {"grep -qw overlay /proc/filesystems", "CONFIG_OVERLAY_FS"},
    {"grep -qw configfs /proc/filesystems", "CONFIG_CONFIGFS_FS"},
    {"[ -d /sys/class/uio ]", "CONFIG_UIO"},
    {"[ -d /sys/module/target_core_user ]", "CONFIG_TCM_USER2"},
    {"[ -d /sys/bus/scsi/drivers/sd ]", "CONFIG_BLK_DEV_SD"},
    {"[ -d /sys/class/scsi_generic ]", "CONFIG_CHR_DEV_SG"},
};

int th_write_init(const char *path, const char *kver, const char *share)
{
    FILE *f = fopen(path, "w");
    if (!f) return -errno;
    fputs("#!/bin/busybox sh\n"
          "/bin/busybox --install -s /bin\n"
          "export PATH=/bin\n"
          /* The host watches the console for this line: a guest that never prints it
             (a KVM that stalls in early boot) is stopped within seconds. */
          "echo '" TH_VM_INIT_MARKER "'\n"
          "fail() { echo \"tcmu-harness init: $*\"; poweroff -f; }\n"
          "mkdir -p /proc /sys /dev /lower /upper /newroot\n"
          "mount -t proc proc /proc\n"
          "mount -t sysfs sysfs /sys\n"
          "mount -t devtmpfs devtmpfs /dev\n"
          "ip link set lo up\n"
          "mkdir -p /var/target/pr /var/target/alua\n"
          "for m in $(cat /modules/order); do insmod /modules/$m || fail \"insmod $m\"; done\n",
          f);
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
        fprintf(f, "%s || fail 'the kernel lacks %s'\n", needed[i][0], needed[i][1]);
    fputs(/* eth0 exists only with --forward (QEMU user networking). */
          "if [ -e /sys/class/net/eth0 ]; then\n"
          "  ip addr add " TH_VM_GUEST_IP "/24 dev eth0 && ip link set eth0 up\n"
          "fi\n"
          /* The host root is the read-only lower layer; writes land in tmpfs and vanish. */
          "mount " NINEP ",ro host /lower ||"
          " fail 'mount host root (needs CONFIG_NET_9P_VIRTIO, CONFIG_VIRTIO_PCI)'\n"
          "mount -t tmpfs -o mode=755 tmpfs /upper && mkdir /upper/u /upper/w\n"
          "mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot"
          " || fail overlay\n",
          f);
    fprintf(f, "K=/newroot/lib/modules/%s\n", kver);
    fputs("S=/newroot", f);
    th_shell_quote(f, share);
    fputs("\nmkdir -p /newroot/th-work \"$K\" /newroot/run\n"
          "mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /newroot/run\n"
          "mkdir -p /newroot/run/lock \"$S\"\n"
          "mount " NINEP " work /newroot/th-work || fail 'mount work'\n"
          "if [ -s /modules/has-tree ]; then\n"
          "  mount " NINEP ",ro mods \"$K\" || fail 'mount modules'\n"
          "fi\n"
          "mount " NINEP " share \"$S\" || fail 'mount share'\n"
          "stty -F /dev/ttyS1 raw -echo\n"
          "stty -F /dev/ttyS2 raw -echo\n"
          /* Kernel threads and the module loader (request_module runs /sbin/modprobe)
             share PID 1's root: switch_root, not chroot, so they see the host system and
             /lib/modules/<release> as a normal machine would (mount ext4 autoloads it;
             LIO writes /var/target there). */
          "mkdir -p /newroot/var/target/pr /newroot/var/target/alua\n"
          "for d in proc sys dev; do mkdir -p /newroot/$d; mount --move /$d /newroot/$d; done\n"
          "mkdir -p /newroot/dev/pts /newroot/dev/shm\n"
          "mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /newroot/dev/pts\n"
          "mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/dev/shm\n"
          "ln -sf /proc/self/fd /newroot/dev/fd\n"
          "ln -sf /proc/self/fd/0 /newroot/dev/stdin\n"
          "ln -sf /proc/self/fd/1 /newroot/dev/stdout\n"
          "ln -sf /proc/self/fd/2 /newroot/dev/stderr\n"
          "[ -e /newroot/dev/ptmx ] || ln -sf pts/ptmx /newroot/dev/ptmx\n"
          "mount -t configfs configfs /newroot/sys/kernel/config || fail 'mount configfs'\n"
          /* A fabric directory can be made only when its driver is there; it stays, so
           * CMD sees the fabric ready even when tcm_loop is built in (no module to load). */
          "L=/newroot/sys/kernel/config/target/loopback\n"
          "{ [ -d $L ] || mkdir $L; } 2>/dev/null ||"
          " fail 'the kernel lacks CONFIG_LOOPBACK_TARGET (or CONFIG_TARGET_CORE)'\n"
          "exec switch_root /newroot /bin/sh -c "
          "'/bin/sh /th-work/nodes.sh; /bin/sh /th-work/job.sh; echo $? > /th-work/rc; sync;"
          " echo o > /proc/sysrq-trigger;"
          " sleep 60'\n"
          "fail 'switch_root'\n",
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

/* The device nodes whose open loads a module (loop-control, fuse, ...): what
 * `kmod static-nodes` gives a normal system, from modules.devname. */
int th_write_nodes(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return -errno;
    fputs("D=/lib/modules/$(uname -r)/modules.devname\n"
          "[ -r \"$D\" ] || exit 0\n"
          "while read -r mod name dev; do\n"
          "  case \"$mod\" in '#'*|'') continue;; esac\n"
          "  [ -e \"/dev/$name\" ] && continue\n"
          "  t=${dev%%${dev#?}}; mm=${dev#?}\n"
          "  mkdir -p \"$(dirname \"/dev/$name\")\"\n"
          "  mknod \"/dev/$name\" \"$t\" \"${mm%:*}\" \"${mm#*:}\" 2>/dev/null\n"
          "done < \"$D\"\n",
          f);
    return fclose(f) ? -errno : 0;
}

int th_write_job(const char *path, const char *cwd, char *const *argv, char **env,
                 const char *kpackage, const char *krelease)
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
    /* Which kernel a result came from, for JUnit and trace files. */
    fputs("export TCMU_HARNESS_KERNEL_PACKAGE=", f);
    th_shell_quote(f, kpackage);
    fputs("\nexport TCMU_HARNESS_KERNEL_RELEASE=", f);
    th_shell_quote(f, krelease);
    fputs("\nexport TERM=dumb TCMU_HARNESS_IN_VM=1\ncd ", f);
    th_shell_quote(f, cwd);
    fputs(" || exit 125\nexec", f);
    for (char *const *a = argv; *a; a++) {
        fputc(' ', f);
        th_shell_quote(f, *a);
    }
    fputs(" >/dev/ttyS1 2>/dev/ttyS2\n", f);
    return fclose(f) ? -errno : 0;
}
