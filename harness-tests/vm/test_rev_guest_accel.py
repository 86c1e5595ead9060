"""Reviewer reproducers for the KVM probe and TCG fallback, with a fake QEMU on PATH."""
import os
import pathlib
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")

# KVM: stalls before /init forever (as on this project's machines).
# TCG: reaches /init, then the command runs "forever".
FAKE_QEMU = r"""#!/bin/sh
accel= con=
while [ $# -gt 0 ]; do
  case "$1" in
    -accel) accel=$2; shift;;
    -serial) case "$2" in file:*) con=${2#file:};; esac; shift;;
  esac
  shift
done
echo "$accel" >> "$FAKE_QEMU_LOG"
[ "$accel" = tcg ] && echo 'tcmu-harness init: started' >> "$con"
exec sleep 100
"""


def test_timeout_bounds_the_whole_run_including_the_kvm_probe(tmp_path):
    """--timeout S: "kill the guest after S seconds, exit 124". The probe's 6 s are not
    counted: boot_once restarts its clock for the TCG boot, so a run with --timeout 8 on a
    host whose KVM stalls lasts about 14 s."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        raise AssertionError("needs an openable /dev/kvm for the probe path")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    q = bindir / "qemu-system-x86_64"
    q.write_text(FAKE_QEMU)
    q.chmod(0o755)
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"x")
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}",
               FAKE_QEMU_LOG=str(tmp_path / "qemu.log"), TMPDIR=str(tmp_path))
    env.pop("TCMU_HARNESS_KERNEL_VERSION", None)
    t0 = time.monotonic()
    p = subprocess.run([TH, "vm", "--kernel", str(kernel), "--timeout", "8", "--", "true"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    took = time.monotonic() - t0
    assert (tmp_path / "qemu.log").read_text().split() == ["kvm", "tcg"], p.stderr
    assert p.returncode == 124, p.stderr
    assert took < 10, f"--timeout 8 took {took:.1f} s:\n{p.stderr}"
