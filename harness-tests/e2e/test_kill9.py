"""kill -9 of the harness at each stage (devices being made, commands hung by a rule,
devices being torn down, an iSCSI export being made), then `cleanup`: configfs is back to
exactly what it was before the harness started, no SCSI device of ours is left, and a new
device works on the same kernel. And `cleanup` leaves alone what is not ours."""
import json
import mmap
import os
import pathlib
import signal
import subprocess
import threading
import time

from conftest import CONFIGFS, TH, our_objects, our_scsi_devices, run, start_server


def snapshot() -> set[str]:
    """Every folder and link under configfs's target tree (links with their targets).
    A fabric's own folder (target/iscsi and its discovery_auth) is not an object: LIO
    registers the fabric when it is first made, and it stays registered for good."""
    seen = set()
    for root, dirs, _files in os.walk(CONFIGFS, followlinks=False):
        for d in dirs:
            p = os.path.join(root, d)
            rel = pathlib.Path(p).relative_to(CONFIGFS).parts
            if len(rel) == 1 or (len(rel) == 2 and rel[1] == "discovery_auth"):
                continue
            seen.add(f"{p} -> {os.readlink(p)}" if os.path.islink(p) else p)
    return seen


def disks(path: pathlib.Path, n: int, extra: str = "", rules: str = "") -> pathlib.Path:
    lines = [f"name: kill9 {n}", "devices:"]
    lines += [f"  - {{ name: k{i}, size: 1MiB{extra} }}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n" + rules)
    return path


def killed(p: subprocess.Popen) -> str:
    """SIGKILL, then its stdout once it is gone. A process killed while one of its threads
    is in the kernel making a LUN (the SCSI scan waits for INQUIRYs its serving threads no
    longer answer) exits only when the kernel gives up on them (target_core_user's command
    timeout): up to a few minutes with many devices."""
    p.send_signal(signal.SIGKILL)
    t0 = time.monotonic()
    out, _ = p.communicate(timeout=600)
    print(f"killed serve exited after {time.monotonic() - t0:.1f} s")
    return out


def killed_once_made(p: subprocess.Popen, after_s: float) -> str:
    """Killed after_s after its first kernel object appeared: in the middle of making."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not our_objects():
        time.sleep(0.02)
    time.sleep(after_s)
    return killed(p)


def cleanup_restores(before: set[str]) -> None:
    p = run(TH, "cleanup", timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    after = snapshot()
    assert after == before, f"left: {sorted(after - before)}\ngone: {sorted(before - after)}"
    assert our_objects() == []
    assert our_scsi_devices() == []


def a_new_device_works() -> None:
    s = start_server("name=after9,size=8MiB")
    try:
        run("sg_turs", s["after9"].sg, check=True)
    finally:
        assert s.stop() == 0, s.stderr


def test_kill9_while_devices_are_being_made(tmp_path):
    before = snapshot()
    f = disks(tmp_path / "make.yaml", 40)
    p = subprocess.Popen([str(TH), "serve", str(f)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    # 40 disks take seconds in the guest: killed while the pool is making them
    out = killed_once_made(p, 0.3)
    assert out.count("\n") < 40, "all 40 were up before the kill: not killed mid-creation"
    assert our_objects(), "nothing was made before the kill"
    cleanup_restores(before)
    a_new_device_works()


def test_kill9_with_commands_hung_by_a_rule(tmp_path):
    before = snapshot()
    rules = ("rules:\n  - device: k0\n    match: { op: READ_10, lba: 100-100 }\n"
             "    respond: { hang: true }\n")
    f = disks(tmp_path / "hang.yaml", 2, rules=rules)
    p = subprocess.Popen([str(TH), "serve", str(f)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    devs = [json.loads(p.stdout.readline()) for _ in range(2)]
    sd = devs[0]["sd"]
    done = threading.Event()

    def read_hung_block() -> None:
        buf = mmap.mmap(-1, 4096)
        fd = os.open(sd, os.O_RDONLY | os.O_DIRECT)
        try:
            os.preadv(fd, [buf], 100 * 512 - (100 * 512) % 4096)
        except OSError:
            pass  # failed once the harness is gone: what matters is that it ends
        finally:
            os.close(fd)
            done.set()

    t = threading.Thread(target=read_hung_block, daemon=True)
    t.start()
    time.sleep(1.0)
    assert not done.is_set(), "the read was not held by the rule"
    killed(p)
    cleanup_restores(before)
    assert done.wait(120), "the hung read never ended after cleanup"
    a_new_device_works()


def test_kill9_while_devices_are_torn_down(tmp_path):
    before = snapshot()
    f = disks(tmp_path / "down.yaml", 40)
    p = subprocess.Popen([str(TH), "serve", str(f)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    for _ in range(40):
        assert p.stdout.readline(), p.stderr.read()
    p.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # 40 take about 2 s to go: killed midway
    killed(p)
    cleanup_restores(before)
    a_new_device_works()


def test_kill9_while_an_iscsi_export_is_made(tmp_path):
    before = snapshot()
    f = disks(tmp_path / "iscsi.yaml", 8, extra=", export: iscsi")
    p = subprocess.Popen([str(TH), "serve", str(f)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    killed_once_made(p, 0.1)
    cleanup_restores(before)
    a_new_device_works()


def test_cleanup_leaves_what_is_not_ours():
    # Made by hand with names of other tools: a user backstore, a loopback target with a
    # LUN, an iSCSI target. cleanup must keep every one.
    hba = CONFIGFS / "core" / "user_77"
    store = hba / "handmade"
    loop = CONFIGFS / "loopback" / "naa.6001405abcdef001"
    iscsi = CONFIGFS / "iscsi" / "iqn.2003-01.org.linux-iscsi.handmade:t1"
    made = []
    try:
        for d in (hba, store, loop, loop / "tpgt_1", CONFIGFS / "iscsi", iscsi,
                  iscsi / "tpgt_1"):
            if not d.exists():
                d.mkdir()
                made.append(d)
        before = snapshot()
        s = start_server("name=ours9,size=8MiB")
        s.kill()
        p = run(TH, "cleanup", timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        assert snapshot() == before
        for d in (store, loop / "tpgt_1", iscsi / "tpgt_1"):
            assert d.is_dir(), f"cleanup removed {d}"
        assert our_objects() == []
    finally:
        for d in reversed(made):
            try:
                d.rmdir()
            except OSError:
                pass
