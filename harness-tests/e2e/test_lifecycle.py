"""Creation and removal: nothing left behind, and the kernel still works after."""
import glob
import os
import re
import subprocess
import time

import pytest

from conftest import TH, our_objects, run, start_server
from tcmu_harness import TcmuHarnessError


def test_close_removes_nodes_and_configfs_objects_and_new_devices_still_work():
    s = start_server("name=life0,size=8MiB")
    dev = s["life0"]
    assert os.path.exists(dev.sd) and os.path.exists(dev.sg)
    assert our_objects()
    assert s.stop() == 0, s.stderr
    assert not os.path.exists(dev.sd) and not os.path.exists(dev.sg)
    assert our_objects() == []
    s2 = start_server("name=life1,size=8MiB")
    try:
        run("sg_inq", s2["life1"].sg, check=True)
    finally:
        assert s2.stop() == 0, s2.stderr
    assert our_objects() == []


def test_remove_device_takes_its_nodes_and_objects_and_the_others_stay(tcmu_disk, tcmu_tape):
    a = tcmu_disk(name="rm-a", size="8MiB")
    b = tcmu_disk(name="rm-b", size="8MiB")
    t = tcmu_tape(name="rm-t")
    a.remove()
    assert not os.path.exists(a.sd) and not os.path.exists(a.sg)
    assert not any("rm-a" in p for p in our_objects())
    assert any("rm-b" in p for p in our_objects())
    t.remove()
    assert not os.path.exists(t.nst)
    run("sg_inq", b.sg, check=True)
    assert [d.name for d in b.server.devices()] == ["rm-b"]
    # the name is free again
    a2 = tcmu_disk(name="rm-a", size="4MiB")
    assert "Last LBA=8191" in run("sg_readcap", a2.sg, check=True).stdout


def test_a_refused_device_leaves_nothing_and_the_server_serves_on(tcmu_harness, tcmu_disk):
    tcmu_disk(name="dup", size="8MiB")
    with pytest.raises(TcmuHarnessError, match="device name 'dup' is used twice"):
        tcmu_disk(name="dup", size="8MiB")
    with pytest.raises(TcmuHarnessError, match="size"):
        tcmu_disk(name="bad", size="7")  # not a multiple of the block size
    assert [d.name for d in tcmu_harness.devices()] == ["dup"]
    assert sum("dup" in p for p in our_objects()) >= 1
    assert not any(p.endswith("-bad") for p in our_objects())
    run("sg_turs", tcmu_harness["dup"].sg, check=True)


