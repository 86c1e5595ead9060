/* The control socket: its path, the accepting thread, a thread per client with line
 * framing, responses written whole. A client never takes serve down: writes use
 * MSG_NOSIGNAL, a line that is too long closes only that connection. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "control_internal.h"

/* How long a stop lets the requests under way send their answers. */
#define STOP_DRAIN_MS 3000

#define READ_CHUNK        65536
#define ACCEPT_BACKOFF_MS 100 /* out of descriptors: how long before accepting again */

bool ctl_stopping(const struct ctl_server *srv)
{
    return __atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE);
}

int ctl_fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return rc;
}

/* Writes all of buf; false if the peer is gone (no SIGPIPE: serve goes on). */
static bool send_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        buf += w;
        n -= (size_t)w;
    }
    return true;
}

static bool send_line(int fd, ctl_json *j)
{
    j->first = true; /* a newline after the closing brace, not an item: no comma */
    ctl_json_rawn(j, "\n", 1);
    return !j->oom && send_all(fd, j->buf, j->len);
}

/* Answers a line over the limit; the connection is closed after it. */
static void too_long(ctl_client *c, ctl_json *out)
{
    char msg[96];
    snprintf(msg, sizeof(msg),
             "request:1:1: a request line is longer than %d bytes; closing the connection",
             SC_REQ_LINE_MAX);
    ctl_json_reset(out);
    ctl_error_response(out, NULL, msg);
    send_line(c->fd, out);
}

/* The lines in buf[0, *len): each answered in turn; a partial line stays. false: close. */
static bool serve_lines(ctl_client *c, char *buf, size_t *len, ctl_json *out)
{
    size_t start = 0;
    for (char *nl; (nl = memchr(buf + start, '\n', *len - start)); start = (size_t)(nl - buf) + 1) {
        size_t n = (size_t)(nl - (buf + start));
        if (n && buf[start + n - 1] == '\r') n--;
        if (n > SC_REQ_LINE_MAX) { /* the buffer holds a '\r' more than the limit */
            too_long(c, out);
            return false;
        }
        ctl_json_reset(out);
        __atomic_add_fetch(&c->srv->busy, 1, __ATOMIC_ACQ_REL);
        ctl_dispatch(c, buf + start, n, out);
        bool sent = send_line(c->fd, out);
        __atomic_sub_fetch(&c->srv->busy, 1, __ATOMIC_ACQ_REL);
        if (!sent) return false;
        if (c->shutdown_after) {
            c->shutdown_after = false;
            c->srv->o.on_shutdown(c->srv->o.arg);
        }
        if (ctl_stopping(c->srv)) return false;
    }
    memmove(buf, buf + start, *len - start);
    *len -= start;
    return true;
}

