/* A user handler answers some commands itself and hands the rest to the disk. */
#include "helpers.h"

typedef struct my_dev {
    th_disk *disk;
    int reads_failed;
} my_dev;

static int my_handler(th_cmd *cmd, void *arg)
{
    my_dev *m = arg;
    if (th_cmd_opcode(cmd) == 0x28 && th_cmd_lba(cmd) == 13) {
        th_sense s = th_sense_make(TH_KEY_MEDIUM_ERROR, TH_ASC_UNRECOVERED_READ_ERROR);
        s.info_valid = true;
        s.info = 13;
        th_cmd_check_condition(cmd, &s);
        m->reads_failed++;
        return 0;
    }
    return th_disk_handle(cmd, m->disk);
}

Test(delegation, user_handler_overrides_one_case_and_delegates_the_rest)
{
    my_dev m = {test_disk(64, 512), 0};
    uint8_t cdb[16];
    size_t n = th_cdb_read(cdb, 10, 13, 1);
    th_cmd *c = th_fake_cmd_new(cdb, n, NULL, 0, 512);
    th_fake_cmd_run(c, my_handler, &m);
    th_assert_sense(c, TH_KEY_MEDIUM_ERROR, TH_ASC_UNRECOVERED_READ_ERROR);
    th_sense s;
    th_fake_sense(c, &s);
    cr_assert_eq(s.info, 13);
    th_fake_cmd_free(c);
    n = th_cdb_read(cdb, 10, 12, 1);
    c = th_fake_cmd_new(cdb, n, NULL, 0, 512);
    th_fake_cmd_run(c, my_handler, &m);
    th_assert_good(c);
    th_fake_cmd_free(c);
    th_cdb_inquiry(cdb, false, 0, 36);
    c = th_fake_cmd_new(cdb, 6, NULL, 0, 36);
    th_fake_cmd_run(c, my_handler, &m);
    th_assert_good(c);
    th_fake_cmd_free(c);
    cr_assert_eq(m.reads_failed, 1);
    th_disk_free(m.disk);
}
