/* The control server's parts: the connections (server.c) and the requests (dispatch.c). */
#ifndef TH_CONTROL_INTERNAL_H
#define TH_CONTROL_INTERNAL_H
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include "../scenario/request.h"
#include "control.h"
#include "json.h"

typedef struct ctl_client {
    struct ctl_server *srv;
    int fd; /* -1 once closed (under srv->lock) */
    pthread_t thread;
    bool done;           /* the thread is over and may be joined */
    bool shutdown_after; /* the response just sent answered `shutdown` */
    scenario *model;     /* the live devices for a request's checks (allocated on first use) */
    struct ctl_client *next;
} ctl_client;

struct ctl_server {
    sc_session *s;
    ctl_opts o;
    char path[108];
    dev_t dev; /* the socket file we made, so stop removes only that */
    ino_t ino;
    int lfd;
    int wake[2]; /* wakes the accepting thread at stop */
    pthread_t acceptor;
    pthread_mutex_t lock;
    ctl_client *clients;
    int live;
    int stopping;     /* atomic */
    int waiting;      /* atomic: clients inside a `wait` (tests synchronise on it) */
    int busy;         /* atomic: clients between a request and its answer sent (stop waits) */
    unsigned unnamed; /* atomic: rules added without a name so far (rule-N) */
};

/* Answers one request line (one JSON object, no newline) into out. */
void ctl_dispatch(ctl_client *c, const char *line, size_t len, ctl_json *out);
/* An error response without a parsed request (too many clients, a line too long). */
/* Writes the message into err and returns rc (a negative errno). */
int ctl_fail(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ctl_error_response(ctl_json *out, const char *id, const char *msg);
bool ctl_stopping(const struct ctl_server *srv);

#endif
