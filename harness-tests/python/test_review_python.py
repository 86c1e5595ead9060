"""Review findings on the package and plugin, each a regression test: against the real
`build/tcmu-harness serve --control` with no devices (runs without a kernel; build first
with ./scripts/build) where only the real parser shows the fault, else against
fake_serve.py."""
import glob
import os
import socket
import subprocess
import sys
import tempfile

import pytest

import tcmu_harness
from tcmu_harness import RequestTimeout, Server, TcmuHarnessError
from conftest import FAKE, PYDIR, ROOT
from test_plugin import run  # noqa: F401 (the fixture)

TH = ROOT / "build" / "tcmu-harness"


@pytest.fixture
def real():
    """The real serve with only a control socket (no device: no kernel needed)."""
    assert TH.is_file(), f"{TH} is missing: run ./scripts/build first"
    with Server(TH, start_timeout=20, stop_timeout=10) as s:
        yield s


def test_a_character_beyond_the_bmp_reaches_the_server_as_utf8(real):
    # json.dumps' default \ud83d\ude00 escape is refused by the server (id null), which
    # the client took for a mismatched id and closed the session's connection over.
    with pytest.raises(TcmuHarnessError) as e:
        real.request("add_rule", device="d\U0001F600")
    assert e.value.message.endswith(": no device named 'd\U0001F600'")
    assert real.devices() == []


def test_what_json_cannot_carry_is_refused_before_sending(real):
    for bad in ({"device": "d0", "times": float("inf")}, {"device": "d\udcff"}):
        with pytest.raises(TcmuHarnessError, match="add_rule: cannot send as JSON"):
            real.request("add_rule", **bad)
    assert real.devices() == []


def test_a_refusal_the_server_could_not_number_is_reported_with_its_message(real):
    # a line the server cannot read, or a client too many, is answered with "id": null;
    # that is the answer to our request, not a stray response with a wrong id
    extra = []
    try:
        for _ in range(64):  # the server's own connection is one of the 64 already
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(real.control)
            extra.append(sock)
        with pytest.raises(TcmuHarnessError) as e:
            with real.connect() as c:
                c.request("devices")
        assert "too many clients: at most 64 may be connected" in e.value.message
        assert "does not answer" not in str(e.value)
    finally:
        for sock in extra:
            sock.close()


def test_a_request_over_the_servers_line_limit_is_refused_with_a_message(real):
    with pytest.raises(TcmuHarnessError, match="at most 1048576 bytes") as e:
        real.request("add_rule", device="x" * (1 << 20))
    assert not isinstance(e.value, tcmu_harness.ConnectionLost)
    assert real.devices() == []


def test_one_timed_out_request_does_not_poison_the_server_for_later_requests(
        request_log, monkeypatch):
    monkeypatch.setenv("FAKE_HANG_ON", "stats")
    with Server(FAKE, start_timeout=20, stop_timeout=10) as s:
        with pytest.raises(RequestTimeout):
            s.request("stats", timeout=0.5)
        # the late answer went with the closed connection; a new one serves the rest
        assert s.devices() == []
        assert s.add_disk(name="d0").name == "d0"
    assert [r["request"] for r in request_log()][-1] == "shutdown"


def _ours():
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "tcmu-harness-*")))


def test_a_binary_that_cannot_run_leaves_no_temporary_directory():
    before = _ours()
    with pytest.raises(TcmuHarnessError, match="cannot run"):
        Server("/nonexistent/tcmu-harness").start()
    assert _ours() - before == set()


def test_a_script_that_never_stops_its_server_leaves_no_serve_running(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(f"""
import sys
sys.path.insert(0, {str(PYDIR)!r})
import tcmu_harness
s = tcmu_harness.Server({str(FAKE)!r}).start()
print(s.pid, s.control, flush=True)
raise SystemExit("fails before stop()")
""")
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=120)
    pid, control = p.stdout.split()
    try:
        os.kill(int(pid), 0)
        alive = True
    except ProcessLookupError:
        alive = False
    if alive:
        os.kill(int(pid), 9)
    assert not alive, "serve outlived the Python process that started it"
    assert not os.path.exists(os.path.dirname(control))


@pytest.mark.parametrize("mark,outcome", [
    ('@pytest.mark.tcmu_allow_kmsg(["nothing", "else"])', {"passed": 1, "errors": 1}),
    ('@pytest.mark.tcmu_allow_kmsg(["page fault"])', {"passed": 1}),
    ('@pytest.mark.tcmu_allow_kmsg(("page fault", "x"), "y")', {"passed": 1}),
])
def test_a_marker_given_a_list_allows_its_regexes_not_every_line(run, fake_configfs, tmp_path,
                                                                 monkeypatch, mark, outcome):
    # str(["nothing", "else"]) is the regex ['nothing', 'else']: a bracket expression
    # matching any line with a space in it, i.e. every splat passed
    kmsg = tmp_path / "kmsg"
    kmsg.write_text("")
    monkeypatch.setenv("FAKE_KMSG", str(kmsg))
    res, reqs = run(f"""
import pytest
{mark}
def test_allowed(tcmu_disk):
    tcmu_disk()
    open({str(kmsg)!r}, "a").write("BUG: unable to handle page fault at 0000\\n")
""")
    res.assert_outcomes(**outcome)  # a check that fails is an error at teardown
    assert ("ERROR at teardown of test_allowed" in res.stdout.str()) == ("errors" in outcome)
    checks = [r for r in reqs if r["request"] == "kmsg_check"]
    assert all(not a.startswith("[") for c in checks for a in c.get("allow", []))


def test_a_marker_with_something_not_a_regex_fails_the_test_saying_so(run, fake_configfs):
    res, _ = run("""
import pytest
@pytest.mark.tcmu_allow_kmsg(regex="page fault")
def test_kw(tcmu_disk):
    pass

@pytest.mark.tcmu_allow_kmsg(3)
def test_num(tcmu_disk):
    pass
""")
    res.assert_outcomes(errors=2)
    out = res.stdout.str()
    assert "tcmu_allow_kmsg takes regexes (strings" in out


def test_an_interrupted_request_does_not_hand_its_late_answer_to_the_next(real):
    # Ctrl-C (or any exception) while waiting for the answer: the answer still comes, and
    # was read as the next request's ("response id 3 does not answer request id 4")
    import signal

    def interrupt(*_):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            real.request("wait", {"timeout": 1.5}, count=1, check=False)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    real.request("wait", {"timeout": 2}, count=1, check=False)  # past the late answer
    assert real.request("devices")["devices"] == []
