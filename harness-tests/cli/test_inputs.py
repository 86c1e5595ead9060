"""Bad input on every CLI surface, as a new user would give it: each is refused before any
kernel or VM work with a message naming the option (or variable) and what it takes, exit 2.
docs/bad-input.md has the table these rows come from."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")
SCENARIO = "name: x\ndevices:\n  - { name: d0, size: 1MiB }\n"
INQUIRY = "120000002400"


@pytest.fixture
def work(tmp_path, monkeypatch):
    (tmp_path / "s.yaml").write_text(SCENARIO)
    (tmp_path / "big.bin").write_bytes(b"\0" * (2 << 20))
    (tmp_path / "dir").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def th(*args, env=None, timeout=20):
    e = dict(os.environ)
    # No kernel fetch, whatever the case: a bad value must be refused before one.
    e["TCMU_HARNESS_CACHE"] = "/nonexistent/th-cache"
    e.update(env or {})
    return subprocess.run([TH, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=e, stdin=subprocess.DEVNULL)


E = ["exec", "s.yaml", "--device", "d0"]
CASES = [
    # exec
    (E + ["--cdb", INQUIRY, "--alloc", "10x"], None,
     "exec: --alloc '10x': a whole number from 0 to 16777216 was expected"),
    (E + ["--cdb", INQUIRY, "--alloc", "-5"], None, "--alloc '-5': a whole number"),
    (E + ["--cdb", INQUIRY, "--alloc", "0x10"], None, "--alloc '0x10': a whole number"),
    (E + ["--cdb", INQUIRY, "--alloc", "99999999999999999999"], None, "--alloc '999"),
    (E + ["--cdb", INQUIRY, "--alloc", "8", "--alloc", "9"], None,
     "--alloc of one --cdb given twice"),
    (E + ["--alloc", "10", "--cdb", INQUIRY], None,
     "--alloc '10' before any --cdb (it belongs to the --cdb it follows)"),
    (E + ["--data-out", "00", "--cdb", INQUIRY], None, "--data-out '00' before any --cdb"),
    (E + ["--device", "d1", "--cdb", INQUIRY], None, "exec: --device given twice"),
    (E + ["--cdb", INQUIRY, "--data-out", "@/nonexistent"], None,
     "--data-out '@/nonexistent': No such file or directory"),
    (E + ["--cdb", INQUIRY, "--data-out", "@dir"], None, "--data-out '@dir': is a directory"),
    (E + ["--cdb", "2a0000000000000100", "--data-out", "@big.bin"], None,
     "--data-out '@big.bin': more than 1048576 bytes"),
    (E + ["--cdb", INQUIRY, "--data-out", "zz"], None, "--data-out 'zz': not hex bytes or @FILE"),
    (E + ["--cdb", "12" + "00" * 300], None, "longer than 260 bytes (the largest CDB)"),
    (E + ["--cdb", "zz"], None, "--cdb 'zz': not hex bytes"),
    (E + ["--cdb", "880000000000000000000fffffff0000"], None,
     "reads 137438952960 bytes, more than exec gives a command (16777216)"),
    (["exec", "s.yaml", "s.yaml", "--device", "d0", "--cdb", INQUIRY], None,
     "needs one SCENARIO (2 given)"),
    # vm and with-kernel
    (["vm", "--mem", "10x", "--", "true"], None,
     "vm: --mem '10x': a whole number from 128 to 1048576 was expected"),
    (["vm", "--mem", "99999999999", "--", "true"], None, "--mem '99999999999'"),
    (["vm", "--cpus", "0", "--", "true"], None, "--cpus '0': a whole number from 1 to 256"),
    (["vm", "--cpus", "abc", "--", "true"], None, "--cpus 'abc'"),
    (["vm", "--timeout", "1e99", "--", "true"], None,
     "--timeout '1e99': a whole number from 0 to 31536000"),
    (["vm", "--timeout", "-1", "--", "true"], None, "--timeout '-1'"),
    (["vm", "--mem", "512", "--mem", "1024", "--", "true"], None, "vm: --mem given twice"),
    (["vm", "--share", "/nonexistent", "--", "true"], None,
     "--share '/nonexistent': No such file or directory"),
    (["vm", "--share", "s.yaml", "--", "true"], None, "--share 's.yaml': not a directory"),
    (["vm", "--kernel", "dir", "--", "true"], None, "--kernel 'dir': is a directory"),
    (["vm", "--kernel", "k", "--modules", "/nonexistent", "--", "true"], None,
     "--kernel 'k': No such file"),
    (["vm", "--keep-log", "dir", "--", "true"], None, "--keep-log 'dir': is a directory"),
    (["vm", "--keep-log", "/nonexistent/log", "--", "true"], None,
     "--keep-log '/nonexistent/log': its directory does not exist"),
    (["vm", "--kernel-version", "x/y", "--", "true"], None,
     "--kernel-version 'x/y': neither a package"),
    (["vm", "--mem", "512"], None, "vm: no command given"),
    (["vm", "--", "true"], {"TCMU_HARNESS_KERNEL_VERSION": "bogus"},
     "TCMU_HARNESS_KERNEL_VERSION='bogus': neither a package"),
    (["with-kernel", "--cpus", "x", "--", "true"], None, "with-kernel: --cpus 'x'"),
    (["with-kernel", "--", "true"], {"TCMU_HARNESS_FORCE_VM": "maybe"},
     "TCMU_HARNESS_FORCE_VM='maybe': 1 (true, yes, on), 0 (false, no, off) or unset"),
    # serve (rejected before any kernel work)
    (["serve", "--log-level", "loud", "--device", "name=d0"], None,
     "serve: --log-level 'loud': error, warn, info or debug was expected"),
    (["serve", "--trace", "dir", "--device", "name=d0"], None, "--trace 'dir': is a directory"),
    (["serve", "--trace", "/nonexistent/t.jsonl", "--device", "name=d0"], None,
     "its directory does not exist"),
    (["serve", "--trace", "a", "--trace", "b", "--device", "name=d0"], None,
     "serve: --trace given twice"),
    (["serve", "--trace-keep", "0x10", "--device", "name=d0"], None,
     "--trace-keep '0x10': a whole number of entries from 1 to 16777216"),
    (["serve", "s.yaml", "s.yaml"], None, "one SCENARIO at a time (2 given)"),
    (["serve", "--device", "name=d0", "s.yaml"], None,
     "a SCENARIO ('s.yaml') and --device exclude each other"),
    (["serve", "--control", ""], None, "--control '': an empty path"),
    (["serve", "--control", "/tmp/" + "a" * 200], None, "longer than a Unix socket path"),
    # serve --device SPEC (the shared model's messages; YAML has no empty field to give)
    (["serve", "--device", "name=d0,,size=1M"], None,
     "--device 'name=d0,,size=1M': field 2 is empty (two commas in a row, or one at an end)"),
    (["serve", "--device", "name=d0,"], None, "field 2 is empty"),
    (["serve", "--device", ",name=d0"], None, "field 1 is empty"),
    (["serve", "--device", ""], None, "--device '': a device needs a name"),
    # cleanup, ctl
    (["cleanup", "--bogus"], None, "cleanup: takes no options ('--bogus')"),
    (["cleanup", "extra"], None, "cleanup: takes no arguments ('extra')"),
    (["ctl", "--timeout", "1e99", "/tmp/s", "{}"], None, "--timeout 1e99: not a number"),
    # validate
    (["validate", "dir"], None, "dir:1:1: is a directory"),
]


@pytest.mark.parametrize("args, env, message", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_bad_options_are_named_and_refused_before_any_work(work, args, env, message):
    p = th(*args, env=env)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert message in p.stderr, p.stderr
    assert "tcmu-harness: accelerator" not in p.stderr and "configfs" not in p.stderr, p.stderr


def test_exec_takes_more_than_64_commands(work):
    p = th(*E, *["--cdb", "000000000000"] * 100)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.splitlines()) == 100


def test_validate_reads_a_pipe_to_its_end(work):
    """A pipe's size is 0: it was read as an empty file."""
    p = subprocess.run(["bash", "-c", f"{TH} validate <(cat s.yaml)"], capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert ": ok (x)" in p.stdout
    p = subprocess.run([TH, "validate", "/dev/stdin"], input="#" * (2 << 20),
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 2 and "file is larger than 1048576 bytes" in p.stderr, p.stderr
