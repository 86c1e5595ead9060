/* A control server over a session without the kernel, and a client for it: what the
 * control tests share. */
#ifndef TH_TEST_CONTROL_RIG_H
#define TH_TEST_CONTROL_RIG_H
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "control/control_internal.h"
#include "session_rig.h"

typedef struct ctl_rig {
    sc_session *s;
    ctl_server *srv;
    char dir[64], path[96], kmsg[96]; /* kmsg: the file kmsg_mark and kmsg_check read */
    int shutdowns;                    /* atomic: on_shutdown calls */
} ctl_rig;

static inline void ctl_rig_on_shutdown(void *arg)
{
    __atomic_fetch_add(&((ctl_rig *)arg)->shutdowns, 1, __ATOMIC_RELAXED);
}

static inline void ctl_rig_dir(ctl_rig *r)
{
    snprintf(r->dir, sizeof(r->dir), "/tmp/th-ctl-XXXXXX");
    cr_assert_not_null(mkdtemp(r->dir));
    snprintf(r->path, sizeof(r->path), "%s/sock", r->dir);
    snprintf(r->kmsg, sizeof(r->kmsg), "%s/kmsg", r->dir);
}

/* d0 (a disk with rule r0: BUSY to TEST UNIT READY) and t0 (a tape), served at r->path. */
static inline void ctl_rig_up(ctl_rig *r, int max_clients)
{
    memset(r, 0, sizeof(*r));
    ctl_rig_dir(r);
    r->s = rig_session();
    char err[512];
    cr_assert_eq(rig_add(r->s, "d0", "disk", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rig_add(r->s, "t0", "tape", err, sizeof(err)), 0, "%s", err);
    sc_step add = rig_rule("d0", "r0", -1);
    add.rule.rule.match.op = 0x00;
    add.rule.rule.action.pass = false;
    add.rule.rule.action.status = 0x08; /* BUSY */
    cr_assert_eq(sc_session_act(r->s, &add, err, sizeof(err)), 0, "%s", err);
    ctl_opts o = {.on_shutdown = ctl_rig_on_shutdown,
                  .arg = r,
                  .max_clients = max_clients,
                  .kmsg_path = r->kmsg};
    cr_assert_eq(ctl_server_start(r->s, r->path, &o, &r->srv, err, sizeof(err)), 0, "%s", err);
}

static inline void ctl_rig_down(ctl_rig *r)
{
    ctl_server_stop(r->srv);
    char err[512];
    cr_assert_eq(sc_session_close(r->s, err, sizeof(err)), 0, "%s", err);
    unlink(r->path);
    unlink(r->kmsg);
    rmdir(r->dir);
}

static inline int ctl_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect %s: %s", path,
                 strerror(errno));
    return fd;
}

static inline bool ctl_send(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        buf += w, n -= (size_t)w;
    }
    return true;
}

/* One response line (malloc'd, without its newline); NULL at end of file. */
static inline char *ctl_read_line(int fd)
{
    size_t cap = 4096, len = 0;
    char *b = malloc(cap);
    cr_assert_not_null(b);
    for (;;) {
        if (len + 1 == cap) {
            b = realloc(b, cap *= 2);
            cr_assert_not_null(b);
        }
        ssize_t r = recv(fd, b + len, 1, 0); /* byte by byte: the next line stays queued */
        if (r <= 0) {
            free(b);
            return NULL;
        }
        if (b[len] == '\n') break;
        len++;
    }
    b[len] = 0;
    return b;
}

/* A request and its response on an open connection. */
static inline char *ctl_ask(int fd, const char *req)
{
    cr_assert(ctl_send(fd, req, strlen(req)) && ctl_send(fd, "\n", 1), "send %s", req);
    char *resp = ctl_read_line(fd);
    cr_assert_not_null(resp, "no response to %s", req);
    return resp;
}

/* One request on a connection of its own. */
static inline char *ctl_ask1(const ctl_rig *r, const char *req)
{
    int fd = ctl_connect(r->path);
    char *resp = ctl_ask(fd, req);
    close(fd);
    return resp;
}

/* Until the server has n clients (the threads see hang-ups on their own time). */
static inline void ctl_rig_await_clients(ctl_rig *r, int n)
{
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&r->srv->lock);
        int live = r->srv->live;
        pthread_mutex_unlock(&r->srv->lock);
        if (live == n) return;
        usleep(1000);
    }
    cr_assert(false, "the server still has clients other than %d after 10 s", n);
}

/* Until n clients are blocked inside a `wait` (their request was parsed and checked). */
static inline void ctl_rig_await_waiting(ctl_rig *r, int n)
{
    for (int i = 0; i < 10000; i++) {
        if (__atomic_load_n(&r->srv->waiting, __ATOMIC_ACQUIRE) == n) return;
        usleep(1000);
    }
    cr_assert(false, "not %d clients inside a wait after 10 s", n);
}

#endif
