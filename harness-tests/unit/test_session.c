/* The session without the kernel: the device list, the fault actions and their messages,
 * the fields and JSON a control client sees. */
#include "session_rig.h"

Test(session, add_remove_and_names_in_creation_order)
{
    sc_session *s = rig_session();
    char err[256], names[4][65];
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rig_add(s, "t0", "tape", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rig_add(s, "d1", "disk", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sc_session_names(s, names, 4), 3);
    cr_assert_str_eq(names[0], "d0");
    cr_assert_str_eq(names[1], "t0");
    cr_assert_str_eq(names[2], "d1");
    cr_assert_eq(sc_session_remove_device(s, "t0", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sc_session_names(s, names, 4), 2);
    cr_assert_str_eq(names[1], "d1");
    cr_assert_null(sc_session_rules(s, "t0"));
    cr_assert_eq(sc_session_remove_device(s, "t0", err, sizeof(err)), -ENOENT);
    cr_assert_str_eq(err, "no device named 't0'");
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

Test(session, a_taken_name_is_eexist_and_changes_nothing)
{
    sc_session *s = rig_session();
    char err[256], names[4][65];
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0);
    cr_assert_eq(rig_add(s, "d0", "tape", err, sizeof(err)), -EEXIST);
    cr_assert_str_eq(err, "a device named 'd0' already exists");
    cr_assert_eq(sc_session_names(s, names, 4), 1);
    char type[16];
    cr_assert_eq(sc_session_field(s, "d0", "type", type, sizeof(type)), 0);
    cr_assert_str_eq(type, "disk");
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

Test(session, a_failed_build_leaves_no_device_and_frees_the_name)
{
    sc_session *s = rig_session();
    char err[256], names[4][65];
    sc_device d = rig_device("d0", "disk");
    snprintf(d.backing, sizeof(d.backing), "file:/nonexistent-dir/x.img");
    cr_assert_neq(sc_session_add_device(s, &d, err, sizeof(err)), 0);
    cr_assert(strstr(err, "device d0: backing file:/nonexistent-dir/x.img"), "%s", err);
    cr_assert_eq(sc_session_names(s, names, 4), 0);
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

Test(session, actions_on_unknown_devices_and_rules_say_which)
{
    sc_session *s = rig_session();
    char err[256];
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0);
    cr_assert_eq(rig_add(s, "t0", "tape", err, sizeof(err)), 0);
    sc_step st = rig_step(SC_REMOVE_RULE, "d0", "r9");
    cr_assert_eq(sc_session_act(s, &st, err, sizeof(err)), -ENOENT);
    cr_assert_str_eq(err, "device d0 has no rule 'r9'");
    st = rig_step(SC_QUEUE_UA, "d7", NULL);
    cr_assert_eq(sc_session_act(s, &st, err, sizeof(err)), -ENOENT);
    cr_assert_str_eq(err, "no device named 'd7'");
    sc_step add = rig_rule("d7", "r1", -1);
    cr_assert_eq(sc_session_act(s, &add, err, sizeof(err)), -ENOENT);
    cr_assert_str_eq(err, "no device named 'd7'");
    st = rig_step(SC_LOAD, "d0", NULL);
    cr_assert_eq(sc_session_act(s, &st, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "load is for a tape; 'd0' is a disk");
    st = rig_step(SC_SET_CAPACITY, "t0", NULL);
    st.size = 4096;
    cr_assert_eq(sc_session_act(s, &st, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "set_capacity is for a disk; 't0' is a tape");
    st = rig_step(SC_SET_CAPACITY, "d0", NULL);
    st.size = 2 << 20;
    cr_assert_eq(sc_session_act(s, &st, err, sizeof(err)), -ENOSPC);
    cr_assert_str_eq(err, "set_capacity 2097152 is larger than the backing of d0");
    st = rig_step(SC_RUN, "d0", NULL);
    cr_assert_eq(sc_session_act(s, &st, err, sizeof(err)), -EINVAL);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

Test(session, add_rule_with_a_position_goes_there)
{
    sc_session *s = rig_session();
    char err[256], *json;
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0);
    sc_step a = rig_rule("d0", "a", -1), b = rig_rule("d0", "b", -1), c = rig_rule("d0", "c", 0),
            d = rig_rule("d0", "d", 1);
    cr_assert_eq(sc_session_act(s, &a, err, sizeof(err)), 0);
    cr_assert_eq(sc_session_act(s, &b, err, sizeof(err)), 0);
    cr_assert_eq(sc_session_act(s, &c, err, sizeof(err)), 0);
    cr_assert_eq(sc_session_act(s, &d, err, sizeof(err)), 0);
    cr_assert_eq(sc_session_rules_json(s, "d0", &json, err, sizeof(err)), 0);
    const char *want = "[{\"name\":\"c\",\"index\":0,\"fired\":0,\"times\":0,\"spent\":false},"
                       "{\"name\":\"d\",\"index\":1,\"fired\":0,\"times\":0,\"spent\":false},"
                       "{\"name\":\"a\",\"index\":2,\"fired\":0,\"times\":0,\"spent\":false},"
                       "{\"name\":\"b\",\"index\":3,\"fired\":0,\"times\":0,\"spent\":false}]";
    cr_assert_str_eq(json, want);
    free(json);
    cr_assert_eq(sc_session_rules_json(s, "d9", &json, err, sizeof(err)), -ENOENT);
    cr_assert_null(json);
    cr_assert_str_eq(err, "no device named 'd9'");
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

Test(session, a_rule_fires_and_is_spent_after_its_times)
{
    sc_session *s = rig_session();
    char err[256], *json;
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0);
    sc_step r = rig_rule("d0", "busy", -1);
    r.rule.rule.action.pass = false;
    r.rule.rule.action.sense_set = true;
    r.rule.rule.action.sense = th_sense_make(TH_KEY_MEDIUM_ERROR, 0x1100);
    r.rule.rule.times = 1;
    cr_assert_eq(sc_session_act(s, &r, err, sizeof(err)), 0);
    cr_assert_eq(rig_tur(s, "d0"), TH_KEY_MEDIUM_ERROR);
    cr_assert_eq(rig_tur(s, "d0"), 0);
    cr_assert_eq(sc_session_rules_json(s, "d0", &json, err, sizeof(err)), 0);
    cr_assert_str_eq(json,
                     "[{\"name\":\"busy\",\"index\":0,\"fired\":1,\"times\":1,\"spent\":true}]");
    free(json);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

Test(session, offline_and_online_are_tracked_as_the_state)
{
    sc_session *s = rig_session();
    char err[256], v[32];
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0);
    cr_assert_eq(sc_session_field(s, "d0", "state", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "online");
    sc_step off = rig_step(SC_OFFLINE, "d0", NULL), on = rig_step(SC_ONLINE, "d0", NULL);
    cr_assert_eq(sc_session_act(s, &off, err, sizeof(err)), 0);
    cr_assert_eq(sc_session_act(s, &off, err, sizeof(err)), 0); /* once */
    cr_assert_eq(sc_session_field(s, "d0", "state", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "offline");
    cr_assert_eq(rig_tur(s, "d0"), TH_KEY_NOT_READY);
    cr_assert_eq(sc_session_act(s, &on, err, sizeof(err)), 0);
    cr_assert_eq(sc_session_field(s, "d0", "state", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "online");
    cr_assert_eq(rig_tur(s, "d0"), TH_KEY_UNIT_ATTENTION); /* NOT READY TO READY */
    cr_assert_eq(rig_tur(s, "d0"), 0);                     /* and only one offline rule */
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

Test(session, fields_without_the_kernel)
{
    sc_session *s = rig_session();
    char err[256], v[64];
    sc_device d = rig_device("d0", "disk");
    d.wwn = 0x3000000000000001ull;
    d.block_size = 4096;
    cr_assert_eq(sc_session_add_device(s, &d, err, sizeof(err)), 0);
    cr_assert_eq(sc_session_field(s, "d0", "wwn", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "naa.3000000000000001");
    cr_assert_eq(sc_session_field(s, "d0", "size", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "1048576");
    cr_assert_eq(sc_session_field(s, "d0", "block_size", v, sizeof(v)), 0);
    cr_assert_str_eq(v, "4096");
    cr_assert_eq(sc_session_field(s, "d0", "sg", v, sizeof(v)), -ENODATA);
    cr_assert_eq(sc_session_field(s, "d0", "colour", v, sizeof(v)), -ENODATA);
    cr_assert_eq(sc_session_field(s, "d1", "name", v, sizeof(v)), -ENOENT);
    cr_assert_eq(sc_session_field(s, "d0", "wwn", v, 4), -ENOSPC);
    char json[1024];
    cr_assert_eq(sc_session_device_json(s, "d0", json, sizeof(json)), 0);
    cr_assert_str_eq(json, "{\"name\":\"d0\",\"type\":\"disk\",\"state\":\"online\",\"sd\":null,"
                           "\"sg\":null,\"st\":null,\"nst\":null,\"address\":null,\"backstore\":"
                           "null,\"iscsi\":null,\"wwn\":\"naa.3000000000000001\",\"size\":1048576,"
                           "\"block_size\":4096}");
    cr_assert_eq(sc_session_device_json(s, "d1", json, sizeof(json)), -ENOENT);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

Test(session, an_unpinned_wwn_is_the_instances)
{
    sc_session *s = rig_session();
    char err[256], v[64], want[64];
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "naa.%016llx",
             (unsigned long long)th_device_wwn_for(sc_session_ctx(s), "d0"));
    cr_assert_eq(sc_session_field(s, "d0", "wwn", v, sizeof(v)), 0);
    cr_assert_str_eq(v, want);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

Test(session, the_model_lists_the_live_devices)
{
    sc_session *s = rig_session();
    char err[256];
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0);
    sc_device t = rig_device("t0", "tape");
    struct sc_media hello = {.text = "hello"};
    t.media = &hello; /* the session copies it */
    t.n_media = 1;
    cr_assert_eq(sc_session_add_device(s, &t, err, sizeof(err)), 0, "%s", err);
    scenario *m = calloc(1, sizeof(*m));
    cr_assert_eq(sc_session_model(s, m), 0);
    cr_assert_eq(m->n_devices, 2);
    cr_assert_str_eq(m->devices[1].name, "t0");
    cr_assert_str_eq(m->devices[1].type, "tape");
    cr_assert_eq(m->n_rules, 0);
    sc_free(m);
    free(m);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

Test(session, stats_count_rules_and_fires)
{
    sc_session *s = rig_session();
    char err[256], *json;
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0);
    sc_step off = rig_step(SC_OFFLINE, "d0", NULL);
    cr_assert_eq(sc_session_act(s, &off, err, sizeof(err)), 0);
    rig_tur(s, "d0");
    cr_assert_eq(sc_session_stats_json(s, &json), 0);
    cr_assert_str_eq(json, "{\"d0\":{\"commands\":0,\"tmrs\":0,\"rules\":1,\"fired\":1,"
                           "\"state\":\"offline\",\"rules_state\":\"\"}}");
    free(json);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

Test(session, a_tape_that_fails_to_build_is_released_and_the_name_free)
{
    sc_session *s = rig_session();
    char err[256], names[4][65];
    sc_device t = rig_device("t0", "tape");
    snprintf(t.image, sizeof(t.image), "/nonexistent/tape.img");
    struct sc_media after = {.text = "after the image"};
    t.media = &after;
    t.n_media = 1;
    cr_assert_neq(sc_session_add_device(s, &t, err, sizeof(err)), 0);
    cr_assert(strstr(err, "device t0: image: "), "%s", err);
    cr_assert_eq(sc_session_names(s, names, 4), 0);
    t.image[0] = 0;
    cr_assert_eq(sc_session_add_device(s, &t, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}

/* serve's path: a scenario's devices up with their rules, one JSON line each; none is a
 * valid start (a control client adds them). */
Test(session, serve_open_prints_a_line_per_device_and_arms_the_rules)
{
    scenario *sc = calloc(1, sizeof(*sc));
    cr_assert_not_null(sc);
    *sc_devices_add(sc) = rig_device("d0", "disk");
    *sc_devices_add(sc) = rig_device("t0", "tape");
    sc_step r = rig_rule("t0", "r0", -1);
    *sc_rules_add(sc) = r.rule;
    char *out = NULL, err[256], *json;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    sc_session_opts o = {.kernel = false};
    sc_session *s;
    sc_result res;
    cr_assert_eq(sc_serve_open(sc, &o, f, &s, &res), 0, "%s", res.message);
    fclose(f);
    cr_assert(strstr(out, "{\"name\":\"d0\",\"type\":\"disk\",\"state\":\"online\""), "%s", out);
    cr_assert(strstr(out, "}\n{\"name\":\"t0\",\"type\":\"tape\""), "%s", out);
    cr_assert_eq(sc_session_rules_json(s, "t0", &json, err, sizeof(err)), 0);
    cr_assert(strstr(json, "\"name\":\"r0\""), "%s", json);
    free(json);
    free(out);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);

    sc_free(sc);
    out = NULL;
    f = open_memstream(&out, &len);
    o.kernel = true; /* no device: nothing asks the kernel */
    cr_assert_eq(sc_serve_open(sc, &o, f, &s, &res), 0, "%s", res.message);
    fclose(f);
    cr_assert_eq(len, 0, "%s", out);
    char names[2][65];
    cr_assert_eq(sc_session_names(s, names, 2), 0);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
    free(out);
    free(sc);
}

Test(session, serve_open_fails_whole_when_a_device_fails)
{
    scenario *sc = calloc(1, sizeof(*sc));
    cr_assert_not_null(sc);
    *sc_devices_add(sc) = rig_device("d0", "disk");
    *sc_devices_add(sc) = rig_device("d0", "disk");
    sc_session_opts o = {.kernel = false};
    sc_session *s = NULL;
    sc_result res;
    cr_assert_eq(sc_serve_open(sc, &o, stdout, &s, &res), 1);
    cr_assert_null(s);
    cr_assert_str_eq(res.message, "a device named 'd0' already exists");
    sc_free(sc);
    free(sc);
}
