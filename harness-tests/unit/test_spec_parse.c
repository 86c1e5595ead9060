/* serve --device SPEC: every key once (valid together), every key repeated, bad values. */
#include "helpers.h"
#include "scenario/spec.h"

static sc_spec s;

/* Every key with its example, but `skip`; then `extra`. */
static void all_keys(char *buf, size_t cap, const char *skip, const char *extra)
{
    size_t len = 0;
    buf[0] = 0;
    for (const sc_spec_key *k = sc_spec_keys; k->name; k++)
        if (!skip || strcmp(k->name, skip))
            len += (size_t)snprintf(buf + len, cap - len, "%s%s=%s", len ? "," : "", k->name,
                                    k->example);
    if (extra) snprintf(buf + len, cap - len, "%s%s", len ? "," : "", extra);
}

Test(spec_parse, every_key_with_its_example_together_is_valid)
{
    char spec[4096];
    all_keys(spec, sizeof(spec), NULL, NULL);
    cr_assert_eq(sc_spec_parse(spec, &s), 0, "%s: %s", spec, s.err);
    cr_assert_str_eq(s.name, "s0");
    cr_assert_str_eq(s.cfg.name, "s0");
    cr_assert_eq(s.cfg.type, TH_TYPE_DISK);
    cr_assert_eq(s.cfg.size, 16u << 20);
    cr_assert_eq(s.cfg.block_size, 4096);
    cr_assert_eq(s.disk.block_size, 4096);
    cr_assert_eq(s.tape.capacity, 8u << 20);
    cr_assert_eq(s.tape.early_warning, 1u << 20);
    cr_assert_eq(s.tape.partition1, 1u << 20);
    cr_assert(!s.tape.write_protect && s.tape.loaded);
    cr_assert(s.iscsi && s.cfg.external_fabric);
    cr_assert_eq(s.n_initiators, 1);
    cr_assert_str_eq(s.initiators[0], "iqn.2026-11.org.example:i");
    cr_assert_str_eq(s.chap_user, "u");
    cr_assert_eq(s.cfg.workers, 2);
    cr_assert_eq(s.cfg.lun, 1);
    cr_assert_eq(s.cfg.spin_polls, 0);
    cr_assert_eq(s.cfg.hba, 3);
    cr_assert_str_eq(s.cfg.loop_target, "naa.5001405000000001");
    cr_assert_str_eq(s.disk.vendor, "ACME");
    cr_assert_str_eq(s.tape.product, "Anvil");
    cr_assert_eq(s.cfg.wwn, 0x3000000000000001ull); /* wwn= pins it */
    cr_assert_eq(s.disk.wwn, s.cfg.wwn);
    cr_assert_eq(s.tape.wwn, s.cfg.wwn);
}

Test(spec_parse, defaults_are_a_64MiB_memory_disk)
{
    cr_assert_eq(sc_spec_parse("name=d", &s), 0, "%s", s.err);
    cr_assert_eq(s.cfg.size, 64u << 20);
    cr_assert_str_eq(s.backing, "memory");
    cr_assert(!s.iscsi && !s.cfg.external_fabric);
    cr_assert_null(s.disk.vendor);
}

Test(spec_parse, every_key_repeated_is_an_error_but_initiator)
{
    int keys = 0;
    for (const sc_spec_key *k = sc_spec_keys; k->name; k++, keys++) {
        char spec[4096], twice[512];
        snprintf(twice, sizeof(twice), "%s=%s,%s=%s", k->name, k->example, k->name, k->example);
        all_keys(spec, sizeof(spec), k->name, twice);
        int rc = sc_spec_parse(spec, &s);
        if (k->repeatable) {
            cr_assert_eq(rc, 0, "%s: %s", spec, s.err);
            continue;
        }
        cr_assert_eq(rc, -EINVAL, "%s accepted", spec);
        char want[96];
        snprintf(want, sizeof(want), "key '%s' repeated", k->name);
        cr_assert_str_eq(s.err, want, "%s", spec);
    }
    cr_assert_geq(keys, 26);
}

