/* The two spellings of a device, generated from the one key table (device_keys.h): for
 * every key, a bad value gets the same message as a SPEC and in YAML, every example is
 * the same device in both, the defaults are equal, the old SPEC names still work, and the
 * checks across keys say the same either way. */
#include <unistd.h>
#include "helpers.h"
#include "scenario/device_keys.h"
#include "scenario/scenario.h"
#include "scenario/spec.h"

static scenario sc;

/* Loads `yaml` (a device's keys, one "key: value" a line) as the one device of a
 * scenario; 0 or -EINVAL with the first error's message (no FILE:LINE:COL) in msg. */
static int load_device(const char *keys, char *msg, size_t cap)
{
    char path[] = "/tmp/th-spec-XXXXXX.yaml", text[8192];
    int n = snprintf(text, sizeof(text), "name: t\ndevices:\n  -\n");
    for (const char *l = keys; *l;) {
        size_t len = strcspn(l, "\n");
        n += snprintf(text + n, sizeof(text) - (size_t)n, "    %.*s\n", (int)len, l);
        l += len + (l[len] == '\n');
    }
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, (size_t)n), n);
    close(fd);
    int rc = sc_load(path, &sc);
    unlink(path);
    msg[0] = 0;
    if (rc) {
        /* FILE:LINE:COL: message */
        const char *e = sc_errors(&sc), *p = e + strlen(path);
        cr_assert_eq(strncmp(e, path, strlen(path)), 0, "%s", e);
        p = strchr(p + 1, ':');
        p = p ? strchr(p + 1, ':') : NULL;
        cr_assert_not_null(p, "%s", e);
        snprintf(msg, cap, "%.*s", (int)strcspn(p + 2, "\n"), p + 2);
    }
    return rc;
}

/* A YAML double-quoted scalar. */
static void quoted(char *out, size_t cap, const char *v)
{
    size_t n = 0;
    out[n++] = '"';
    for (; *v && n + 3 < cap; v++) {
        if (*v == '"' || *v == '\\') out[n++] = '\\';
        out[n++] = *v;
    }
    out[n++] = '"';
    out[n] = 0;
}

/* One key with a SPEC value, spelled both ways: "k=v" and "k: v" (a list: one item;
 * chap.user: chap: {user: v}). */
static void both(const char *name, const sc_device_key *k, const char *v, char *spec, size_t scap,
                 char *yaml, size_t ycap)
{
    char q[1024];
    snprintf(spec, scap, "%s=%s", name, v);
    if (k->kind == SC_DK_MEDIA) {
        const char *colon = strchr(v, ':');
        cr_assert_not_null(colon);
        quoted(q, sizeof(q), colon + 1);
        snprintf(yaml, ycap, "media: [{%.*s: %s}]", (int)(colon - v), v, q);
        return;
    }
    quoted(q, sizeof(q), v);
    if (strchr(name, '.'))
        snprintf(yaml, ycap, "%.*s: {%s: %s}", (int)(strchr(name, '.') - name), name,
                 strchr(name, '.') + 1, q);
    else if (k->kind == SC_DK_INITIATOR)
        snprintf(yaml, ycap, "%s: [%s]", name, q);
    else
        snprintf(yaml, ycap, "%s: %s", name, q);
}

/* The keys a key needs around it: a name, the tape type, export: iscsi. */
static void context(const char *name, const sc_device_key *k, char *spec, size_t scap, char *yaml,
                    size_t ycap)
{
    spec[0] = yaml[0] = 0;
    if (strcmp(name, "name")) {
        strcat(spec, ",name=d0");
        strcat(yaml, "name: d0\n");
    }
    if (k->on == SC_ON_TAPE && strcmp(name, "type")) {
        strcat(spec, ",type=tape");
        strcat(yaml, "type: tape\n");
    }
    if ((k->flags & SC_KEY_ISCSI) && strcmp(name, "export")) {
        strcat(spec, ",export=iscsi");
        strcat(yaml, "export: iscsi\n");
    }
    (void)scap, (void)ycap;
}

