/* The review of the session under TSan: a lookup racing a removal, and names reserved by a
 * build in flight. */
#include <pthread.h>
#include <stdatomic.h>
#include "session_rig.h"

#define ROUNDS 300

typedef struct churn_arg {
    sc_session *s;
    atomic_int done;
    int failures;
} churn_arg;

static void *add_remove(void *arg)
{
    churn_arg *a = arg;
    char err[256];
    for (int i = 0; i < ROUNDS; i++) {
        a->failures += rig_add(a->s, "x", "disk", err, sizeof(err)) != 0;
        a->failures += sc_session_remove_device(a->s, "x", err, sizeof(err)) != 0;
    }
    atomic_store(&a->done, 1);
    return NULL;
}

/* sc_session_rules read the device's entry after dropping the lock: a removal in between
 * freed it under the reader (TSan: a race with free). */
Test(review_session_threads, rules_lookup_while_the_device_is_removed)
{
    churn_arg a = {rig_session(), 0, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, add_remove, &a), 0);
    unsigned long found = 0;
    while (!atomic_load(&a.done)) found += sc_session_rules(a.s, "x") != NULL;
    pthread_join(t, NULL);
    cr_assert_eq(a.failures, 0);
    char err[256];
    cr_assert_eq(sc_session_close(a.s, err, sizeof(err)), 0, "%s", err);
    (void)found;
}

/* Everything a client reads while devices come and go: each answer is whole or -ENOENT. */
static void *readers(void *arg)
{
    churn_arg *a = arg;
    char buf[1024], names[4][65], *json;
    while (!atomic_load(&a->done)) {
        int rc = sc_session_device_json(a->s, "x", buf, sizeof(buf));
        a->failures += rc && rc != -ENOENT;
        rc = sc_session_field(a->s, "x", "wwn", buf, sizeof(buf));
        a->failures += rc && rc != -ENOENT;
        a->failures += sc_session_stats_json(a->s, &json) != 0;
        free(json);
        a->failures += sc_session_names(a->s, names, 4) > 1;
        scenario *m = calloc(1, sizeof(*m));
        a->failures += !m || sc_session_model(a->s, m) != 0;
        a->failures += m && m->n_devices > 1;
        if (m) sc_free(m);
        free(m);
    }
    return NULL;
}

Test(review_session_threads, readers_while_the_device_comes_and_goes)
{
    churn_arg a = {rig_session(), 0, 0}, r = {a.s, 0, 0};
    pthread_t t, u;
    cr_assert_eq(pthread_create(&u, NULL, readers, &r), 0);
    cr_assert_eq(pthread_create(&t, NULL, add_remove, &a), 0);
    pthread_join(t, NULL);
    atomic_store(&r.done, 1);
    pthread_join(u, NULL);
    cr_assert_eq(a.failures, 0);
    cr_assert_eq(r.failures, 0);
    char err[256];
    cr_assert_eq(sc_session_close(a.s, err, sizeof(err)), 0, "%s", err);
}