Test(spec_parse, bad_values_are_refused_with_the_key_and_why)
{
    static const struct {
        const char *spec, *err;
    } cases[] = {
        {"name=d,type=floppy", "type=floppy: disk or tape"},
        {"name=d,size=12XB", "size=12XB: not a size above 0 (like 64MiB)"},
        {"name=d,size=0", "size=0: not a size above 0 (like 64MiB)"},
        {"name=d,block_size=-1", "block_size=-1: not a size above 0 (like 64MiB)"},
        {"name=d,block_size=8G", "block_size=8G: too large"},
        {"name=d,capacity=x", "capacity=x: not a size above 0 (like 64MiB)"},
        {"name=d,early_warning=1Q", "early_warning=1Q: not a size (like 64MiB)"},
        {"name=d,partition1=0", "partition1=0: not a size above 0 (like 64MiB)"},
        {"name=d,write_protect=maybe", "write_protect=maybe: not 1 or 0"},
        {"name=d,loaded=2", "loaded=2: not 1 or 0"},
        {"name=d,external=on", "external=on: not 1 or 0"},
        {"name=d,export=fc", "export=fc: loopback or iscsi"},
        {"name=d,backing=disk:/x", "backing=disk:/x: memory or file:PATH"},
        {"name=d,workers=65", "workers=65: not a number from 0 to 64"},
        {"name=d,lun=256", "lun=256: not a number from 0 to 255"},
        {"name=d,spin=-1", "spin=-1: not a number from 0 to 1073741824"},
        {"name=d,hba=2x", "hba=2x: not a number from 0 to 1048576"},
        {"name=d,vendor=ABCDEFGHIJKLMNOPQ", "vendor=ABCDEFGHIJKLMNOPQ: longer than 15 characters"},
        {"name=d,wwn=naa.123", "wwn=naa.123: naa. and 16 hex digits, not all zero"},
        {"name=d,wwn=naa.000000000000000g",
         "wwn=naa.000000000000000g: naa. and 16 hex digits, not all zero"},
        {"name=d,wwn=0000000000000000",
         "wwn=0000000000000000: naa. and 16 hex digits, not all zero"},
        {"name=d,colour=red", "unknown key 'colour'"},
        {"name=d,=1", "unknown key ''"},
        {"name=d,novalue", "'novalue' is not key=value"},
        {"size=1M", "a device needs name="},
        {"name=d,chap_user=u", "d: chap_user and chap_password go together"},
        {"name=d,initiator=iqn.x:y", "d: iqn=, portal=, chap_*= and initiator= need export=iscsi"},
        {"name=d,export=iscsi,initiator=", "initiator=: empty"},
        {"name=,size=1M", "name=: empty"},
        {"name=d,export=iscsi,iqn=", "iqn=: empty"},
        {"name=d,image=", "image=: empty"},
        {"name=d,size=99999999999T", "size=99999999999T: not a size above 0 (like 64MiB)"},
        {"name=d,size=18446744073709551616",
         "size=18446744073709551616: not a size above 0 (like 64MiB)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_eq(sc_spec_parse(cases[i].spec, &s), -EINVAL, "%s accepted", cases[i].spec);
        cr_assert_str_eq(s.err, cases[i].err, "%s", cases[i].spec);
    }
}

Test(spec_parse, initiators_up_to_the_limit_and_no_further)
{
    char spec[8192];
    size_t len = (size_t)snprintf(spec, sizeof(spec), "name=d,export=iscsi");
    for (int i = 0; i < SC_MAX_INITIATORS; i++)
        len += (size_t)snprintf(spec + len, sizeof(spec) - len, ",initiator=iqn.x:i%d", i);
    cr_assert_eq(sc_spec_parse(spec, &s), 0, "%s", s.err);
    cr_assert_eq(s.n_initiators, SC_MAX_INITIATORS);
    cr_assert_str_eq(s.initiators[SC_MAX_INITIATORS - 1], "iqn.x:i15");
    snprintf(spec + len, sizeof(spec) - len, ",initiator=iqn.x:more");
    cr_assert_eq(sc_spec_parse(spec, &s), -EINVAL);
    cr_assert_str_eq(s.err, "initiator=: at most 16");
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
