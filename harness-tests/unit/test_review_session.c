/* The review of the session and the one device description: what hostile or odd input
 * does (SPEC numbers, targets, media), what the session tells (JSON escaping, truncated
 * fields) and what a failed or refused build leaves behind. */
#include "scenario/device_keys.h"
#include "scenario/spec.h"
#include "session_rig.h"

/* "010" is ten, as parse_int's contract (decimal or 0x hex) and the old SPEC parser had
 * it: strtoll's base 0 read it as octal 8 (and refused "08"). */
Test(review_session, a_leading_zero_is_decimal_not_octal)
{
    sc_device d;
    char err[320];
    cr_assert_eq(sc_spec_parse("name=d,lun=010,workers=08,hba=0x10", &d, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(d.lun, 10);
    cr_assert_eq(d.workers, 8);
    cr_assert_eq(d.hba, 16);
    cr_assert_eq(
        sc_spec_parse("name=t,type=tape,media=record:010,media=filemark:09", &d, err, sizeof(err)),
        0, "%s", err);
    cr_assert_eq(d.media[0].len, 10);
    cr_assert_eq(d.media[1].len, 9);
    sc_device_clear(&d);
    static const char *const bad[] = {"name=d,lun=0x",  "name=d,lun=0x-1", "name=d,lun=1x",
                                      "name=d,lun=+1",  "name=d,lun= 1",   "name=d,lun=0b1",
                                      "name=d,lun=0x 1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(sc_spec_parse(bad[i], &d, err, sizeof(err)), -EINVAL, "%s accepted", bad[i]);
}

/* The device layer takes only "naa." + 16 hex digits as a loopback target: without the
 * prefix the parser used to accept it and the build failed after kernel work began. */
Test(review_session, a_target_without_naa_is_refused_by_the_parser)
{
    sc_device d;
    char err[320];
    cr_assert_eq(sc_spec_parse("name=d,target=5001405000000001", &d, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "target: '5001405000000001' is not naa. and 16 hex digits, not all zero");
    cr_assert_eq(sc_spec_parse("name=d,target=naa.5001405000000001", &d, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_str_eq(d.target, "naa.5001405000000001");
}

/* Rule names come from clients: quotes, backslashes and control characters are escaped. */
Test(review_session, rules_json_escapes_hostile_rule_names)
{
    sc_session *s = rig_session();
    char err[256];
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0, "%s", err);
    sc_step add = rig_rule("d0", "a\"b\\c\nd\x01", -1);
    cr_assert_eq(sc_session_act(s, &add, err, sizeof(err)), 0, "%s", err);
    char *json;
    cr_assert_eq(sc_session_rules_json(s, "d0", &json, err, sizeof(err)), 0);
    cr_assert_str_eq(json, "[{\"name\":\"a\\\"b\\\\c\\u000ad\\u0001\",\"index\":0,\"fired\":0,"
                           "\"times\":0,\"spent\":false}]");
    free(json);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

/* A field or JSON object that does not fit is -ENOSPC, never a silent truncation. */
Test(review_session, fields_and_json_that_do_not_fit_are_enospc)
{
    sc_session *s = rig_session();
    char err[256], buf[64];
    cr_assert_eq(rig_add(s, "a-long-device-name", "disk", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sc_session_field(s, "a-long-device-name", "name", buf, 5), -ENOSPC);
    cr_assert_str_eq(buf, "a-lo");
    cr_assert_eq(sc_session_field(s, "a-long-device-name", "wwn", buf, 20), -ENOSPC);
    cr_assert_eq(sc_session_field(s, "a-long-device-name", "wwn", buf, 21), 0);
    cr_assert_eq(sc_session_field(s, "a-long-device-name", "sg", buf, sizeof(buf)), -ENODATA);
    cr_assert_eq(sc_session_field(s, "a-long-device-name", "bogus", buf, sizeof(buf)), -ENODATA);
    cr_assert_eq(sc_session_field(s, "nope", "name", buf, sizeof(buf)), -ENOENT);
    cr_assert_eq(sc_session_device_json(s, "a-long-device-name", buf, sizeof(buf)), -ENOSPC);
    char big[1024];
    cr_assert_eq(sc_session_device_json(s, "a-long-device-name", big, sizeof(big)), 0);
    cr_assert(strstr(big, "\"sg\":null"), "%s", big);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

/* A tape whose image cannot be read after its media texts were copied: the build fails
 * with the image's message, nothing is left listed and nothing leaks (ASan). */
Test(review_session, a_failed_tape_build_releases_its_media_and_name)
{
    sc_session *s = rig_session();
    char err[320], names[2][65];
    sc_device d;
    cr_assert_eq(
        sc_spec_parse("name=t,type=tape,media=text:hi,media=record:10", &d, err, sizeof(err)), 0,
        "%s", err);
    /* set after the parse, which now refuses a missing image itself (the file went away
     * between the two, as far as the session knows) */
    snprintf(d.image, sizeof(d.image), "/nonexistent-dir/t.img");
    cr_assert_neq(sc_session_add_device(s, &d, err, sizeof(err)), 0);
    cr_assert(strstr(err, "device t: image:"), "%s", err);
    cr_assert_eq(sc_session_names(s, names, 2), 0);
    cr_assert_eq(rig_add(s, "t", "tape", err, sizeof(err)), 0, "%s", err);
    sc_device_clear(&d);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}
