"""The pytest plugin, run in a child pytest (pytester) against fake_serve.py: fixtures,
cleanup of failed tests, the kernel-log check, options, and the failure (never a skip)
where the kernel has no TCMU."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import FAKE, PYDIR


@pytest.fixture
def run(pytester, monkeypatch, request_log):
    """run(source, *args) -> (result, requests): a child pytest with the plugin."""
    monkeypatch.setenv("PYTHONPATH", str(PYDIR))
    monkeypatch.setenv("TCMU_HARNESS_BIN", str(FAKE))

    def go(source, *args, plugin=True):
        pytester.makepyfile(test_user=source)
        extra = ["-p", "tcmu_harness.plugin"] if plugin else []
        res = pytester.runpytest_subprocess(*extra, "-p", "no:cacheprovider", *args,
                                            timeout=120)
        return res, request_log()
    return go


def ops(requests, *names):
    """(op, device name) of the requests named."""
    def dev(r):
        d = r.get("device")
        if isinstance(d, dict):
            return d.get("name")
        return d if d is not None else r.get("spec", "").split(",")[0][5:]
    return [(r["request"], dev(r)) for r in requests if r["request"] in names]


def test_fixtures_give_devices_of_one_session_server_removed_after_each_test(
        run, fake_configfs):
    res, reqs = run("""
import os
def test_a(tcmu_harness, tcmu_disk, tcmu_tape):
    d = tcmu_disk(size="8MiB", block_size=4096)
    t = tcmu_tape(spec="capacity=2MiB")
    assert d.type == "disk" and d.sg and d.sd and d.st is None
    assert t.type == "tape" and t.st and t.nst
    assert sorted(x.name for x in tcmu_harness.devices()) == sorted([d.name, t.name])
    open("pid", "w").write(str(tcmu_harness.pid))

def test_b(tcmu_harness, tcmu_disk):
    assert tcmu_harness.devices() == []
    assert open("pid").read() == str(tcmu_harness.pid)  # the same server
    tcmu_disk(name="mine").remove()  # removed by the test: not again
""")
    res.assert_outcomes(passed=2)
    assert ops(reqs, "add_device", "remove_device") == [
        ("add_device", "disk0"), ("add_device", "tape1"), ("remove_device", "tape1"),
        ("remove_device", "disk0"), ("add_device", "mine"), ("remove_device", "mine")]
    assert [r["request"] for r in reqs][-1] == "shutdown"
    adds = [r for r in reqs if r["request"] == "add_device"]
    assert adds[0]["device"] == {"name": "disk0", "size": "8MiB", "block_size": 4096,
                                 "type": "disk"}
    assert adds[1]["spec"] == "name=tape1,capacity=2MiB,type=tape"


def test_devices_of_a_failing_test_are_removed_and_the_next_test_starts_clean(
        run, fake_configfs):
    res, reqs = run("""
def test_fails(tcmu_disk):
    tcmu_disk(name="broken")
    tcmu_disk(name="second")
    assert False, "the initiator misbehaved"

def test_after(tcmu_harness):
    assert tcmu_harness.devices() == []
""")
    res.assert_outcomes(passed=1, failed=1)
    res.stdout.fnmatch_lines(["*the initiator misbehaved*"])
    assert ops(reqs, "remove_device") == [("remove_device", "second"),
                                           ("remove_device", "broken")]


def test_a_splat_in_the_kernel_log_fails_the_test(run, fake_configfs, tmp_path, monkeypatch):
    kmsg = tmp_path / "kmsg"
    kmsg.write_text("old: BUG: from before the test\n")
    monkeypatch.setenv("FAKE_KMSG", str(kmsg))
    res, reqs = run(f"""
def test_splat(tcmu_disk):
    tcmu_disk()
    open({str(kmsg)!r}, "a").write("BUG: unable to handle page fault at 0000\\n")

def test_quiet(tcmu_disk):
    tcmu_disk()

def test_server_only(tcmu_harness):
    open({str(kmsg)!r}, "a").write("WARNING: CPU: 1 PID: 9 at target_core_user.c:1\\n")
""")
    res.assert_outcomes(passed=3, errors=2)
    out = res.stdout.str()
    assert "ERROR at teardown of test_splat" in out
    assert "BUG: unable to handle page fault" in out
    assert "ERROR at teardown of test_server_only" in out and "target_core_user.c:1" in out
    assert "from before the test" not in out
    # the check comes after the device is gone (a splat while tearing down counts)
    seq = [r["request"] for r in reqs if r["request"] in ("kmsg_mark", "kmsg_check", "remove_device")]
    assert seq[:3] == ["kmsg_mark", "remove_device", "kmsg_check"]


@pytest.mark.parametrize("how", ["option", "ini", "marker", "file"])
def test_an_allowed_kernel_line_does_not_fail(run, fake_configfs, tmp_path, monkeypatch,
                                              pytester, how):
    kmsg = tmp_path / "kmsg"
    kmsg.write_text("")
    monkeypatch.setenv("FAKE_KMSG", str(kmsg))
    args = []
    mark = ""
    if how == "option":
        args = ["--tcmu-allow-kmsg", "page fault at [0-9]+", "--tcmu-allow-kmsg", "other"]
    elif how == "file":
        base = tmp_path / "baseline"
        base.write_text("# known on this kernel\n\n   page fault at [0-9]+\nother\n")
        args = [f"--tcmu-allow-kmsg-file={base}"]
    elif how == "ini":
        pytester.makeini("[pytest]\ntcmu_allow_kmsg =\n    page fault at [0-9]+\n")
    else:
        mark = '@pytest.mark.tcmu_allow_kmsg("nothing", "page fault at [0-9]+")'
    res, reqs = run(f"""
