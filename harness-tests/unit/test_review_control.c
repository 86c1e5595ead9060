/* Review of the control channel: hostile lines at the framing's edges, clients that do
 * not read, fd accounting, stop against clients that are mid-request. Threaded: in the
 * TSan lane too. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include "control_rig.h"

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* A line of exactly n bytes: a version request padded with blanks inside the object. */
static char *line_of(size_t n, const char *end)
{
    const char *head = "{\"request\":\"version\",\"id\":1", *tail = "}";
    size_t e = strlen(end);
    char *b = malloc(n + e + 1);
    cr_assert_not_null(b);
    memset(b, ' ', n);
    memcpy(b, head, strlen(head));
    memcpy(b + n - strlen(tail), tail, strlen(tail));
    memcpy(b + n, end, e + 1);
    return b;
}

static bool is_ok(const char *resp)
{
    return resp && !strncmp(resp, "{\"ok\":true,\"id\":1,", 18);
}

/* The doc: a '\r' before the newline is dropped and a line may be 1 MiB; so a 1 MiB line
 * ended "\r\n" is the same request as one ended "\n". */
Test(review_control, a_1MiB_line_with_crlf)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    int fd = ctl_connect(r.path);
    char *lf = line_of(SC_REQ_LINE_MAX, "\n"), *crlf = line_of(SC_REQ_LINE_MAX, "\r\n");
    cr_assert(ctl_send(fd, lf, strlen(lf)));
    char *resp = ctl_read_line(fd);
    cr_assert(is_ok(resp), "1 MiB + LF: %.200s", resp);
    free(resp);
    cr_assert(ctl_send(fd, crlf, strlen(crlf)));
    resp = ctl_read_line(fd);
    cr_assert(is_ok(resp), "1 MiB + CRLF: %.200s", resp);
    free(resp);
    close(fd);
    free(lf);
    free(crlf);
    ctl_rig_down(&r);
}

/* One byte more than the limit, however it ends, is the too-long answer and a close. */
Test(review_control, one_byte_over_the_limit_closes)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    static const char *const ends[] = {"\n", "\r\n"};
    for (size_t i = 0; i < 2; i++) {
        int fd = ctl_connect(r.path);
        char *b = line_of(SC_REQ_LINE_MAX + 1, ends[i]);
        ctl_send(fd, b, strlen(b));
        char *resp = ctl_read_line(fd);
        cr_assert(resp && strstr(resp, "a request line is longer than 1048576 bytes"),
                  "%zu: %.200s", i, resp);
        free(resp);
        cr_assert(ctl_read_line(fd) == NULL, "%zu: then the connection is closed", i);
        close(fd);
        free(b);
    }
    ctl_rig_down(&r);
}

/* Two requests split into two sends at every byte: the same two answers each time. */
Test(review_control, split_at_every_byte)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    const char *two = "{\"request\":\"version\",\"id\":1}\r\n{\"request\":\"version\",\"id\":1}\n";
    size_t n = strlen(two);
    int fd = ctl_connect(r.path);
    for (size_t k = 1; k < n; k++) {
        cr_assert(ctl_send(fd, two, k));
        usleep(200); /* not for correctness: so the server's reads do see the split */
        cr_assert(ctl_send(fd, two + k, n - k));
        for (int i = 0; i < 2; i++) {
            char *resp = ctl_read_line(fd);
            cr_assert(is_ok(resp), "split at %zu, answer %d: %s", k, i, resp);
            free(resp);
        }
    }
    close(fd);
    ctl_rig_down(&r);
}

/* The id is echoed as sent: whatever the server accepts as an id must make a response
 * a JSON parser takes. YAML's own escapes and trailing commas are not JSON ("\0" is
 * refused as a NUL character already). */
static const char *const not_json_ids[] = {
    "\"\\x41\"", "\"\\e\"",  "\"\\N\"", "\"\\_\"",    "\"\\U0001F600\"", "\"\\a\"",
    "\"\\v\"",   "\"a\tb\"", "[1,2,]",  "{\"a\":1,}", "[1, ]",
};

