"""Creation and removal: nothing left behind, and the kernel still works after."""
import glob
import os
import subprocess
import time

from conftest import TH, Server, our_objects, run


def test_close_removes_nodes_and_configfs_objects_and_new_devices_still_work():
    s = Server("name=life0,size=8MiB")
    dev = s["life0"]
    assert os.path.exists(dev["sd"]) and os.path.exists(dev["sg"])
    assert our_objects()
    assert s.stop() == 0
    assert not os.path.exists(dev["sd"]) and not os.path.exists(dev["sg"])
    assert our_objects() == []
    s2 = Server("name=life1,size=8MiB")
    try:
        run("sg_inq", s2["life1"]["sg"], check=True)
    finally:
        assert s2.stop() == 0
    assert our_objects() == []


def test_open_failure_leaves_nothing_behind():
    # The same name twice: the second device fails and both are torn down.
    p = subprocess.run([str(TH), "serve", "--device", "name=dup,size=8MiB", "--device",
                        "name=dup,size=8MiB"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "already exists" in p.stderr
    assert our_objects() == []


def test_cleanup_removes_what_a_killed_harness_left(tmp_path):
    s = Server("name=crash0,size=8MiB")
    s.proc.kill()  # SIGKILL: no teardown ran
    s.proc.wait()
    assert our_objects()
    p = run(TH, "cleanup", check=True)
    assert "removed" in p.stdout
    assert our_objects() == []
    assert "th-crash0" not in run("lsscsi").stdout


def test_cleanup_keeps_devices_of_a_running_harness():
    s = Server("name=alive0,size=8MiB")
    try:
        p = run(TH, "cleanup", check=True)
        assert "kept" in p.stdout
        run("sg_inq", s["alive0"]["sg"], check=True)
    finally:
        assert s.stop() == 0


def test_external_fabric_leaves_the_export_to_the_caller():
    s = Server("name=ext0,size=8MiB,external=1")
    dev = s["ext0"]
    assert dev["sd"] is None and dev["sg"] is None
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
    assert s.stop() == 0
    assert not os.path.exists(backstore)
