/* Running a scenario: devices with their response tables, steps, trace expectations.
 * Devices are torn down whatever happens in the steps. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "scenario.h"
#include "th/th.h"

typedef struct live {
    const sc_device *cfg;
    th_disk *disk;
    th_tape *tape;
    th_rules *rules;
    th_iscsi *exp;
    th_device *dev;
    char size[24], bs[24], wwn[24], sdname[32];
} live;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(sc_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(sc_result *res, const char *fmt, ...)
{
    if (!res->passed) return; /* the first failure is the one reported */
    res->passed = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

static live *find(live *l, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(l[i].cfg->name, name)) return &l[i];
    return NULL;
}

static const char *field(live *d, const char *f)
{
    if (!strcmp(f, "sg")) return th_device_node(d->dev, TH_NODE_SG);
    if (!strcmp(f, "sd")) return th_device_node(d->dev, TH_NODE_SD);
    if (!strcmp(f, "st")) return th_device_node(d->dev, TH_NODE_ST);
    if (!strcmp(f, "nst")) return th_device_node(d->dev, TH_NODE_NST);
    if (!strcmp(f, "backstore")) return th_device_backstore_path(d->dev);
    if (!strcmp(f, "address")) return th_device_scsi_address(d->dev);
    if (!strcmp(f, "name")) return d->cfg->name;
    if (!strcmp(f, "size")) return d->size;
    if (!strcmp(f, "block_size")) return d->bs;
    if (!strcmp(f, "wwn")) return d->wwn;
    if (!strcmp(f, "sdname")) return d->sdname[0] ? d->sdname : NULL;
    if (!strcmp(f, "iscsi")) return d->exp ? th_iscsi_url(d->exp) : NULL;
    return NULL;
}

/* {dev.field} -> the value, shell-quoted; errors name the bad reference. */
static char *substitute(const char *cmd, live *l, int n, char *err, size_t errcap)
{
    size_t cap = strlen(cmd) * 2 + 256, len = 0;
    char *out = malloc(cap);
    for (const char *p = cmd; out && *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        const char *dot = close ? memchr(p, '.', (size_t)(close - p)) : NULL;
        const char *val = NULL;
        if (dot) {
            char dev[80], f[40];
            snprintf(dev, sizeof(dev), "%.*s", (int)(dot - p - 1), p + 1);
            snprintf(f, sizeof(f), "%.*s", (int)(close - dot - 1), dot + 1);
            live *d = find(l, n, dev);
            if (d) {
                val = field(d, f);
                if (!val) {
                    snprintf(err, errcap, "{%s.%s}: device %s has no %s", dev, f, dev, f);
                    free(out);
                    return NULL;
                }
            }
        }
        if (!val) {
            out[len++] = *p++;
        } else {
            size_t need = len + strlen(val) * 4 + 3;
            if (need >= cap) out = realloc(out, cap = need * 2);
            out[len++] = '\'';
            for (const char *v = val; *v; v++) {
                if (*v == '\'') {
                    memcpy(out + len, "'\\''", 4);
                    len += 4;
                } else {
                    out[len++] = *v;
                }
            }
            out[len++] = '\'';
            p = close + 1;
        }
        if (len + 8 >= cap) out = realloc(out, cap *= 2);
    }
    if (out) out[len] = 0;
    return out;
}

