/* th_loop_find_nodes on a temporary tree standing in for configfs, sysfs and /dev: a
 * disk's node that exists but does not open yet (ENXIO: the kernel made the node, not yet
 * the live disk; a Unix socket opens with ENXIO too, so one stands in for it) is not
 * reported ready; once it opens, it is. Before the fix the socket was taken for the disk,
 * and `serve` reported /dev/sdX that an immediate open() failed with ENXIO (issue 14's
 * soak, in the TCG guest). */
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "helpers.h"
#include "kernel/loopback.h"

static char root[64];

static void mk(const char *rel)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s", p);
}

static void put(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(loop_nodes, a_disk_node_that_does_not_open_yet_is_not_ready)
{
    snprintf(root, sizeof(root), "/tmp/th-loop-nodes-XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    const char *dirs[] = {"cfs",
                          "cfs/target",
                          "cfs/target/loopback",
                          "cfs/target/loopback/naa.1",
                          "cfs/target/loopback/naa.1/tpgt_1",
                          "sys",
                          "sys/bus",
                          "sys/bus/scsi",
                          "sys/bus/scsi/devices",
                          "sys/bus/scsi/devices/3:0:1:0",
                          "sys/bus/scsi/devices/3:0:1:0/block",
                          "sys/bus/scsi/devices/3:0:1:0/block/sdq",
                          "sys/bus/scsi/devices/3:0:1:0/scsi_generic",
                          "sys/bus/scsi/devices/3:0:1:0/scsi_generic/sg7",
                          "dev"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) mk(dirs[i]);
    put("cfs/target/loopback/naa.1/tpgt_1/address", "3:0:1\n");
    put("dev/sg7", "");
    /* /dev/sdq: a socket, which open() refuses with ENXIO as a disk not yet live does */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dev/sdq", root);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert(s >= 0);
    cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);

    th_ctx *ctx;
    cr_assert_eq(th_ctx_new(&ctx), 0);
    char cfs[128], sys[128], dev[128];
    snprintf(cfs, sizeof(cfs), "%s/cfs", root);
    snprintf(sys, sizeof(sys), "%s/sys", root);
    snprintf(dev, sizeof(dev), "%s/dev", root);
    cr_assert_eq(th_ctx_set_paths(ctx, cfs, sys, dev), 0);
    th_nodes n;
    cr_assert_eq(th_loop_find_nodes(ctx, "naa.1", 0, false, 100, &n), -ETIMEDOUT);

    close(s);
    unlink(sa.sun_path);
    put("dev/sdq", ""); /* opens now */
    cr_assert_eq(th_loop_find_nodes(ctx, "naa.1", 0, false, 100, &n), 0);
    cr_assert_str_eq(n.path[TH_LOOP_SD], sa.sun_path);
    char sg[160];
    snprintf(sg, sizeof(sg), "%s/sg7", dev);
    cr_assert_str_eq(n.path[TH_LOOP_SG], sg);
    th_ctx_free(ctx);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    cr_assert_eq(system(cmd), 0);
}
