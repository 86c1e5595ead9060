/* The session while many callers act at once (control clients, steps, serving threads):
 * devices come and go, rules are added and removed, commands run through the rules. Run
 * under TSan (threaded-tests). */
#include <pthread.h>
#include <stdatomic.h>
#include "session_rig.h"

#define ROUNDS 200

typedef struct worker {
    sc_session *s;
    int id;
    int failures;
    atomic_int *created; /* of the shared name */
} worker;

/* Its own device, added and removed; rules and states on the shared one meanwhile. */
static void *churn(void *arg)
{
    worker *w = arg;
    char name[16], rule[16], err[256];
    snprintf(name, sizeof(name), "w%d", w->id);
    snprintf(rule, sizeof(rule), "r%d", w->id);
    for (int i = 0; i < ROUNDS; i++) {
        w->failures += rig_add(w->s, name, i % 2 ? "tape" : "disk", err, sizeof(err)) != 0;
        sc_step add = rig_rule("shared", rule, i % 3 ? -1 : 0);
        w->failures += sc_session_act(w->s, &add, err, sizeof(err)) != 0;
        sc_step st = rig_step(SC_SET_STATE, "shared", i % 2 ? "a" : "b");
        w->failures += sc_session_act(w->s, &st, err, sizeof(err)) != 0;
        sc_step off = rig_step(i % 2 ? SC_OFFLINE : SC_ONLINE, name, NULL);
        w->failures += sc_session_act(w->s, &off, err, sizeof(err)) != 0;
        char *json;
        w->failures += sc_session_rules_json(w->s, "shared", &json, err, sizeof(err)) != 0;
        free(json);
        char v[64];
        w->failures += sc_session_field(w->s, name, "state", v, sizeof(v)) != 0;
        sc_step rm = rig_step(SC_REMOVE_RULE, "shared", rule);
        w->failures += sc_session_act(w->s, &rm, err, sizeof(err)) != 0;
        w->failures += sc_session_remove_device(w->s, name, err, sizeof(err)) != 0;
    }
    return NULL;
}

/* Commands through the shared device's rules while the table changes. */
static void *serve(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < ROUNDS * 4; i++) rig_tur(w->s, "shared");
    return NULL;
}

/* Everyone adds the same name: one wins, the rest are told it exists. */
static void *race(void *arg)
{
    worker *w = arg;
    char err[256];
    int rc = rig_add(w->s, "same", "disk", err, sizeof(err));
    if (!rc) atomic_fetch_add(w->created, 1);
    w->failures += rc && rc != -EEXIST;
    return NULL;
}

Test(session_threads, devices_rules_and_commands_at_once)
{
    sc_session *s = rig_session();
    char err[256];
    cr_assert_eq(rig_add(s, "shared", "disk", err, sizeof(err)), 0, "%s", err);
    enum { N = 4 };
    pthread_t t[N + 1];
    worker w[N + 1];
    for (int i = 0; i <= N; i++) {
        w[i] = (worker){s, i, 0, NULL};
        cr_assert_eq(pthread_create(&t[i], NULL, i < N ? churn : serve, &w[i]), 0);
    }
    for (int i = 0; i <= N; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].failures, 0, "worker %d: %d failed calls", i, w[i].failures);
    }
    char names[8][65], *json;
    cr_assert_eq(sc_session_names(s, names, 8), 1);
    cr_assert_eq(sc_session_rules_json(s, "shared", &json, err, sizeof(err)), 0);
    cr_assert_str_eq(json, "[]");
    free(json);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0, "%s", err);
}

Test(session_threads, one_of_many_adding_a_name_wins)
{
    sc_session *s = rig_session();
    enum { N = 6 };
    atomic_int created = 0;
    pthread_t t[N];
    worker w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker){s, i, 0, &created};
        cr_assert_eq(pthread_create(&t[i], NULL, race, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(w[i].failures, 0);
    }
    cr_assert_eq(atomic_load(&created), 1);
    char names[8][65], err[256];
    cr_assert_eq(sc_session_names(s, names, 8), 1);
    cr_assert_eq(sc_session_close(s, err, sizeof(err)), 0);
}
