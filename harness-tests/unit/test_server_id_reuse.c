/* The kernel reuses a command id as soon as it reaped the completion: a worker that
 * published its completion must already have given the id back, whichever thread kicks.
 * (Seen on the real kernel: fio with workers=4 broke the ring with "entry reuses a
 * cmd_id still in flight".) Also run in the TSan lane. */
#include "ring_rig.h"

Test(server_id_reuse, an_id_reused_as_soon_as_its_completion_was_reaped_is_served)
{
    enum { TOTAL = 20000, DEPTH = 8 };
    rig r;
    rig_up(&r, 1 << 16, 4, NULL, NULL, ALL_CAPS);
    th_fk_reuse_ids(r.fk, true);
    int queued = 0, done = 0;
    for (; queued < DEPTH; queued++) queue_read(&r, (uint64_t)queued, 1);
    th_fk_notify(r.fk);
    while (done < TOTAL) {
        th_fk_completion c[DEPTH];
        int k = th_fk_reap(r.fk, c, DEPTH, 2000);
        cr_assert_geq(k, 0, "after %d completions: %s", done, th_fk_errmsg(r.fk));
        cr_assert_gt(k, 0, "no completion after %d (a lost command)", done);
        for (int j = 0; j < k; j++) cr_assert_eq(c[j].status, 0, "after %d", done);
        done += k;
        for (int j = 0; j < k && queued < TOTAL; j++, queued++)
            queue_read(&r, (uint64_t)(queued % 2048), 1);
        th_fk_notify(r.fk);
    }
    rig_down(&r);
}
