"""Many devices of one scenario, opened and closed in parallel: all come up and answer I/O,
and a failure in the middle of the batch leaves nothing behind."""
import json
import mmap
import os
import pathlib
import signal
import subprocess

import pytest

from conftest import CONFIGFS, TH, our_objects, our_scsi_devices


def scenario(path: pathlib.Path, n: int, extra: dict[int, str] | None = None) -> pathlib.Path:
    lines = [f"name: {n} disks", "devices:"]
    for i in range(n):
        lines.append(f"  - {{ name: d{i}, size: 1MiB{(extra or {}).get(i, '')} }}")
    path.write_text("\n".join(lines) + "\n")
    return path


def serve_lines(f: pathlib.Path, n: int, env=None):
    """`serve SCENARIO` up: the process and its n device lines."""
    p = subprocess.Popen([str(TH), "serve", str(f)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    devs = []
    for _ in range(n):
        line = p.stdout.readline()
        if not line:
            break
        devs.append(json.loads(line))
    return p, devs


def read_first_block(node: str) -> bytes:
    """4 KiB from LBA 0, O_DIRECT: the command reaches the device, not the page cache."""
    buf = mmap.mmap(-1, 4096)  # page-aligned, as O_DIRECT wants
    fd = os.open(node, os.O_RDONLY | os.O_DIRECT)
    try:
        assert os.preadv(fd, [buf], 0) == 4096
    finally:
        os.close(fd)
    return bytes(buf)


def test_256_disks_come_up_answer_io_and_leave_nothing(tmp_path):
    # Four loopback targets of 64 LUNs: a target of its own costs a disk 1.7 MiB more of
    # the guest's memory (the SCSI host's 1024 request tags; docs/BENCHMARKS.md), and 256
    # of them (3.4 MiB a disk) do not fit the 1 GiB guest beside the initiator.
    shared = {i: f", target: naa.50014050000000{i // 64:02x}, lun: {i % 64}" for i in range(256)}
    f = scenario(tmp_path / "many.yaml", 256, shared)
    p, devs = serve_lines(f, 256)
    try:
        assert len(devs) == 256, p.stderr.read() if p.poll() is not None else "fewer lines"
        assert [d["name"] for d in devs] == [f"d{i}" for i in range(256)]
        nodes = [(d["sd"], d["sg"]) for d in devs]
        assert len({sd for sd, _ in nodes}) == 256 and len({sg for _, sg in nodes}) == 256
        for sd, sg in nodes:
            assert os.path.exists(sg), sg
            assert read_first_block(sd) == bytes(4096), sd  # a fresh memory disk reads zeros
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=300)
    assert rc == 0, p.stderr.read()
    for sd, sg in nodes:
        assert not os.path.exists(sd) and not os.path.exists(sg), (sd, sg)
    assert our_objects() == []
    assert our_scsi_devices() == []


def test_a_device_failing_mid_batch_leaves_nothing_of_the_batch(tmp_path):
    # d20 fails before the kernel (its backing file cannot be made) while the others are
    # being made in the kernel around it: all go, and the message is d20's.
    f = scenario(tmp_path / "bad.yaml", 40, {20: ", backing: file:/sys/kernel/th-no-such"})
    p = subprocess.run([str(TH), "serve", str(f)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stderr
    assert "device d20:" in p.stderr and "/sys/kernel/th-no-such" in p.stderr, p.stderr
    assert p.stdout == ""
    assert our_objects() == []
    assert our_scsi_devices() == []


def test_a_kernel_failure_mid_batch_leaves_nothing_of_the_batch(tmp_path):
    # d25's backstore is already there (as a crashed run would leave it): its mkdir fails in
    # the kernel while the batch's others are up or coming up.
    instance = "0bad0013"
    stale = CONFIGFS / "core" / "user_1" / f"th-{instance}-d25"
    stale.parent.mkdir(exist_ok=True)
    stale.mkdir()
    try:
        f = scenario(tmp_path / "stale.yaml", 40)
        env = dict(os.environ, TCMU_HARNESS_INSTANCE=instance)
        p = subprocess.run([str(TH), "serve", str(f)], capture_output=True, text=True,
                           timeout=300, env=env)
        assert p.returncode == 1, p.stderr
        assert "device d25:" in p.stderr and "already exists" in p.stderr, p.stderr
        assert our_objects() == [str(stale)]
        assert our_scsi_devices() == []
    finally:
        stale.rmdir()
        try:
            stale.parent.rmdir()
        except OSError:
            pass  # another device's HBA


def meminfo_available() -> int:
    for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no MemAvailable")


def test_a_batch_past_the_memory_is_refused_before_anything_is_made(tmp_path):
    # Disks with loopback targets of their own need about 3.6 MB of kernel memory each:
    # ask for a third more than the guest has. Refused up front, with the figures and the
    # ways out, rather than met by the OOM killer halfway with objects left behind.
    n = int(meminfo_available() / 3.6e6 * 4 / 3)
    f = scenario(tmp_path / "toomany.yaml", n)
    p = subprocess.run([str(TH), "serve", str(f)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    assert f"{n} devices do not fit this machine's memory" in p.stderr, p.stderr
    assert "--mem" in p.stderr and "target:" in p.stderr, p.stderr
    assert p.stdout == ""
    assert our_objects() == []
    assert our_scsi_devices() == []
