/* Shared by the background-step and wait_trace tests: scenarios from text, processes
 * that must be gone, a session without the kernel with its steps' state. */
#ifndef TH_TEST_STEPS_RIG_H
#define TH_TEST_STEPS_RIG_H
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include "helpers.h"
#include "model_rig.h"
#include "scenario/parse_internal.h"
#include "scenario/run_internal.h"
#include "scenario/trace.h"

static char path[64];

/* The live devices a request is checked against: one disk, d0, fresh for every call
 * (an sc_request_model_fn). */
static scenario rig_live_model;

static inline scenario *rig_live_d0(void *arg)
{
    (void)arg;
    rig_model_reset(&rig_live_model);
    rig_model_add(&rig_live_model, "d0", "disk");
    return &rig_live_model;
}

static inline int load_text(const char *text, scenario *sc)
{
    snprintf(path, sizeof(path), "/tmp/th-steps-XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    int rc = sc_load(path, sc);
    unlink(path);
    return rc;
}

static inline int run_text(const char *text, sc_result *res, volatile const int *stop)
{
    static scenario sc;
    cr_assert_eq(load_text(text, &sc), 0, "%s\n%s", sc_errors(&sc), text);
    int rc = sc_run(&sc, "/dev/null", res, NULL, stop);
    sc_result_clear(res); /* its kernel log; the message stays */
    sc_free(&sc);
    return rc;
}

/* Whether a process exists and is not a zombie (an orphan of ours may wait for a reaper). */
static inline bool alive(pid_t pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f) return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *close = strrchr(buf, ')');
    return close && close[1] == ' ' && close[2] != 'Z' && close[2] != 'X';
}

/* A command that writes the pid of a `sleep` it leaves in its group to a file. */
static inline pid_t read_pid(const char *file)
{
    FILE *f = fopen(file, "r");
    int pid = 0;
    if (f && fscanf(f, "%d", &pid) != 1) pid = 0;
    if (f) fclose(f);
    unlink(file);
    return (pid_t)pid;
}

static char pidfile[64];
static inline const char *new_pidfile(void)
{
    snprintf(pidfile, sizeof(pidfile), "/tmp/th-steps-pid-XXXXXX");
    int fd = mkstemp(pidfile);
    cr_assert_geq(fd, 0);
    close(fd);
    return pidfile;
}

#define NODEV "name: t\ndevices: []\nsteps:\n"
/* A step that waits until the background command has written its pid file. */
#define STARTED(file) "  - run: \"while ! test -s " file "; do sleep 0.02; done\"\n"

typedef struct trace_rig {
    scenario sc;
    sc_session *ses;
    sc_steps st;
    char trace[64];
} trace_rig;

static inline void rig_open(trace_rig *r, const char *steps, volatile const int *stop)
{
    char doc[2048];
    snprintf(doc, sizeof(doc), "name: t\ndevices:\n  - {name: d0}\nsteps:\n%s", steps);
    cr_assert_eq(load_text(doc, &r->sc), 0, "%s", sc_errors(&r->sc));
    snprintf(r->trace, sizeof(r->trace), "/tmp/th-steps-trace-XXXXXX");
    int fd = mkstemp(r->trace);
    cr_assert_geq(fd, 0);
    close(fd);
    sc_session_opts o = {.trace_path = r->trace, .kernel = false};
    char err[256];
    cr_assert_eq(sc_session_new(&o, &r->ses, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sc_session_add_device(r->ses, &r->sc.devices[0], err, sizeof(err)), 0, "%s", err);
    r->st = (sc_steps){.ses = r->ses, .sc = &r->sc, .trace_path = r->trace, .stop = stop};
    sc_bgs_init(&r->st.bgs);
    r->st.origin = r->st.wait_next = sc_trace_cursor(sc_session_trace(r->ses));
}

static inline void rig_close(trace_rig *r)
{
    char err[256];
    cr_assert_eq(sc_session_close(r->ses, err, sizeof(err)), 0, "%s", err);
    unlink(r->trace);
    sc_free(&r->sc);
}

static inline void tur(trace_rig *r)
{
    uint8_t cdb[6] = {0};
    th_cmd *c = th_fake_cmd_new(cdb, sizeof(cdb), NULL, 0, 0);
    cr_assert_not_null(c);
    th_fake_cmd_run(c, th_rules_handle, sc_session_rules(r->ses, "d0"));
    th_fake_cmd_free(c);
}

#endif
