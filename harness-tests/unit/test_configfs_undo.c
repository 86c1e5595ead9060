/* The undo log of configfs objects, on a temporary directory standing in for configfs:
 * whatever is created is recorded, however many, and undo removes exactly that. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "helpers.h"
#include "kernel/configfs.h"

static char root[64];
static th_ctx *ctx;

static void setup(void)
{
    snprintf(root, sizeof(root), "/tmp/th-cfs-undo-XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    cr_assert_eq(th_ctx_new(&ctx), 0);
}

static void teardown(void)
{
    th_ctx_free(ctx);
    rmdir(root);
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

/* An iSCSI export's shape: a shared target, then per initiator an ACL, its mapped LUN and
 * the mapped LUN's link; 3 objects each, so n initiators make 2 + 3n objects. */
static void make_export(th_objects *o, int initiators)
{
    char tgt[128], p[192], m[256], l[320];
    snprintf(tgt, sizeof(tgt), "%s/iqn.x", root);
    cr_assert_eq(th_cfs_mkdir(ctx, o, tgt, true, NULL), 0);
    snprintf(p, sizeof(p), "%s/lun_0", tgt);
    cr_assert_eq(th_cfs_mkdir(ctx, o, p, false, NULL), 0);
    for (int i = 0; i < initiators; i++) {
        snprintf(p, sizeof(p), "%s/acl%d", tgt, i);
        cr_assert_eq(th_cfs_mkdir(ctx, o, p, true, NULL), 0, "%s", th_ctx_errmsg(ctx));
        snprintf(m, sizeof(m), "%s/lun_0", p);
        cr_assert_eq(th_cfs_mkdir(ctx, o, m, false, NULL), 0, "%s", th_ctx_errmsg(ctx));
        snprintf(l, sizeof(l), "%s/lun_0", m);
        cr_assert_eq(th_cfs_symlink(ctx, o, "../../lun_0", l), 0, "%s", th_ctx_errmsg(ctx));
    }
}

TestSuite(configfs_undo, .init = setup, .fini = teardown);

Test(configfs_undo, records_every_object_however_many_and_undo_removes_them_all)
{
    static const int counts[] = {4, 5, 8, 40};
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        th_objects o = {0};
        make_export(&o, counts[c]);
        cr_assert_eq(o.n, 2 + 3 * counts[c], "%d initiators: %d recorded", counts[c], o.n);
        cr_assert_eq(th_cfs_undo(ctx, &o), 0, "%s", th_ctx_errmsg(ctx));
        cr_assert_eq(o.n, 0);
        cr_assert_eq(entries(root), 0, "%d initiators: objects left behind", counts[c]);
    }
}

Test(configfs_undo, undo_last_removes_only_the_newest_object)
{
    th_objects o = {0};
    make_export(&o, 1);
    cr_assert_eq(o.n, 5);
    char l[128];
    snprintf(l, sizeof(l), "%s/iqn.x/acl0/lun_0/lun_0", root);
    cr_assert_eq(th_cfs_undo_last(ctx, &o), 0);
    cr_assert_eq(o.n, 4);
    cr_assert(!th_path_exists(l));
    cr_assert(th_path_exists(l) || th_path_exists(root));
    cr_assert_eq(th_cfs_undo(ctx, &o), 0);
    cr_assert_eq(entries(root), 0);
    cr_assert_null(o.items, "undo frees the log");
    cr_assert_eq(th_cfs_undo_last(ctx, &o), 0, "an empty log has nothing to undo");
}

Test(configfs_undo, an_existing_private_object_is_an_error_and_not_recorded)
{
    th_objects o = {0};
    char p[128];
    snprintf(p, sizeof(p), "%s/mine", root);
    cr_assert_eq(mkdir(p, 0755), 0);
    cr_assert_eq(th_cfs_mkdir(ctx, &o, p, false, NULL), -EEXIST);
    cr_assert_eq(o.n, 0);
    bool existed;
    cr_assert_eq(th_cfs_mkdir(ctx, &o, p, true, &existed), 0);
    cr_assert(existed);
    cr_assert_eq(o.n, 1);
    cr_assert_eq(th_cfs_undo(ctx, &o), 0);
    cr_assert(!th_path_exists(p), "a shared object goes with its last user");
}

/* Builds root/aaa.../aaa.../.../<last> with components of at most 200 bytes, so that the
 * whole path is exactly len bytes; creates every directory but the last. */
static void deep_path(const char *root, size_t len, char *out, size_t cap)
{
    snprintf(out, cap, "%s", root);
    while (strlen(out) + 201 < len) {
        size_t at = strlen(out);
        out[at] = '/';
        memset(out + at + 1, 'a', 199);
        out[at + 200] = 0;
        mkdir(out, 0755);
    }
    size_t at = strlen(out), rest = len - at - 1;
    out[at] = '/';
    memset(out + at + 1, 'b', rest);
    out[len] = 0;
}

/* Every length up to the limit is recorded whole, so undo removes exactly the directory
 * made, and never a shorter path that happens to be its prefix; a longer one is refused
 * before anything is created. */
Test(configfs_undo, long_paths_are_recorded_whole_or_refused_before_creating)
{
    static const size_t lens[] = {500, 511, 512, 513, 620, 1000, 1023, 1024, 1100};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char mine[1200], prefix[1200];
        deep_path(root, lens[i], mine, sizeof(mine));
        /* Somebody else's directory named by the first 511 bytes of ours. */
        snprintf(prefix, sizeof(prefix), "%.*s", 511, mine);
        bool has_prefix = lens[i] > 512 && strrchr(prefix, '/') < prefix + 511 - 1;
        if (has_prefix) cr_assert_eq(mkdir(prefix, 0755), 0, "%s", strerror(errno));
        th_objects o = {0};
        int rc = th_cfs_mkdir(ctx, &o, mine, false, NULL);
        if (lens[i] >= 1024) {
            cr_expect_eq(rc, -ENAMETOOLONG, "length %zu: rc %d", lens[i], rc);
            cr_expect(!th_path_exists(mine), "length %zu: created although refused", lens[i]);
            cr_expect(strstr(th_ctx_errmsg(ctx), "longer than") != NULL, "%s", th_ctx_errmsg(ctx));
        } else {
            cr_expect_eq(rc, 0, "length %zu: %s", lens[i], th_ctx_errmsg(ctx));
        }
        cr_expect_eq(th_cfs_undo(ctx, &o), 0, "length %zu: %s", lens[i], th_ctx_errmsg(ctx));
        cr_expect(!th_path_exists(mine), "length %zu: undo left the directory it made", lens[i]);
        if (has_prefix) {
            cr_expect(th_path_exists(prefix), "length %zu: undo removed a directory it never made",
                      lens[i]);
            rmdir(prefix);
        }
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", root);
    cr_assert_eq(system(cmd), 0);
}