static void *client_main(void *arg)
{
    ctl_client *c = arg;
    /* a line, its '\r' and its newline: a 1 MiB line ended "\r\n" is as good as "\n" */
    size_t cap = 4096, len = 0, max = SC_REQ_LINE_MAX + 2;
    char *buf = malloc(cap);
    c->model = calloc(1, sizeof(*c->model)); /* its lists: reused by each request */
    if (!c->model) free(buf), buf = NULL;
    ctl_json out;
    ctl_json_init(&out);
    while (buf && !ctl_stopping(c->srv)) {
        if (len == cap && cap < max) {
            size_t ncap = cap * 4 < max ? cap * 4 : max;
            char *nb = realloc(buf, ncap);
            if (!nb) break;
            buf = nb, cap = ncap;
        }
        if (len == max) { /* no newline in max bytes */
            too_long(c, &out);
            break;
        }
        size_t want = cap - len < READ_CHUNK ? cap - len : READ_CHUNK;
        ssize_t r = recv(c->fd, buf + len, want, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break; /* hang-up (a partial line is no request) or stop */
        len += (size_t)r;
        if (!serve_lines(c, buf, &len, &out)) break;
    }
    free(buf);
    ctl_json_free(&out);
    if (c->model) sc_free(c->model);
    free(c->model);
    c->model = NULL;
    pthread_mutex_lock(&c->srv->lock);
    close(c->fd);
    c->fd = -1;
    c->done = true;
    c->srv->live--;
    pthread_mutex_unlock(&c->srv->lock);
    return NULL;
}

/* Joins and frees the clients whose threads are over (all of them with all=true, after
 * their connections were shut down). */
static void reap(ctl_server *srv, bool all)
{
    for (;;) {
        pthread_mutex_lock(&srv->lock);
        ctl_client **pp = &srv->clients, *c = NULL;
        for (; *pp; pp = &(*pp)->next)
            if ((*pp)->done || all) {
                c = *pp;
                *pp = c->next;
                break;
            }
        pthread_mutex_unlock(&srv->lock);
        if (!c) return;
        pthread_join(c->thread, NULL);
        free(c);
    }
}

static void refuse(int fd, int max)
{
    char msg[96];
    snprintf(msg, sizeof(msg), "too many clients: at most %d may be connected", max);
    ctl_json out;
    ctl_json_init(&out);
    ctl_error_response(&out, NULL, msg);
    send_line(fd, &out);
    ctl_json_free(&out);
    close(fd);
}

/* false: out of descriptors (the connection stays queued; the caller backs off). */
static bool accept_one(ctl_server *srv)
{
    int fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) /* EINTR, ECONNABORTED: the next poll tries again */
        return errno != EMFILE && errno != ENFILE && errno != ENOBUFS && errno != ENOMEM;
    reap(srv, false);
    pthread_mutex_lock(&srv->lock);
    bool full = srv->live >= srv->o.max_clients;
    pthread_mutex_unlock(&srv->lock);
    if (full) {
        refuse(fd, srv->o.max_clients);
        return true;
    }
    ctl_client *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return true;
    }
    c->srv = srv;
    c->fd = fd;
    pthread_mutex_lock(&srv->lock);
    if (pthread_create(&c->thread, NULL, client_main, c)) {
        pthread_mutex_unlock(&srv->lock);
        close(fd);
        free(c);
        return true;
    }
    c->next = srv->clients;
    srv->clients = c;
    srv->live++;
    pthread_mutex_unlock(&srv->lock);
    return true;
}

static void *accept_main(void *arg)
{
    ctl_server *srv = arg;
    struct pollfd p[2] = {{srv->lfd, POLLIN, 0}, {srv->wake[0], POLLIN, 0}};
    bool starved = false;
    while (!ctl_stopping(srv)) {
        /* Out of descriptors, the listening socket stays readable: poll only the wake pipe
         * for a while, or this loop spins a core until a client goes away. */
        if (poll(starved ? p + 1 : p, starved ? 1 : 2, starved ? ACCEPT_BACKOFF_MS : -1) < 0 &&
            errno != EINTR)
            break;
        if (p[1].revents) break;
        starved = !starved && (p[0].revents & POLLIN) && !accept_one(srv);
        p[0].revents = 0;
    }
    return NULL;
}

/* What is at path may be replaced only if it is a socket of this user nobody listens on
 * (a serve that died). 0: nothing there (any more). */
static int clear_path(const char *path, char *err, size_t cap)
{
    struct stat st;
    if (lstat(path, &st)) {
        if (errno == ENOENT) return 0;
        return ctl_fail(err, cap, -errno, "control socket %s: %s", path, strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode))
        return ctl_fail(err, cap, -EEXIST,
                        "control socket %s: exists and is not a socket; not replacing it", path);
    if (st.st_uid != geteuid())
        return ctl_fail(err, cap, -EPERM,
                        "control socket %s: a socket of uid %u, not ours; not replacing it", path,
                        (unsigned)st.st_uid);
    /* Non-blocking: a blocking connect to a listener whose backlog is full waits until
     * it accepts, forever if it is hung; EAGAIN says someone listens all the same. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return ctl_fail(err, cap, -errno, "socket: %s", strerror(errno));
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, path, strlen(path) + 1);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    int e = errno;
    close(fd);
    if (!rc || e == EAGAIN || e == EINPROGRESS)
        return ctl_fail(err, cap, -EADDRINUSE,
                        "control socket %s: a server is listening there already", path);
    if (e != ECONNREFUSED)
        return ctl_fail(err, cap, -e, "control socket %s: %s; not replacing it", path, strerror(e));
    if (unlink(path) && errno != ENOENT)
        return ctl_fail(err, cap, -errno, "control socket %s: removing the stale socket: %s", path,
                        strerror(errno));
    return 0;
}

/* A listening socket at path whose file is mode 0600 from the moment it exists: Linux
 * gives the file the mode of the unbound socket's inode (less the umask), so set that
 * first; checked after bind all the same. */
static int listen_at(ctl_server *srv, const char *path, char *err, size_t cap)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ctl_fail(err, cap, -errno, "socket: %s", strerror(errno));
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, path, strlen(path) + 1);
    struct stat st;
    int rc = 0;
    if (fchmod(fd, 0600))
        rc = ctl_fail(err, cap, -errno, "control socket %s: fchmod: %s", path, strerror(errno));
    else if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
        rc = ctl_fail(err, cap, -errno, "control socket %s: %s", path, strerror(errno));
    else if (lstat(path, &st) || (st.st_mode & 077)) {
        rc = ctl_fail(err, cap, -EACCES, "control socket %s: not mode 0600 after bind", path);
        unlink(path);
    } else if (listen(fd, 64)) {
        rc = ctl_fail(err, cap, -errno, "control socket %s: listen: %s", path, strerror(errno));
        unlink(path);
    }
    if (rc) {
        close(fd);
        return rc;
    }
    srv->lfd = fd;
    srv->dev = st.st_dev;
    srv->ino = st.st_ino;
    return 0;
}

