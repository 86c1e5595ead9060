"""A medium error that heals: the first read of a bad stretch fails with an unrecovered
read error (dd stops at the bad block), a retry by the application reads everything."""
import os
import subprocess

BAD = (10000, 10007)  # far from the blocks the kernel and udev probe


def dd_read(dev, lba, blocks, out):
    return subprocess.run(["dd", f"if={dev}", f"of={out}", "bs=512", f"skip={lba}",
                           f"count={blocks}", "iflag=direct"],
                          capture_output=True, text=True, timeout=120)


def test_a_medium_error_fails_one_read_and_the_retry_reads_the_data(tcmu_disk, tmp_path):
    d = tcmu_disk(size="64MiB")
    data = os.urandom(16 * 512)
    (tmp_path / "data").write_bytes(data)
    subprocess.run(["dd", f"if={tmp_path / 'data'}", f"of={d.sd}", "bs=512",
                    f"seek={BAD[0] - 4}", "oflag=direct"], check=True, capture_output=True)
    bad = d.add_rule(match={"op": "READ_10", "lba": f"{BAD[0]}-{BAD[1]}"},
                     respond={"sense": {"key": "MEDIUM_ERROR", "asc": 0x11, "ascq": 0x00,
                                        "info": "lba"}},
                     times=1, name="bad-sectors")
    since = d.cursor()

    # dd bs=512: one READ(10) per block; the four before the bad stretch come back
    first = dd_read(d.sd, BAD[0] - 4, 16, tmp_path / "first")
    assert first.returncode == 1
    # the block layer's error for a critical medium error: ENODATA (EIO on older kernels)
    assert "No data available" in first.stderr or "Input/output error" in first.stderr
    assert "4+0 records in" in first.stderr
    assert (tmp_path / "first").read_bytes() == data[:4 * 512]
    assert bad.fired == 1 and bad.spent

    # the medium error as the initiator saw it: CHECK CONDITION, 03/11/00, INFO = LBA 10000
    hits = d.trace(after=since, rule="bad-sectors")
    assert len(hits) == 1
    assert hits[0]["status"] == 2 and hits[0]["op"] == "READ_10" and hits[0]["lba"] == BAD[0]
    sense = hits[0]["sense"]
    assert (sense["key"], sense["asc"], sense["ascq"]) == ("MEDIUM_ERROR", 0x11, 0x00)
    assert sense["info"] == BAD[0]

    second = dd_read(d.sd, BAD[0] - 4, 16, tmp_path / "second")
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "second").read_bytes() == data
    assert bad.fired == 1  # spent: the stretch healed
    assert d.trace(after=since, op="READ_10", status="CHECK_CONDITION") == hits
