/* Every request example in docs/control-protocol.md, replayed in order through the
 * dispatcher of a server without the kernel, so the docs and the code cannot drift: each
 * answers ok as documented, and a documented error is the one the code gives, word for
 * word. The trace and kernel-log examples depend on the VM's traffic (cursors, marks):
 * they are checked to parse as documented. Every request has an example. */
#include <stdio.h>
#include <stdlib.h>
#include "control_rig.h"
#include "model_rig.h"

#ifndef TH_SOURCE_DIR
#define TH_SOURCE_DIR "."
#endif

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    cr_assert_gt(n, 0);
    rewind(f);
    char *text = malloc((size_t)n + 1);
    cr_assert_not_null(text);
    cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = 0;
    fclose(f);
    return text;
}

/* The "error" string of a response line, JSON escapes undone (\" \\ \n), or "" if none. */
static void error_of(const char *resp, char *out, size_t cap)
{
    const char *p = strstr(resp, "\"error\":\"");
    size_t n = 0;
    if (p)
        for (p += 9; *p && *p != '"' && n + 1 < cap; p++) {
            if (*p == '\\' && p[1])
                p++, out[n++] = *p == 'n' ? '\n' : *p;
            else
                out[n++] = *p;
        }
    out[n] = 0;
}

static bool ok_of(const char *resp)
{
    return !strncmp(resp, "{\"ok\":true", 10);
}

/* The request's name as the line gives it ("" if none). */
static void name_of(const char *req, char *out, size_t cap)
{
    const char *p = strstr(req, "{\"request\": \"");
    out[0] = 0;
    if (!p) return;
    p += 13;
    size_t n = strcspn(p, "\"");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

static scenario docs_model;

/* The docs' devices (serve --device d0 --device t0, then d1 and t1 added). */
static scenario *docs_devices(void *arg)
{
    (void)arg;
    static const char *const names[][2] = {{"d0", "disk"}, {"t0", "tape"}, {"d1", "disk"}};
    rig_model_reset(&docs_model);
    for (int i = 0; i < 3; i++) rig_model_add(&docs_model, names[i][0], names[i][1]);
    return &docs_model;
}

/* The examples of the section, in order; returns how many; their request names in seen
 * (",version,cursor,..."). */
static int replay(char *start, ctl_rig *r, char *seen, size_t seen_cap)
{
    int examples = 0;
    for (char *line = strstr(start, "\n```\n"); line; line = strstr(line, "\n```\n")) {
        char *req = line + 5, *nl = strchr(req, '\n');
        char *resp = nl ? nl + 1 : NULL, *rnl = resp ? strchr(resp, '\n') : NULL;
        cr_assert(nl && rnl, "an example is a request line and a response line");
        *nl = *rnl = 0;
        line = strstr(rnl + 1, "```"); /* past the closing fence */
        cr_assert_not_null(line);
        line += 3;
        examples++;
        char name[32], want[4096], got_err[4096];
        name_of(req, name, sizeof(name));
        if (name[0] && strlen(seen) + strlen(name) + 2 < seen_cap) strcat(strcat(seen, name), ",");
        error_of(resp, want, sizeof(want));
        bool live = !strcmp(name, "trace") || !strcmp(name, "wait") || !strncmp(name, "kmsg_", 5);
        if (live) {
            sc_request rq;
            char err[4096];
            int rc = sc_request_parse(req, strlen(req), docs_devices, NULL, &rq, err, sizeof(err));
            sc_request_free(&rq);
            cr_assert(rc == 0 || !strcmp(err, want), "%s\n  parses: %s\n  documented: %s", req, err,
                      resp);
            continue;
        }
        char *got = ctl_ask1(r, req);
        error_of(got, got_err, sizeof(got_err));
        cr_assert_eq(ok_of(got), ok_of(resp), "%s\n  got:        %s\n  documented: %s", req, got,
                     resp);
        cr_assert_str_eq(got_err, want, "%s\n  got:        %s\n  documented: %s", req, got, resp);
        if (!strcmp(name, "version")) {
            char proto[32];
            snprintf(proto, sizeof(proto), "\"protocol\":%d,", CTL_PROTOCOL);
            cr_assert(strstr(got, proto) && strstr(resp, proto), "%s / %s", got, resp);
        }
        free(got);
    }
    return examples;
}

Test(control_docs, every_example_answers_as_documented)
{
    /* the docs' server: serve --device name=d0,size=64MiB --device
     * name=t0,type=tape,size=32MiB --control PATH, here without the kernel */
    static ctl_rig r;
    ctl_rig_dir(&r);
    r.s = rig_session();
    char err[512];
    ctl_opts o = {.on_shutdown = ctl_rig_on_shutdown, .arg = &r, .kmsg_path = r.kmsg};
    cr_assert_eq(ctl_server_start(r.s, r.path, &o, &r.srv, err, sizeof(err)), 0, "%s", err);
    static const char *const serve[] = {
        "{\"request\":\"add_device\",\"spec\":\"name=d0,size=64MiB\"}",
        "{\"request\":\"add_device\",\"spec\":\"name=t0,type=tape,size=32MiB\"}"};
    for (int i = 0; i < 2; i++) {
        char *v = ctl_ask1(&r, serve[i]);
        cr_assert(ok_of(v), "%s", v);
        free(v);
    }
    char *doc = slurp(TH_SOURCE_DIR "/docs/control-protocol.md");
    char *start = strstr(doc, "\n## Examples");
    char *end = start ? strstr(start, "\n## tcmu-harness ctl") : NULL;
    cr_assert(start && end, "the docs' Examples section");
    *end = 0;
    static char seen[1024] = ",";
    cr_assert_geq(replay(start, &r, seen, sizeof(seen)), 20);
    /* every request the parser knows has its example */
    char ops[512];
    snprintf(ops, sizeof(ops), "%s", sc_request_ops());
    for (char *save, *op = strtok_r(ops, ", ", &save); op; op = strtok_r(NULL, ", ", &save)) {
        char key[40];
        snprintf(key, sizeof(key), ",%s,", op);
        cr_assert(strstr(seen, key), "no example of '%s' in docs/control-protocol.md", op);
    }
    ctl_rig_down(&r);
    free(doc);
}
