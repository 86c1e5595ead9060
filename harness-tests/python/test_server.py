"""Server, Device and Rule against fake_serve.py: start, stop, the devices' requests,
errors with the server's message, a server that dies, hangs or will not stop."""
import os
import threading
import time

import pytest

import tcmu_harness
from tcmu_harness import ConnectionLost, RequestTimeout, Server, TcmuHarnessError, WaitTimeout
from conftest import FAKE


def test_starts_with_no_devices_and_stops_with_shutdown(request_log):
    s = Server(FAKE)
    s.start()
    assert s.running and s.info["protocol"] == 2 and s.instance == "0000fake"
    assert s.devices() == []
    sock_dir = os.path.dirname(s.control)
    assert os.path.exists(s.control)
    assert s.stop() == 0
    assert not s.running and not os.path.exists(sock_dir)
    assert [r["request"] for r in request_log()] == ["version", "devices", "shutdown"]
    assert "fake: stopped" in s.stderr


def test_the_serve_command_line(tmp_path):
    trace = tmp_path / "t.jsonl"
    with Server(FAKE, trace=trace, args=["--log-level", "debug"]) as s:
        argv = s.proc.args
        assert argv[1:4] == ["serve", "--control", s.control]
        assert argv[4:] == ["--trace", str(trace), "--log-level", "debug"]
        s.add_disk()
    assert '"op": "INQUIRY"' in trace.read_text()  # the fake writes it on shutdown


def test_context_manager_adds_a_disk_from_keywords(server, request_log, tmp_path):
    d = server.add_disk(size="8MiB", block_size=4096, backing=f"file:{tmp_path / 'img'}",
                        vendor="ACME")
    assert d.name == "disk0" and d.type == "disk"
    assert d.sg.startswith("/dev/sg") and d.sd.startswith("/dev/sd") and d.st is None
    assert d["sg"] == d.sg and d.get("nope", 5) == 5
    sent = [r for r in request_log() if r["request"] == "add_device"][0]
    assert sent["device"] == {"name": "disk0", "size": "8MiB", "block_size": 4096,
                              "backing": f"file:{tmp_path / 'img'}", "vendor": "ACME",
                              "type": "disk"}


def test_keywords_are_yaml_values_paths_become_text(server, request_log, tmp_path):
    img = tmp_path / "t.thtape"
    t = server.add_tape(name="t0", image=img, write_protect=True,
                        media=[{"text": "one\n"}, {"filemark": 1}])
    assert t.name == "t0" and t.st and t.nst and t.sd is None
    dev = [r for r in request_log() if r["request"] == "add_device"][0]["device"]
    assert dev == {"name": "t0", "image": str(img), "write_protect": True,
                   "media": [{"text": "one\n"}, {"filemark": 1}], "type": "tape"}


def test_a_spec_string_is_sent_as_spec_with_a_name_and_type_added(server, request_log):
    server.add_disk(spec="size=8MiB,lun=1")
    server.add_tape(spec="name=tp,capacity=2MiB")
    server.add_device(spec="name=x,type=tape")
    specs = [r["spec"] for r in request_log() if r["request"] == "add_device"]
    assert specs == ["name=disk0,size=8MiB,lun=1,type=disk", "name=tp,capacity=2MiB,type=tape",
                     "name=x,type=tape"]


def test_mixed_or_contradictory_device_arguments_are_refused_before_sending(server):
    with pytest.raises(TypeError):
        server.add_disk(spec="size=8MiB", size="8MiB")
    with pytest.raises(ValueError, match="tape"):
        server.add_disk(type="tape")
    with pytest.raises(ValueError, match="type=disk"):
        server.add_tape(spec="type=disk")
    assert server.devices() == []


def test_made_up_names_differ(server):
    names = [server.add_disk().name, server.add_disk().name, server.add_tape().name,
             server.add_device().name]
    assert names == ["disk0", "disk1", "tape2", "dev3"]
    assert sorted(d.name for d in server.devices()) == sorted(names)
    assert server["disk1"].name == "disk1"
    with pytest.raises(KeyError):
        server.device("nope")