Test(review_control, ids_that_are_not_json_are_refused)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    int fd = ctl_connect(r.path);
    for (size_t i = 0; i < sizeof(not_json_ids) / sizeof(not_json_ids[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "{\"request\":\"version\",\"id\":%s}", not_json_ids[i]);
        char *resp = ctl_ask(fd, req);
        cr_assert(!strncmp(resp, "{\"ok\":false,\"id\":null,\"error\":\"request:1:", 41), "%s: %s",
                  req, resp);
        cr_assert(strstr(resp, "not JSON"), "%s: %s", req, resp);
        free(resp);
    }
    /* Also a trailing comma in the request object itself. */
    char *resp = ctl_ask(fd, "{\"request\":\"version\",}");
    cr_assert(strstr(resp, "not JSON"), "%s", resp);
    free(resp);
    /* JSON's own escapes stay fine, and so does a comma inside a string. */
    resp =
        ctl_ask(fd, "{\"request\":\"version\",\"id\":[\"\\/\\b\\f\\n\\r\\t\\\"\\\\\\u00e9,]\"]}");
    cr_assert(!strncmp(resp, "{\"ok\":true,\"id\":[\"\\/\\b\\f\\n\\r\\t\\\"\\\\\\u00e9,]\"],", 36),
              "%s", resp);
    free(resp);
    close(fd);
    ctl_rig_down(&r);
}

/* Python's json.dumps writes a character beyond U+FFFF as a surrogate pair escape. */
Test(review_control, surrogate_pairs)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    int fd = ctl_connect(r.path);
    char *resp = ctl_ask(fd, "{\"request\":\"version\",\"id\":\"\\ud83d\\ude00\"}");
    cr_assert(strstr(resp, "surrogate"), "%s", resp);
    free(resp);
    close(fd);
    ctl_rig_down(&r);
}

/* Many clients come and go (some beyond the cap): no descriptor stays behind. */
Test(review_control, no_fd_leak)
{
    int before = count_fds();
    ctl_rig r;
    ctl_rig_up(&r, 2);
    int during = count_fds();
    int held[2];
    for (int i = 0; i < 2; i++) {
        held[i] = ctl_connect(r.path);
        free(ctl_ask(held[i], "{\"request\":\"version\"}"));
    }
    for (int i = 0; i < 200; i++) {
        int fd = ctl_connect(r.path); /* beyond the cap: refused and closed */
        free(ctl_read_line(fd));
        close(fd);
    }
    for (int i = 0; i < 2; i++) close(held[i]);
    ctl_rig_await_clients(&r, 0);
    for (int i = 0; i < 200; i++) {
        int fd = ctl_connect(r.path);
        if (i % 2) free(ctl_ask(fd, "{\"request\":\"version\"}"));
        close(fd);
        ctl_rig_await_clients(&r, 0);
    }
    cr_assert_eq(count_fds(), during);
    ctl_rig_down(&r);
    cr_assert_eq(count_fds(), before);
}

typedef struct stopper {
    ctl_server *srv;
    int done; /* atomic */
} stopper;

static void *stop_thread(void *arg)
{
    stopper *s = arg;
    ctl_server_stop(s->srv);
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* A client that sends and never reads: its thread blocks on send; stop must still end. */
Test(review_control, stop_with_a_client_that_never_reads, .timeout = 60)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    int fd = ctl_connect(r.path);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    const char *req = "{\"request\":\"devices\"}\n";
    size_t sent = 0;
    for (int idle = 0; idle < 50;) { /* until neither side takes more */
        ssize_t w = send(fd, req, strlen(req), MSG_NOSIGNAL);
        if (w > 0) {
            sent += (size_t)w, idle = 0;
            continue;
        }
        idle++;
        usleep(10000);
    }
    cr_assert_gt(sent, 1000u, "sent %zu", sent); /* both queues full: the server blocks in send */
    fprintf(stderr, "never-reads: %zu bytes of requests queued\n", sent);
    stopper s = {r.srv, 0};
    pthread_t t;
    pthread_create(&t, NULL, stop_thread, &s);
    pthread_join(t, NULL); /* the test's timeout catches a hang */
    cr_assert(__atomic_load_n(&s.done, __ATOMIC_ACQUIRE));
    close(fd);
    char err[256];
    cr_assert_eq(sc_session_close(r.s, err, sizeof(err)), 0, "%s", err);
    rmdir(r.dir);
}

typedef struct asker {
    const char *path, *req;
    char *resp;
} asker;

static void *ask_main(void *arg)
{
    asker *a = arg;
    int fd = ctl_connect(a->path);
    ctl_send(fd, a->req, strlen(a->req));
    ctl_send(fd, "\n", 1);
    a->resp = ctl_read_line(fd);
    close(fd);
    return NULL;
}

