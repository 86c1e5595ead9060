"""The control channel on the real kernel: serve --control, faults added and removed while
the kernel does I/O, devices added and removed while others serve, and ctl from a shell."""
import errno
import json
import os
import socket
import subprocess
import threading
import time

import pytest

import tcmu_harness
from conftest import STARTED, TH, our_objects, run


class Ctl:
    """One connection to a control socket; ctl(request, **args) returns the response (an
    op= argument is wait's opcode filter)."""

    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")

    def __call__(self, request: str, /, **args) -> dict:
        self.sock.sendall(json.dumps({"request": request, **args}).encode() + b"\n")
        line = self.file.readline()
        assert line.endswith(b"\n"), f"{request}: no response line: {line!r}"
        return json.loads(line)

    def ok(self, request: str, /, **args) -> dict:
        r = self(request, **args)
        assert r["ok"] is True, f"{request} {args}: {r}"
        return r

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def serve_control(path, *specs):
    """serve --control PATH --device SPEC...: a Server of the tcmu_harness package (it
    waits until the socket answers); the test speaks the protocol itself, through Ctl."""
    args = [a for spec in specs for a in ("--device", spec)]
    s = tcmu_harness.Server(TH, control=path, args=args).start()
    STARTED.append(s)
    return s


@pytest.fixture
def control(tmp_path):
    """control(spec, ...) -> (server, Ctl); each server must exit 0 after the test."""
    opened = []

    def start(*specs):
        path = str(tmp_path / f"ctl{len(opened)}.sock")
        s = serve_control(path, *specs)
        opened.append(s)
        c = Ctl(path)
        opened.append(c)
        return s, c

    yield start
    for o in reversed(opened):
        if isinstance(o, Ctl):
            o.close()
        else:
            assert o.stop() == 0, o.stderr


def read_direct(sd: str) -> int:
    """dd of the first 4 KiB with O_DIRECT (past the page cache): 0, or the errno dd says."""
    p = run("dd", f"if={sd}", "of=/dev/null", "bs=4096", "count=1", "iflag=direct")
    if p.returncode == 0:
        return 0
    for e in (errno.EIO, errno.ENODATA, errno.EREMOTEIO):
        if os.strerror(e) in p.stderr:
            return e
    raise AssertionError(p.stderr)


def connect_when_up(path: str) -> "Ctl":
    """serve with no devices prints nothing: the socket accepting is the sign it is up."""
    for _ in range(300):
        try:
            return Ctl(path)
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.1)
    raise AssertionError(f"{path}: no control socket after 30 s")


def test_a_rule_added_live_fails_reads_until_removed(control):
    s, ctl = control("name=c0,size=8MiB")
    dev = s["c0"]
    assert read_direct(dev["sd"]) == 0
    cursor = ctl.ok("cursor")["next"]
    # MEDIUM NOT PRESENT: EIO (6.1 reports MEDIUM ERROR as ENODATA, most keys as EREMOTEIO)
    r = ctl.ok("add_rule", device="c0", name="bad", match={"op": "READ_10", "lba": "0-7"},
               respond={"sense": {"key": "NOT_READY", "asc": "0x3a"}})
    assert r["rule"] == "bad"
    assert read_direct(dev["sd"]) == errno.EIO
    w = ctl.ok("wait", device="c0", op="READ_10", status="CHECK_CONDITION", rule="bad",
               after=cursor, timeout=30)
    assert w["matched"] == 1 and w["next"] > cursor
    rules = {x["name"]: x for x in ctl.ok("list_rules", device="c0")["rules"]}
    assert rules["bad"]["fired"] >= 1 and rules["bad"]["spent"] is False
    ctl.ok("remove_rule", device="c0", name="bad")
    assert read_direct(dev["sd"]) == 0
    assert "bad" not in [x["name"] for x in ctl.ok("list_rules", device="c0")["rules"]]


def test_a_malformed_request_changes_nothing_on_a_live_device(control):
    s, ctl = control("name=c0,size=8MiB")
    before = [ctl.ok("devices")["devices"], ctl.ok("list_rules", device="c0")["rules"]]
    for line in (b"{\"op\":\"add_rule\",\"device\":\"c0\",\"match\":{\"op\":\"NOPE\"}}\n",
                 b"{\"op\": \"remove_device\", \"device\": c0}\n", b"\xff\n", b"[]\n"):
        ctl.sock.sendall(line)
        r = json.loads(ctl.file.readline())
        assert r["ok"] is False and r["error"].startswith("request:1:"), r
    assert read_direct(s["c0"]["sd"]) == 0
    assert [ctl.ok("devices")["devices"], ctl.ok("list_rules", device="c0")["rules"]] == before


def test_a_second_disk_comes_and_goes_while_the_first_serves_io(control):
    s, ctl = control("name=c0,size=16MiB")
    sd0 = s["c0"]["sd"]
    stop = threading.Event()
    results = []

    def io():
        while not stop.is_set():
            p = subprocess.run(["dd", f"if={sd0}", "of=/dev/null", "bs=64k", "count=64",
                                "iflag=direct"], capture_output=True)
            results.append(p.returncode)

    t = threading.Thread(target=io)
    t.start()
    try:
        d1 = ctl.ok("add_device", device={"name": "c1", "size": "8MiB"})["device"]
        assert d1["name"] == "c1" and os.path.exists(d1["sd"]) and os.path.exists(d1["sg"])
        run("sg_inq", d1["sg"], check=True)
        assert read_direct(d1["sd"]) == 0
        names = [d["name"] for d in ctl.ok("devices")["devices"]]
        assert names == ["c0", "c1"]
        ctl.ok("remove_device", device="c1")
        assert not os.path.exists(d1["sd"])
        assert [d["name"] for d in ctl.ok("devices")["devices"]] == ["c0"]
    finally:
        stop.set()
        t.join()
    assert results and all(rc == 0 for rc in results), results


