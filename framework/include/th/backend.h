/* Storage behind an emulation: memory or a file. */
#ifndef TH_BACKEND_H
#define TH_BACKEND_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

typedef struct th_backend th_backend;

typedef struct th_backend_ops {
    /* Return 0 or a negative errno; offsets are checked by the caller. */
    int (*read)(th_backend *be, void *buf, uint64_t off, size_t len);
    int (*write)(th_backend *be, const void *buf, uint64_t off, size_t len);
    int (*flush)(th_backend *be);
    int (*discard)(th_backend *be, uint64_t off, uint64_t len); /* reads back zeros */
    void (*destroy)(th_backend *be);
} th_backend_ops;

struct th_backend {
    const th_backend_ops *ops;
    uint64_t size;
};

/* Errors, here and in th/disk.h and th/tape.h: a negative errno is returned, and when
 * err is not NULL a message saying what was wrong is written to it (errlen bytes at
 * most, always terminated); on success err is left alone. */
int th_backend_memory_new(uint64_t size, th_backend **out, char *err, size_t errlen);
/* Opens or creates PATH and sizes it; sparse files stay sparse. */
int th_backend_file_open(const char *path, uint64_t size, bool create, th_backend **out, char *err,
                         size_t errlen);
void th_backend_free(th_backend *be);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif
