/* One server per control socket path: an exclusive flock on PATH.lock, held for the
 * server's whole life. The stale-socket check of ctl_server_start (connect, then replace)
 * is not atomic: two serves started at the same instant can both find the path stale, and
 * the second's bind then replaces the first's socket. The lock, taken before any device
 * or kernel object exists, makes the loser exit having done nothing.
 *
 * The lock file is never unlinked. A holder that unlinked it at exit would race with a
 * waiter that had opened the old file: that waiter would lock the unlinked inode while a
 * third serve creates and locks a new PATH.lock, and both would think they own PATH. An
 * empty file left beside a socket path is the price (the holder truncates it at exit). */
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

int ctl_lock_take(const char *path, int *fd_out, char *err, size_t cap)
{
    char lock[PATH_MAX];
    *fd_out = -1;
    if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >= sizeof(lock)) {
        snprintf(err, cap, "control socket %s: the path is too long", path);
        return -ENAMETOOLONG;
    }
    /* O_NONBLOCK: opening a FIFO or a device found there must not block or act. */
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, cap, "control socket %s: %s: %s", path, lock,
                 e == ELOOP ? "is a symlink; not using it as the lock" : strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        snprintf(err, cap,
                 "control socket %s: %s exists and is not a regular file; not using "
                 "it as the lock",
                 path, lock);
        close(fd);
        return -EEXIST;
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
    char pid[24];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* the lock holds all the same; only the loser's message lacks the pid */
    }
    *fd_out = fd;
    return 0;
}

void ctl_lock_release(int fd)
{
    if (fd < 0) return;
    if (ftruncate(fd, 0)) { /* a stale pid is only ever read by a loser of a live lock */
    }
    close(fd); /* the lock goes with the last descriptor */
}
