/* The control socket's path (what it may replace, its mode) and rule changes over it
 * while commands run through the rules. Threaded: in the TSan lane too. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include "control_rig.h"

static int start(ctl_rig *r, char *err, size_t cap)
{
    return ctl_server_start(r->s, r->path, NULL, &r->srv, err, cap);
}

Test(control_socket, mode_0600_and_removed_at_stop)
{
    ctl_rig r = {0};
    ctl_rig_dir(&r);
    r.s = rig_session();
    mode_t old = umask(0); /* the mode must not depend on the umask being strict */
    char err[256];
    int rc = start(&r, err, sizeof(err));
    umask(old);
    cr_assert_eq(rc, 0, "%s", err);
    struct stat st;
    cr_assert_eq(lstat(r.path, &st), 0);
    cr_assert(S_ISSOCK(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    cr_assert_eq(st.st_uid, geteuid());
    ctl_server_stop(r.srv);
    cr_assert_neq(lstat(r.path, &st), 0, "removed at stop");
    cr_assert_eq(sc_session_close(r.s, err, sizeof(err)), 0);
    rmdir(r.dir);
}

Test(control_socket, a_stale_socket_is_replaced)
{
    ctl_rig r = {0};
    ctl_rig_dir(&r);
    r.s = rig_session();
    /* A serve that died: its socket file, nobody listening. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", r.path);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
    char err[256];
    cr_assert_eq(start(&r, err, sizeof(err)), 0, "%s", err);
    char *v = ctl_ask1(&r, "{\"request\":\"version\"}");
    cr_assert(!strncmp(v, "{\"ok\":true", 10), "%s", v);
    free(v);
    ctl_rig_down(&r);
}

Test(control_socket, a_live_socket_is_refused)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    ctl_rig second = r;
    char err[256];
    cr_assert_eq(start(&second, err, sizeof(err)), -EADDRINUSE);
    char want[200];
    snprintf(want, sizeof(want), "control socket %s: a server is listening there already", r.path);
    cr_assert_str_eq(err, want);
    char *v = ctl_ask1(&r, "{\"request\":\"version\"}"); /* the first one still serves */
    cr_assert(!strncmp(v, "{\"ok\":true", 10), "%s", v);
    free(v);
    ctl_rig_down(&r);
}

Test(control_socket, anything_else_is_left_alone)
{
    ctl_rig r = {0};
    ctl_rig_dir(&r);
    r.s = rig_session();
    char err[256], want[200];
    int fd = open(r.path, O_CREAT | O_WRONLY, 0644);
    cr_assert_eq(write(fd, "data", 4), 4);
    close(fd);
    cr_assert_eq(start(&r, err, sizeof(err)), -EEXIST);
    snprintf(want, sizeof(want), "control socket %s: exists and is not a socket; not replacing it",
             r.path);
    cr_assert_str_eq(err, want);
    struct stat st;
    cr_assert_eq(lstat(r.path, &st), 0);
    cr_assert(S_ISREG(st.st_mode) && st.st_size == 4, "the file is untouched");
    unlink(r.path);
    cr_assert_eq(mkdir(r.path, 0700), 0);
    cr_assert_eq(start(&r, err, sizeof(err)), -EEXIST, "%s", err);
    rmdir(r.path);
    cr_assert_eq(symlink("/nonexistent", r.path), 0);
    cr_assert_eq(start(&r, err, sizeof(err)), -EEXIST, "a symlink is not followed: %s", err);
    unlink(r.path);
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = 0;
    cr_assert_eq(ctl_server_start(r.s, longp, NULL, &r.srv, err, sizeof(err)), -ENAMETOOLONG);
    cr_assert(strstr(err, "longer than 107 bytes"), "%s", err);
    cr_assert_eq(ctl_server_start(r.s, "", NULL, &r.srv, err, sizeof(err)), -EINVAL);
    cr_assert_eq(sc_session_close(r.s, err, sizeof(err)), 0);
    rmdir(r.dir);
}

/* Stop removes the socket it made, not one that replaced it meanwhile. */
Test(control_socket, stop_leaves_a_replacement_alone)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    cr_assert_eq(unlink(r.path), 0);
    int fd = open(r.path, O_CREAT | O_WRONLY, 0600);
    close(fd);
    ctl_server_stop(r.srv);
    struct stat st;
    cr_assert_eq(lstat(r.path, &st), 0);
    cr_assert(S_ISREG(st.st_mode));
    r.srv = NULL;
    ctl_rig_down(&r);
}