def test_a_refused_request_raises_with_the_servers_message(server):
    with pytest.raises(TcmuHarnessError) as e:
        server.add_disk(sizes="8MiB")
    assert e.value.message == "request:1:1: device: unknown key 'sizes'"
    assert e.value.op == "add_device"
    server.add_disk(name="d0")
    with pytest.raises(TcmuHarnessError, match="d0 already exists"):
        server.add_disk(name="d0")


def test_device_actions_send_the_protocols_requests(server, request_log):
    d = server.add_disk(name="d0")
    t = server.add_tape(name="t0")
    d.set_state("armed")
    d.queue_ua("UNIT_ATTENTION", 0x2A, 0x09)
    d.queue_ua()
    d.offline()
    assert d.state == "offline"
    d.online()
    assert d.state == "online"
    d.set_capacity("16MiB")
    assert d.size == "16MiB"  # refreshed
    t.unload()
    t.load()
    with pytest.raises(TcmuHarnessError, match="is a disk"):
        d.load()
    sent = [{k: v for k, v in r.items() if k != "id"} for r in request_log()
            if r["request"] not in ("version", "add_device", "devices", "cursor")]
    assert sent == [
        {"request": "set_state", "device": "d0", "state": "armed"},
        {"request": "queue_ua", "device": "d0",
         "sense": {"key": "UNIT_ATTENTION", "asc": 0x2A, "ascq": 0x09}},
        {"request": "queue_ua", "device": "d0",
         "sense": {"key": "UNIT_ATTENTION", "asc": 0x29, "ascq": 0}},
        {"request": "offline", "device": "d0"}, {"request": "online", "device": "d0"},
        {"request": "set_capacity", "device": "d0", "size": "16MiB"},
        {"request": "unload", "device": "t0"}, {"request": "load", "device": "t0"},
        {"request": "load", "device": "d0"}]


def test_rules_are_added_counted_and_removed(server, request_log):
    d = server.add_disk(name="d0")
    r1 = d.add_rule(match={"op": "READ_10", "lba": "100-107"},
                    respond={"sense": {"key": "MEDIUM_ERROR", "asc": 0x11, "ascq": 0}},
                    times=1)
    r2 = d.add_rule(name="slow", respond={"delay_ms": 100}, position=0,
                    until_state="healed")
    assert r1.name == "rule-1" and r2.name == "slow"
    sent = [r for r in request_log() if r["request"] == "add_rule"]
    assert sent[0]["match"] == {"op": "READ_10", "lba": "100-107"} and sent[0]["times"] == 1
    assert "name" not in sent[0] and "position" not in sent[0]
    assert sent[1]["position"] == 0 and sent[1]["until_state"] == "healed"
    assert r1.fired == 0 and not r1.spent
    server.request("_fire", device="d0", name="rule-1")
    assert r1.fired == 1 and r1.spent and r2.fired == 0
    assert [r.name for r in d.rules()] == ["rule-1", "slow"]
    r1.remove()
    assert [r.name for r in d.rules()] == ["slow"]
    with pytest.raises(TcmuHarnessError, match="no rule 'rule-1'"):
        r1.remove()
    with pytest.raises(TcmuHarnessError, match="no rule 'rule-1'"):
        r1.fired


def test_remove_tears_the_device_down_once(server):
    d = server.add_disk(name="gone")
    d.remove()
    d.remove()  # a no-op the second time
    assert d.removed and server.devices() == []
    with pytest.raises(TcmuHarnessError, match="no device"):
        d.offline()