/* Every key, and each of chap's by its SPEC name (chap.user). */
typedef void (*key_fn)(const char *name, const sc_device_key *k);
static int each_key(key_fn fn)
{
    int n = 0;
    for (size_t i = 0; i < sc_n_device_keys; i++, n++) {
        const sc_device_key *k = &sc_device_keys[i];
        if (k->kind != SC_DK_MAP) {
            fn(k->name, k);
            continue;
        }
        for (size_t j = 0; j < sc_n_chap_keys; j++) {
            char name[40];
            snprintf(name, sizeof(name), "%s.%s", k->name, sc_chap_keys[j].name);
            sc_device_key sub = sc_chap_keys[j];
            sub.flags |= k->flags;
            fn(name, &sub);
        }
    }
    return n;
}

/* Bad values for a key, by its kind and range. */
static int bad_values(const sc_device_key *k, char out[][600])
{
    int n = 0;
    char *v;
    switch (k->kind) {
    case SC_DK_TEXT:
    case SC_DK_NAME:
    case SC_DK_INITIATOR:
        v = out[n++];
        memset(v, 'x', k->kind == SC_DK_INITIATOR ? 224 : k->cap);
        v[k->kind == SC_DK_INITIATOR ? 224 : k->cap] = 0;
        if (!(k->flags & SC_KEY_EMPTY_OK)) snprintf(out[n++], 600, "%s", "");
        if (k->kind == SC_DK_NAME) snprintf(out[n++], 600, "a b");
        break;
    case SC_DK_TYPE:
        snprintf(out[n++], 600, "floppy");
        break;
    case SC_DK_SIZE:
        snprintf(out[n++], 600, "12XB");
        snprintf(out[n++], 600, "%lldTiB", k->hi / SC_TIB + 1);
        if (k->lo) snprintf(out[n++], 600, "0");
        break;
    case SC_DK_BLOCK:
        snprintf(out[n++], 600, "1000");
        snprintf(out[n++], 600, "%lld", k->hi * 2);
        snprintf(out[n++], 600, "%lld", k->lo / 2);
        break;
    case SC_DK_INT:
    case SC_DK_LUN:
        snprintf(out[n++], 600, "x");
        snprintf(out[n++], 600, "-1");
        snprintf(out[n++], 600, "%lld", k->hi + 1);
        break;
    case SC_DK_BOOL:
    case SC_DK_NOT_BOOL:
        snprintf(out[n++], 600, "maybe");
        break;
    case SC_DK_WWN:
    case SC_DK_TARGET:
        snprintf(out[n++], 600, "naa.123");
        snprintf(out[n++], 600, "naa.0000000000000000");
        break;
    case SC_DK_BACKING:
        snprintf(out[n++], 600, "disk:/x");
        snprintf(out[n++], 600, "file:");
        break;
    case SC_DK_EXPORT:
        snprintf(out[n++], 600, "fc");
        break;
    case SC_DK_MEDIA:
        snprintf(out[n++], 600, "floppy:1");
        snprintf(out[n++], 600, "record:x");
        snprintf(out[n++], 600, "filemark:0");
        snprintf(out[n++], 600, "record:99999999");
        break;
    default:
        break;
    }
    return n;
}

static int cases;

