/* Defect 7: WRITE ATOMIC and COMPARE AND WRITE against plain READs on other threads,
 * as with workers > 1 (handlers called directly from several pthreads). A race test:
 * before the fix it caught the torn read in most runs, not all. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "helpers.h"

TestSuite(disk_atomicity);

static th_disk *target;
static uint32_t span, bs; /* blocks from LBA 0 the writer covers and the readers check */
static atomic_bool stop;
static atomic_int torn;

/* Reads the range over and over; a mix of two patterns is a torn write. */
static void *reader(void *arg)
{
    (void)arg;
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 16, 0, span);
    while (!atomic_load(&stop)) {
        th_cmd *c = th_fake_cmd_new(cdb, n, NULL, 0, (size_t)span * bs);
        th_fake_cmd_run(c, th_disk_handle, target);
        size_t got;
        const uint8_t *b = th_fake_data_in(c, &got);
        for (size_t i = 1; i < got; i++)
            if (b[i] != b[0]) {
                atomic_fetch_add(&torn, 1);
                break;
            }
        th_fake_cmd_free(c);
    }
    return NULL;
}

/* Writes alternating patterns for a second (or 2000 commands) against two readers. */
static void race(const uint8_t *cdb, size_t cdb_len, bool caw)
{
    size_t len = (size_t)span * bs;
    uint8_t *out = malloc(2 * len);
    atomic_store(&stop, false);
    atomic_store(&torn, 0);
    pthread_t r[2];
    for (int i = 0; i < 2; i++) pthread_create(&r[i], NULL, reader, NULL);
    uint64_t end = th_now_ns_for_tests() + 1000000000u;
    for (int k = 0; k < 2000 && !atomic_load(&torn) && th_now_ns_for_tests() < end; k++) {
        uint8_t now = (uint8_t)(k & 1 ? 0x22 : 0x11), before = (uint8_t)(k & 1 ? 0x11 : 0x22);
        if (caw) { /* compare with what is there, write the other pattern */
            memset(out, k == 0 ? 0 : before, len);
            memset(out + len, now, len);
        } else {
            memset(out, now, len);
        }
        th_cmd *c = th_fake_cmd_new(cdb, cdb_len, out, caw ? 2 * len : len, 0);
        th_fake_cmd_run(c, th_disk_handle, target);
        th_assert_good(c);
        th_fake_cmd_free(c);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++) pthread_join(r[i], NULL);
    free(out);
    cr_assert_eq(atomic_load(&torn), 0, "%d reads saw half a %s", atomic_load(&torn),
                 caw ? "COMPARE AND WRITE" : "WRITE ATOMIC");
}

Test(disk_atomicity, concurrent_reads_never_see_a_write_atomic_torn)
{
    bs = 512, span = 2048; /* 1 MiB */
    target = test_disk(4096, bs);
    uint8_t cdb[16] = {0x9c};
    th_put_be16(cdb + 12, (uint16_t)span);
    race(cdb, 16, false);
    th_disk_free(target);
}

Test(disk_atomicity, concurrent_reads_never_see_a_compare_and_write_torn)
{
    bs = 4096, span = 128; /* the most COMPARE AND WRITE takes: 512 KiB */
    target = test_disk(256, bs);
    uint8_t cdb[16];
    size_t n = th_cdb_compare_and_write(cdb, 0, (uint8_t)span);
    race(cdb, n, true);
    th_disk_free(target);
}
