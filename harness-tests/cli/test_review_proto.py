"""Review of protocol 2 (rev-proto): PATH.lock defects, without a kernel."""
import os
import pathlib
import signal
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")


def test_a_hard_link_at_path_lock_is_refused_and_its_file_kept(tmp_path):
    """Defect: O_NOFOLLOW stops a symlink, not a hard link. A PATH.lock that is another
    file's hard link (st_nlink > 1) is taken as the lock: serve truncates that file, writes
    its pid into it and truncates it again at exit, destroying the linked file's data."""
    data = tmp_path / "data"
    data.write_text("precious data\n")
    path = tmp_path / "c.sock"
    os.link(data, str(path) + ".lock")
    p = subprocess.Popen([TH, "serve", "--control", str(path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while p.poll() is None and not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert data.read_text() == "precious data\n", "the linked file was overwritten"
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
    assert data.read_text() == "precious data\n", "the linked file was truncated at exit"


def test_a_path_served_by_another_user_before_is_usable_once_that_serve_ended():
    """Defect (regression): the socket goes at exit, PATH.lock (0600, never unlinked) stays.
    After one user's serve on a path (here root) ended cleanly, another user's serve on the
    same path is refused for ever ("PATH.lock: Permission denied"), though nothing holds
    it; before PATH.lock that serve started. Needs root (to be two users), as this lane."""
    assert os.geteuid() == 0, "this reproducer runs as root to play two users"
    import shutil
    import tempfile
    d = pathlib.Path(tempfile.mkdtemp(prefix="th-rev-", dir="/tmp"))  # reachable by nobody
    d.chmod(0o1777)
    path = d / "c.sock"
    try:
        run_two_users(path)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def nobody_serve(path):
    """serve on path as nobody: None if it came up (and was stopped), else its stderr."""
    q = subprocess.Popen(["setpriv", "--reuid", "nobody", "--regid", "nogroup",
                          "--clear-groups", TH, "serve", "--control", str(path)],
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while q.poll() is None and not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    up = q.poll() is None and path.exists()
    if q.poll() is None:
        q.send_signal(signal.SIGTERM)
    _, err = q.communicate(timeout=30)
    return None if up else err


def run_two_users(path):
    p = subprocess.Popen([TH, "serve", "--control", str(path)], stderr=subprocess.PIPE,
                         text=True)
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0
    assert not path.exists()  # the first serve is gone, and so is its socket
    err = nobody_serve(path)
    stale = pathlib.Path(str(path) + ".lock")
    if err is not None:
        stale.unlink()  # the control: without the left-over lock file it does start
        assert nobody_serve(path) is None, "nobody's serve fails for another reason"
    assert err is None, err


def test_an_unusable_control_path_is_refused_before_a_lock_file_is_made(tmp_path):
    """Defect (minor): ctl_lock_take runs before the socket path is checked, so a path
    serve then refuses (empty; longer than a Unix socket takes) still leaves a lock file:
    --control "" creates ".lock" in the working directory, a too-long PATH a PATH.lock."""
    r = subprocess.run([TH, "serve", "--control", ""], cwd=tmp_path, capture_output=True,
                       text=True, timeout=30)
    # a usage error now (issue 14 section 5): the option is refused as it is read
    assert r.returncode == 2 and "empty path" in r.stderr, r.stderr
    long_path = tmp_path / ("x" * 120)
    r2 = subprocess.run([TH, "serve", "--control", str(long_path)], capture_output=True,
                        text=True, timeout=30)
    assert r2.returncode == 2 and "longer than" in r2.stderr, r2.stderr
    assert sorted(os.listdir(tmp_path)) == [], "left behind by refused serves"