int ctl_path_check(const char *path, char *err, size_t cap)
{
    if (!path || !*path) return ctl_fail(err, cap, -EINVAL, "control socket: an empty path");
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return ctl_fail(err, cap, -ENAMETOOLONG,
                        "control socket %s: longer than %zu bytes (a Unix socket's limit)", path,
                        sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    return 0;
}

int ctl_server_start(sc_session *s, const char *path, const ctl_opts *o, ctl_server **out,
                     char *err, size_t cap)
{
    *out = NULL;
    int rc = ctl_path_check(path, err, cap);
    if (rc) return rc;
    ctl_server *srv = calloc(1, sizeof(*srv));
    if (!srv) return ctl_fail(err, cap, -ENOMEM, "out of memory");
    srv->s = s;
    if (o) srv->o = *o;
    if (srv->o.max_clients <= 0) srv->o.max_clients = CTL_MAX_CLIENTS;
    snprintf(srv->path, sizeof(srv->path), "%s", path);
    srv->lfd = srv->wake[0] = srv->wake[1] = -1;
    pthread_mutex_init(&srv->lock, NULL);
    rc = clear_path(path, err, cap);
    if (!rc) rc = listen_at(srv, path, err, cap);
    if (!rc && pipe2(srv->wake, O_CLOEXEC))
        rc = ctl_fail(err, cap, -errno, "pipe: %s", strerror(errno));
    if (!rc && (rc = -pthread_create(&srv->acceptor, NULL, accept_main, srv)))
        ctl_fail(err, cap, rc, "control socket %s: thread: %s", path, strerror(-rc));
    if (rc) {
        if (srv->lfd >= 0) {
            close(srv->lfd);
            unlink(path);
        }
        if (srv->wake[0] >= 0) close(srv->wake[0]), close(srv->wake[1]);
        pthread_mutex_destroy(&srv->lock);
        free(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

void ctl_server_stop(ctl_server *srv)
{
    if (!srv) return;
    __atomic_store_n(&srv->stopping, 1, __ATOMIC_RELEASE);
    char b = 1;
    while (write(srv->wake[1], &b, 1) < 0 && errno == EINTR) {
    }
    pthread_join(srv->acceptor, NULL);
    /* First let the requests under way answer (a wait: "the server is stopping", at its
     * next slice or on the wake), bounded so a peer that does not read cannot hold the
     * stop; then readers see end of file, writers EPIPE. */
    sc_trace *t = sc_session_trace(srv->s);
    for (int ms = 0; ms < STOP_DRAIN_MS && __atomic_load_n(&srv->busy, __ATOMIC_ACQUIRE); ms += 5) {
        if (t) sc_trace_wake(t);
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
    pthread_mutex_lock(&srv->lock);
    for (ctl_client *c = srv->clients; c; c = c->next)
        if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&srv->lock);
    if (t) sc_trace_wake(t);
    reap(srv, true);
    struct stat st;
    if (!lstat(srv->path, &st) && st.st_dev == srv->dev && st.st_ino == srv->ino) unlink(srv->path);
    close(srv->lfd);
    close(srv->wake[0]);
    close(srv->wake[1]);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