def test_trace_of_a_device_starts_when_it_was_added_and_is_filtered(server):
    a = server.add_disk(name="a")
    server.request("_inject", entry={"device": "a", "op": "READ_10", "lba": 8, "status": 2})
    b = server.add_disk(name="b")
    server.request("_inject", entry={"device": "b", "op": "READ_10", "lba": 8, "status": 0})
    server.request("_inject", entry={"device": "a", "tmr": "ABORT_TASK", "ids": [3]})
    assert [e["op"] for e in a.trace()] == ["INQUIRY", "READ_10"]
    assert [e["seq"] for e in b.trace()] == [2, 3]
    assert len(a.trace(op="READ_10", status="CHECK_CONDITION", lba=8)) == 1
    assert a.trace(op="READ_10", status="GOOD") == []
    assert len(a.trace(tmr="ABORT_TASK")) == 1
    assert len(server.trace(op="READ_10")) == 2
    assert server.cursor() == 5
    assert b.trace(after=b.cursor()) == []


def test_the_trace_is_read_page_by_page(server):
    server.add_disk(name="p")
    for i in range(2500):
        server.request("_inject", entry={"device": "p", "op": "WRITE_10", "lba": i})
    assert [e["lba"] for e in server.trace(op="WRITE_10")] == list(range(2500))


def test_wait_trace_blocks_until_the_entries_come_and_returns_the_count(server):
    d = server.add_disk(name="w")

    def later():
        time.sleep(0.3)
        for _ in range(3):
            server.request("_inject", entry={"device": "w", "op": "READ_10", "rule": "hang"})
    t = threading.Thread(target=later)
    t.start()
    # on its own connection: the injections above go through while it blocks
    assert d.wait_trace(timeout=20, count=3, op="READ_10", rule="hang") == 3
    t.join()
    assert d.wait_trace(op="INQUIRY") == 1  # counted from when the device was added


def test_wait_trace_timing_out_raises_with_the_matched_count(server):
    d = server.add_disk(name="w")
    server.request("_inject", entry={"device": "w", "op": "READ_10"})
    with pytest.raises(WaitTimeout) as e:
        d.wait_trace(timeout=0.2, count=2, op="READ_10")
    assert e.value.matched == 1 and "1 of 2" in str(e.value)
    with pytest.raises(WaitTimeout):
        server.wait_trace(timeout=0.1, op="READ_10")  # after: now


def test_wait_trace_and_cursor_speak_protocol_2(server, request_log):
    d = server.add_disk(name="w")
    server.request("_inject", entry={"device": "w", "op": "READ_10"})
    here = server.cursor()
    assert here == 2 and d.cursor() == 2
    with server.connect() as c:
        assert c.cursor() == 2
    # the filter's op is "op", the timeout seconds (fractions), a number op as serve reads it
    assert d.wait_trace(timeout=0.5, op=0x28) == 1
    waits = [r for r in request_log() if r["request"] == "wait"]
    assert {k: v for k, v in waits[-1].items() if k != "id"} == {
        "request": "wait", "device": "w", "op": 0x28, "count": 1, "timeout": 0.5,
        "after": d.since}
    assert [r["request"] for r in request_log()].count("cursor") >= 4  # no wait to find it
    # an after beyond the cursor is refused at once, by trace and wait alike
    with pytest.raises(TcmuHarnessError, match="after 99 is beyond the trace's cursor 2"):
        server.wait_trace(timeout=30, after=99)
    with pytest.raises(TcmuHarnessError, match="trace: after 99 is beyond"):
        server.trace_page(after=99)
    with pytest.raises(TcmuHarnessError, match=r"timeout: '90000.0' is not a number of seconds"):
        server.wait_trace(timeout=90000)
    with pytest.raises(TcmuHarnessError, match="'RESET' is not a TMR type"):
        server.wait_trace(timeout=0.1, tmr="RESET")


def test_the_old_envelope_is_refused_saying_what_changed(server):
    import json
    import socket
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(server.control)
        s.sendall(b'{"op": "devices", "id": 5}\n')
        resp = json.loads(s.makefile().readline())
    assert resp["ok"] is False and resp["id"] == 5
    assert 'goes in "request" now (protocol 2)' in resp["error"]



