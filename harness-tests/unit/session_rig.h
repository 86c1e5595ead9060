/* Sessions without the kernel for the unit tests: devices from a few fields, actions as
 * steps, commands through a device's rules. */
#ifndef TH_TEST_SESSION_RIG_H
#define TH_TEST_SESSION_RIG_H
#include "helpers.h"
#include "scenario/session.h"

static inline sc_session *rig_session(void)
{
    sc_session_opts o = {.trace_path = NULL, .kernel = false};
    sc_session *s = NULL;
    char err[256];
    cr_assert_eq(sc_session_new(&o, &s, err, sizeof(err)), 0, "%s", err);
    return s;
}

static inline sc_device rig_device(const char *name, const char *type)
{
    sc_device d;
    memset(&d, 0, sizeof(d));
    snprintf(d.name, sizeof(d.name), "%s", name);
    snprintf(d.type, sizeof(d.type), "%s", type);
    snprintf(d.backing, sizeof(d.backing), "memory");
    d.size = 1 << 20;
    d.block_size = 512;
    return d;
}

static inline int rig_add(sc_session *s, const char *name, const char *type, char *err, size_t cap)
{
    sc_device d = rig_device(name, type);
    return sc_session_add_device(s, &d, err, cap);
}

static inline sc_step rig_rule(const char *dev, const char *name, int position)
{
    sc_step st;
    memset(&st, 0, sizeof(st));
    st.kind = SC_ADD_RULE;
    snprintf(st.rule.device, sizeof(st.rule.device), "%s", dev);
    th_rule_init(&st.rule.rule);
    snprintf(st.rule.rule.name, sizeof(st.rule.rule.name), "%s", name);
    st.position = position;
    return st;
}

static inline sc_step rig_step(sc_kind kind, const char *dev, const char *name)
{
    sc_step st;
    memset(&st, 0, sizeof(st));
    st.kind = kind;
    snprintf(st.device, sizeof(st.device), "%s", dev);
    if (name) snprintf(st.name, sizeof(st.name), "%s", name);
    return st;
}

/* TEST UNIT READY through the device's rules: its sense key, 0 for GOOD. */
static inline int rig_tur(sc_session *s, const char *dev)
{
    th_rules *r = sc_session_rules(s, dev);
    cr_assert_not_null(r);
    uint8_t cdb[6] = {0};
    th_cmd *c = th_fake_cmd_new(cdb, sizeof(cdb), NULL, 0, 0);
    cr_assert_not_null(c);
    th_fake_cmd_run(c, th_rules_handle, r);
    th_sense sense;
    int key = th_fake_sense(c, &sense) ? 0 : sense.key;
    th_fake_cmd_free(c);
    return key;
}

#endif
