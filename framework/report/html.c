/* The run report's pages. Everything a page shows is written here or embedded as data
 * for its script: text from a trace or a run is escaped for where it lands (HTML text,
 * an attribute, a JSON string inside a script element), so a hostile name cannot end
 * the element it is in. */
#include "html.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "th/cmd.h"

extern const char rp_asset_css[], rp_asset_js[]; /* report_assets.c, made by the build */

static void esc(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            if (c >= 0x20 || c == '\n' || c == '\t') fputc(c, f);
        }
    }
}

static void escs(FILE *f, const char *s)
{
    if (s) esc(f, s, strlen(s));
}

/* A JSON string that is also safe inside <script>: no '<' (no "</script>", no "<!--"). */
static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* JSON has no NaN or infinity; a hostile trace's times may be either. */
static double fin(double d)
{
    return isfinite(d) ? d : 0;
}

static const char *status_text(uint8_t s, char *buf, size_t cap)
{
    const char *n = th_status_name(s);
    if (n) return n;
    snprintf(buf, cap, "0x%02X", s);
    return buf;
}

static bool is_fault(const rp_entry *e)
{
    return !e->is_tmr && e->has_rule && (e->status || e->aborted);
}

/* Which commands the page embeds: all of them, or (past RP_HTML_MAX_ENTRIES) every one a
 * rule answered and the first of the others. map[i] is entry i's index in the page's
 * array, or -1. */
static long *choose(const rp_trace *t, size_t *kept, size_t *commands)
{
    long *map = malloc((t->n ? t->n : 1) * sizeof(*map));
    if (!map) return NULL;
    size_t n_cmd = 0, n_rule = 0;
    for (size_t i = 0; i < t->n; i++)
        if (!t->e[i].is_tmr) n_cmd++, n_rule += t->e[i].has_rule;
    size_t others = n_cmd <= RP_HTML_MAX_ENTRIES    ? n_cmd
                    : n_rule >= RP_HTML_MAX_ENTRIES ? 0
                                                    : RP_HTML_MAX_ENTRIES - n_rule;
    size_t rules = 0, k = 0;
    for (size_t i = 0; i < t->n; i++) {
        const rp_entry *e = &t->e[i];
        bool keep = false;
        if (e->is_tmr)
            keep = false;
        else if (e->has_rule && rules < RP_HTML_MAX_ENTRIES)
            keep = true, rules++;
        else if (!e->has_rule && others)
            keep = true, others--;
        map[i] = keep ? (long)k++ : -1;
    }
    *kept = k;
    *commands = n_cmd;
    return map;
}

