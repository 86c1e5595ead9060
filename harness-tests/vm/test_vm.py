"""The VM runner seen from the host: each test boots one throwaway guest."""
import glob
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")


WORK_TMP = {}


def vm(*args, timeout=300, cwd=None):
    env = dict(os.environ)
    if "dir" in WORK_TMP:
        env["TMPDIR"] = WORK_TMP["dir"]  # the runner's work folder goes here
    return subprocess.run([TH, "vm", "-q", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


@pytest.fixture
def leftovers(tmp_path_factory):
    """A private TMPDIR for the runner; nothing may stay in it."""
    d = tmp_path_factory.mktemp("vmwork")
    WORK_TMP["dir"] = str(d)
    yield
    WORK_TMP.clear()
    assert glob.glob(str(d / "th-vm-*")) == [], "work folder left on the host"


def test_exit_status_streams_share_and_read_only_host(tmp_path, leftovers):
    probe = f"/etc/th-probe-{os.getpid()}"
    p = vm("--share", str(tmp_path), "--", "sh", "-c",
           f"echo to-stdout; echo to-stderr >&2; touch {probe}; echo back > {tmp_path}/f; "
           "uname -r; exit 7", cwd=tmp_path)
    assert p.returncode == 7, p.stderr
    assert p.stdout.splitlines()[0] == "to-stdout"
    assert "to-stderr" in p.stderr and "to-stderr" not in p.stdout
    assert (tmp_path / "f").read_text() == "back\n"
    assert not os.path.exists(probe), "the guest wrote through to the host root"


def test_the_command_runs_in_the_current_directory(tmp_path, leftovers):
    p = vm("--", "pwd", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(tmp_path)


def test_lsscsi_in_a_fresh_guest_lists_no_devices(leftovers):
    p = vm("--", "lsscsi")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ""


def test_a_hung_command_is_killed_at_the_timeout(leftovers):
    p = vm("--timeout", "30", "--", "sleep", "600", timeout=120)
    assert p.returncode == 124
    assert "timed out after 30 s" in p.stderr


def test_a_kernel_panic_ends_with_a_clear_error(leftovers, tmp_path):
    log = tmp_path / "console.log"
    p = vm("--keep-log", str(log), "--", "sh", "-c", "echo c > /proc/sysrq-trigger; sleep 600",
           timeout=120)
    assert p.returncode == 125, p.stderr
    assert "panicked" in p.stderr
    assert "Kernel panic" in log.read_text(errors="replace")


def test_a_user_supplied_kernel_and_modules(leftovers):
    paths = subprocess.run([TH, "kernel", "path"], capture_output=True, text=True,
                           check=True).stdout.split()
    version = os.path.basename(paths[1])
    p = vm("--kernel", paths[0], "--modules", paths[1], "--mem", "768", "--cpus", "1", "--",
           "sh", "-c", "uname -r; nproc; ls /sys/kernel/config/target")
    assert p.returncode == 0, p.stderr
    out = p.stdout.split()
    assert out[0] == version and out[1] == "1" and "core" in out


def test_usage_errors_exit_2():
    assert subprocess.run([TH, "vm"], capture_output=True).returncode == 2
    assert subprocess.run([TH, "vm", "--modules", "/x", "--", "true"],
                          capture_output=True).returncode == 2
    assert subprocess.run([TH, "bogus"], capture_output=True).returncode == 2


def test_a_missing_custom_kernel_is_a_clear_error():
    p = subprocess.run([TH, "vm", "--kernel", "/nonexistent", "--modules", "/nonexistent",
                        "--", "true"], capture_output=True, text=True)
    # checked as the option is read (docs/bad-input.md): a usage error, before any VM work
    assert p.returncode == 2
    assert "vm: --kernel '/nonexistent': No such file or directory" in p.stderr


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_forwarded_port_lets_a_host_initiator_reach_an_iscsi_device_in_the_guest(leftovers):
    """iscsi-inq on the host logs in through --forward to a device served in the guest."""
    import json
    import select
    import signal
    port = free_port()
    env = dict(os.environ, TMPDIR=WORK_TMP["dir"])
    proc = subprocess.Popen(
        [TH, "vm", "-q", "--timeout", "300", "--forward", f"127.0.0.1:{port}:3260", "--",
         TH, "serve", "--device", "name=fwd0,size=8MiB,export=iscsi,portal=0.0.0.0:3260"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, "serve in the guest printed nothing in 120 s"
        dev = json.loads(proc.stdout.readline())
        # the wildcard portal is announced at the guest's loopback address
        m = re.fullmatch(r"iscsi://127\.0\.0\.1:3260/(iqn\.2026-11\.org\.tcmu-harness:"
                         r"[0-9a-f]{8}-fwd0)/0", dev["iscsi"])
        assert m, dev["iscsi"]
        url = f"iscsi://127.0.0.1:{port}/{m.group(1)}/0"
        p = subprocess.run(["iscsi-inq", "-i", "iqn.2026-11.org.tcmu-harness:host", url],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "Peripheral Device Type:DIRECT_ACCESS" in p.stdout
        p = subprocess.run(["iscsi-readcapacity16", "-i", "iqn.2026-11.org.tcmu-harness:host",
                            url], capture_output=True, text=True, timeout=60)
        assert "RETURNED LOGICAL BLOCK ADDRESS:16383" in p.stdout, p.stdout + p.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    # the guest is gone, and so is the forward
    import socket
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("spec", ["0.0.0.0:3260:3260", "192.168.1.5:3260:3260",
                                  "3260", "127.0.0.1:0:3260", "127.0.0.1:3260:70000",
                                  "127.0.0.1.5:1:2"])
def test_forward_refuses_non_loopback_addresses_and_bad_ports(spec):
    p = vm("--forward", spec, "--", "true", timeout=30)
    assert p.returncode == 2
    assert "--forward" in p.stderr