/* The device a wait names goes away: the wait is still answered (at its timeout), and a
 * device of the same name added later is what it then watches. */
Test(review_control, remove_device_under_a_wait, .timeout = 60)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    asker a = {r.path, "{\"request\":\"wait\",\"device\":\"d0\",\"timeout\":2}", NULL};
    pthread_t t;
    pthread_create(&t, NULL, ask_main, &a);
    ctl_rig_await_waiting(&r, 1); /* connected is not enough: the wait must be past parsing */
    char *resp = ctl_ask1(&r, "{\"request\":\"remove_device\",\"device\":\"d0\"}");
    cr_assert(!strncmp(resp, "{\"ok\":true", 10), "%s", resp);
    free(resp);
    pthread_join(t, NULL);
    cr_assert(a.resp && strstr(a.resp, "wait: 0 of 1 matching entries"), "%s", a.resp);
    free(a.resp);
    ctl_rig_down(&r);
}

/* shutdown while other clients are mid-wait, then stop from another thread while those
 * are still inside: all answered or closed, nothing used after it is freed (ASan/TSan). */
Test(review_control, shutdown_and_stop_with_clients_inside, .timeout = 60)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    asker w[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        w[i] =
            (asker){r.path,
                    i % 2 ? "{\"request\":\"wait\",\"device\":\"d0\",\"count\":5,\"timeout\":600}"
                          : "{\"request\":\"trace\",\"max\":100000}",
                    NULL};
        pthread_create(&t[i], NULL, ask_main, &w[i]);
    }
    char *resp = ctl_ask1(&r, "{\"request\":\"shutdown\",\"id\":\"s\"}");
    cr_assert_str_eq(resp, "{\"ok\":true,\"id\":\"s\"}");
    free(resp);
    for (int i = 0; i < 100 && !__atomic_load_n(&r.shutdowns, __ATOMIC_RELAXED); i++) usleep(10000);
    cr_assert_eq(__atomic_load_n(&r.shutdowns, __ATOMIC_RELAXED), 1);
    ctl_server_stop(r.srv);
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        cr_assert(!w[i].resp || strstr(w[i].resp, i % 2 ? "the server is stopping" : "\"ok\":true"),
                  "%d: %s", i, w[i].resp);
        free(w[i].resp);
    }
    char err[256];
    cr_assert_eq(sc_session_close(r.s, err, sizeof(err)), 0, "%s", err);
    rmdir(r.dir);
}

