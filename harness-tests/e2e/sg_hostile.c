/* A hostile initiator: random commands through SG_IO at one sg node (every opcode in turn,
 * random CDB lengths and bytes, random data-out, random allocation lengths), with a normal
 * WRITE(10) then READ(10) of a pattern every 50 commands. Prints one JSON object: counts by
 * status, and every answer that is not a valid SCSI answer (a timeout, a host or driver
 * error, a status that is no status, CHECK CONDITION without well-formed sense, a normal
 * read that came back GOOD with other data). Exit 0 when there were none.
 *   sg-hostile /dev/sgN COUNT SEED disk|tape */
#include <errno.h>
#include <fcntl.h>
#include <scsi/sg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_XFER   32768
#define NORMAL_LBA 4096 /* the normal I/O's blocks (random writes may land there too) */

static uint64_t rng;
static uint32_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static long statuses[256], bad, refused, normal_ok, normal_checked;
static char bad_first[2048];

static void note_bad(const uint8_t *cdb, int len, const char *why, const sg_io_hdr_t *h)
{
    bad++;
    size_t n = strlen(bad_first);
    if (n > sizeof(bad_first) - 200) return;
    n += (size_t)snprintf(bad_first + n, sizeof(bad_first) - n,
                          "%s%s (host 0x%x driver 0x%x "
                          "status 0x%x) cdb ",
                          n ? "; " : "", why, h->host_status, h->driver_status, h->status);
    for (int i = 0; i < len && n < sizeof(bad_first) - 3; i++)
        n += (size_t)snprintf(bad_first + n, sizeof(bad_first) - n, "%02x", cdb[i]);
}

/* One command; 0 answered validly (status in *st), -1 not. */
static int issue(int fd, uint8_t *cdb, int len, int dir, uint8_t *buf, unsigned xfer, int *st)
{
    uint8_t sense[64];
    sg_io_hdr_t h = {.interface_id = 'S',
                     .cmd_len = (unsigned char)len,
                     .cmdp = cdb,
                     .dxfer_direction = dir,
                     .dxfer_len = xfer,
                     .dxferp = buf,
                     .sbp = sense,
                     .mx_sb_len = sizeof(sense),
                     .timeout = 60000};
    if (ioctl(fd, SG_IO, &h) < 0) {
        /* the kernel refused it before it reached the target (a length sg rejects) */
        if (errno == EINVAL || errno == EMSGSIZE || errno == ENOMEM || errno == EPERM) {
            refused++;
            return 1;
        }
        note_bad(cdb, len, strerror(errno), &h);
        return -1;
    }
    if (h.host_status || (h.driver_status & ~0x08)) { /* DRIVER_SENSE alone is fine */
        note_bad(cdb, len, h.duration >= 59000 ? "timed out" : "host/driver error", &h);
        return -1;
    }
    static const uint8_t valid[] = {0x00, 0x02, 0x04, 0x08, 0x10, 0x14,
                                    0x18, 0x22, 0x28, 0x30, 0x40};
    if (!memchr(valid, h.status, sizeof(valid))) {
        note_bad(cdb, len, "not a SCSI status", &h);
        return -1;
    }
    if (h.status == 0x02) {
        uint8_t rc = sense[0] & 0x7f;
        if (h.sb_len_wr < 8 || rc < 0x70 || rc > 0x73) {
            note_bad(cdb, len, "CHECK CONDITION without well-formed sense", &h);
            return -1;
        }
    }
    statuses[h.status]++;
    *st = h.status;
    return 0;
}

static void normal_io(int fd, uint8_t *buf, long i)
{
    uint8_t cdb[10] = {0x2a, 0, 0, 0, NORMAL_LBA >> 8, NORMAL_LBA & 0xff, 0, 0, 8, 0};
    for (int k = 0; k < 4096; k++) buf[k] = (uint8_t)(i * 31 + k);
    int sw = -1, sr = -1;
    if (issue(fd, cdb, 10, SG_DXFER_TO_DEV, buf, 4096, &sw)) return;
    static uint8_t in[4096];
    memset(in, 0, sizeof(in));
    cdb[0] = 0x28;
    if (issue(fd, cdb, 10, SG_DXFER_FROM_DEV, in, 4096, &sr)) return;
    if (sw || sr) return; /* refused for a reason the random commands caused: valid */
    normal_checked++;
    if (memcmp(in, buf, 4096)) {
        sg_io_hdr_t h = {0};
        note_bad(cdb, 10, "a normal read returned other data than was written", &h);
    } else {
        normal_ok++;
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: sg-hostile /dev/sgN COUNT SEED disk|tape\n");
        return 2;
    }
    long count = atol(argv[2]);
    rng = strtoull(argv[3], NULL, 10) * 2654435761u + 1;
    int disk = !strcmp(argv[4], "disk");
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) {
        perror(argv[1]);
        return 2;
    }
    static uint8_t buf[MAX_XFER];
    static const int lens[] = {6, 10, 12, 16, 6, 10, 12, 16, 32, 1, 7, 15};
    for (long i = 0; i < count; i++) {
        if (disk && i % 50 == 49) {
            normal_io(fd, buf, i);
            continue;
        }
        uint8_t cdb[32];
        for (int k = 0; k < 32; k++) cdb[k] = (uint8_t)next();
        cdb[0] = (uint8_t)(i % 256); /* every opcode, in turn */
        /* mostly the opcode's own length, sometimes any */
        int len = lens[next() % (sizeof(lens) / sizeof(lens[0]))];
        if (next() % 4) cdb[1] &= 0x1f; /* sometimes a LUN field / reserved bits set */
        int dir = (int[]){SG_DXFER_NONE, SG_DXFER_TO_DEV, SG_DXFER_FROM_DEV}[next() % 3];
        unsigned xfer = dir == SG_DXFER_NONE ? 0 : next() % (next() % 2 ? 513 : MAX_XFER + 1);
        if (dir == SG_DXFER_TO_DEV)
            for (unsigned k = 0; k < xfer; k++) buf[k] = (uint8_t)next();
        if (dir != SG_DXFER_NONE && !xfer) dir = SG_DXFER_NONE;
        int st;
        issue(fd, cdb, len, dir, buf, xfer, &st);
    }
    close(fd);
    printf("{\"commands\":%ld,\"refused_by_the_kernel\":%ld,\"bad\":%ld,\"normal_checked\":%ld,"
           "\"normal_ok\":%ld,\"statuses\":{",
           count, refused, bad, normal_checked, normal_ok);
    int first = 1;
    for (int s = 0; s < 256; s++)
        if (statuses[s]) printf("%s\"0x%02x\":%ld", first ? "" : ",", s, statuses[s]), first = 0;
    printf("},\"bad_first\":\"%s\"}\n", bad_first);
    return bad ? 1 : 0;
}
