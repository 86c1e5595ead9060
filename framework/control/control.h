/* The control channel: a Unix socket speaking JSON lines (docs/control-protocol.md) over
 * a session, so a live serve can be driven from tests and shells. One thread per client;
 * a client that blocks (wait) or vanishes holds up no other. */
#ifndef TH_CONTROL_H
#define TH_CONTROL_H
#include <stddef.h>
#include "../scenario/request.h"
#include "../scenario/session.h"

#define CTL_PROTOCOL    SC_REQ_PROTOCOL /* request.h */
#define CTL_MAX_CLIENTS 64

typedef struct ctl_server ctl_server;

typedef struct ctl_opts {
    /* A `shutdown` request was answered: the owner should stop the server and tear the
     * session down (serve: raise SIGTERM for its sigwait). Called on a client's thread;
     * must not call ctl_server_stop itself. NULL: shutdown is refused. */
    void (*on_shutdown)(void *arg);
    void *arg;
    int max_clients;       /* 0: CTL_MAX_CLIENTS */
    const char *kmsg_path; /* kmsg_mark/kmsg_check read it; NULL: /dev/kmsg */
} ctl_opts;

/* Listens at path (mode 0600): refuses a path that exists and is not a socket, and a
 * socket someone listens on; replaces a stale socket (nobody listening) of this user.
 * 0, or -errno with the reason in err. The session must outlive the server. */
int ctl_server_start(sc_session *s, const char *path, const ctl_opts *o, ctl_server **out,
                     char *err, size_t cap);
/* 0 when path can be a control socket (not empty, fits sun_path), else -errno + err.
 * Checked before the lock, so a refused path leaves no PATH.lock behind. */
int ctl_path_check(const char *path, char *err, size_t cap);
/* An exclusive lock on PATH.lock (lock.c), for the server's whole life: taken before any
 * device is made, so a second serve on the same path does no kernel work. Opened with
 * O_NOFOLLOW, mode 0600; a non-regular file, a hard-linked one or another user's is
 * refused untouched. 0 with *fd; -EBUSY with "another serve (pid N) holds PATH.lock" in
 * err, or another -errno. Removed by ctl_lock_release, under the lock. */
int ctl_lock_take(const char *path, int *fd, char *err, size_t cap);
void ctl_lock_release(const char *path, int fd); /* -1 is fine */
/* Stops accepting, ends every connection (a blocked wait answers that the server is
 * stopping: requests under way get up to 3 s to answer first), joins the threads, removes the
 * socket. NULL is fine. */
void ctl_server_stop(ctl_server *srv);

#endif
