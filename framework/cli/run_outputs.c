/* What `run` leaves beside a scenario's trace for `report` (DIR/<stem>.run.json), and the
 * initiator's reactions it prints (--summary) and puts into JUnit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../control/json.h"
#include "../report/reaction.h"
#include "../scenario/scenario.h"
#include "cli.h"

int cli_write_run_json(const char *tpath, const scenario *sc, const char *file,
                       const sc_result *res, const cli_golden_result *g)
{
    char path[4096];
    snprintf(path, sizeof(path), "%.*s.run.json", (int)(strlen(tpath) - strlen(".jsonl")), tpath);
    ctl_json j;
    ctl_json_init(&j);
    ctl_json_open(&j, '{');
    ctl_json_key(&j, "name");
    ctl_json_str(&j, sc->name);
    ctl_json_key(&j, "file");
    ctl_json_str(&j, file);
    ctl_json_key(&j, "passed");
    ctl_json_bool(&j, res->passed);
    ctl_json_key(&j, "seconds");
    char num[32];
    snprintf(num, sizeof(num), "%.3f", res->seconds);
    ctl_json_raw(&j, num);
    ctl_json_key(&j, "message");
    ctl_json_str(&j, res->passed ? "" : res->message);
    ctl_json_key(&j, "steps");
    ctl_json_open(&j, '[');
    for (int i = 0; i < res->n_steps; i++) {
        const sc_step_rec *s = &res->steps[i];
        ctl_json_open(&j, '{');
        ctl_json_key(&j, "n");
        ctl_json_int(&j, i + 1);
        ctl_json_key(&j, "line");
        ctl_json_int(&j, s->line);
        ctl_json_key(&j, "what");
        ctl_json_str(&j, s->what);
        ctl_json_key(&j, "start");
        snprintf(num, sizeof(num), "%.6f", s->start);
        ctl_json_raw(&j, num);
        ctl_json_key(&j, "end");
        snprintf(num, sizeof(num), "%.6f", s->end);
        ctl_json_raw(&j, num);
        ctl_json_key(&j, "failed");
        ctl_json_bool(&j, s->failed);
        ctl_json_key(&j, "output");
        ctl_json_str(&j, s->output);
        ctl_json_close(&j, '}');
    }
    ctl_json_close(&j, ']');
    if (g && g->result) {
        ctl_json_key(&j, "golden");
        ctl_json_open(&j, '{');
        ctl_json_key(&j, "file");
        ctl_json_str(&j, g->file);
        ctl_json_key(&j, "mode");
        ctl_json_str(&j, g->mode);
        ctl_json_key(&j, "result");
        ctl_json_str(&j, g->result);
        ctl_json_key(&j, "message");
        ctl_json_str(&j, g->message);
        ctl_json_key(&j, "diff");
        ctl_json_str(&j, g->diff ? g->diff : "");
        ctl_json_close(&j, '}');
    }
    ctl_json_close(&j, '}');
    int rc = 0;
    FILE *f = j.oom ? NULL : fopen(path, "w");
    if (!f || fputs(j.buf, f) < 0 || fputc('\n', f) < 0) rc = -(errno ? errno : ENOMEM);
    if (f && fclose(f) && !rc) rc = -errno;
    if (rc) fprintf(stderr, "tcmu-harness run: cannot write %s: %s\n", path, strerror(-rc));
    ctl_json_free(&j);
    return rc;
}

char *cli_reactions_text(const char *tpath, size_t max, const char *indent)
{
    rp_trace t;
    rp_trace_init(&t);
    char err[512];
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    if (rp_trace_load(&t, tpath, err, sizeof(err))) {
        fprintf(f, "%sthe trace could not be read: %s\n", indent, err);
    } else {
        rp_reactions rs;
        if (rp_reactions_find(&t, &rs)) {
            fprintf(f, "%sout of memory for the reactions\n", indent);
        } else {
            if (!rs.n) fprintf(f, "%sno command was answered with an error by a rule\n", indent);
            rp_reactions_print(f, &t, &rs, max, indent);
            rp_reactions_free(&rs);
        }
    }
    rp_trace_free(&t);
    fclose(f);
    return text;
}
