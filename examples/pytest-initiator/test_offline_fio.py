"""A disk that goes offline under fio: every command is refused NOT READY, fio stops on
the I/O error; back online (announced by a unit attention) a verified write/read passes."""
import subprocess


def fio(*args, timeout=300):
    return subprocess.run(["fio", "--name=job", "--direct=1", "--ioengine=libaio",
                           "--bs=4k", "--output-format=normal", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_offline_under_fio_fails_its_io_and_online_serves_again(tcmu_disk):
    d = tcmu_disk(size="64MiB")
    start = d.cursor()
    job = subprocess.Popen(["fio", "--name=busy", f"--filename={d.sd}", "--direct=1",
                            "--ioengine=libaio", "--bs=4k", "--iodepth=8", "--rw=randread",
                            "--time_based", "--runtime=600"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        d.wait_trace(timeout=60, after=start, op="READ_10", count=200)  # fio is running
        offline_at = d.cursor()
        d.offline()
        out, _ = job.communicate(timeout=120)  # fio ends by itself, on the error
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    assert job.returncode != 0, out
    assert "Input/output error" in out
    refused = d.trace(after=offline_at, status="CHECK_CONDITION")
    assert refused, "no command was refused while offline"
    assert all(r["sense"]["key"] == "NOT_READY" for r in refused)
    # from the first refusal on, no READ got through until online()
    assert d.trace(after=refused[0]["seq"], op="READ_10", status="GOOD") == []
    assert d.state == "offline"

    online_at = d.cursor()
    d.online()
    assert d.state == "online"
    p = fio(f"--filename={d.sd}", "--rw=randwrite", "--size=8M", "--iodepth=4",
            "--verify=crc32c", "--do_verify=1", "--verify_fatal=1")
    assert p.returncode == 0, p.stdout + p.stderr
    ua = d.trace(after=online_at, rule="unit_attention")
    assert len(ua) == 1  # the way back announced once: 06/28/00
    assert (ua[0]["sense"]["key"], ua[0]["sense"]["asc"]) == ("UNIT_ATTENTION", 0x28)
    assert d.trace(after=online_at, status="CHECK_CONDITION") == ua