import pytest
{mark}
def test_allowed(tcmu_disk):
    tcmu_disk()
    open({str(kmsg)!r}, "a").write("BUG: unable to handle page fault at 0000\\n")
""", *args)
    res.assert_outcomes(passed=1)
    check = [r for r in reqs if r["request"] == "kmsg_check"][0]
    assert "page fault at [0-9]+" in check["allow"]


def test_no_tcmu_fails_with_how_to_run_it_never_a_skip(run, no_tcmu):
    res, reqs = run("""
def test_needs_a_disk(tcmu_disk):
    tcmu_disk()

def test_plain():
    pass
""", "-k", "needs or plain")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    out = res.stdout.str() + res.stderr.str()
    assert "this kernel has no TCMU" in out
    assert "target_core_user and tcm_loop are not loaded" in out
    assert f"{no_tcmu}/module/tcm_loop" in out
    assert f"    {FAKE} vm -- python3 -m pytest " in out
    assert f"    {FAKE} with-kernel -- python3 -m pytest " in out
    assert "-p tcmu_harness.plugin -p no:cacheprovider" in out
    assert "-k 'needs or plain'" in out  # the command to copy, with this run's arguments
    assert "skipped" not in out.lower()
    assert reqs == []  # no server was started


def test_no_tcmu_does_not_fail_suites_that_use_no_devices(run, no_tcmu):
    res, _ = run("def test_plain():\n    pass\n")
    res.assert_outcomes(passed=1)


def test_no_tcmu_still_lists_the_tests(run, no_tcmu):
    res, _ = run("def test_needs_a_disk(tcmu_disk):\n    pass\n", "--collect-only", "-q")
    assert res.ret == 0
    res.stdout.fnmatch_lines(["*test_needs_a_disk*"])


def test_a_server_that_cannot_start_fails_the_tests_with_its_message(run, fake_configfs,
                                                                     monkeypatch):
    monkeypatch.setenv("FAKE_EXIT_AT_START", "2")
    res, _ = run("def test_a(tcmu_disk):\n    pass\n")
    res.assert_outcomes(errors=1)
    res.stdout.fnmatch_lines(["*tcmu-harness serve did not start*exited with status 2*",
                              "*fake: cannot start*"])


def test_a_server_that_exits_badly_fails_the_session(run, fake_configfs, monkeypatch):
    monkeypatch.setenv("FAKE_EXIT_STATUS", "1")
    res, _ = run("def test_a(tcmu_disk):\n    tcmu_disk()\n")
    res.assert_outcomes(passed=1, errors=1)
    res.stdout.fnmatch_lines(["*tcmu-harness serve exited with status 1*"])


def test_the_bin_option_wins_and_the_trace_option_reaches_serve(run, fake_configfs,
                                                                monkeypatch, tmp_path):
    monkeypatch.setenv("TCMU_HARNESS_BIN", str(tmp_path / "not-this-one"))
    trace = tmp_path / "trace.jsonl"
    res, _ = run("""
def test_a(tcmu_harness, tcmu_disk):
    tcmu_disk(name="traced")
    assert tcmu_harness.proc.args[4:6] == ["--trace", tcmu_harness.trace_path]
""", f"--tcmu-harness-bin={FAKE}", f"--tcmu-trace={trace}")
    res.assert_outcomes(passed=1)
    assert '"device": "traced"' in trace.read_text()


def test_options_are_in_the_help(run):
    res, _ = run("", "--help")
    res.stdout.fnmatch_lines(["*--tcmu-harness-bin=PATH*", "*--tcmu-allow-kmsg=REGEX*",
                              "*tcmu_allow_kmsg*"])


def test_installs_offline_and_loads_through_its_pytest11_entry_point(tmp_path, pytester,
                                                                      fake_configfs,
                                                                      monkeypatch):
    src = tmp_path / "src"
    shutil.copytree(PYDIR, src, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                              "__pycache__"))
    target = tmp_path / "site"
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation",
                        "--no-deps", "--no-index", "--target", str(target), str(src)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    dist = [d for d in target.iterdir() if d.name.endswith(".dist-info")]
    assert len(dist) == 1 and dist[0].name.startswith("tcmu_harness-")
    eps = (dist[0] / "entry_points.txt").read_text()
    assert "[pytest11]" in eps and "= tcmu_harness.plugin" in eps
    assert (target / "tcmu_harness" / "py.typed").exists()
    # installed: no -p needed; and -p as well does not register it twice
    monkeypatch.setenv("PYTHONPATH", str(target))
    monkeypatch.setenv("TCMU_HARNESS_BIN", str(FAKE))
    pytester.makepyfile(test_user="""
import tcmu_harness
def test_a(tcmu_disk):
    assert tcmu_harness.__file__.startswith(%r)
    assert tcmu_disk().sg
""" % str(target))
    for extra in ([], ["-p", "tcmu_harness.plugin"]):
        res = pytester.runpytest_subprocess("-p", "no:cacheprovider", *extra, timeout=120)
        res.assert_outcomes(passed=1)