static void write_data(FILE *f, const rp_trace *t, const long *map, const rp_page *p)
{
    fputs("{\"states\":[", f);
    for (size_t i = 0; i < p->n_states; i++) {
        fputs(i ? ",[" : "[", f);
        jstr(f, p->states[i].device);
        fputc(',', f);
        jstr(f, p->states[i].rule);
        fputc(',', f);
        jstr(f, p->states[i].state);
        fputc(']', f);
    }
    fputs("],", f);
    fputs("\"names\":[", f);
    for (size_t i = 0; i < t->n_names; i++) {
        if (i) fputc(',', f);
        jstr(f, t->names[i]);
    }
    /* the devices in the order they first appear */
    fputs("],\"devices\":[", f);
    unsigned char *seen = calloc(65536, 1);
    bool first = true;
    for (size_t i = 0; seen && i < t->n; i++) {
        uint16_t d = t->e[i].device;
        if (seen[d] || (!t->e[i].is_tmr && map[i] < 0)) continue;
        seen[d] = 1;
        fprintf(f, "%s%u", first ? "" : ",", d);
        first = false;
    }
    free(seen);
    fputs("],\"e\":[", f);
    first = true;
    for (size_t i = 0; i < t->n; i++) {
        const rp_entry *e = &t->e[i];
        if (e->is_tmr || map[i] < 0) continue;
        int unit = e->unit == 'b' ? 1 : e->unit == 'B' ? 2 : e->unit == 'c' ? 3 : 0;
        /* 8: a rule answered it (its name may be "", index 0) */
        int flags = (e->aborted ? 1 : 0) | (e->has_lat ? 2 : 0) | (e->has_sense ? 4 : 0) |
                    (e->has_rule ? 8 : 0);
        fprintf(f, "%s%.6f,%.6f,%u,%u,%u,", first ? "" : ",", fin(e->t), fin(e->start), e->device,
                e->op, e->status);
        if (e->has_lba)
            fprintf(f, "%llu,", (unsigned long long)e->lba);
        else
            fputs("-1,", f);
        if (unit)
            fprintf(f, "%llu,", (unsigned long long)e->len);
        else
            fputs("-1,", f);
        fprintf(f, "%d,%llu,%llu,%u,%u,%u,%d", unit, (unsigned long long)e->data_in,
                (unsigned long long)e->buffer, e->has_rule ? e->rule : 0, e->has_sense ? e->key : 0,
                (unsigned)e->asc << 8 | e->ascq, flags);
        first = false;
    }
    fputs("],\"cdb\":[", f);
    first = true;
    for (size_t i = 0; i < t->n; i++) {
        const rp_entry *e = &t->e[i];
        if (e->is_tmr || map[i] < 0) continue;
        fprintf(f, "%s\"", first ? "" : ",");
        for (int b = 0; b < e->cdb_len && b < 16; b++) fprintf(f, "%02x", e->cdb[b]);
        fputc('"', f);
        first = false;
    }
    fputs("],\"tmr\":[", f);
    first = true;
    for (size_t i = 0; i < t->n; i++) {
        const rp_entry *e = &t->e[i];
        if (!e->is_tmr) continue;
        fprintf(f, "%s[%.6f,%u,%u,[", first ? "" : ",", fin(e->t), e->device, e->op);
        for (int k = 0; k < e->n_ids; k++) fprintf(f, "%s%u", k ? "," : "", e->ids[k]);
        fputs("]]", f);
        first = false;
    }
    fputs("]}", f);
}

/* The run's own JSON, as it was read (rp_run_parse accepted it), with every '<' escaped:
 * '<' can only be inside its strings, where \u003c means the same. */
static void write_run_json(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '<')
            fputs("\\u003c", f);
        else
            fputc(s[i], f);
    }
}

static void secs(FILE *f, double s)
{
    if (s < 1e-3)
        fprintf(f, "%.0f µs", s * 1e6);
    else if (s < 1)
        fprintf(f, "%.2f ms", s * 1e3);
    else
        fprintf(f, "%.3f s", s);
}

static void head(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    escs(f, title);
    fputs(" — tcmu-harness report</title>\n<style>\n", f);
    fputs(rp_asset_css, f);
    fputs("</style></head>\n", f);
}

