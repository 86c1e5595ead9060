/* Two harness instances that both call a device "d0": distinct configfs backstores,
 * WWNs (VPD 0x83, the serial, the loopback target) unless pinned; the id from
 * getrandom or TCMU_HARNESS_INSTANCE. */
#include <sys/stat.h>
#include <unistd.h>
#include "helpers.h"
#include "scenario/scenario.h"
#include "scenario/session.h"
#include "scenario/spec.h"

static th_ctx *ctx_with(uint32_t instance)
{
    th_ctx *ctx;
    cr_assert_eq(th_ctx_new(&ctx), 0);
    th_ctx_set_instance(ctx, instance);
    return ctx;
}

Test(instance, same_name_on_two_instances_gets_two_wwns_and_one_instance_one)
{
    th_ctx *a = ctx_with(0xabcd), *b = ctx_with(0x1234), *a2 = ctx_with(0xabcd);
    uint64_t wa = th_device_wwn_for(a, "d0"), wb = th_device_wwn_for(b, "d0");
    cr_assert_neq(wa, wb);
    cr_assert_eq(wa, th_device_wwn_for(a2, "d0"), "the same instance and name: the same unit");
    cr_assert_neq(wa, th_device_wwn_for(a, "d1"));
    cr_assert_eq(wa >> 60, 3, "NAA 3 (locally assigned)");
    cr_assert_eq(wb >> 60, 3);
    th_ctx_free(a);
    th_ctx_free(b);
    th_ctx_free(a2);
}

/* What INQUIRY VPD 0x83 and 0x80 answer for a disk given the instance's WWN. */
static void vpd_of(uint64_t wwn, uint8_t *naa, char *serial)
{
    th_backend *be;
    cr_assert_eq(th_backend_memory_new(1 << 20, &be, NULL, 0), 0);
    th_disk_config cfg;
    th_disk_config_init(&cfg);
    cfg.wwn = wwn;
    th_disk *d;
    cr_assert_eq(th_disk_new(&cfg, be, &d, NULL, 0), 0);
    uint8_t cdb[6] = {0x12, 1, 0x83, 0, 255, 0};
    th_cmd *c = disk_cmd(d, cdb, 6, NULL, 0, 255);
    size_t n;
    const uint8_t *b = th_fake_data_in(c, &n);
    cr_assert_geq(n, 16);
    memcpy(naa, b + 8, 8); /* the first designator: NAA, binary */
    th_fake_cmd_free(c);
    cdb[2] = 0x80;
    c = disk_cmd(d, cdb, 6, NULL, 0, 255);
    b = th_fake_data_in(c, &n);
    cr_assert_geq(n, 4);
    snprintf(serial, 64, "%.*s", b[3], (const char *)b + 4);
    th_fake_cmd_free(c);
    th_disk_free(d);
}

Test(instance, two_instances_d0_answer_different_vpd_naa_and_serial)
{
    th_ctx *a = ctx_with(1), *b = ctx_with(2);
    uint8_t na[8], nb[8];
    char sa[64], sb[64];
    vpd_of(th_device_wwn_for(a, "d0"), na, sa);
    vpd_of(th_device_wwn_for(b, "d0"), nb, sb);
    cr_assert(memcmp(na, nb, 8), "both instances' d0 carry one NAA designator");
    cr_assert_str_neq(sa, sb);
    th_ctx_free(a);
    th_ctx_free(b);
}