/* Rules change over the socket while threads run commands through the device's rules:
 * r0 answers BUSY, "front" (added first and removed, again and again) TASK SET FULL. Each
 * command is matched against one table, before or after a change: it gets one of the
 * two, never GOOD (a table without either), and the rules' counters agree with what the
 * commands got. */
#define PUSHERS 4
#define CHANGES 300

typedef struct pusher {
    ctl_rig *r;
    int *stop; /* atomic */
    long busy, full, other;
} pusher;

static void *push(void *arg)
{
    pusher *p = arg;
    th_rules *rules = sc_session_rules(p->r->s, "d0");
    uint8_t cdb[6] = {0};
    while (!__atomic_load_n(p->stop, __ATOMIC_ACQUIRE)) {
        th_cmd *c = th_fake_cmd_new(cdb, sizeof(cdb), NULL, 0, 0);
        th_fake_cmd_run(c, th_rules_handle, rules);
        uint8_t st = th_cmd_get_status(c);
        p->busy += st == 0x08;
        p->full += st == 0x28;
        p->other += st != 0x08 && st != 0x28;
        th_fake_cmd_free(c);
    }
    return NULL;
}

static uint64_t fired(const char *list, const char *name)
{
    char key[80];
    snprintf(key, sizeof(key), "\"name\":\"%s\",", name);
    const char *p = strstr(list, key);
    cr_assert_not_null(p, "%s in %s", name, list);
    p = strstr(p, "\"fired\":");
    cr_assert_not_null(p);
    return strtoull(p + 8, NULL, 10);
}

Test(control_socket, rule_changes_are_atomic_for_commands)
{
    ctl_rig r;
    ctl_rig_up(&r, 0);
    int stop = 0;
    pusher ps[PUSHERS];
    pthread_t th[PUSHERS];
    for (int i = 0; i < PUSHERS; i++) {
        ps[i] = (pusher){&r, &stop, 0, 0, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, push, &ps[i]), 0);
    }
    int fd = ctl_connect(r.path);
    for (int i = 0; i < CHANGES; i++) {
        char *v = ctl_ask(fd, "{\"request\":\"add_rule\",\"device\":\"d0\",\"name\":\"front\","
                              "\"position\":0,\"match\":{\"op\":\"TEST_UNIT_READY\"},"
                              "\"respond\":{\"status\":\"TASK_SET_FULL\"}}");
        cr_assert_str_eq(v, "{\"ok\":true,\"id\":null,\"rule\":\"front\"}");
        free(v);
        v = ctl_ask(fd, "{\"request\":\"remove_rule\",\"device\":\"d0\",\"name\":\"front\"}");
        cr_assert_str_eq(v, "{\"ok\":true,\"id\":null}");
        free(v);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    long busy = 0, full = 0, other = 0;
    for (int i = 0; i < PUSHERS; i++) {
        pthread_join(th[i], NULL);
        busy += ps[i].busy, full += ps[i].full, other += ps[i].other;
    }
    cr_assert_eq(other, 0, "%ld commands matched neither table (busy %ld, full %ld)", other, busy,
                 full);
    char *v = ctl_ask(fd, "{\"request\":\"list_rules\",\"device\":\"d0\"}");
    cr_assert_eq(fired(v, "r0"), (uint64_t)busy, "r0 fired as often as commands got BUSY: %s", v);
    free(v);
    close(fd);
    /* The trace agrees: every TEST UNIT READY it still keeps names r0 or front. */
    sc_trace *t = sc_session_trace(r.s);
    char *lines;
    uint64_t next;
    cr_assert_eq(sc_trace_read(t, sc_trace_oldest(t), 0, &lines, &next), 0);
    long turs = 0, named = 0;
    for (char *p = lines, *eol; *p; p = eol + 1) {
        eol = strchr(p, '\n');
        cr_assert_not_null(eol);
        *eol = 0;
        if (!strstr(p, "\"op\":\"TEST_UNIT_READY\"")) continue;
        turs++;
        named += strstr(p, "\"rule\":\"r0\"") || strstr(p, "\"rule\":\"front\"");
    }
    free(lines);
    cr_assert_gt(turs, 0);
    cr_assert_eq(named, turs, "%ld of %ld commands in the trace name neither rule", turs - named,
                 turs);
    ctl_rig_down(&r);
}
