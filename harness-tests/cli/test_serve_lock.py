"""One serve per control socket path, without a kernel (serve --control with no device
does no kernel work): the PATH.lock flock that makes two serves started together safe."""
import json
import os
import pathlib
import signal
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")


def serve(path, *args):
    return subprocess.Popen([TH, "serve", "--control", str(path), *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def ctl(path, req):
    return subprocess.run([TH, "ctl", "--timeout", "10", str(path), json.dumps(req)],
                          capture_output=True, text=True, timeout=30)


def up(path, proc):
    """Waits until serve answers on path (the socket accepting is its sign of life)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        if os.path.exists(path) and ctl(path, {"request": "version"}).returncode == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"serve did not answer on {path}")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, err


def exits(proc):
    """A serve that must exit by itself (no signal): its status and stderr."""
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err


@pytest.fixture
def procs():
    made = []
    yield made
    for p in made:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_a_second_serve_on_the_path_exits_1_naming_the_lock_and_its_holder(tmp_path, procs):
    path = tmp_path / "ctl.sock"
    first = serve(path)
    procs.append(first)
    up(path, first)
    assert (tmp_path / "ctl.sock.lock").read_text() == f"{first.pid}\n"
    assert oct((tmp_path / "ctl.sock.lock").stat().st_mode & 0o777) == "0o600"
    # with a device too: the lock comes before any device, so the loser says only this
    # (on this host without TCMU, a device would otherwise fail on the kernel)
    for args in ((), ("--device", "name=d0,size=1MiB")):
        second = serve(path, *args)
        procs.append(second)
        rc, err = exits(second)
        assert rc == 1, err
        assert err == (f"tcmu-harness serve: control socket {path}: another serve (pid "
                       f"{first.pid}) holds {path}.lock; not starting\n")
    # the first still serves its socket, untouched
    r = ctl(path, {"request": "version"})
    assert r.returncode == 0 and json.loads(r.stdout)["protocol"] == 2, r.stdout + r.stderr
    assert stop(first)[0] == 0
    # the lock file goes with its holder (removed under the lock; takers re-check the
    # inode), so the path is free for the next serve, of any user
    assert not (tmp_path / "ctl.sock.lock").exists()
    assert not path.exists()
    again = serve(path)
    procs.append(again)
    up(path, again)
    assert stop(again)[0] == 0


def test_serves_started_at_the_same_instant_leave_exactly_one(tmp_path, procs):
    path = tmp_path / "ctl.sock"
    for _ in range(6):
        procs.extend([serve(path)])
    deadline = time.monotonic() + 30  # the losers exit at once; the winner stays
    while sum(p.poll() is None for p in procs) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    running = [p for p in procs if p.poll() is None]
    assert len(running) == 1, [stop(p) for p in procs]
    up(path, running[0])
    for p in procs:
        if p is not running[0]:
            rc, err = exits(p)
            assert rc == 1 and f"holds {path}.lock; not starting" in err, err
    assert stop(running[0])[0] == 0


@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory"])
def test_a_lock_path_that_is_not_a_regular_file_is_refused(tmp_path, procs, kind):
    path = tmp_path / "ctl.sock"
    lock = tmp_path / "ctl.sock.lock"
    target = tmp_path / "target"
    target.write_text("keep\n")
    if kind == "symlink":
        lock.symlink_to(target)
        want = "is a symlink; not using it as the lock"
    elif kind == "fifo":
        os.mkfifo(lock)
        want = "exists and is not a regular file; not using it as the lock"
    else:
        lock.mkdir()
        want = "Is a directory"
    p = serve(path)
    procs.append(p)
    rc, err = exits(p)
    assert rc == 1 and f"control socket {path}: {lock}" in err and want in err, err
    assert target.read_text() == "keep\n" and not path.exists()
