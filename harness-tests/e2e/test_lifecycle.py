"""Creation and removal: nothing left behind, and the kernel still works after."""
import os
import subprocess

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
