/* A range-list rule through the session: list_rules shows how many ranges it holds. */
#include "session_rig.h"

Test(session_lba_list, list_rules_shows_a_range_list_by_its_count)
{
    sc_session *s = rig_session();
    char err[256], *json;
    cr_assert_eq(rig_add(s, "d0", "disk", err, sizeof(err)), 0, "%s", err);
    th_lba_range g[] = {{10, 19}, {20, 29}, {100, 100}}; /* the first two merge */
    sc_step st = rig_rule("d0", "defects", -1);
    st.rule.rule.match.ranges_set = true;
    st.rule.rule.match.ranges = g;
    st.rule.rule.match.n_ranges = 3;
    cr_assert_eq(sc_session_act(s, &st, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sc_session_rules_json(s, "d0", &json, err, sizeof(err)), 0);
    cr_assert_str_eq(json, "[{\"name\":\"defects\",\"index\":0,\"fired\":0,\"times\":0,"
                           "\"spent\":false,\"ranges\":2}]");
    free(json);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}
