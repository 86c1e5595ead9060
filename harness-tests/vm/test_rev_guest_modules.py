"""Reviewer reproducer: a user's kernel (--kernel/--modules) and the release the guest sees."""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")


def test_modules_dir_given_with_a_trailing_slash_is_the_guests_release(tmp_path):
    """th_kernel_custom takes the release from the --modules path's last component; with
    the trailing slash shell completion adds it is the whole path: the modules tree is
    mounted at /lib/modules/<that path>, TCMU_HARNESS_KERNEL_RELEASE ("uname -r" per
    --help) is the path, and modules.devname nodes (/dev/loop-control) and modprobe are
    missing in the guest. Boots one VM under TCG (~30 s)."""
    env = dict(os.environ)
    env.pop("TCMU_HARNESS_KERNEL_VERSION", None)
    image, mods = subprocess.run([TH, "kernel", "path"], capture_output=True, text=True,
                                 env=env, check=True).stdout.split()
    p = subprocess.run([TH, "vm", "--accel", "tcg", "--timeout", "300", "--kernel", image,
                        "--modules", mods + "/", "--", "sh", "-c",
                        'echo "$TCMU_HARNESS_KERNEL_RELEASE"; uname -r;'
                        ' test -e /dev/loop-control && echo nodes; true'],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=400)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == lines[1], f"release exported {lines[0]!r}, uname -r {lines[1]!r}"
    assert lines[2:] == ["nodes"], p.stdout