static void header(FILE *f, const rp_page *p, size_t kept, size_t commands)
{
    const rp_run *r = p->run;
    const rp_trace *t = p->trace;
    fputs("<header><h1>", f);
    escs(f, r && r->name[0] ? r->name : p->trace_path);
    fputs("</h1>\n<p>", f);
    if (r && r->has_result) {
        fprintf(f, "<span class=\"%s\" id=\"result\">%s</span> in %.3f s",
                r->passed ? "pass" : "fail", r->passed ? "PASSED" : "FAILED", r->seconds);
        if (!r->passed && r->message && r->message[0]) {
            fputs(": <span class=\"mono\">", f);
            escs(f, r->message);
            fputs("</span>", f);
        }
    } else {
        fputs("<span id=\"result\">a trace without a run's result</span>", f);
    }
    fputs("</p>\n<p class=\"meta\">", f);
    if (r && r->file[0]) fputs("scenario <code>", f), escs(f, r->file), fputs("</code>; ", f);
    fputs("trace <code>", f);
    escs(f, p->trace_path);
    fputs("</code>", f);
    if (t->kernel[0]) fputs("; kernel ", f), escs(f, t->kernel);
    if (t->version[0]) fputs("; tcmu-harness ", f), escs(f, t->version);
    fprintf(f, "; %zu commands", commands);
    if (kept < commands)
        fprintf(f,
                " (the timeline holds %zu: every one a rule answered, and the first of the "
                "others)",
                kept);
    if (t->not_kept)
        fprintf(f, "; %llu older entries were no longer kept when the trace was written",
                (unsigned long long)t->not_kept);
    if (p->index_href)
        fputs("; <a href=\"", f), escs(f, p->index_href), fputs("\">all runs</a>", f);
    fputs("</p>\n", f);
    if (r && r->golden[0]) {
        bool differs = strcmp(r->golden, "same") && strcmp(r->golden, "recorded");
        fprintf(f, "<p id=\"golden\">golden trace <code>");
        escs(f, r->golden_file);
        fprintf(f, "</code>: <span class=\"%s\">", differs ? "fail" : "pass");
        escs(f, r->golden);
        fputs("</span></p>\n", f);
        if (r->golden_diff && r->golden_diff[0])
            fputs("<pre id=\"golden-diff\">", f), escs(f, r->golden_diff), fputs("</pre>\n", f);
    }
    fputs("<pre id=\"errors\" hidden></pre>\n</header>\n"
          "<nav class=\"noprint\"><a href=\"#steps\">Steps</a><a href=\"#timeline\">Timeline</a>"
          "<a href=\"#reactions\">Reactions</a><a href=\"#faults\">Faults</a>"
          "<a href=\"#kmsg\">Kernel log</a></nav>\n",
          f);
}

static void steps_and_timeline(FILE *f)
{
    fputs("<section id=\"steps\"><h2>Steps</h2>\n"
          "<table id=\"steps-table\" hidden><thead><tr><th>#</th><th>line</th><th>step</th>"
          "<th>start</th><th>took</th><th>result</th><th>output</th></tr></thead>"
          "<tbody></tbody></table>\n<p id=\"steps-none\" hidden>No steps were recorded (a "
          "trace of <code>serve</code>, or a run without steps).</p>\n"
          "<noscript><p>The steps and the timeline need JavaScript; the reactions, faults "
          "and kernel log below do not.</p></noscript></section>\n",
          f);
    fputs("<section id=\"timeline\"><h2>Timeline</h2>\n<div class=\"controls\">\n"
          "<fieldset><legend>Devices</legend><div id=\"f-devices\"></div></fieldset>\n"
          "<fieldset><legend>Status</legend><div id=\"f-status\"></div></fieldset>\n"
          "<fieldset class=\"ops\"><legend>Ops <button type=\"button\" id=\"ops-all\">all"
          "</button> <button type=\"button\" id=\"ops-none\">none</button></legend>"
          "<div id=\"f-ops\"></div></fieldset>\n"
          "<fieldset><legend>Zoom</legend><button type=\"button\" id=\"zoom-out\">out</button> "
          "<button type=\"button\" id=\"zoom-reset\">all</button><br><span id=\"view-range\">"
          "</span><br><small>drag across a timeline to zoom; double-click: all</small>"
          "</fieldset>\n</div>\n<p class=\"legend\">"
          "<span><i class=\"sw\" style=\"background:var(--good)\"></i>GOOD</span>"
          "<span><i class=\"sw\" style=\"background:var(--error)\"></i>CHECK CONDITION, other "
          "errors</span><span><i class=\"sw\" style=\"background:var(--busy)\"></i>BUSY, TASK "
          "SET FULL</span><span><i class=\"sw\" style=\"background:var(--aborted)\"></i>aborted"
          "</span><span>▼ filled: a fault a rule injected; hollow: a rule answered GOOD</span>"
          "<span><i class=\"sw\" style=\"background:var(--tmr)\"></i>TMR</span>"
          "<span>◆ a state change (a rule's set_state, a set_state step)</span>"
          "<span><i class=\"sw\" style=\"background:var(--step)\"></i>a step (numbered)</span>"
          "</p>\n<div id=\"devices\"></div><div id=\"tip\"></div></section>\n",
          f);
}

