/* One server per control socket path: an exclusive flock on PATH.lock, held for the
 * server's whole life. The stale-socket check of ctl_server_start (connect, then replace)
 * is not atomic: two serves started at the same instant can both find the path stale, and
 * the second's bind then replaces the first's socket. The lock, taken before any device
 * or kernel object exists, makes the loser exit having done nothing.
 *
 * The holder unlinks PATH.lock at exit, while still holding it, so no file is left that
 * another user could not open later. That is safe because a taker, once it has the flock,
 * checks that PATH.lock still names the inode it locked (lstat against fstat) and starts
 * over when not: a waiter that opened the old file and locked it after the unlink sees
 * the name gone (or a new file) and retries on the file now at PATH.lock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "control.h"

/* The pid the holder wrote, or 0 when there is none (yet). */
static long holder_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *end;
    long pid = strtol(buf, &end, 10);
    return pid > 0 && (*end == '\n' || !*end) ? pid : 0;
}

static int refuse(char *err, size_t cap, int fd, int rc, const char *path, const char *lock,
                  const char *why)
{
    snprintf(err, cap, "control socket %s: %s %s; not using it as the lock", path, lock, why);
    close(fd);
    return rc;
}

/* One attempt: 0 with *fd_out locked, 1 to retry (the file was unlinked or replaced
 * between open and flock), or -errno. */
static int take_once(const char *path, const char *lock, int *fd_out, char *err, size_t cap)
{
    /* O_NONBLOCK: opening a FIFO or a device found there must not block or act. */
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP) {
            snprintf(err, cap, "control socket %s: %s is a symlink; not using it as the lock", path,
                     lock);
        } else {
            struct stat ls;
            if (e == EACCES && !lstat(lock, &ls))
                snprintf(err, cap,
                         "control socket %s: %s: %s (it belongs to uid %u; when no serve "
                         "runs on %s, it can be removed)",
                         path, lock, strerror(e), (unsigned)ls.st_uid, path);
            else
                snprintf(err, cap, "control socket %s: %s: %s", path, lock, strerror(e));
        }
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode))
        return refuse(err, cap, fd, -EEXIST, path, lock, "exists and is not a regular file");
    /* O_NOFOLLOW does not cover a hard link: its data would be truncated and overwritten.
     * 0 links: unlinked by its holder since our open; look again. */
    if (st.st_nlink == 0) return close(fd), 1;
    if (st.st_nlink != 1) return refuse(err, cap, fd, -EEXIST, path, lock, "has other hard links");
    if (st.st_uid != geteuid()) {
        snprintf(err, cap,
                 "control socket %s: %s belongs to uid %u, not to this user; not using it as "
                 "the lock (when no serve runs on %s, it can be removed)",
                 path, lock, (unsigned)st.st_uid, path);
        close(fd);
        return -EPERM;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        long pid = e == EWOULDBLOCK ? holder_pid(fd) : 0;
        if (e != EWOULDBLOCK)
            snprintf(err, cap, "control socket %s: locking %s: %s", path, lock, strerror(e));
        else if (pid)
            snprintf(err, cap, "control socket %s: another serve (pid %ld) holds %s; not starting",
                     path, pid, lock);
        else
            snprintf(err, cap, "control socket %s: another serve holds %s; not starting", path,
                     lock);
        close(fd);
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    struct stat now;
    if (lstat(lock, &now) || now.st_dev != st.st_dev || now.st_ino != st.st_ino)
        return close(fd), 1; /* locked a file its holder had already unlinked */
    *fd_out = fd;
    return 0;
}

int ctl_lock_take(const char *path, int *fd_out, char *err, size_t cap)
{
    char lock[PATH_MAX];
    *fd_out = -1;
    int rc = ctl_path_check(path, err, cap);
    if (rc) return rc;
    if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >= sizeof(lock)) {
        snprintf(err, cap, "control socket %s: the path is too long", path);
        return -ENAMETOOLONG;
    }
    for (int tries = 0; (rc = take_once(path, lock, fd_out, err, cap)) == 1; tries++)
        if (tries == 100) {
            snprintf(err, cap, "control socket %s: %s keeps being replaced; not starting", path,
                     lock);
            return -EAGAIN;
        }
    if (rc) return rc;
    char pid[24];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(*fd_out, 0) || pwrite(*fd_out, pid, (size_t)n, 0) != n) {
        /* the lock holds all the same; only the loser's message lacks the pid */
    }
    return 0;
}

void ctl_lock_release(const char *path, int fd)
{
    if (fd < 0) return;
    char lock[PATH_MAX];
    struct stat mine, now;
    /* Unlink only the file we hold (a takers re-checks the name after locking). */
    if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) < sizeof(lock) && !fstat(fd, &mine) &&
        !lstat(lock, &now) && mine.st_dev == now.st_dev && mine.st_ino == now.st_ino)
        unlink(lock);
    close(fd); /* the lock goes with the last descriptor */
}
