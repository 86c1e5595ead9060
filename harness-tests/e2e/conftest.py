"""The end-to-end suite on the real kernel (target_core_user + tcm_loop), checked with the
real tools. Devices come from the tcmu_harness pytest plugin (python/; `run` loads it):
tcmu_disk/tcmu_tape on the session's server, or a Server of the package where a test
needs a process of its own (killing it, two harnesses at once)."""
import pathlib
import subprocess

import pytest

import tcmu_harness

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


def our_scsi_devices():
    """SCSI devices the kernel still has with our INQUIRY vendor (their sd/sg/st nodes)."""
    found = []
    for vendor in pathlib.Path("/sys/bus/scsi/devices").glob("*/vendor"):
        try:
            if vendor.read_text().strip() == "TCMUHARN":
                found.append(vendor.parent.name)
        except OSError:
            pass  # going away while we look
    return found


# Servers tests started on their own: a test whose assert fails before its stop() must not
# leave its serve (and devices) to fail every later test's leftover check.
STARTED = []


def start_server(*specs, **kw):
    """A `serve --control` process of its own with these SPEC devices (`serve --device`
    syntax); stop() it (0 expected), or kill() it."""
    s = tcmu_harness.Server(TH, **kw).start()
    STARTED.append(s)
    try:
        for spec in specs:
            s.add_device(spec=spec)
    except BaseException:
        s.stop()
        raise
    return s


@pytest.fixture(autouse=True)
def nothing_left_behind():
    """After each test (and its devices' removal): no configfs object and no SCSI device of
    ours remain, whoever made them."""
    yield
    left = [srv for srv in STARTED if srv.running]
    STARTED.clear()
    for srv in left:
        srv.stop()  # the test failed before its own stop(); its failure says why
    assert our_objects() == [], "configfs objects left behind"
    assert our_scsi_devices() == [], "SCSI devices (sd/sg/st nodes) left behind"


@pytest.fixture
def disk(tcmu_disk):
    """One 64 MiB memory-backed disk."""
    return tcmu_disk(name="e2e0", size="64MiB")
