/* ctl: one control request from a shell; prints the response line. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

static const char ctl_usage[] =
    "usage: tcmu-harness ctl [--timeout SECONDS] PATH REQUEST|-\n"
    "  Sends one request to the control socket of a `serve --control PATH` and prints\n"
    "  the response line. REQUEST is a JSON object ('-': read it from stdin; line breaks\n"
    "  in it are taken as spaces), e.g. '{\"request\": \"devices\"}' (protocol 2).\n"
    "  See docs/control-protocol.md.\n"
    "  --timeout SECONDS  give up waiting for the response (default: wait as long as it\n"
    "                     takes; a `wait` request has its own timeout)\n"
    "Exit status: 0 the response says ok, 1 it does not, 2 usage or connection error.\n";

#define RESPONSE_MAX (256u << 20)
#define REQUEST_MAX  (1u << 20) /* SC_REQ_LINE_MAX: the server refuses a longer line */

static int ctl_fail(const char *fmt, const char *a, const char *b)
{
    fputs("tcmu-harness ctl: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return CLI_USAGE;
}

/* The request as one line: line breaks (whitespace in JSON, never raw inside a string)
 * become spaces, and a newline ends it. */
static char *request_line(const char *arg, size_t *len)
{
    char *text = NULL;
    size_t n = 0;
    if (!strcmp(arg, "-")) {
        FILE *m = open_memstream(&text, &n);
        char chunk[65536];
        size_t r;
        /* Bounded: the server takes at most REQUEST_MAX bytes a line, and `ctl S - </dev/zero`
         * read until memory ran out. */
        while (m && n <= REQUEST_MAX && (r = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
            fwrite(chunk, 1, r, m), fflush(m);
        if (!m || fclose(m)) return NULL;
        if (n > REQUEST_MAX) {
            free(text);
            errno = EMSGSIZE;
            return NULL;
        }
    } else {
        text = strdup(arg);
        n = text ? strlen(text) : 0;
    }
    if (!text) return NULL;
    while (n && strchr("\r\n \t", text[n - 1])) n--;
    for (size_t i = 0; i < n; i++)
        if (text[i] == '\n' || text[i] == '\r') text[i] = ' ';
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = 0;
    *len = n + 1;
    return line;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads up to the first newline; NULL on a hang-up, an error or the deadline (< 0: none). */
static char *read_response(int fd, long long deadline, const char **why)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        int wait = deadline < 0 ? -1 : (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0);
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, wait);
        if (pr < 0 && errno == EINTR) continue;
        if (pr == 0) {
            *why = "no response within the timeout";
            break;
        }
        if (len + 1 >= cap) {
            char *nb = cap < RESPONSE_MAX ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                *why = "the response is too large";
                break;
            }
            buf = nb, cap *= 2;
        }
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            *why = r ? strerror(errno) : "the server closed the connection without a response";
            break;
        }
        char *nl = memchr(buf + len, '\n', (size_t)r);
        len += (size_t)r;
        if (nl) {
            nl[1] = 0;
            return buf;
        }
    }
    free(buf);
    return NULL;
}

int cmd_ctl(int argc, char **argv)
{
    static const struct option longs[] = {
        {"timeout", 1, 0, 't'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    double timeout_s = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
        char *end;
        if (c == 'h') {
            fputs(ctl_usage, stdout);
            return 0;
        }
        /* Decimal only: strtod also reads 0x10 (16 s), "inf" and leading blanks. */
        if (c == 't' && strspn(optarg, "0123456789.") == strlen(optarg) &&
            (timeout_s = strtod(optarg, &end), *optarg && !*end) && timeout_s > 0 &&
            timeout_s <= 86400)
            continue;
        if (c == 't')
            fprintf(
                stderr,
                "tcmu-harness ctl: --timeout %s: not a number of seconds above 0 (at most 86400)\n",
                optarg);
        fputs(ctl_usage, stderr);
        return CLI_USAGE;
    }
    if (argc - optind != 2) {
        fputs(ctl_usage, stderr);
        return CLI_USAGE;
    }
    const char *path = argv[optind], *arg = argv[optind + 1];
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path))
        return ctl_fail("%s: longer than a Unix socket path may be%s", path, "");
    memcpy(a.sun_path, path, strlen(path) + 1);
    size_t len;
    char *line = request_line(arg, &len);
    if (!line && errno == EMSGSIZE)
        return ctl_fail("the request on stdin is larger than %s bytes%s", "1048576", "");
    if (!line) return ctl_fail("reading the request: %s%s", strerror(errno), "");
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        int rc = ctl_fail("cannot connect to %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        free(line);
        return rc;
    }
    long long deadline = timeout_s < 0 ? -1 : now_ms() + (long long)(timeout_s * 1000);
    const char *why = NULL;
    char *resp = NULL;
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, line + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            why = "the server closed the connection before it took the request";
            break;
        }
        off += (size_t)w;
    }
    free(line);
    if (!why) resp = read_response(fd, deadline, &why);
    close(fd);
    if (!resp) return ctl_fail("%s: %s", path, why);
    fputs(resp, stdout);
    fflush(stdout);
    /* The server writes "ok" first, always. */
    int rc = !strncmp(resp, "{\"ok\":true", 10) ? 0 : 1;
    free(resp);
    return rc;
}
