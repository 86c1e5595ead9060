/* The newc cpio format the kernel unpacks as initramfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vm.h"

struct th_cpio {
    FILE *f;
    unsigned ino;
    int err;
};

int th_cpio_open(th_cpio **out, const char *path)
{
    *out = NULL;
    th_cpio *c = calloc(1, sizeof(*c));
    if (!c) return -ENOMEM;
    c->f = fopen(path, "wb");
    if (!c->f) {
        int rc = -errno;
        free(c);
        return rc;
    }
    c->ino = 1;
    *out = c;
    return 0;
}

static void pad4(th_cpio *c)
{
    long pos = ftell(c->f);
    while (pos % 4) {
        fputc(0, c->f);
        pos++;
    }
}

static int entry(th_cpio *c, const char *name, unsigned mode, const void *data, size_t len)
{
    size_t namesize = strlen(name) + 1;
    fprintf(c->f, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", c->ino++, mode, 0,
            0, 1, 0, (unsigned)len, 0, 0, 0, 0, (unsigned)namesize, 0);
    fwrite(name, 1, namesize, c->f);
    pad4(c);
    if (len && fwrite(data, 1, len, c->f) != len) c->err = EIO;
    pad4(c);
    return ferror(c->f) ? -EIO : 0;
}

int th_cpio_dir(th_cpio *c, const char *name)
{
    return entry(c, name, S_IFDIR | 0755, NULL, 0);
}

int th_cpio_file(th_cpio *c, const char *name, const void *data, size_t len, unsigned mode)
{
    return entry(c, name, S_IFREG | mode, data, len);
}

int th_cpio_symlink(th_cpio *c, const char *name, const char *target)
{
    return entry(c, name, S_IFLNK | 0777, target, strlen(target));
}

int th_cpio_copy(th_cpio *c, const char *name, const char *host_path, unsigned mode)
{
    int fd = open(host_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st)) {
        close(fd);
        return -errno;
    }
    char *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    ssize_t got = 0;
    while (buf && got < st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)(st.st_size - got));
        if (n <= 0) break;
        got += n;
    }
    close(fd);
    int rc = buf && got == st.st_size ? th_cpio_file(c, name, buf, (size_t)got, mode) : -EIO;
    free(buf);
    return rc;
}

int th_cpio_close(th_cpio *c)
{
    int rc = entry(c, "TRAILER!!!", 0, NULL, 0);
    if (fclose(c->f)) rc = -EIO;
    if (c->err) rc = -c->err;
    free(c);
    return rc;
}