/* The builder (the session) gives an unpinned spec its instance's WWN, VPD and serial. */
static void spec_wwn_on(uint32_t instance, const char *spec, char *wwn, size_t cap)
{
    sc_session_opts o = {.kernel = false};
    sc_session *s;
    char err[320];
    cr_assert_eq(sc_session_new(&o, &s, err, sizeof(err)), 0, "%s", err);
    th_ctx_set_instance(sc_session_ctx(s), instance);
    sc_device d;
    cr_assert_eq(sc_spec_parse(spec, &d, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sc_session_add_device(s, &d, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sc_session_field(s, d.name, "wwn", wwn, cap), 0);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

Test(instance, a_spec_gets_its_instance_wwn_and_a_pinned_one_is_kept)
{
    char w1[32], w2[32], pinned[32], want[32];
    th_ctx *a = ctx_with(7);
    spec_wwn_on(7, "name=d0", w1, sizeof(w1));
    spec_wwn_on(8, "name=d0", w2, sizeof(w2));
    spec_wwn_on(8, "name=d0,wwn=naa.3000000000000abc,serial=S1", pinned, sizeof(pinned));
    snprintf(want, sizeof(want), "naa.%016llx", (unsigned long long)th_device_wwn_for(a, "d0"));
    cr_assert_str_eq(w1, want);
    cr_assert_str_neq(w1, w2);
    cr_assert_str_eq(pinned, "naa.3000000000000abc");
    th_ctx_free(a);
}

Test(instance, scenario_wwn_key_pins_the_identifier)
{
    static scenario sc;
    const char *y = "name: t\ndevices:\n  - {name: d0, wwn: naa.3000000000000abc}\n"
                    "  - {name: d1}\nsteps:\n  - run: \"true\"\n";
    char path[] = "/tmp/th-instance-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, y, strlen(y)), (ssize_t)strlen(y));
    close(fd);
    int rc = sc_load(path, &sc);
    unlink(path);
    cr_assert_eq(rc, 0, "%s", sc_errors(&sc));
    cr_assert_eq(sc.devices[0].wwn, 0x3000000000000abcull);
    cr_assert_eq(sc.devices[1].wwn, 0, "unpinned: derived per instance when opened");
    sc_free(&sc);
}

/* A backstore already there (another harness's, or a crashed one's) names the path
 * open wanted: with two instances, two paths. */
static char root[64];
static char *backstore_of(th_ctx *ctx, const char *name)
{
    th_ctx_set_paths(ctx, root, root, root);
    th_device_config cfg;
    th_device_config_init(&cfg);
    cfg.name = name;
    cfg.size = 1 << 20;
    cfg.handler = th_disk_handle;
    th_device *dev;
    cr_assert_eq(th_device_open(ctx, &cfg, &dev), -EEXIST, "%s", th_ctx_errmsg(ctx));
    static char path[2][256];
    static int k;
    char *p = path[k++ & 1];
    snprintf(p, 256, "%s", th_ctx_errmsg(ctx));
    return p;
}

Test(instance, backstores_of_two_instances_are_th_instance_name)
{
    snprintf(root, sizeof(root), "/tmp/th-instance-XXXXXX");
    cr_assert(mkdtemp(root));
    char p[256];
    const char *dirs[] = {"/target", "/target/core", "/target/core/user_1",
                          "/target/core/user_1/th-0000abcd-d0",
                          "/target/core/user_1/th-00001234-d0"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
        cr_assert_eq(mkdir(p, 0755), 0, "%s", p);
    }
    th_ctx *a = ctx_with(0xabcd), *b = ctx_with(0x1234);
    cr_assert(strstr(backstore_of(a, "d0"), "/core/user_1/th-0000abcd-d0 already exists"));
    cr_assert(strstr(backstore_of(b, "d0"), "/core/user_1/th-00001234-d0 already exists"));
    th_ctx_free(a);
    th_ctx_free(b);
    for (size_t i = 5; i-- > 0;) {
        snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
        rmdir(p);
    }
    rmdir(root);
}

Test(instance, the_id_comes_from_TCMU_HARNESS_INSTANCE_or_is_random)
{
    th_ctx *a, *b;
    unsetenv("TCMU_HARNESS_INSTANCE");
    cr_assert_eq(th_ctx_new(&a), 0);
    cr_assert_eq(th_ctx_new(&b), 0);
    cr_assert_neq(th_ctx_instance(a), th_ctx_instance(b), "two random ids the same");
    th_ctx_free(a);
    th_ctx_free(b);
    setenv("TCMU_HARNESS_INSTANCE", "00C0ffee", 1);
    cr_assert_eq(th_ctx_new(&a), 0);
    cr_assert_eq(th_ctx_instance(a), 0xc0ffee);
    th_ctx_free(a);
    const char *bad[] = {"xyz", "123456789", "-1", "12 ", " 12", "0x12"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("TCMU_HARNESS_INSTANCE", bad[i], 1);
        a = NULL;
        cr_assert_eq(th_ctx_new(&a), -EINVAL, "%s accepted", bad[i]);
        cr_assert_null(a);
    }
    unsetenv("TCMU_HARNESS_INSTANCE");
}
