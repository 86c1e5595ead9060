/* Module order from modules.dep (what modprobe --show-depends would print). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include "vm_internal.h"

typedef struct dep_line {
    char *path;
    char *deps; /* space-separated */
} dep_line;

/* "9pnet_virtio" names "kernel/net/9p/9pnet_virtio.ko"; '-' and '_' are the same. */
static int name_match(const char *path, const char *name)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t i = 0;
    for (; name[i]; i++) {
        char a = base[i] == '-' ? '_' : base[i], b = name[i] == '-' ? '_' : name[i];
        if (a != b) return 0;
    }
    return !strncmp(base + i, ".ko", 3);
}

static bool in_file(const char *moddir, const char *file, const char *name)
{
    char p[1200], line[512];
    snprintf(p, sizeof(p), "%s/%s", moddir, file);
    FILE *f = fopen(p, "r");
    if (!f) return false;
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n:")] = 0;
        found = name_match(line, name);
    }
    fclose(f);
    return found;
}

static int add(char out[][256], size_t *n, size_t cap, const char *path)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(out[i], path)) return 0;
    if (*n >= cap) return -E2BIG;
    snprintf(out[(*n)++], 256, "%s", path);
    return 0;
}

int th_modules_resolve(th_vm_ctx *vc, const char *moddir, const char *const *names, size_t n,
                       char out[][256], size_t cap)
{
    char p[1200];
    snprintf(p, sizeof(p), "%s/modules.dep", moddir);
    FILE *f = fopen(p, "r");
    if (!f) return th_vm_fail(vc, -ENOENT, "%s is missing (run depmod for that kernel)", p);
    dep_line *lines = NULL;
    size_t nl = 0, capl = 0;
    char *line = NULL;
    size_t linecap = 0;
    int rc = 0;
    while (!rc && getline(&line, &linecap, f) > 0) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = 0;
        colon[1 + strcspn(colon + 1, "\n")] = 0;
        if (nl == capl) {
            dep_line *grown = realloc(lines, (capl ? capl * 2 : 1024) * sizeof(*lines));
            if (!grown) {
                rc = -ENOMEM;
                break;
            }
            lines = grown;
            capl = capl ? capl * 2 : 1024;
        }
        lines[nl].path = strdup(line);
        lines[nl].deps = strdup(colon + 1);
        nl++;
        if (!lines[nl - 1].path || !lines[nl - 1].deps) rc = -ENOMEM;
    }
    free(line);
    fclose(f);
    if (rc) th_vm_fail(vc, rc, "out of memory reading %s", p);
    size_t count = 0;
    for (size_t k = 0; k < n && rc == 0; k++) {
        dep_line *hit = NULL;
        for (size_t i = 0; i < nl && !hit; i++)
            if (name_match(lines[i].path, names[k])) hit = &lines[i];
        if (!hit) {
            if (in_file(moddir, "modules.builtin", names[k])) continue;
            rc = th_vm_fail(vc, -ENOENT, "module %s is neither in modules.dep nor built in",
                            names[k]);
            break;
        }
        /* modules.dep lists dependencies so that the last must load first. */
        char *deps = strdup(hit->deps), *save = NULL;
        char *list[64];
        int nd = 0;
        if (!deps) {
            rc = th_vm_fail(vc, -ENOMEM, "out of memory");
            break;
        }
        for (char *t = strtok_r(deps, " ", &save); t && nd < 64; t = strtok_r(NULL, " ", &save))
            list[nd++] = t;
        for (int i = nd - 1; i >= 0 && rc == 0; i--) rc = add(out, &count, cap, list[i]);
        if (rc == 0) rc = add(out, &count, cap, hit->path);
        free(deps);
        if (rc) th_vm_fail(vc, rc, "more than %zu modules to load", cap);
    }
    for (size_t i = 0; i < nl; i++) {
        free(lines[i].path);
        free(lines[i].deps);
    }
    free(lines);
    return rc ? rc : (int)count;
}