def test_offline_then_online(control):
    s, ctl = control("name=c0,size=8MiB")
    sg = s["c0"]["sg"]
    ctl.ok("offline", device="c0")
    assert run("sg_turs", sg).returncode != 0
    assert [x["name"] for x in ctl.ok("list_rules", device="c0")["rules"]] == ["offline"]
    ctl.ok("online", device="c0")
    run("sg_turs", sg)  # the unit attention the online queues
    run("sg_turs", sg, check=True)


def test_a_tape_unloaded_and_loaded(control):
    s, ctl = control("name=ct0,type=tape,capacity=8MiB")
    nst = s["ct0"]["nst"]
    ctl.ok("unload", device="ct0")
    fd = os.open(nst, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(OSError) as e:
            os.read(fd, 512)
        assert e.value.errno == errno.ENOMEDIUM
    finally:
        os.close(fd)
    r = ctl("load", device="nope")
    assert r["ok"] is False and "no device named 'nope'" in r["error"]
    ctl.ok("load", device="ct0")
    run("sg_turs", s["ct0"]["sg"])  # NOT READY TO READY CHANGE
    run("mt", "-f", nst, "status", check=True)


def test_the_trace_by_cursor(control):
    s, ctl = control("name=c0,size=8MiB")
    first = ctl.ok("trace", after=0, max=100000)
    assert all(e["seq"] == first["entries"][0]["seq"] + i for i, e in enumerate(first["entries"]))
    cursor = first["next"]
    assert ctl.ok("cursor")["next"] == cursor  # nothing came meanwhile (no I/O of ours)
    # beyond the cursor: refused at once by both, not an empty page or a full timeout
    for req, extra in (("trace", {}), ("wait", {"timeout": 600})):
        r = ctl(req, after=cursor + 1000, **extra)
        assert r["ok"] is False and f"{req}: after {cursor + 1000} is beyond the trace's " \
            f"cursor" in r["error"], r
    # protocol 1's envelope gets a message saying what changed
    ctl.sock.sendall(b'{"op": "devices"}\n')
    r = json.loads(ctl.file.readline())
    assert r["ok"] is False and 'goes in \"request\" now (protocol 2)' in r["error"], r
    assert ctl.ok("version")["protocol"] == 2
    run("sg_inq", s["c0"]["sg"], check=True)
    w = ctl.ok("wait", device="c0", op="INQUIRY", after=cursor, timeout=30)
    later = ctl.ok("trace", after=cursor)
    assert later["entries"] and later["entries"][0]["seq"] == cursor
    assert any(e["op"] == "INQUIRY" and e["device"] == "c0" for e in later["entries"])
    assert later["next"] >= w["next"]
    assert later["next"] == cursor + len(later["entries"])


def test_shutdown_tears_everything_down(tmp_path):
    path = str(tmp_path / "ctl.sock")
    s = serve_control(path, "name=c0,size=8MiB", "name=ct0,type=tape")
    ctl = Ctl(path)
    r = ctl.ok("shutdown", id="bye")
    assert r == {"ok": True, "id": "bye"}
    ctl.close()
    assert s.proc.wait(timeout=60) == 0
    assert s.stop() == 0, s.stderr
    assert our_objects() == []
    assert not os.path.exists(path)


def test_serve_with_only_a_control_socket(tmp_path):
    path = str(tmp_path / "ctl.sock")
    s = serve_control(path)
    ctl = connect_when_up(path)
    try:
        assert ctl.ok("devices")["devices"] == []
        d = ctl.ok("add_device", spec="name=c9,size=8MiB")["device"]
        run("sg_inq", d["sg"], check=True)
        t = ctl.ok("add_device", device={"name": "ct9", "type": "tape"})["device"]
        run("mt", "-f", t["nst"], "status", check=True)
        ctl.ok("remove_device", device="c9")
        assert not os.path.exists(d["sd"])
    finally:
        ctl.close()
        assert s.stop() == 0, s.stderr


def test_ctl_from_a_shell(control):
    s, _ = control("name=c0,size=8MiB")
    p = run(TH, "ctl", s.control, '{"request": "devices", "id": 1}')
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["id"] == 1 and r["devices"][0]["name"] == "c0"
    p = run(TH, "ctl", s.control, "-", input='{"request": "add_rule",\n "device": "c0", "name": "x"}\n')
    assert p.returncode == 0 and json.loads(p.stdout)["rule"] == "x", p.stdout + p.stderr
    p = run(TH, "ctl", s.control, '{"request": "remove_rule", "device": "c0", "name": "nope"}')
    assert p.returncode == 1 and "device c0 has no rule 'nope'" in json.loads(p.stdout)["error"]
    p = run("sh", "-c", f"{TH} ctl {s.control} '{{\"request\":\"list_rules\",\"device\":\"c0\"}}' "
            "| grep -q '\"name\":\"x\"'")
    assert p.returncode == 0