static void same_message_for_bad_values(const char *name, const sc_device_key *k)
{
    char values[8][600];
    int n = bad_values(k, values);
    cr_assert_gt(n, 0, "%s: no bad value to try", name);
    for (int i = 0; i < n; i++, cases++) {
        char spec[2048], yaml[2048], cs[4096], cy[4096], ymsg[600], smsg[600];
        both(name, k, values[i], spec, sizeof(spec), yaml, sizeof(yaml));
        context(name, k, cs, sizeof(cs), cy, sizeof(cy));
        strncat(spec, cs, sizeof(spec) - strlen(spec) - 1);
        strncat(cy, yaml, sizeof(cy) - strlen(cy) - 1);
        sc_device d;
        cr_assert_eq(sc_spec_parse(spec, &d, smsg, sizeof(smsg)), -EINVAL, "%s accepted", spec);
        sc_device_clear(&d);
        cr_assert_eq(load_device(cy, ymsg, sizeof(ymsg)), -EINVAL, "accepted:\n%s", cy);
        cr_assert_str_eq(smsg, ymsg, "SPEC %s\nYAML\n%s", spec, cy);
        sc_free(&sc);
    }
}

Test(spec_parse, every_key_with_a_bad_value_has_one_message_in_both_spellings)
{
    cases = 0;
    cr_assert_geq(each_key(same_message_for_bad_values), 27);
    cr_assert_geq(cases, 56, "%d cases", cases);
}

/* Two descriptions are the same device (media records and initiators compared one by
 * one, texts as text). */
static void assert_same_device(const sc_device *a, const sc_device *b, const char *what)
{
    sc_device x, y;
    memcpy(&x, a, sizeof(x));
    memcpy(&y, b, sizeof(y));
    cr_assert_eq(x.n_media, y.n_media, "%s", what);
    for (int i = 0; i < x.n_media; i++) {
        const struct sc_media *m = &x.media[i], *n = &y.media[i];
        cr_assert_eq(m->filemark, n->filemark, "%s: media %d", what, i);
        cr_assert_eq(m->len, n->len, "%s: media %d", what, i);
        cr_assert_eq(!m->text, !n->text, "%s", what);
        if (m->text) cr_assert_str_eq(m->text, n->text, "%s", what);
    }
    cr_assert_eq(x.n_initiators, y.n_initiators, "%s", what);
    for (int i = 0; i < x.n_initiators; i++)
        cr_assert_str_eq(x.initiators[i], y.initiators[i], "%s", what);
    x.media = y.media = NULL;
    x.cap_media = y.cap_media = 0;
    x.initiators = y.initiators = NULL;
    x.cap_initiators = y.cap_initiators = 0;
    cr_assert_eq(memcmp(&x, &y, sizeof(x)), 0, "%s: the spellings give different devices", what);
}

/* Every key of a type with its example, in one SPEC and one mapping. */
static void all_examples(const char *type)
{
    char spec[8192] = "", yaml[8192] = "", s1[2048], y1[2048];
    unsigned on = strcmp(type, "tape") ? SC_ON_DISK : SC_ON_TAPE;
    for (size_t i = 0; i < sc_n_device_keys; i++) {
        const sc_device_key *k = &sc_device_keys[i];
        if (!(k->on & on)) continue;
        if (!strcmp(k->name, "type")) {
            snprintf(s1, sizeof(s1), "type=%s", type);
            snprintf(y1, sizeof(y1), "type: %s", type);
        } else if (k->kind == SC_DK_MAP) {
            snprintf(s1, sizeof(s1), "chap.user=%s,chap.password=%s", sc_chap_keys[0].example,
                     sc_chap_keys[1].example);
            snprintf(y1, sizeof(y1), "chap: {user: %s, password: %s}", sc_chap_keys[0].example,
                     sc_chap_keys[1].example);
        } else {
            both(k->name, k, k->example, s1, sizeof(s1), y1, sizeof(y1));
        }
        snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "%s%s", spec[0] ? "," : "", s1);
        snprintf(yaml + strlen(yaml), sizeof(yaml) - strlen(yaml), "%s\n", y1);
    }
    sc_device d;
    char err[600];
    cr_assert_eq(sc_spec_parse(spec, &d, err, sizeof(err)), 0, "%s: %s", spec, err);
    cr_assert_eq(load_device(yaml, err, sizeof(err)), 0, "%s\n%s", yaml, err);
    assert_same_device(&d, &sc.devices[0], spec);
    sc_device_clear(&d);
    sc_free(&sc);
}