static void reactions(FILE *f, const rp_page *p, const long *map)
{
    const rp_reactions *rs = p->reactions;
    fputs("<section id=\"reactions\"><h2>The initiator's reactions</h2>\n", f);
    if (!rs || !rs->n) {
        fputs("<p>No command was answered with an error by a rule.</p>\n", f);
    } else {
        fputs("<p class=\"meta\">One line per fault: what the initiator sent next for the same "
              "LBA range or op (docs/scenario-format.md, \"Reactions\"). Click one to zoom to "
              "it.</p>\n<ol class=\"reactions\">\n",
              f);
        char line[1024];
        for (size_t i = 0; i < rs->n; i++) {
            rp_reaction_text(p->trace, &rs->r[i], line, sizeof(line));
            fprintf(f, "<li data-fault=\"%ld\" data-last=\"%ld\">", map[rs->r[i].fault],
                    map[rs->r[i].last] >= 0 ? map[rs->r[i].last] : map[rs->r[i].fault]);
            escs(f, line);
            fputs("</li>\n", f);
        }
        fputs("</ol>\n", f);
        if (rs->truncated)
            fprintf(f, "<p>The analysis stopped after %d faults.</p>\n", RP_EPISODES_MAX);
    }
    fputs("</section>\n", f);
}

static void faults(FILE *f, const rp_trace *t)
{
    fputs("<section id=\"faults\"><h2>Commands a rule answered</h2>\n", f);
    size_t rows = 0, all = 0;
    char b1[16];
    for (size_t i = 0; i < t->n; i++) {
        const rp_entry *e = &t->e[i];
        if (e->is_tmr || !e->has_rule) continue;
        if (all++ >= RP_HTML_MAX_FAULT_ROWS) continue;
        if (!rows++)
            fputs("<table><thead><tr><th>arrived</th><th>device</th><th>op</th><th>lba+len</th>"
                  "<th>status</th><th>sense</th><th>rule</th><th>latency</th></tr></thead>"
                  "<tbody>\n",
                  f);
        fprintf(f, "<tr%s><td class=\"num\">%.6f</td><td>", is_fault(e) ? " class=\"fault\"" : "",
                fin(e->start));
        escs(f, rp_name(t, e->device));
        fputs("</td><td>", f);
        escs(f, rp_name(t, e->op));
        fputs("</td><td class=\"num\">", f);
        if (e->has_lba) fprintf(f, "%llu", (unsigned long long)e->lba);
        if (e->unit) fprintf(f, "+%llu", (unsigned long long)e->len);
        fprintf(f, "</td><td>%s%s</td><td>", status_text(e->status, b1, sizeof(b1)),
                e->aborted ? ", aborted" : "");
        if (e->has_sense) {
            escs(f, rp_name(t, e->key));
            fprintf(f, " %02X/%02X", e->asc, e->ascq);
        }
        fputs("</td><td>", f);
        escs(f, rp_name(t, e->rule));
        fputs("</td><td class=\"num\">", f);
        if (e->has_lat) secs(f, fin(e->t - e->start));
        fputs("</td></tr>\n", f);
    }
    if (rows) fputs("</tbody></table>\n", f);
    if (!all) fputs("<p>No rule answered a command.</p>\n", f);
    if (all > rows) fprintf(f, "<p>… and %zu more.</p>\n", all - rows);
    fputs("</section>\n", f);
}