static char *slurp(int fd, size_t max)
{
    char *buf = malloc(max + 1);
    ssize_t n = pread(fd, buf, max, 0);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

static bool regex_ok(const char *re, const char *text, char *err, size_t cap)
{
    regex_t r;
    int rc = regcomp(&r, re, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
    if (rc) {
        snprintf(err, cap, "bad regex '%s'", re);
        return false;
    }
    rc = regexec(&r, text, 0, NULL, 0);
    regfree(&r);
    return rc == 0;
}

/* The last lines of the trace that name a device (for failure messages). */
static void trace_tail(const char *path, const char *device, char *out, size_t cap, int max)
{
    char lines[10][1024];
    int n = 0;
    char line[1024], want[100];
    snprintf(want, sizeof(want), "\"device\":\"%s\"", device);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (strstr(line, want)) snprintf(lines[n++ % max], sizeof(lines[0]), "%s", line);
    if (f) fclose(f);
    size_t len = strlen(out);
    for (int i = n > max ? n - max : 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s", lines[i % max]);
}

static void run_step(const sc_step *s, int idx, live *l, int n, sc_result *res, FILE *log,
                     volatile const int *stop)
{
    char err[256] = "";
    char *cmd = substitute(s->run, l, n, err, sizeof(err));
    if (!cmd) {
        fail(res, "step %d (line %d): %s", idx + 1, s->line, err);
        return;
    }
    if (log) fprintf(log, "  step %d: %s\n", idx + 1, cmd);
    char outp[] = "/tmp/th-step-out-XXXXXX", errp[] = "/tmp/th-step-err-XXXXXX";
    int ofd = mkstemp(outp), efd = mkstemp(errp);
    unlink(outp);
    unlink(errp);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    double deadline = now_s() + s->timeout_s;
    int st = 0;
    bool timed_out = false;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_s() > deadline || (stop && *stop)) {
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            timed_out = true;
            break;
        }
        usleep(20000);
    }
    kill(-pid, SIGKILL); /* whatever it left running */
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    char *out = slurp(ofd, 4096), *errt = slurp(efd, 4096);
    close(ofd);
    close(efd);
    int want = s->expect_exit_set ? s->expect_exit : 0;
    char why[512] = "";
    if (stop && *stop)
        snprintf(why, sizeof(why), "interrupted");
    else if (timed_out)
        snprintf(why, sizeof(why), "timed out after %d s (killed)", s->timeout_s);
    else if (code != want)
        snprintf(why, sizeof(why), "exit status %d, expected %d", code, want);
    else if (s->expect_stdout && !regex_ok(s->expect_stdout, out, err, sizeof(err)))
        snprintf(why, sizeof(why), "stdout does not match /%s/%s", s->expect_stdout, err);
    else if (s->expect_stderr && !regex_ok(s->expect_stderr, errt, err, sizeof(err)))
        snprintf(why, sizeof(why), "stderr does not match /%s/%s", s->expect_stderr, err);
    if (why[0])
        fail(res, "step %d (line %d) `%s`: %s\n--- stdout\n%s--- stderr\n%s", idx + 1, s->line, cmd,
             why, out, errt);
    free(out);
    free(errt);
    free(cmd);
}

/* A tape from its declaration: parameters, an image, then the declared media. */
int sc_tape_new(const sc_device *c, th_tape **out, char *err, size_t cap)
{
    th_tape_config tc;
    th_tape_config_init(&tc);
    tc.capacity = c->size;
    if (c->early_warning)
        tc.early_warning = c->early_warning;
    else if (tc.early_warning >= tc.capacity)
        tc.early_warning = tc.capacity / 8;
    tc.partition1 = c->second_partition;
    tc.write_protect = c->write_protect;
    tc.loaded = !c->unloaded;
    tc.wwn = th_wwn_from_name(c->name);
    tc.vendor = c->vendor[0] ? c->vendor : NULL;
    tc.product = c->product[0] ? c->product : NULL;
    tc.serial = c->serial[0] ? c->serial : NULL;
    th_tape *t;
    char why[256];
    int rc = th_tape_new(&tc, &t, why, sizeof(why));
    if (rc) {
        snprintf(err, cap, "device %s: %s", c->name, why);
        return rc;
    }
    if (c->image[0] && (rc = th_tape_load_image(t, c->image, why, sizeof(why))))
        snprintf(err, cap, "device %s: image: %s", c->name, why);
    for (int i = 0; i < c->n_media && !rc; i++) {
        const struct sc_media *m = &c->media[i];
        if (m->filemark) {
            for (uint32_t k = 0; k < m->len && !rc; k++) rc = th_tape_append_filemark(t);
        } else if (m->text) {
            rc = th_tape_append_record(t, m->text, strlen(m->text));
        } else {
            uint8_t *buf = malloc(m->len ? m->len : 1);
            for (uint32_t k = 0; buf && k < m->len; k++)
                buf[k] = (uint8_t)((k * 7 + (uint32_t)i) % 251);
            rc = buf ? th_tape_append_record(t, buf, m->len) : -ENOMEM;
            free(buf);
        }
        if (rc) snprintf(err, cap, "device %s: media: %s", c->name, strerror(-rc));
    }
    if (rc) {
        th_tape_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

static int open_tape(live *d, sc_result *res)
{
    char err[600];
    int rc = sc_tape_new(d->cfg, &d->tape, err, sizeof(err));
    if (rc) fail(res, "%s", err);
    return rc;
}

static int open_device(live *d, FILE *trace, double t0, th_ctx *ctx, sc_result *res)
{
    const sc_device *c = d->cfg;
    bool tape = !strcmp(c->type, "tape");
    th_backend *be = NULL;
    char why[256];
    int rc = tape ? open_tape(d, res)
             : !strcmp(c->backing, "memory")
                 ? th_backend_memory_new(c->size, &be, why, sizeof(why))
                 : th_backend_file_open(c->backing + 5, c->size, true, &be, why, sizeof(why));
    if (rc) {
        if (!tape) fail(res, "device %s: backing %s: %s", c->name, c->backing, why);
        return rc;
    }
    th_disk_config dc;
    th_disk_config_init(&dc);
    dc.block_size = c->block_size;
    dc.wwn = th_wwn_from_name(c->name);
    dc.vendor = c->vendor[0] ? c->vendor : NULL;
    dc.product = c->product[0] ? c->product : NULL;
    dc.revision = c->revision[0] ? c->revision : NULL;
    dc.serial = c->serial[0] ? c->serial : NULL;
    if (!tape && (rc = th_disk_new(&dc, be, &d->disk, why, sizeof(why)))) {
        th_backend_free(be);
        fail(res, "device %s: %s", c->name, why);
        return rc;
    }
    if (tape)
        th_rules_new(&d->rules, c->name, th_tape_handle, d->tape, 0, sc_op_name);
    else
        th_rules_new(&d->rules, c->name, th_disk_handle, d->disk, c->block_size, sc_op_name);
    th_rules_set_trace(d->rules, trace, t0);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = c->name;
    cfg.size = c->size - c->size % c->block_size;
    cfg.block_size = c->block_size;
    cfg.type = tape ? TH_TYPE_TAPE : TH_TYPE_DISK;
    cfg.external_fabric = c->iscsi;
    cfg.wwn = dc.wwn;
    cfg.workers = c->workers;
    cfg.handler = th_rules_handle;
    cfg.handler_arg = d->rules;
    cfg.on_tmr = th_rules_on_tmr;
    cfg.tmr_arg = d->rules;
    if ((rc = th_device_open(ctx, &cfg, &d->dev))) {
        fail(res, "device %s: %s", c->name, th_ctx_errmsg(ctx));
        return rc;
    }
    if (c->iscsi) {
        th_iscsi_opts io;
        th_iscsi_opts_init(&io);
        io.iqn = c->iqn[0] ? c->iqn : NULL;
        io.portal = c->portal[0] ? c->portal : NULL;
        io.chap_user = c->chap_user[0] ? c->chap_user : NULL;
        io.chap_password = c->chap_password[0] ? c->chap_password : NULL;
        const char *inis[SC_MAX_INITIATORS];
        for (int i = 0; i < c->n_initiators; i++) inis[i] = c->initiators[i];
        io.initiators = inis;
        io.n_initiators = (size_t)c->n_initiators;
        if ((rc = th_iscsi_export(ctx, d->dev, &io, &d->exp))) {
            fail(res, "device %s: iSCSI export: %s", c->name, th_ctx_errmsg(ctx));
            return rc;
        }
    }

    snprintf(d->size, sizeof(d->size), "%llu", (unsigned long long)c->size);
    snprintf(d->bs, sizeof(d->bs), "%u", c->block_size);
    snprintf(d->wwn, sizeof(d->wwn), "naa.%016llx", (unsigned long long)dc.wwn);
    const char *sd = th_device_node(d->dev, TH_NODE_SD);
    if (sd) snprintf(d->sdname, sizeof(d->sdname), "%s", strrchr(sd, '/') + 1);
    return 0;
}

/* The kernel probes a new device (INQUIRY, READ CAPACITY, the partition table...):
 * once every device has been quiet for a moment, the rules go in, so that occurrence
 * counts and states start with the scenario's own traffic. */
static void settle_and_arm(const scenario *sc, live *l, int opened, sc_result *res)
{
    for (double quiet_since = now_s(), end = now_s() + 10; res->passed && now_s() < end;) {
        uint64_t before = 0, after = 0;
        for (int i = 0; i < opened; i++) before += l[i].dev ? th_device_cmds_served(l[i].dev) : 0;
        usleep(50000);
        for (int i = 0; i < opened; i++) after += l[i].dev ? th_device_cmds_served(l[i].dev) : 0;
        if (after != before) quiet_since = now_s();
        if (now_s() - quiet_since > 0.3) break;
    }
    for (int k = 0; k < sc->n_rules && res->passed; k++) {
        live *d = find(l, opened, sc->rules[k].device);
        if (d && d->rules) th_rules_add(d->rules, &sc->rules[k].rule, -1);
    }
}

static int open_all(const scenario *sc, live *l, FILE *trace, double t0, th_ctx *ctx,
                    sc_result *res)
{
    int opened = 0;
    for (int i = 0; i < sc->n_devices && res->passed; i++, opened++) {
        l[i].cfg = &sc->devices[i];
        if (open_device(&l[i], trace, t0, ctx, res)) {
            opened++;
            break;
        }
    }
    return opened;
}

static void close_all(live *l, int opened, th_ctx *ctx, sc_result *res)
{
    for (int i = opened - 1; i >= 0; i--) {
        if (l[i].rules) th_rules_release_all(l[i].rules);
        if (l[i].exp && th_iscsi_close(l[i].exp))
            fail(res, "unexporting %s: %s", l[i].cfg->name, th_ctx_errmsg(ctx));
        if (l[i].dev && th_device_close(l[i].dev))
            fail(res, "closing %s: %s", l[i].cfg->name, th_ctx_errmsg(ctx));
        if (l[i].rules) th_rules_set_trace(l[i].rules, NULL, 0);
        th_rules_free(l[i].rules);
        th_disk_free(l[i].disk);
        th_tape_free(l[i].tape);
    }
}

static bool line_has(const char *line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool line_has(const char *line, const char *fmt, ...)
{
    char want[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof(want), fmt, ap);
    va_end(ap);
    return strstr(line, want) != NULL;
}

static bool entry_matches(const sc_trace_expect *e, const char *line)
{
    if (e->device[0] && !line_has(line, "\"device\":\"%s\"", e->device)) return false;
    if (e->op[0] && !line_has(line, "\"op\":\"%s\"", e->op)) return false;
    if (e->tmr[0] && !line_has(line, "\"tmr\":\"%s\"", e->tmr)) return false;
    if (!e->tmr[0] && strstr(line, "\"tmr\":")) return false;
    if (e->lba_set && !line_has(line, "\"lba\":%llu,", (unsigned long long)e->lba)) return false;
    if (e->status >= 0 && !line_has(line, "\"status\":%d,", e->status)) return false;
    if (e->rule[0] && !line_has(line, "\"rule\":\"%s\"", e->rule)) return false;
    return true;
}

static void check_trace(const scenario *sc, const char *path, sc_result *res)
{
    long first[SC_MAX]; /* line number of each expectation's first entry, -1 none */
    for (int i = 0; i < sc->n_expects; i++) {
        const sc_trace_expect *e = &sc->expects[i];
        FILE *f = fopen(path, "r");
        char line[2048];
        long count = 0, no = 0;
        first[i] = -1;
        while (f && fgets(line, sizeof(line), f)) {
            no++;
            if (!entry_matches(e, line)) continue;
            if (!count) first[i] = no;
            count++;
        }
        if (f) fclose(f);
        bool ok = (e->count < 0 || count == e->count) && (e->min < 0 || count >= e->min) &&
                  (e->max < 0 || count <= e->max);
        if (!ok) {
            fail(res,
                 "expect_trace (line %d): %ld matching entries for device=%s op=%s tmr=%s, "
                 "expected count=%ld min=%ld max=%ld (trace: %s)\n--- last trace lines\n",
                 e->line, count, e->device, e->op, e->tmr, e->count, e->min, e->max, path);
            trace_tail(path, e->device[0] ? e->device : "", res->message, sizeof(res->message), 8);
        } else if (e->after &&
                   (first[i] < 0 || first[e->after - 1] < 0 || first[i] < first[e->after - 1])) {
            fail(res,
                 "expect_trace (line %d): its first entry (trace line %ld) does not come after "
                 "that of expectation %d (trace line %ld) (trace: %s)",
                 e->line, first[i], e->after, first[e->after - 1], path);
        }
    }
}

int sc_run(const scenario *sc, const char *trace_path, sc_result *res, FILE *log,
           volatile const int *stop)
{
    memset(res, 0, sizeof(*res));
    res->passed = true;
    double t0 = now_s();
    char tmp[] = "/tmp/th-trace-XXXXXX";
    char path[1024];
    if (trace_path) {
        snprintf(path, sizeof(path), "%s", trace_path);
    } else {
        int fd = mkstemp(tmp);
        if (fd >= 0) close(fd);
        snprintf(path, sizeof(path), "%s", tmp);
    }
    FILE *trace = fopen(path, "w");
    if (!trace) {
        fail(res, "cannot write the trace %s: %s", path, strerror(errno));
        return -1;
    }
    th_ctx *ctx;
    th_ctx_new(&ctx);
    live l[SC_MAX];
    memset(l, 0, sizeof(l));
    int opened = open_all(sc, l, trace, t0, ctx, res);
    settle_and_arm(sc, l, opened, res);
    for (int i = 0; i < sc->n_steps && res->passed && !(stop && *stop); i++) {
        const sc_step *s = &sc->steps[i];
        live *d = s->kind != SC_RUN && s->kind != SC_SLEEP
                      ? find(l, opened, s->kind == SC_ADD_RULE ? s->rule.device : s->device)
                      : NULL;
        switch (s->kind) {
        case SC_RUN:
            run_step(s, i, l, opened, res, log, stop);
            if (!res->passed) {
                size_t len = strlen(res->message);
                snprintf(res->message + len, sizeof(res->message) - len, "--- last trace lines\n");
                for (int k = 0; k < opened; k++)
                    trace_tail(path, l[k].cfg->name, res->message, sizeof(res->message), 5);
            }
            break;
        case SC_SET_CAPACITY:
            if (th_disk_set_blocks(d->disk, s->size / d->cfg->block_size)) {
                fail(res,
                     "step %d (line %d): set_capacity %llu is larger than the device's backing",
                     i + 1, s->line, (unsigned long long)s->size);
            } else {
                th_sense ua = th_sense_make(TH_KEY_UNIT_ATTENTION, TH_ASC_CAPACITY_CHANGED);
                th_rules_queue_ua(d->rules, &ua);
            }
            break;
        case SC_OFFLINE: {
            th_rule off;
            th_rule_init(&off);
            snprintf(off.name, sizeof(off.name), "offline");
            off.action.pass = false;
            off.action.sense_set = true;
            off.action.sense = th_sense_make(TH_KEY_NOT_READY, 0x0400);
            th_rules_add(d->rules, &off, 0);
            break;
        }
        case SC_ONLINE: {
            th_rules_remove(d->rules, "offline");
            th_sense ua = th_sense_make(TH_KEY_UNIT_ATTENTION, TH_ASC_NOT_READY_TO_READY);
            th_rules_queue_ua(d->rules, &ua);
            break;
        }
        case SC_ADD_RULE:
            th_rules_add(d->rules, &s->rule.rule, -1);
            break;
        case SC_REMOVE_RULE:
            if (th_rules_remove(d->rules, s->name))
                fail(res, "step %d (line %d): device %s has no rule '%s'", i + 1, s->line,
                     s->device, s->name);
            break;
        case SC_QUEUE_UA:
            th_rules_queue_ua(d->rules, &s->ua);
            break;
        case SC_SET_STATE:
            th_rules_set_state(d->rules, s->name);
            break;
        case SC_LOAD:
        case SC_UNLOAD:
            if (!d->tape)
                fail(res, "step %d (line %d): %s is not a tape", i + 1, s->line, s->device);
            else
                th_tape_set_loaded(d->tape, s->kind == SC_LOAD);
            break;
        case SC_SLEEP:
            usleep((useconds_t)s->sleep_ms * 1000);
            break;
        }
    }
    close_all(l, opened, ctx, res);
    fclose(trace);
    if (stop && *stop) fail(res, "interrupted; devices were torn down");
    if (res->passed) check_trace(sc, path, res);
    if (!trace_path && res->passed) unlink(tmp); /* a failed run keeps its trace */
    th_ctx_free(ctx);
    res->seconds = now_s() - t0;
    return res->passed ? 0 : 1;
}

static void json_field(FILE *out, const char *key, const char *v, bool first)
{
    fprintf(out, "%s\"%s\":", first ? "" : ",", key);
    if (!v) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\') fputc('\\', out);
        fputc(*v, out);
    }
    fputc('"', out);
}

int sc_serve(const scenario *sc, const char *trace_path, FILE *out, const void *sigset)
{
    sc_result res = {.passed = true};
    FILE *trace = fopen(trace_path ? trace_path : "/dev/null", "w");
    if (!trace) {
        fprintf(stderr, "tcmu-harness serve: cannot write %s\n", trace_path);
        return 1;
    }
    th_ctx *ctx;
    th_ctx_new(&ctx);
    live l[SC_MAX];
    memset(l, 0, sizeof(l));
    int opened = open_all(sc, l, trace, now_s(), ctx, &res);
    if (res.passed) settle_and_arm(sc, l, opened, &res);
    if (res.passed) {
        for (int i = 0; i < opened; i++) {
            fputc('{', out);
            json_field(out, "name", l[i].cfg->name, true);
            json_field(out, "type", l[i].cfg->type, false);
            static const char *const keys[] = {"sd",      "sg",        "st",  "nst",
                                               "address", "backstore", "wwn", "iscsi"};
            for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
                json_field(out, keys[k], field(&l[i], keys[k]), false);
            fprintf(out, ",\"size\":%s,\"block_size\":%s}\n", l[i].size, l[i].bs);
        }
        fflush(out);
        int sig;
        sigwait((const sigset_t *)sigset, &sig);
    } else {
        fprintf(stderr, "tcmu-harness serve: %s\n", res.message);
    }
    bool ok = res.passed;
    close_all(l, opened, ctx, &res);
    fclose(trace);
    th_ctx_free(ctx);
    if (ok && !res.passed) fprintf(stderr, "tcmu-harness serve: %s\n", res.message);
    return res.passed ? 0 : 1;
}