def test_kmsg_verdict_from_the_server(tmp_path, monkeypatch):
    log = tmp_path / "kmsg"
    log.write_text("boot\n")
    monkeypatch.setenv("FAKE_KMSG", str(log))
    with Server(FAKE) as s:
        mark = s.kmsg_mark()
        with log.open("a") as f:
            f.write("sd 2:0:0:0: [sda] Attached\nWARNING: CPU: 0 at drivers/x.c:1\n")
        v = s.kmsg_check(mark)
        assert v["log"] == ["sd 2:0:0:0: [sda] Attached", "WARNING: CPU: 0 at drivers/x.c:1"]
        assert len(v["failures"]) == 1 and "WARNING: CPU" in v["failures"][0]
        assert s.kmsg_check(mark, allow=["drivers/x\\.c"])["failures"] == []


def test_exit_before_the_socket_answers_reports_status_and_stderr(monkeypatch):
    monkeypatch.setenv("FAKE_EXIT_AT_START", "3")
    with pytest.raises(TcmuHarnessError) as e:
        Server(FAKE).start()
    assert "exited with status 3" in str(e.value) and "fake: cannot start" in str(e.value)


def test_a_slow_start_is_waited_for_and_a_dead_slow_one_times_out(monkeypatch):
    monkeypatch.setenv("FAKE_START_DELAY", "1")
    with Server(FAKE) as s:
        assert s.version()["protocol"] == 2
    monkeypatch.setenv("FAKE_START_DELAY", "30")
    s = Server(FAKE, start_timeout=0.5, stop_timeout=5)
    with pytest.raises(TcmuHarnessError, match="did not answer within 0.5 s"):
        s.start()
    assert not s.running  # killed, not left behind


def test_a_missing_binary_is_a_clear_error(tmp_path):
    with pytest.raises(TcmuHarnessError, match="cannot run"):
        Server(tmp_path / "no-such-tcmu-harness").start()


def test_a_server_that_dies_mid_request_reports_its_status_and_stderr(monkeypatch):
    monkeypatch.setenv("FAKE_DIE_ON", "add_device")
    s = Server(FAKE).start()
    with pytest.raises(ConnectionLost) as e:
        s.add_disk()
    assert "exited with status 7" in str(e.value) and "fake: dying on add_device" in str(e.value)
    assert s.stop() == 7


def test_a_request_that_gets_no_answer_times_out(monkeypatch):
    monkeypatch.setenv("FAKE_HANG_ON", "stats")
    s = Server(FAKE, request_timeout=0.5, stop_timeout=5).start()
    try:
        with pytest.raises(RequestTimeout):
            s.stats()
    finally:
        s.stop()  # the connection is gone: signals end it


def test_a_server_that_will_not_stop_is_killed(monkeypatch):
    monkeypatch.setenv("FAKE_STUBBORN", "1")
    s = Server(FAKE, stop_timeout=0.5).start()
    t0 = time.monotonic()
    assert s.stop() == -9  # shutdown and SIGTERM ignored: SIGKILL
    assert time.monotonic() - t0 < 10


def test_a_nonzero_exit_fails_the_with_block(monkeypatch):
    monkeypatch.setenv("FAKE_EXIT_STATUS", "1")
    with pytest.raises(TcmuHarnessError, match="exited with status 1"):
        with Server(FAKE):
            pass


def test_kill_leaves_no_teardown(request_log):
    server = Server(FAKE).start()
    server.add_disk()
    assert server.kill() == -9
    with pytest.raises(TcmuHarnessError):
        server.devices()
    assert server.stop() == -9
    assert "shutdown" not in [r["request"] for r in request_log()]


def test_the_binary_is_found_from_the_environment_then_path(monkeypatch, tmp_path):
    monkeypatch.setenv("TCMU_HARNESS_BIN", "/x/tcmu-harness")
    assert tcmu_harness.find_binary() == "/x/tcmu-harness"
    assert tcmu_harness.find_binary(tmp_path / "y") == str(tmp_path / "y")
    monkeypatch.delenv("TCMU_HARNESS_BIN")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "tcmu-harness"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    assert tcmu_harness.find_binary() == str(exe)