int rp_html_page(FILE *f, const rp_page *p)
{
    size_t kept = 0, commands = 0;
    long *map = choose(p->trace, &kept, &commands);
    if (!map) return -ENOMEM;
    head(f, p->run && p->run->name[0] ? p->run->name : p->trace_path);
    fputs("<body>\n", f);
    header(f, p, kept, commands);
    steps_and_timeline(f);
    reactions(f, p, map);
    faults(f, p->trace);
    fputs("<section id=\"kmsg\"><h2>Kernel log</h2>\n", f);
    if (p->kmsg && p->kmsg_len)
        fputs("<pre>", f), esc(f, p->kmsg, p->kmsg_len), fputs("</pre>\n", f);
    else
        fputs("<p>No kernel log beside the trace.</p>\n", f);
    fputs("</section>\n<script type=\"application/json\" id=\"trace-data\">", f);
    write_data(f, p->trace, map, p);
    fputs("</script>\n<script type=\"application/json\" id=\"run-data\">", f);
    if (p->run_json && p->run)
        write_run_json(f, p->run_json, p->run_json_len);
    else
        fputs("null", f);
    fputs("</script>\n<script>\n", f);
    fputs(rp_asset_js, f);
    fputs("</script>\n</body></html>\n", f);
    free(map);
    return ferror(f) ? -EIO : 0;
}

int rp_html_suite(FILE *f, const rp_suite *s)
{
    size_t passed = 0, failed = 0;
    double total = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->rows[i].has_result) s->rows[i].passed ? passed++ : failed++;
        total += s->rows[i].seconds;
    }
    head(f, s->title);
    fputs("<body>\n<header><h1>", f);
    escs(f, s->title);
    fprintf(f,
            "</h1>\n<p><span class=\"pass\">%zu passed</span>, <span class=\"%s\">%zu failed"
            "</span>, %zu runs, %.1f s",
            passed, failed ? "fail" : "meta", failed, s->n, total);
    if (s->kernel && s->kernel[0]) fputs("; kernel ", f), escs(f, s->kernel);
    if (s->version && s->version[0]) fputs("; tcmu-harness ", f), escs(f, s->version);
    fputs("</p></header>\n<table id=\"suite\"><thead><tr><th>scenario</th><th>file</th>"
          "<th>result</th><th>seconds</th><th>commands</th><th>faults</th><th>recovered</th>"
          "<th>golden</th></tr></thead><tbody>\n",
          f);
    for (size_t i = 0; i < s->n; i++) {
        const rp_suite_row *r = &s->rows[i];
        fputs("<tr><td>", f);
        if (r->href) fputs("<a href=\"", f), escs(f, r->href), fputs("\">", f);
        escs(f, r->name);
        if (r->href) fputs("</a>", f);
        fputs("</td><td><code>", f);
        escs(f, r->file);
        fputs("</code></td><td>", f);
        if (r->has_result) {
            fprintf(f, "<span class=\"%s\">%s</span>", r->passed ? "pass" : "fail",
                    r->passed ? "passed" : "failed");
            if (!r->passed && r->message)
                fputs("<br><small class=\"mono\">", f), escs(f, r->message), fputs("</small>", f);
        }
        fprintf(f, "</td><td class=\"num\">%.3f</td>", r->seconds);
        if (r->href)
            fprintf(f,
                    "<td class=\"num\">%zu</td><td class=\"num\">%zu</td>"
                    "<td class=\"num\">%zu of %zu</td>",
                    r->commands, r->faults, r->recovered, r->reactions);
        else
            fputs("<td></td><td></td><td></td>", f);
        fputs("<td>", f);
        escs(f, r->golden);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n<p class=\"meta\">faults: commands a rule answered with an error; "
          "recovered: faults the initiator retried until one succeeded, of all faults' "
          "episodes.</p>\n</body></html>\n",
          f);
    return ferror(f) ? -EIO : 0;
}
