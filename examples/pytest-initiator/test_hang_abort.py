"""A READ that never answers while dd runs: the kernel's command timer fires, the SCSI
error handler aborts it (ABORT TASK), the command comes back TASK ABORTED, and the
kernel's retry gets the data, so dd still succeeds."""
import os
import pathlib
import subprocess

LBA = 20000  # dd bs=4096 skip=2500


def test_a_hung_read_is_aborted_and_retried_and_dd_gets_its_data(tcmu_disk, tmp_path):
    d = tcmu_disk(size="64MiB")
    data = os.urandom(4096)
    (tmp_path / "data").write_bytes(data)
    subprocess.run(["dd", f"if={tmp_path / 'data'}", f"of={d.sd}", "bs=4096",
                    f"seek={LBA // 8}", "oflag=direct"], check=True, capture_output=True)
    # the kernel's command timeout: 30 s by default; a short one keeps the test short
    timeout = pathlib.Path(f"/sys/block/{os.path.basename(d.sd)}/device/timeout")
    timeout.write_text("3\n")
    hang = d.add_rule(match={"op": "READ_10", "lba": LBA}, respond={"hang": True}, times=1,
                      name="hang")
    since = d.cursor()

    dd = subprocess.Popen(["dd", f"if={d.sd}", f"of={tmp_path / 'back'}", "bs=4096",
                           f"skip={LBA // 8}", "count=1", "iflag=direct"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # while dd waits: the abort arrives, and the hung READ is completed as aborted
        assert d.wait_trace(timeout=120, after=since, tmr="ABORT_TASK") == 1
        assert d.wait_trace(timeout=60, after=since, op="READ_10", lba=LBA,
                            status="TASK_ABORTED", rule="hang") == 1
        _, err = dd.communicate(timeout=120)
    finally:
        if dd.poll() is None:
            dd.kill()
            dd.wait()
    assert dd.returncode == 0, err
    assert (tmp_path / "back").read_bytes() == data
    assert hang.fired == 1

    reads = d.trace(after=since, op="READ_10", lba=LBA)
    assert [r["status"] for r in reads] == [0x40, 0x00]  # TASK ABORTED, then the retry GOOD
    assert reads[0]["aborted"] is True and reads[1]["rule"] is None
    tmrs = d.trace(after=since, tmr="ABORT_TASK")
    assert reads[0]["id"] in tmrs[0]["ids"]  # the TMR named the hung command
    assert tmrs[0]["seq"] < reads[1]["seq"]  # the retry came after the abort