/* Socket paths: at the limit, relative, a symlink to a stale socket, another user's. */
Test(review_control, socket_paths)
{
    ctl_rig r;
    memset(&r, 0, sizeof(r));
    ctl_rig_dir(&r);
    r.s = rig_session();
    char err[512], path[200];
    ctl_server *srv = NULL;
    /* 107 bytes fits sun_path with its NUL; 108 does not. */
    size_t dl = strlen(r.dir) + 1;
    snprintf(path, sizeof(path), "%s/", r.dir);
    memset(path + dl, 's', 107 - dl);
    path[107] = 0;
    cr_assert_eq(ctl_server_start(r.s, path, NULL, &srv, err, sizeof(err)), 0, "%s", err);
    ctl_server_stop(srv);
    path[107] = 's', path[108] = 0;
    cr_assert_eq(ctl_server_start(r.s, path, NULL, &srv, err, sizeof(err)), -ENAMETOOLONG);
    cr_assert(srv == NULL, "no server");
    /* A relative path: removed at stop where it was made. */
    char cwd[256];
    cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
    cr_assert_eq(chdir(r.dir), 0);
    cr_assert_eq(ctl_server_start(r.s, "rel.sock", NULL, &srv, err, sizeof(err)), 0, "%s", err);
    struct stat st;
    cr_assert_eq(lstat("rel.sock", &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    ctl_server_stop(srv);
    cr_assert_neq(lstat("rel.sock", &st), 0);
    /* A stale socket of another user: left alone. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "other.sock");
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
    if (!geteuid()) {
        cr_assert_eq(lchown("other.sock", 4242, 4242), 0);
        cr_assert_eq(ctl_server_start(r.s, "other.sock", NULL, &srv, err, sizeof(err)), -EPERM);
        cr_assert(strstr(err, "uid 4242"), "%s", err);
        cr_assert_eq(lstat("other.sock", &st), 0);
    }
    /* A symlink to a stale socket of ours: the symlink is refused, the socket kept. */
    cr_assert_eq(lchown("other.sock", geteuid(), getegid()), 0);
    cr_assert_eq(symlink("other.sock", "link.sock"), 0);
    cr_assert_eq(ctl_server_start(r.s, "link.sock", NULL, &srv, err, sizeof(err)), -EEXIST);
    cr_assert_eq(lstat("link.sock", &st), 0);
    cr_assert(S_ISLNK(st.st_mode));
    cr_assert_eq(lstat("other.sock", &st), 0);
    unlink("link.sock");
    unlink("other.sock");
    cr_assert_eq(chdir(cwd), 0);
    cr_assert_eq(sc_session_close(r.s, err, sizeof(err)), 0, "%s", err);
    rmdir(r.dir);
}

static int highest_fd(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    int hi = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && atoi(e->d_name) > hi) hi = atoi(e->d_name);
    closedir(d);
    return hi;
}

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* Out of descriptors, a queued connection keeps the listening socket readable and accept
 * fails: the acceptor must back off, not spin; and serve the clients once it can. */
Test(review_control, out_of_descriptors_does_not_spin, .timeout = 60)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    int fds[4];
    for (int i = 0; i < 4; i++) fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct rlimit old, low;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)highest_fd() + 1; /* no new descriptor, in any thread */
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", r.path);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    int connected = 0;
    for (int i = 0; i < 4; i++) connected += !connect(fds[i], (struct sockaddr *)&a, sizeof(a));
    double before = cpu_seconds();
    usleep(1000000);
    double spent = cpu_seconds() - before;
    setrlimit(RLIMIT_NOFILE, &old);
    cr_assert_eq(connected, 4);
    /* A spinning acceptor burns most of the second; one that backs off, next to nothing. */
    cr_assert_lt(spent, 0.3, "%.2f s of CPU in 1 s while accept had no descriptor", spent);
    for (int i = 0; i < 4; i++) {
        char *resp = ctl_ask(fds[i], "{\"request\":\"version\",\"id\":1}");
        cr_assert(is_ok(resp), "%d: %s", i, resp);
        free(resp);
        close(fds[i]);
    }
    ctl_rig_down(&r);
}

typedef struct starter {
    ctl_rig *r;
    int rc; /* atomic; 1: not returned yet */
    char err[512];
    ctl_server *srv;
} starter;

static void *start_thread(void *arg)
{
    starter *st = arg;
    int rc = ctl_server_start(st->r->s, st->r->path, NULL, &st->srv, st->err, sizeof(st->err));
    __atomic_store_n(&st->rc, rc, __ATOMIC_RELEASE);
    return NULL;
}

/* A live server at the path whose backlog is full (hung, or swamped): the stale check's
 * probe must not block until that server accepts; the path is someone's. */
Test(review_control, a_listener_with_a_full_backlog_is_refused, .timeout = 60)
{
    ctl_rig r;
    memset(&r, 0, sizeof(r));
    ctl_rig_dir(&r);
    r.s = rig_session();
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", r.path);
    cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(lfd, 0), 0);
    int queued[8], n = 0;
    for (; n < 8; n++) {
        queued[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (connect(queued[n], (struct sockaddr *)&a, sizeof(a))) break;
    }
    cr_assert_eq(errno, EAGAIN, "the backlog is full after %d", n);
    starter st = {&r, 1, "", NULL};
    pthread_t t;
    pthread_create(&t, NULL, start_thread, &st);
    int rc = 1;
    for (int i = 0; i < 1000 && (rc = __atomic_load_n(&st.rc, __ATOMIC_ACQUIRE)) == 1; i++)
        usleep(10000);
    if (rc == 1) { /* blocked in its probe: let it through, then fail */
        close(queued[n]);
        for (int i = 0; i < n; i++) close(queued[i]);
        close(accept(lfd, NULL, NULL));
    }
    pthread_join(t, NULL);
    cr_assert_neq(rc, 1, "ctl_server_start blocked on a listener whose backlog is full");
    cr_assert_eq(rc, -EADDRINUSE, "%d: %s", rc, st.err);
    cr_assert(strstr(st.err, "a server is listening there already"), "%s", st.err);
    for (int i = 0; i <= n; i++) close(queued[i]);
    close(lfd);
    char err[256];
    cr_assert_eq(sc_session_close(r.s, err, sizeof(err)), 0, "%s", err);
    unlink(r.path);
    rmdir(r.dir);
}
