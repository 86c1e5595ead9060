"""The pytest plugin's kernel-log check on the real kernel: a user's test during which the
kernel log gets a WARNING: fails, and passes with the line allowed."""
import os
import pathlib
import subprocess

import pytest

from conftest import TH

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROBE = "WARNING: tcmu-harness plugin probe"

USER_TEST = f'''
def test_a_step_that_makes_the_kernel_warn(tcmu_disk):
    d = tcmu_disk(size="8MiB")
    with open(d.sg, "rb"):
        pass
    with open("/dev/kmsg", "w") as f:
        f.write("{PROBE} (from a user's test)\\n")
'''


def run_user_suite(tmp_path, *extra):
    (tmp_path / "test_user.py").write_text(USER_TEST)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        ["/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider", "-p",
         "tcmu_harness.plugin", f"--tcmu-harness-bin={TH}", "-q", *extra,
         str(tmp_path / "test_user.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.tcmu_allow_kmsg("tcmu-harness plugin probe")
def test_a_kernel_warning_during_a_users_test_fails_it_quoting_the_line(tmp_path):
    p = run_user_suite(tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "kernel log of this test" in p.stdout, p.stdout
    assert PROBE in p.stdout, p.stdout


@pytest.mark.tcmu_allow_kmsg("tcmu-harness plugin probe")
def test_the_same_warning_allowed_by_option_passes(tmp_path):
    p = run_user_suite(tmp_path, "--tcmu-allow-kmsg", "tcmu-harness plugin probe")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 passed" in p.stdout, p.stdout
