"""On the real kernel, the JUnit file and the trace of `tcmu-harness run` name the harness's
version and the kernel the scenario ran on (the guest's, under with-kernel)."""
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET

from conftest import ROOT, TH


def test_junit_and_trace_name_the_kernel_the_scenario_ran_on(tmp_path):
    s = tmp_path / "v.yaml"
    s.write_text("name: versions\ndevices:\n  - { name: v0, size: 8MiB }\nsteps:\n"
                 "  - run: \"true\"\n")
    junit, traces = tmp_path / "j.xml", tmp_path / "traces"
    traces.mkdir()
    p = subprocess.run([str(TH), "run", "--in-vm", "--junit", str(junit), "--trace",
                        str(traces), str(s)], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    version = re.search(r"^project\(tcmu-harness VERSION (\S+) ",
                        (ROOT / "CMakeLists.txt").read_text(), re.M).group(1)
    release = os.environ.get("TCMU_HARNESS_KERNEL_RELEASE") or os.uname().release
    package = os.environ.get("TCMU_HARNESS_KERNEL_PACKAGE")
    if not package:
        q = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}",
                            f"linux-image-{release}"], capture_output=True, text=True)
        package = q.stdout if q.returncode == 0 and q.stdout else "unknown"
    props = {e.get("name"): e.get("value")
             for e in ET.parse(junit).getroot().iter("property")}
    assert props == {"tcmu-harness.version": version, "kernel.release": release,
                     "kernel.package": package}, props
    header = json.loads((traces / "v.jsonl").read_text().splitlines()[0])
    assert header == {"header": {"tcmu_harness_version": version, "kernel_release": release,
                                 "kernel_package": package}}, header


def test_the_vm_runner_records_the_package_of_the_kernel_it_booted(tmp_path):
    # The man page: TCMU_HARNESS_KERNEL_RELEASE/PACKAGE "(the VM runner sets them in the
    # guest)". Nothing in framework/vm sets them; the guest's root is the host's / (9p,
    # read-only), whose dpkg has never installed the cached linux-image-*-amd64, so every
    # run under with-kernel records kernel.package "unknown" (the test above expects that
    # too, because it asks the same dpkg).
    s = tmp_path / "v.yaml"
    s.write_text("name: versions\ndevices:\n  - { name: v0, size: 8MiB }\nsteps:\n"
                 "  - run: \"true\"\n")
    junit = tmp_path / "j.xml"
    p = subprocess.run([str(TH), "run", "--in-vm", "--junit", str(junit), str(s)],
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    props = {e.get("name"): e.get("value")
             for e in ET.parse(junit).getroot().iter("property")}
    release = os.uname().release
    assert props["kernel.package"].startswith(f"linux-image-{release} "), props
