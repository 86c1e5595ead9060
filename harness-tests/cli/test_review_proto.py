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
