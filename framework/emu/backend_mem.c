/* Memory backend: anonymous, lazily allocated pages, so a large sparse disk costs
 * only what is written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "emu_err.h"
#include "th/backend.h"

typedef struct mem_backend {
    th_backend base;
    uint8_t *data;
    size_t map_len;
} mem_backend;

static int mem_read(th_backend *be, void *buf, uint64_t off, size_t len)
{
    memcpy(buf, ((mem_backend *)be)->data + off, len);
    return 0;
}

static int mem_write(th_backend *be, const void *buf, uint64_t off, size_t len)
{
    memcpy(((mem_backend *)be)->data + off, buf, len);
    return 0;
}

static int mem_flush(th_backend *be)
{
    (void)be;
    return 0;
}

static int mem_discard(th_backend *be, uint64_t off, uint64_t len)
{
    mem_backend *m = (mem_backend *)be;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t a = (off + page - 1) / page * page, b = (off + len) / page * page;
    if (b > a) {
        memset(m->data + off, 0, a - off);
        madvise(m->data + a, b - a, MADV_DONTNEED); /* private anonymous: reads zeros */
        memset(m->data + b, 0, off + len - b);
    } else {
        memset(m->data + off, 0, len);
    }
    return 0;
}

static void mem_destroy(th_backend *be)
{
    mem_backend *m = (mem_backend *)be;
    munmap(m->data, m->map_len);
    free(m);
}

static const th_backend_ops mem_ops = {mem_read, mem_write, mem_flush, mem_discard, mem_destroy};

int th_backend_memory_new(uint64_t size, th_backend **out, char *err, size_t errlen)
{
    if (size == 0 || size > ((uint64_t)1 << 46))
        return th_emu_fail(err, errlen, -EINVAL, "memory size %llu is not from 1 byte to 64 TiB",
                           (unsigned long long)size);
    mem_backend *m = calloc(1, sizeof(*m));
    if (!m) return th_emu_fail(err, errlen, -ENOMEM, "out of memory");
    m->map_len = (size_t)size;
    m->data = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m->data == MAP_FAILED) {
        free(m);
        return th_emu_fail(err, errlen, -ENOMEM, "cannot map %llu bytes of memory",
                           (unsigned long long)size);
    }
    m->base.ops = &mem_ops;
    m->base.size = size;
    *out = &m->base;
    return 0;
}

void th_backend_free(th_backend *be)
{
    if (be) be->ops->destroy(be);
}
