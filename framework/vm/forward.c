/* --forward: a host loopback port reaching a TCP port of the guest (an iSCSI portal). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vm_internal.h"

static int port(const char *s, const char *end)
{
    if (s == end || end - s > 5) return -1;
    int v = 0;
    for (const char *c = s; c < end; c++) {
        if (*c < '0' || *c > '9') return -1;
        v = v * 10 + (*c - '0');
    }
    return v >= 1 && v <= 65535 ? v : -1;
}

/* Only loopback: the guest's devices answer without authentication by default, so they
 * must not be reachable from the network. */
static bool loopback(const char *s, size_t n)
{
    if (n == 9 && !strncmp(s, "localhost", 9)) return true;
    if (n < 9 || strncmp(s, "127.", 4)) return false;
    int parts = 1, digits = 0;
    for (size_t i = 4; i < n; i++) {
        if (s[i] == '.') {
            if (!digits) return false;
            parts++, digits = 0;
        } else if (s[i] >= '0' && s[i] <= '9' && ++digits <= 3) {
            continue;
        } else {
            return false;
        }
    }
    return parts == 3 && digits;
}

int th_vm_parse_forward(th_vm_ctx *vc, th_vm_opts *o, const char *spec)
{
    const char *last = strrchr(spec, ':');
    if (!last) {
        return th_vm_fail(vc, -EINVAL, "--forward '%s': expected [127.0.0.1:]HOST_PORT:GUEST_PORT",
                          spec);
    }
    const char *hp = spec;
    for (const char *c = last - 1; c >= spec; c--)
        if (*c == ':') {
            hp = c + 1;
            if (!loopback(spec, (size_t)(c - spec))) {
                return th_vm_fail(vc, -EINVAL,
                                  "--forward '%s': the host side must be a loopback address "
                                  "(127.x.y.z or localhost)",
                                  spec);
            }
            break;
        }
    int h = port(hp, last), g = port(last + 1, last + strlen(last));
    if (h < 0 || g < 0) {
        return th_vm_fail(vc, -EINVAL, "--forward '%s': ports are 1-65535", spec);
    }
    if (o->nforwards >= TH_VM_MAX_FORWARDS) {
        return th_vm_fail(vc, -EINVAL, "--forward: at most %d forwards", TH_VM_MAX_FORWARDS);
    }
    for (int i = 0; i < o->nforwards; i++)
        if (o->forwards[i].host_port == h) {
            return th_vm_fail(vc, -EINVAL, "--forward: host port %d given twice", h);
        }
    o->forwards[o->nforwards].host_port = h;
    o->forwards[o->nforwards].guest_port = g;
    o->nforwards++;
    return 0;
}
