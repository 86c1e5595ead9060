/* A stop request is seen while the serving thread keeps finding work: an initiator that
 * keeps the ring busy must not keep th_device_stop (and close) waiting for its load to
 * end. The serving thread that keeps finding entries by spinning does not poll the stop
 * eventfd: the stop must reach it another way. */
#include "device_rig.h"

Test(server_stop, a_stop_under_continuous_load_ends_the_serving, .timeout = 30)
{
    dev_rig g;
    dev_rig_up(&g, 0);
    uint8_t cdb[6];
    th_cdb_tur(cdb);
    th_fk_completion c[9];
    uint64_t at_stop = 0;
    int it = 0;
    for (; it < 4000; it++) {
        for (int i = 0; i < 8; i++) {
            uint16_t id;
            cr_assert_eq(th_fk_queue_cmd(g.fk, cdb, 6, NULL, 0, 0, &id), 0);
        }
        /* Notified, as a kernel would: a sleeping server wakes, and a spinning one finds
         * the entries before it reads the notification, the path under test. */
        th_fk_notify(g.fk);
        int got = dev_rig_reap(&g, c, 8, it > 200 ? 200 : 5000);
        if (it > 200 && got < 8) break; /* stopped, as it should be */
        cr_assert_eq(got, 8, "iteration %d: %d of 8 answered before the stop", it, got);
        if (it == 200) {
            th_device_stop(g.dev);
            at_stop = th_device_cmds_served(g.dev);
        }
    }
    uint64_t after = th_device_cmds_served(g.dev);
    cr_assert_lt(after - at_stop, 8, "%llu commands served after th_device_stop returned",
                 (unsigned long long)(after - at_stop));
    cr_assert_lt(it, 4000, "the load never stopped being served");
    dev_rig_down(&g);
}
