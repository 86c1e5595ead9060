"""The kernel-log verdict of `tcmu-harness run` on the real kernel: a splat logged during a
scenario fails it (user space writing to /dev/kmsg provokes one on a stock kernel),
allow_kmsg and --allow-kmsg excuse it, expect_kmsg and forbid_kmsg judge the span's lines,
and the span's log goes into the JUnit file and beside the trace."""
import pathlib
import re
import subprocess
import uuid
import xml.etree.ElementTree as ET

from conftest import ROOT, TH, our_objects

STAMP = r"\[\s*\d+\.\d{6}\]"


def scenario(tmp_path: pathlib.Path, extra: str = "", line: str = "") -> pathlib.Path:
    """A one-disk scenario whose step writes `line` (if any) to the kernel log."""
    step = f"  - run: \"echo '{line}' > /dev/kmsg\"\n" if line else "  - run: \"true\"\n"
    p = tmp_path / "k.yaml"
    p.write_text(f"name: kernel log\ndevices:\n  - {{ name: k0, size: 8MiB }}\nsteps:\n{step}"
                 f"{extra}")
    return p


def run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([str(TH), "run", "--in-vm", *map(str, args)], capture_output=True,
                          text=True, timeout=180)


def token() -> str:
    return uuid.uuid4().hex[:12]


def test_a_warning_logged_during_a_scenario_fails_it_quoting_the_line(tmp_path):
    t = token()
    p = run(scenario(tmp_path, line=f"WARNING: e2e {t} at drivers/fake.c:1"))
    assert p.returncode == 1, p.stdout + p.stderr
    assert re.search(rf"FAIL kernel log .*kernel log: 1 problem:\n  a kernel warning \(WARNING:\)"
                     rf", and no allow_kmsg regex matches it: \"{STAMP} WARNING: e2e {t} at "
                     rf"drivers/fake\.c:1\"", p.stdout), p.stdout
    assert our_objects() == []


def test_a_matching_allow_kmsg_lets_the_warning_pass(tmp_path):
    t = token()
    f = scenario(tmp_path, f"allow_kmsg: ['WARNING: e2e {t} at drivers/fake\\.c']\n",
                 f"WARNING: e2e {t} at drivers/fake.c:1")
    p = run(f)
    assert p.returncode == 0, p.stdout + p.stderr
    # an allow for another warning does not
    f = scenario(tmp_path, "allow_kmsg: ['WARNING: .* at fs/']\n", f"WARNING: e2e {t} at x.c:1")
    assert run(f).returncode == 1


def test_an_allow_kmsg_file_is_a_baseline_for_every_scenario(tmp_path):
    t = token()
    f = scenario(tmp_path, line=f"BUG: e2e {t} baseline")
    allow = tmp_path / "allow.txt"
    allow.write_text(f"# the suite's known splats\n\nBUG: e2e {t} baseline$\n")
    p = run("--allow-kmsg", allow, f)
    assert p.returncode == 0, p.stdout + p.stderr
    p = run(f)
    assert p.returncode == 1 and f"BUG: e2e {t} baseline" in p.stdout, p.stdout


def test_an_expected_line_that_does_not_appear_fails(tmp_path):
    t = token()
    f = scenario(tmp_path, f"expect_kmsg: ['Attached SCSI disk', 'e2e {t} never']\n")
    p = run(f)
    assert p.returncode == 1, p.stdout
    assert (f"expect_kmsg (line 6) /e2e {t} never/: no kernel log line of the span matched it"
            in p.stdout), p.stdout
    assert "Attached SCSI disk/" not in p.stdout


def test_a_forbidden_line_fails_and_a_missing_one_does_not(tmp_path):
    t = token()
    f = scenario(tmp_path, f"forbid_kmsg: ['e2e {t} forbidden', 'e2e {t} absent']\n",
                 f"tcmu-harness e2e {t} forbidden line")
    p = run(f)
    assert p.returncode == 1, p.stdout
    assert re.search(rf"forbid_kmsg \(line 6\) /e2e {t} forbidden/ matched: \"{STAMP} "
                     rf"tcmu-harness e2e {t} forbidden line\"", p.stdout), p.stdout
    assert f"e2e {t} absent" not in p.stdout


def test_the_span_log_is_in_the_junit_file_and_beside_the_trace(tmp_path):
    t = token()
    f = scenario(tmp_path, line=f"e2e {t} plain line")
    junit, traces = tmp_path / "j.xml", tmp_path / "traces"
    traces.mkdir()
    p = run("--junit", junit, "--trace", traces, f)
    assert p.returncode == 0, p.stdout + p.stderr
    case = ET.parse(junit).getroot().find("testsuite/testcase")
    out = case.find("system-out").text
    lines = out.splitlines()
    attached = next(i for i, l in enumerate(lines) if re.search(r"\[sd[a-z]+\] Attached SCSI", l))
    mine = next(i for i, l in enumerate(lines) if re.fullmatch(rf"{STAMP} e2e {t} plain line", l))
    # teardown is inside the span: sd flushes the write cache as the disk goes
    gone = next(i for i, l in enumerate(lines) if "Synchronizing SCSI cache" in l)
    assert attached < mine < gone, out
    # the kernel log, then (with --trace) the initiator's reactions after it
    kmsg = (traces / "k.kmsg").read_text()
    assert out.startswith(kmsg), out
    assert out[len(kmsg):].startswith("--- the initiator's reactions to the faults\n"), out
    assert (traces / "k.jsonl").exists()


def test_a_failing_scenario_has_its_log_in_junit_too(tmp_path):
    t = token()
    junit = tmp_path / "j.xml"
    p = run("--junit", junit, scenario(tmp_path, line=f"Oops: e2e {t}"))
    assert p.returncode == 1
    case = ET.parse(junit).getroot().find("testsuite/testcase")
    assert "an oops, and no allow_kmsg regex matches it" in case.find("failure").text
    assert f"Oops: e2e {t}" in case.find("system-out").text


def test_the_shipped_kernel_log_scenario_passes_on_what_the_kernel_prints():
    p = run(ROOT / "scenarios" / "kernel-log-medium-error.yaml")
    assert p.returncode == 0, p.stdout + p.stderr