def test_open_failure_leaves_nothing_behind():
    # The first device is up in the kernel when the second fails to build: both go. The
    # backing is in a directory that exists (validate takes it) where nothing can be made
    # (sysfs): it fails only when the device is built.
    p = subprocess.run([str(TH), "serve", "--device", "name=ok0,size=8MiB", "--device",
                        "name=bad0,size=8MiB,backing=file:/sys/kernel/th-no-such"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stderr
    assert "bad0" in p.stderr and "/sys/kernel/th-no-such" in p.stderr, p.stderr
    assert our_objects() == []


def test_a_name_given_twice_is_refused_before_any_kernel_work():
    p = subprocess.run([str(TH), "serve", "--device", "name=dup,size=8MiB", "--device",
                        "name=dup,size=8MiB"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "device name 'dup' is used twice" in p.stderr, p.stderr
    assert our_objects() == []


def test_cleanup_removes_what_a_killed_harness_left(tmp_path):
    s = start_server("name=crash0,size=8MiB")
    s.kill()  # SIGKILL: no teardown ran
    assert our_objects()
    p = run(TH, "cleanup", check=True)
    assert "removed" in p.stdout
    assert our_objects() == []
    assert "th-crash0" not in run("lsscsi").stdout


def test_cleanup_keeps_devices_of_a_running_harness():
    s = start_server("name=alive0,size=8MiB")
    try:
        p = run(TH, "cleanup", check=True)
        assert "kept" in p.stdout
        run("sg_inq", s["alive0"].sg, check=True)
    finally:
        assert s.stop() == 0, s.stderr


def naa_of(sg):
    p = run("sg_vpd", "-p", "di", sg, check=True)
    m = re.search(r"designator type: NAA.*\n\s+(0x[0-9a-f]+)", p.stdout)
    assert m, p.stdout
    return m.group(1)


def test_two_harnesses_both_serving_d0_come_up_apart_and_leave_nothing():
    a = start_server("name=d0,size=8MiB")
    try:
        b = start_server("name=d0,size=8MiB")
    except Exception:
        a.stop()
        raise
    try:
        da, db = a["d0"], b["d0"]
        assert da["name"] == db["name"] == "d0"  # the user's name, in both
        assert da["sg"] != db["sg"] and da["sd"] != db["sd"]
        assert da["backstore"] != db["backstore"]
        for d in (da, db):
            assert re.fullmatch(r"th-[0-9a-f]{8}-d0", os.path.basename(d["backstore"]))
        assert da["wwn"] != db["wwn"]
        na, nb = naa_of(da["sg"]), naa_of(db["sg"])
        assert na != nb, "dm-multipath would take them for two paths to one disk"
        assert na == "0x" + da["wwn"][4:] and nb == "0x" + db["wwn"][4:]
        sa = run("sg_vpd", "-p", "sn", da["sg"], check=True).stdout
        sb = run("sg_vpd", "-p", "sn", db["sg"], check=True).stdout
        assert sa != sb
    finally:
        assert a.stop() == 0, a.stderr
        assert b.stop() == 0, b.stderr
    assert our_objects() == []


def test_two_scenarios_run_in_parallel_both_with_d0_pass(tmp_path):
    # What two pytest-xdist workers or two CI jobs on one machine do.
    sc = tmp_path / "d0.yaml"
    sc.write_text("name: parallel d0\ndevices:\n  - {name: d0, size: 8MiB}\nsteps:\n"
                  "  - run: sg_inq {d0.sg} && test {d0.name} = d0 && sleep 2\n")
    procs = [subprocess.Popen([str(TH), "run", str(sc)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert our_objects() == []


def test_pinned_wwn_is_used_as_given():
    s = start_server("name=d0,size=8MiB,wwn=naa.3000000000000abc")
    try:
        assert s["d0"]["wwn"] == "naa.3000000000000abc"
        assert naa_of(s["d0"]["sg"]) == "0x3000000000000abc"
    finally:
        assert s.stop() == 0, s.stderr
    assert our_objects() == []


def test_cleanup_between_two_d0_harnesses_keeps_the_live_one_and_old_style_leftovers_go():
    live = start_server("name=d0,size=8MiB")
    try:
        dead = start_server("name=d0,size=8MiB")
        dead_d0 = dead["d0"]
        dead.kill()  # SIGKILL: its objects stay, with nobody serving them
        # A leftover of a harness from before instance ids: core/user_1/th-<name>.
        old = "/sys/kernel/config/target/core/user_1/th-old0"
        os.mkdir(old)
        p = run(TH, "cleanup", check=True)
        assert f"kept {live['d0']['backstore']}" in p.stdout, p.stdout
        assert f"removed {dead_d0.backstore}" in p.stdout, p.stdout
        assert f"removed {old}" in p.stdout, p.stdout
        assert not os.path.exists(dead_d0.backstore) and not os.path.exists(old)
        assert os.path.isdir(live["d0"]["backstore"])
        assert our_objects() and all(live["d0"]["backstore"].rsplit("/", 1)[1] in o
                                     for o in our_objects())
        run("sg_inq", live["d0"]["sg"], check=True)
    finally:
        assert live.stop() == 0, live.stderr
    assert our_objects() == []


def test_external_fabric_leaves_the_export_to_the_caller(tcmu_disk):
    dev = tcmu_disk(spec="name=ext0,size=8MiB,external=1")
    assert dev.sd is None and dev.sg is None
    backstore = dev["backstore"]
    assert os.path.isdir(backstore)
    # Export it by hand, as an external fabric would.
    tpg = "/sys/kernel/config/target/loopback/naa.5001405000000e01/tpgt_1"
    os.makedirs(tpg, exist_ok=True)
    with open(tpg + "/nexus", "w") as f:
        f.write("naa.5001405000000e02")
    os.mkdir(tpg + "/lun/lun_0")
    os.symlink(backstore, tpg + "/lun/lun_0/ext0")
    try:
        with open(tpg + "/address") as f:
            addr = f.read().strip() + ":0"
        sg = None
        for _ in range(200):
            g = glob.glob(f"/sys/bus/scsi/devices/{addr}/scsi_generic/sg*")
            if g and os.path.exists("/dev/" + os.path.basename(g[0])):
                sg = "/dev/" + os.path.basename(g[0])
                break
            time.sleep(0.05)
        assert sg, "no sg node for the hand-made export"
        assert "TCMUHARN" in run("sg_inq", sg, check=True).stdout
    finally:
        os.unlink(tpg + "/lun/lun_0/ext0")
        os.rmdir(tpg + "/lun/lun_0")
        os.rmdir(tpg)
        os.rmdir(os.path.dirname(tpg))
    dev.remove()
    assert not os.path.exists(backstore)
