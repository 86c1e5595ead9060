"""tcmu-harness ctl without a kernel: usage errors, connection failures, and its exit
status against a stand-in server that answers what the test tells it to."""
import pathlib
import socket
import subprocess
import threading

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")


def th(*args, input=None):
    return subprocess.run([TH, *map(str, args)], capture_output=True, text=True, timeout=60,
                          input=input)


class StandIn:
    """A Unix socket that reads one line and answers `reply` (None: hangs up instead,
    b"": never answers until the test is over)."""

    def __init__(self, path: str, reply):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.reply = reply
        self.got = b""
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.serve)
        self.thread.start()

    def serve(self):
        conn, _ = self.sock.accept()
        with conn:
            while not self.got.endswith(b"\n"):
                chunk = conn.recv(65536)
                if not chunk:
                    return
                self.got += chunk
            if self.reply:
                conn.sendall(self.reply)
            elif self.reply is not None:
                self.done.wait(30)

    def close(self):
        self.done.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def standin(tmp_path):
    made = []

    def make(reply):
        s = StandIn(str(tmp_path / f"s{len(made)}.sock"), reply)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.mark.parametrize("args", [[], ["/tmp/x"], ["/tmp/x", "{}", "extra"],
                                  ["--timeout", "0", "/tmp/x", "{}"],
                                  ["--timeout", "soon", "/tmp/x", "{}"], ["--bogus", "/tmp/x", "{}"]])
def test_usage_errors_exit_2(args):
    p = th("ctl", *args)
    assert p.returncode == 2, p.stderr
    assert "usage: tcmu-harness ctl" in p.stderr
    assert p.stdout == ""


def test_help():
    p = th("ctl", "--help")
    assert p.returncode == 0 and "usage: tcmu-harness ctl" in p.stdout
    assert "ctl PATH REQUEST" in th("--help").stdout


def test_no_server_exits_2(tmp_path):
    p = th("ctl", tmp_path / "none.sock", '{"request":"version"}')
    assert p.returncode == 2
    assert p.stderr == f"tcmu-harness ctl: cannot connect to {tmp_path}/none.sock: " \
                       "No such file or directory\n"
    f = tmp_path / "file"
    f.write_text("x")
    p = th("ctl", f, '{"request":"version"}')
    assert p.returncode == 2 and "Connection refused" in p.stderr
    p = th("ctl", "/" + "a" * 200, '{"request":"version"}')
    assert p.returncode == 2 and "longer than a Unix socket path may be" in p.stderr


def test_exit_status_follows_ok(standin):
    s = standin(b'{"ok":true,"id":null,"protocol":2}\n')
    p = th("ctl", s.sock.getsockname(), '{"request":"version"}')
    assert (p.returncode, p.stdout) == (0, '{"ok":true,"id":null,"protocol":2}\n')
    assert s.got == b'{"request":"version"}\n'
    s = standin(b'{"ok":false,"id":null,"error":"request:1:7: unknown op"}\n')
    p = th("ctl", s.sock.getsockname(), '{"request":"nope"}')
    assert p.returncode == 1 and '"error":"request:1:7: unknown op"' in p.stdout


def test_stdin_request_is_one_line(standin):
    s = standin(b'{"ok":true,"id":1}\n')
    p = th("ctl", s.sock.getsockname(), "-", input='{\n  "request": "devices",\n  "id": 1\n}\n\n')
    assert p.returncode == 0, p.stderr
    assert s.got == b'{   "request": "devices",   "id": 1 }\n'


def test_a_server_that_hangs_up_or_never_answers_exits_2(standin):
    s = standin(None)
    p = th("ctl", s.sock.getsockname(), '{"request":"version"}')
    assert p.returncode == 2
    assert p.stderr == f"tcmu-harness ctl: {s.sock.getsockname()}: the server closed the " \
                       "connection without a response\n"
    s = standin(b"")
    p = th("ctl", "--timeout", "0.3", s.sock.getsockname(), '{"request":"version"}')
    assert p.returncode == 2 and "no response within the timeout" in p.stderr
