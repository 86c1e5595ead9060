"""Fixtures for the end-to-end suite: devices served by `tcmu-harness serve` on the
real kernel (target_core_user + tcm_loop), checked with the real tools."""
import json
import os
import pathlib
import select
import signal
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = ROOT / "build" / "tcmu-harness"
CONFIGFS = pathlib.Path("/sys/kernel/config/target")


def pytest_sessionstart(session):
    # Not a skip: an e2e run without the real kernel is a failure to run the suite.
    if not (CONFIGFS / "core").is_dir():
        pytest.exit("no configfs target core here: run through `tcmu-harness with-kernel`", 3)


def run(*args, check=False, timeout=60, input=None):
    """Runs a tool; returns CompletedProcess with text output."""
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def run_bytes(*args, timeout=60):
    return subprocess.run([str(a) for a in args], capture_output=True, timeout=timeout)


def our_objects():
    """Every configfs object tcmu-harness creates (backstores th-*, their LUN links)."""
    found = []
    for hba in (CONFIGFS / "core").glob("user_*"):
        found += [str(p) for p in hba.glob("th-*")]
    loop = CONFIGFS / "loopback"
    if loop.is_dir():
        found += [str(p) for p in loop.glob("naa.*/tpgt_1/lun/lun_*/th-*")]
    iscsi = CONFIGFS / "iscsi"
    if iscsi.is_dir():
        found += [str(p) for p in iscsi.glob("iqn.*/tpgt_*/lun/lun_*/th-*")]
        found += [str(p) for p in iscsi.glob("iqn.2026-11.org.tcmu-harness:*")]
    return found


class Server:
    def __init__(self, *specs, extra=()):
        self.specs = specs
        self.proc = subprocess.Popen(
            [str(TH), "serve", *extra] + [a for s in specs for a in ("--device", s)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=0)
        self.devices = {}
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.time() + 30
        while len(self.devices) < len(specs):
            left = deadline - time.time()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            if not ready:
                self.stop()
                raise AssertionError(f"serve not ready in 30 s: {self.proc.stderr.read()}")
            chunk = os.read(fd, 65536)
            if not chunk:
                err = self.proc.stderr.read()
                self.proc.wait()
                raise AssertionError(f"serve exited {self.proc.returncode}: {err}")
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                dev = json.loads(line)
                self.devices[dev["name"]] = dev

    def __getitem__(self, name):
        return self.devices[name]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("serve did not stop within 30 s of SIGTERM")
        return self.proc.returncode


@pytest.fixture
def serve():
    """serve(spec, ...) starts devices; all are stopped and checked for leftovers after."""
    servers = []

    def start(*specs, extra=()):
        s = Server(*specs, extra=extra)
        servers.append(s)
        return s

    yield start
    for s in servers:
        rc = s.stop()
        assert rc == 0, f"serve exited {rc}: {s.proc.stderr.read()}"
        for dev in s.devices.values():
            for key in ("sd", "sg"):
                if dev.get(key):
                    assert not os.path.exists(dev[key]), f"{dev[key]} still exists after close"
    assert our_objects() == [], "configfs objects left behind"


@pytest.fixture
def disk(serve):
    """One 64 MiB memory-backed disk."""
    return serve("name=e2e0,size=64MiB")["e2e0"]
