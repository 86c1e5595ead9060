/* File backend: pread/pwrite, fdatasync for SYNCHRONIZE CACHE, hole punching for UNMAP. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "emu_err.h"
#include "th/backend.h"

typedef struct file_backend {
    th_backend base;
    int fd;
} file_backend;

static int file_read(th_backend *be, void *buf, uint64_t off, size_t len)
{
    int fd = ((file_backend *)be)->fd;
    while (len) {
        ssize_t n = pread(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) { /* past EOF of a file shorter than declared: zeros */
            memset(buf, 0, len);
            return 0;
        }
        buf = (uint8_t *)buf + n, off += (uint64_t)n, len -= (size_t)n;
    }
    return 0;
}

static int file_write(th_backend *be, const void *buf, uint64_t off, size_t len)
{
    int fd = ((file_backend *)be)->fd;
    while (len) {
        ssize_t n = pwrite(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        buf = (const uint8_t *)buf + n, off += (uint64_t)n, len -= (size_t)n;
    }
    return 0;
}

static int file_flush(th_backend *be)
{
    return fdatasync(((file_backend *)be)->fd) ? -errno : 0;
}

static int file_discard(th_backend *be, uint64_t off, uint64_t len)
{
    int fd = ((file_backend *)be)->fd;
    if (!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
        return 0;
    static const uint8_t zeros[65536];
    while (len) {
        size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
        int rc = file_write(be, zeros, off, n);
        if (rc) return rc;
        off += n, len -= n;
    }
    return 0;
}

static void file_destroy(th_backend *be)
{
    close(((file_backend *)be)->fd);
    free(be);
}

static const th_backend_ops file_ops = {file_read, file_write, file_flush, file_discard,
                                        file_destroy};

int th_backend_file_open(const char *path, uint64_t size, bool create, th_backend **out, char *err,
                         size_t errlen)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) return th_emu_fail(err, errlen, -errno, "open %s: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st))
        rc = th_emu_fail(err, errlen, -errno, "stat %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        rc = th_emu_fail(err, errlen, -EINVAL, "%s is neither a file nor a block device", path);
    else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < size && ftruncate(fd, (off_t)size))
        rc = th_emu_fail(err, errlen, -errno, "resize %s to %llu bytes: %s", path,
                         (unsigned long long)size, strerror(errno));
    file_backend *f = rc ? NULL : calloc(1, sizeof(*f));
    if (!rc && !f) rc = th_emu_fail(err, errlen, -ENOMEM, "out of memory");
    if (rc) {
        close(fd);
        return rc;
    }
    f->fd = fd;
    f->base.ops = &file_ops;
    f->base.size = size ? size : (uint64_t)st.st_size;
    *out = &f->base;
    return 0;
}
