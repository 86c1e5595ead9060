"""Versions: --version, and the harness and kernel recorded in JUnit files and traces."""
import os
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")
# A scenario of commands only runs here, without a kernel, and still writes both files.
NO_DEVICES = """name: no devices
devices: []
steps:
  - run: "true"
"""


def th(*args, env=None):
    return subprocess.run([TH, *map(str, args)], capture_output=True, text=True, timeout=60,
                          env=env)


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"^project\(tcmu-harness VERSION (\S+) ", text, re.M).group(1)


def test_version_prints_the_project_version_and_is_in_the_help():
    p = th("--version")
    assert p.returncode == 0 and p.stdout == f"tcmu-harness {project_version()}\n", p.stdout
    assert "--version" in th("--help").stdout


def test_the_python_package_has_the_same_version():
    sys.path.insert(0, str(ROOT / "python"))
    import tcmu_harness
    pyproject = (ROOT / "python" / "pyproject.toml").read_text()
    assert f'version = "{tcmu_harness.__version__}"' in pyproject
    assert tcmu_harness.__version__ == project_version()


def run_recorded(tmp_path, env=None):
    s = tmp_path / "nodev.yaml"
    s.write_text(NO_DEVICES)
    junit, traces = tmp_path / "j.xml", tmp_path / "traces"
    traces.mkdir()
    p = th("run", "--junit", junit, "--trace", traces, s, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    props = {e.get("name"): e.get("value")
             for e in ET.parse(junit).getroot().iter("property")}
    header = (traces / "nodev.jsonl").read_text().splitlines()[0]
    return props, header


def test_junit_and_trace_record_the_harness_and_this_kernel(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCMU_HARNESS_KERNEL_")}
    props, header = run_recorded(tmp_path, env)
    release = os.uname().release
    assert props["tcmu-harness.version"] == project_version()
    assert props["kernel.release"] == release
    pkg = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}",
                          f"linux-image-{release}"], capture_output=True, text=True)
    want = pkg.stdout if pkg.returncode == 0 and pkg.stdout else "unknown"
    assert props["kernel.package"] == want
    assert header == ('{"header":{"tcmu_harness_version":"%s","kernel_release":"%s",'
                      '"kernel_package":"%s"}}' % (project_version(), release, want))


def test_the_vm_runners_kernel_identity_wins(tmp_path):
    env = dict(os.environ, TCMU_HARNESS_KERNEL_RELEASE="6.1.0-57-amd64",
               TCMU_HARNESS_KERNEL_PACKAGE="linux-image-6.1.0-57-amd64 6.1.192-3")
    props, header = run_recorded(tmp_path, env)
    assert props["kernel.release"] == "6.1.0-57-amd64"
    assert props["kernel.package"] == "linux-image-6.1.0-57-amd64 6.1.192-3"
    assert '"kernel_package":"linux-image-6.1.0-57-amd64 6.1.192-3"' in header


def test_run_in_the_vm_refuses_result_paths_the_guest_would_keep(tmp_path):
    # this host has no TCMU: run would go to the VM, which shares only the current directory
    s = tmp_path / "d.yaml"
    s.write_text("name: d\ndevices:\n  - { name: d0, size: 1MiB }\n")
    for args, name in ((["--junit", "/tmp/outside.xml"], "--junit"),
                       (["--trace", "/tmp"], "--trace")):
        p = subprocess.run([TH, "run", *args, str(s)], capture_output=True, text=True,
                           timeout=60, cwd=ROOT)
        assert p.returncode == 2, p.stdout + p.stderr
        assert f"{name} {args[1]} is outside the current directory" in p.stderr, p.stderr


def test_run_from_the_root_directory_accepts_result_paths_under_it(tmp_path):
    # outside_share compares realpath(dir) with getcwd() followed by '/': with cwd "/" the
    # character after the prefix is never '/', so every path below the share is refused.
    # (PATH and HOME empty: if accepted, the VM start fails at once, no VM is booted.)
    s = tmp_path / "d.yaml"
    s.write_text("name: d\ndevices:\n  - { name: d0, size: 1MiB }\n")
    rel = str(tmp_path / "j.xml").lstrip("/")
    env = {"PATH": "/nonexistent", "HOME": str(tmp_path)}
    p = subprocess.run([TH, "run", "--junit", rel, str(s)], capture_output=True, text=True,
                       timeout=60, cwd="/", env=env)
    assert "is outside the current directory" not in p.stderr, p.stderr


def test_run_in_the_vm_refuses_a_junit_file_that_is_a_symlink_out_of_the_share(tmp_path):
    # outside_share resolves only the JUnit file's directory: j.xml -> /tmp/... is accepted,
    # the guest follows the link into its own (overlay) /tmp and the results are lost.
    # (PATH and HOME empty: if accepted, the VM start fails at once, no VM is booted.)
    work = tmp_path / "work"
    work.mkdir()
    s = work / "d.yaml"
    s.write_text("name: d\ndevices:\n  - { name: d0, size: 1MiB }\n")
    (work / "j.xml").symlink_to(tmp_path / "outside.xml")
    env = {"PATH": "/nonexistent", "HOME": str(tmp_path)}
    p = subprocess.run([TH, "run", "--junit", "j.xml", "d.yaml"], capture_output=True,
                       text=True, timeout=60, cwd=work, env=env)
    assert "--junit j.xml is outside the current directory" in p.stderr, p.stderr