Test(spec_parse, every_key_of_a_disk_or_tape_with_its_example_is_one_device_both_ways)
{
    in_dir_with_example_image();
    all_examples("disk");
    all_examples("tape");
}

Test(spec_parse, examples_land_in_the_fields)
{
    sc_device d;
    char err[600];
    cr_assert_eq(sc_spec_parse("name=s0,type=tape,size=8MiB,block_size=4096,early_warning=1MiB,"
                               "second_partition=1MiB,loaded=0,export=iscsi,initiators=iqn.x:a,"
                               "initiators=iqn.x:b,chap.user=u,chap.password=p,lun=1,hba=3,spin=0,"
                               "target=naa.5001405000000001,vendor=ACME,media=text:hi,"
                               "media=filemark:2,wwn=naa.3000000000000001",
                               &d, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_str_eq(d.type, "tape");
    cr_assert_eq(d.size, 8u << 20);
    cr_assert_eq(d.block_size, 4096);
    cr_assert_eq(d.early_warning, 1u << 20);
    cr_assert_eq(d.second_partition, 1u << 20);
    cr_assert(d.unloaded && d.iscsi);
    cr_assert_eq(d.n_initiators, 2);
    cr_assert_str_eq(d.initiators[1], "iqn.x:b");
    cr_assert_str_eq(d.chap_user, "u");
    cr_assert_str_eq(d.chap_password, "p");
    cr_assert_eq(d.lun, 1);
    cr_assert_eq(d.hba, 3);
    cr_assert_eq(d.spin, 0);
    cr_assert_str_eq(d.target, "naa.5001405000000001");
    cr_assert_str_eq(d.vendor, "ACME");
    cr_assert_eq(d.n_media, 2);
    cr_assert_str_eq(d.media[0].text, "hi");
    cr_assert(d.media[1].filemark && d.media[1].len == 2);
    cr_assert_eq(d.wwn, 0x3000000000000001ull);
    sc_device_clear(&d);
}

Test(spec_parse, defaults_are_the_same_64MiB_memory_disk_in_both_spellings)
{
    sc_device d, want;
    char err[600];
    cr_assert_eq(sc_spec_parse("name=d0", &d, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(load_device("name: d0", err, sizeof(err)), 0, "%s", err);
    assert_same_device(&d, &sc.devices[0], "defaults");
    sc_free(&sc);
    sc_device_defaults(&want);
    snprintf(want.name, sizeof(want.name), "d0");
    assert_same_device(&d, &want, "defaults");
    cr_assert_eq(d.size, 64u << 20);
    cr_assert_str_eq(d.backing, "memory");
    cr_assert_str_eq(d.type, "disk");
    cr_assert_eq(d.block_size, 512);
    cr_assert(!d.iscsi && !d.external && !d.vendor[0]);
}

Test(spec_parse, the_old_spec_names_are_aliases)
{
    static const struct {
        const char *old, *now;
    } cases[] = {
        {"name=t,type=tape,capacity=2MiB", "name=t,type=tape,size=2MiB"},
        {"name=t,type=tape,partition1=1MiB", "name=t,type=tape,second_partition=1MiB"},
        {"name=d,export=iscsi,chap_user=u,chap_password=p",
         "name=d,export=iscsi,chap.user=u,chap.password=p"},
        {"name=d,export=iscsi,initiator=iqn.x:a,initiator=iqn.x:b",
         "name=d,export=iscsi,initiators=iqn.x:a,initiators=iqn.x:b"},
        {"name=t,type=tape,loaded=0,write_protect=1",
         "name=t,type=tape,loaded=false,write_protect=true"},
    };
    cr_assert_eq(sc_n_spec_aliases, 5);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sc_device a, b;
        char err[600];
        cr_assert_eq(sc_spec_parse(cases[i].old, &a, err, sizeof(err)), 0, "%s: %s", cases[i].old,
                     err);
        cr_assert_eq(sc_spec_parse(cases[i].now, &b, err, sizeof(err)), 0, "%s: %s", cases[i].now,
                     err);
        assert_same_device(&a, &b, cases[i].old);
        sc_device_clear(&a);
        sc_device_clear(&b);
    }
    sc_device d;
    char err[600];
    cr_assert_eq(sc_spec_parse("name=t,type=tape,capacity=2MiB,size=2MiB", &d, err, sizeof(err)),
                 -EINVAL);
    cr_assert_str_eq(err, "key 'size' repeated");
}

/* The checks across keys, for a SPEC and the same keys in YAML. */
Test(spec_parse, checks_across_keys_say_the_same_in_both_spellings)
{
    static const struct {
        const char *spec, *yaml, *err;
    } cases[] = {
        {"name=d0,early_warning=64K", "name: d0\nearly_warning: 64K",
         "early_warning is for a tape; 'd0' is a disk"},
        {"name=d0,media=record:1", "name: d0\nmedia: [record: 1]",
         "media is for a tape; 'd0' is a disk"},
        {"name=t0,type=tape,backing=memory", "name: t0\ntype: tape\nbacking: memory",
         "backing is for a disk; 't0' is a tape"},
        {"name=d0,iqn=iqn.x:t", "name: d0\niqn: iqn.x:t",
         "iqn, portal, chap and initiators need export: iscsi"},
        {"name=d0,initiators=iqn.x:y", "name: d0\ninitiators: [iqn.x:y]",
         "iqn, portal, chap and initiators need export: iscsi"},
        {"name=d0,export=iscsi,chap.user=u", "name: d0\nexport: iscsi\nchap: {user: u}",
         "chap needs both user and password"},
        {"name=d0,size=1000", "name: d0\nsize: 1000", "size is not a multiple of block_size"},
        {"name=t0,type=tape,size=1MiB,early_warning=1MiB",
         "name: t0\ntype: tape\nsize: 1MiB\nearly_warning: 1MiB",
         "early_warning must be below size (the capacity)"},
        {"name=t0,type=tape,size=1MiB,second_partition=2MiB",
         "name: t0\ntype: tape\nsize: 1MiB\nsecond_partition: 2MiB",
         "second_partition must be smaller than size (the capacity)"},
        {"size=1MiB", "size: 1MiB", "a device needs a name"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sc_device d;
        char smsg[600], ymsg[600];
        cr_assert_eq(sc_spec_parse(cases[i].spec, &d, smsg, sizeof(smsg)), -EINVAL, "%s",
                     cases[i].spec);
        sc_device_clear(&d);
        cr_assert_str_eq(smsg, cases[i].err, "%s", cases[i].spec);
        cr_assert_eq(load_device(cases[i].yaml, ymsg, sizeof(ymsg)), -EINVAL, "%s", cases[i].yaml);
        cr_assert_str_eq(ymsg, cases[i].err, "%s", cases[i].yaml);
        sc_free(&sc);
    }
}

static void repeated(const char *name, const sc_device_key *k)
{
    char spec[2048], yaml[2048], cs[4096], cy[4096];
    const char *v = k->example ? k->example : "x";
    if (!strcmp(name, "type")) v = k->on == SC_ON_TAPE ? "tape" : "disk";
    both(name, k, v, spec, sizeof(spec), yaml, sizeof(yaml));
    context(name, k, cs, sizeof(cs), cy, sizeof(cy));
    char twice[4096];
    snprintf(twice, sizeof(twice), "%s,%s%s", spec, spec, cs);
    sc_device d;
    char err[600];
    int rc = sc_spec_parse(twice, &d, err, sizeof(err));
    sc_device_clear(&d);
    if (k->kind == SC_DK_INITIATOR || k->kind == SC_DK_MEDIA) {
        cr_assert_eq(rc, 0, "%s: %s", twice, err);
        return;
    }
    cr_assert_eq(rc, -EINVAL, "%s accepted", twice);
    char want[96];
    snprintf(want, sizeof(want), "key '%s' repeated", name);
    cr_assert_str_eq(err, want, "%s", twice);
}

Test(spec_parse, every_key_repeated_is_an_error_but_the_lists)
{
    each_key(repeated);
}

Test(spec_parse, spec_syntax_errors)
{
    static const struct {
        const char *spec, *err;
    } cases[] = {
        {"name=d,colour=red", "unknown key 'colour'"},
        {"name=d,=1", "unknown key ''"},
        {"name=d,chap=x", "unknown key 'chap'"},
        {"name=d,chap.colour=x", "unknown key 'chap.colour'"},
        {"name=d,novalue", "'novalue' is not key=value"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sc_device d;
        char err[600];
        cr_assert_eq(sc_spec_parse(cases[i].spec, &d, err, sizeof(err)), -EINVAL, "%s accepted",
                     cases[i].spec);
        cr_assert_str_eq(err, cases[i].err, "%s", cases[i].spec);
        sc_device_clear(&d);
    }
}

/* Any number of ACLs (there were at most 16); an IQN is as long as the kernel's allows. */
Test(spec_parse, initiators_without_a_count_limit_and_iqns_up_to_the_kernels_length)
{
    enum { N = 300 };
    char spec[N * 32], err[600];
    size_t len = (size_t)snprintf(spec, sizeof(spec), "name=d,export=iscsi");
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(spec + len, sizeof(spec) - len, ",initiators=iqn.x:i%d", i);
    sc_device d, copy;
    cr_assert_eq(sc_spec_parse(spec, &d, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(d.n_initiators, N);
    cr_assert_str_eq(d.initiators[N - 1], "iqn.x:i299");
    cr_assert_eq(sc_device_copy(&copy, &d), 0);
    cr_assert_eq(copy.n_initiators, N);
    cr_assert_neq(copy.initiators[7], d.initiators[7], "a deep copy");
    cr_assert_str_eq(copy.initiators[7], "iqn.x:i7");
    sc_device_clear(&copy);
    sc_device_clear(&d);
    char iqn[SC_IQN_MAX + 2];
    memset(iqn, 'x', sizeof(iqn) - 1);
    iqn[sizeof(iqn) - 1] = 0;
    memcpy(iqn, "iqn.", 4);
    snprintf(spec, sizeof(spec), "name=d,export=iscsi,initiators=%s", iqn);
    cr_assert_eq(sc_spec_parse(spec, &d, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "is longer than 223 characters (the kernel's IQN length)"), "%s", err);
    sc_device_clear(&d);
    iqn[SC_IQN_MAX] = 0; /* 223: the longest */
    snprintf(spec, sizeof(spec), "name=d,export=iscsi,initiators=%s", iqn);
    cr_assert_eq(sc_spec_parse(spec, &d, err, sizeof(err)), 0, "%s", err);
    sc_device_clear(&d);
}

Test(spec_parse, sizes_take_binary_and_decimal_looking_suffixes_as_powers_of_two)
{
    static const struct {
        const char *text;
        uint64_t v;
    } ok[] = {{"4096", 4096}, {"4K", 4096},         {"4KiB", 4096},   {"4k", 4096},
              {"4KB", 4096},  {"64MiB", 64u << 20}, {"1G", 1u << 30}, {"2TB", 2ull << 40}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t v = 0;
        cr_assert(sc_parse_size(ok[i].text, &v), "%s", ok[i].text);
        cr_assert_eq(v, ok[i].v, "%s", ok[i].text);
    }
    static const char *const bad[] = {"",         "-1", "K", "1 K", "1KiBs", "99999999999999999999",
                                      "16777216T"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v;
        cr_assert(!sc_parse_size(bad[i], &v), "%s", bad[i]);
    }
}
