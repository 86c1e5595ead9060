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
    # No kernel fetch, whatever the case (a bad value must be refused before one; the
    # binary before these fixes went on to fetch one).
    e["TCMU_HARNESS_CACHE"] = "/dev/null/th-cache"  # cannot be made, even by root
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
    (["vm", "--kernel", "s.yaml", "--modules", "/nonexistent", "--", "true"], None,
     "--modules '/nonexistent': No such file or directory"),
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
    (["ctl", "--timeout", "0x10", "/tmp/s", "{}"], None, "--timeout 0x10: not a number"),
    (["ctl", "--timeout", " 5", "/tmp/s", "{}"], None, "--timeout  5: not a number"),
    # validate
    (["validate", "dir"], None, "dir:1:1: is a directory"),
    # environment variables, named with their value
    (E + ["--cdb", INQUIRY], {"TCMU_HARNESS_INSTANCE": "a/b"},
     "TCMU_HARNESS_INSTANCE='a/b': 1 to 8 hex digits or unset was expected"),
    (E + ["--cdb", INQUIRY], {"TCMU_HARNESS_INSTANCE": "f" * 200},
     "TCMU_HARNESS_INSTANCE='ffff"),
    (E + ["--cdb", INQUIRY], {"TCMU_HARNESS_TIMING": "maybe"},
     "TCMU_HARNESS_TIMING='maybe': 1 (true, yes, on), 0 (false, no, off) or unset"),
    # run (cmd_run.c): each refused as it is read, before the scenarios are looked at
    (["run", "--shard", "1/2x", "s.yaml"], None,
     "run: --shard '1/2x': K/N was expected, two whole numbers with 1 <= K <= N <= 1000000"),
    (["run", "--shard", "0/0", "s.yaml"], None, "--shard '0/0': K/N was expected"),
    (["run", "--shard", "3/2", "s.yaml"], None, "--shard '3/2': K/N was expected"),
    (["run", "--shard", "1/-1", "s.yaml"], None, "--shard '1/-1': K/N was expected"),
    (["run", "--shard", "1/99999999999999999999", "s.yaml"], None, "--shard '1/9999"),
    (["run", "--shard", "1/2", "--shard", "2/2", "s.yaml"], None, "run: --shard given twice"),
    (["run", "--junit", "a.xml", "--junit", "b.xml", "s.yaml"], None, "run: --junit given twice"),
    (["run", "--trace", "t", "--trace", "u", "s.yaml"], None, "run: --trace given twice"),
    (["run", "--junit", "dir", "s.yaml"], None,
     "run: --junit 'dir': is a directory (a file to write was expected)"),
    (["run", "--junit", "nowhere/x.xml", "s.yaml"], None,
     "run: --junit 'nowhere/x.xml': its directory does not exist"),
    (["run", "--kernel-version", "x/y", "s.yaml"], None,
     "run: --kernel-version 'x/y': neither a package"),
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


@pytest.mark.parametrize("device, message", [
    ("{ name: t0, type: tape, image: /nonexistent.img }",
     "3:29: image: /nonexistent.img: No such file or directory"),
    ("{ name: t0, type: tape, image: dir }", "3:29: image: dir: not a regular file (a directory)"),
    ("{ name: t0, type: tape, image: /dev/zero }",
     "image: /dev/zero: not a regular file (a device, FIFO or socket)"),
    ("{ name: t0, type: tape, image: bad.img }",
     "image: bad.img: not a tape image (no THTAPE1 header)"),
    ("{ name: t0, type: tape, size: 1MiB, image: full.img }",
     "image: full.img: object 1025 at byte 1032: more than the tape holds (1048576 bytes"),
    ("{ name: d0, backing: 'file:dir' }", "3:17: backing: dir is neither a file nor a block device"),
    ("{ name: d0, backing: 'file:/nonexistent/d0.img' }",
     "backing: /nonexistent/d0.img cannot be made: /nonexistent is no directory"),
])
def test_the_files_a_device_names_are_checked_by_validate(work, device, message):
    """They failed only when the device was built: after a kernel was found, or the devices
    before it were up."""
    (work / "bad.img").write_bytes(b"NOTATAPE")
    (work / "full.img").write_bytes(b"THTAPE1\n" + b"F" * 2000)
    (work / "t.yaml").write_text(f"name: x\ndevices:\n  - {device}\n")
    p = th("validate", "t.yaml")
    assert p.returncode == 2, p.stderr
    assert f"t.yaml:{message}" in p.stderr or message in p.stderr, p.stderr


def test_a_good_image_and_a_new_backing_file_validate(work):
    (work / "ok.img").write_bytes(b"THTAPE1\nF")
    (work / "t.yaml").write_text("name: x\ndevices:\n  - { name: t0, type: tape, image: ok.img }\n"
                                 "  - { name: d0, backing: 'file:new.img' }\n")
    p = th("validate", "t.yaml")
    assert p.returncode == 0, p.stderr
    assert not (work / "new.img").exists()  # validate makes nothing


LONG = "/tmp/" + "c" * 1000


@pytest.mark.parametrize("args, env, message", [
    (["kernel", "path", "6.1.0-57"], {"TCMU_HARNESS_CACHE": LONG},
     "TCMU_HARNESS_CACHE: the cache folder would be 1005 characters long, more than 899"),
    (["kernel", "list"], {"TCMU_HARNESS_CACHE": "", "XDG_CACHE_HOME": LONG},
     "XDG_CACHE_HOME: the cache folder would be 1018 characters long"),
    (["kernel", "list"], {"TCMU_HARNESS_KERNEL_VERSION": "x/y"},
     "kernel: TCMU_HARNESS_KERNEL_VERSION='x/y': neither a package"),
    (["kernel", "path"], {"TCMU_HARNESS_KERNEL_VERSION": "x/y"},
     "kernel: TCMU_HARNESS_KERNEL_VERSION='x/y': neither a package"),
])
def test_a_bad_environment_variable_is_named(work, args, env, message):
    """A cache path cut at 900 characters named another folder, silently; a bad kernel
    version in the environment made `kernel list` show no default and not say why."""
    p = th(*args, env=env)
    assert p.returncode in (1, 2), p.stderr
    assert message in p.stderr, p.stderr


def test_a_step_of_the_wrong_shape_gets_one_message(work):
    """`unload: d0` was told it must be a mapping and then that a step needs unload."""
    (work / "t.yaml").write_text("name: x\ndevices:\n  - { name: t0, type: tape }\n"
                                 "steps:\n  - unload: t0\n  - { rnu: x }\n")
    p = th("validate", "t.yaml")
    assert p.returncode == 2
    assert p.stderr.splitlines() == [
        "t.yaml:5:13: unload must be a mapping, not a value (like unload: {device: t0})",
        "t.yaml:6:7: unknown key 'rnu' in a step",
        "t.yaml:6:5: a step needs run, add_rule, remove_rule, queue_ua, set_state, set_capacity, "
        "offline, online, load, unload, sleep_ms, wait, kill or wait_trace",
    ], p.stderr


def test_run_refuses_a_directory_as_its_kmsg_baseline(work):
    """getline's failure on a directory read as an empty baseline."""
    p = th("run", "--allow-kmsg", "dir", "s.yaml")
    assert p.returncode == 2
    assert "--allow-kmsg dir: is a directory (a file of regexes was expected)" in p.stderr, p.stderr


@pytest.mark.parametrize("path, message", [
    ("/dev/zero", "lba_file /dev/zero:1: a line longer than 4096 bytes (one range a line)"),
    ("/tmp", "lba_file /tmp: a directory, not a file of ranges"),
])
def test_an_lba_file_that_is_no_list_is_refused(work, path, message):
    """/dev/zero is one endless line: getline ran out of memory, which ended the loop as
    the end of the file does, and the scenario validated with no ranges."""
    (work / "t.yaml").write_text(
        "name: x\ndevices:\n  - { name: d0 }\nrules:\n  - device: d0\n"
        f"    match: {{ lba_file: {path} }}\n    respond: {{ status: BUSY }}\n")
    p = th("validate", "t.yaml")
    assert p.returncode == 2
    assert f"t.yaml:6:24: {message}" in p.stderr, p.stderr


def test_endless_inputs_are_bounded(work):
    """/dev/zero as a kmsg baseline (one endless line) and as ctl's stdin were read until
    memory ran out."""
    p = th("run", "--allow-kmsg", "/dev/zero", "s.yaml")
    assert p.returncode == 2
    assert "--allow-kmsg /dev/zero:1: a line longer than 65536 bytes" in p.stderr, p.stderr
    with open("/dev/zero", "rb") as zero:
        p = subprocess.run([TH, "ctl", "/tmp/th-no-such-socket", "-"], stdin=zero,
                           capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "the request on stdin is larger than 1048576 bytes" in p.stderr, p.stderr


@pytest.mark.parametrize("ref, message", [
    ("{d0.SG}", "{d0.SG}: a device has no field 'SG'"),
    ("{d0.Sg}", "{d0.Sg}: a device has no field 'Sg'"),
    ("{d0.sg.x}", "{d0.sg.x}: a device has no field 'sg.x'"),
    ("{d0.}", "{d0.}: a device has no field ''"),
])
def test_a_declared_devices_misspelt_field_is_refused(work, ref, message):
    """Only lower-case fields counted as references: these went to the shell as written."""
    (work / "t.yaml").write_text(
        f"name: x\ndevices:\n  - {{ name: d0 }}\nsteps:\n  - run: 'echo {ref}'\n")
    p = th("validate", "t.yaml")
    assert p.returncode == 2
    assert f"t.yaml:5:10: {message}" in p.stderr, p.stderr


def test_the_shells_braces_around_other_words_stay_the_shells(work):
    (work / "t.yaml").write_text(
        "name: x\ndevices:\n  - { name: d0 }\nsteps:\n"
        "  - run: \"awk '{print a.size}' /dev/null; echo {1..3} {x.Y}; jq -n '{name: .name}'\"\n")
    p = th("validate", "t.yaml")
    assert p.returncode == 0, p.stderr


def test_a_state_longer_than_the_rules_hold_is_refused_by_validate(work):
    """set_state took 63 characters, the rules 31: the step failed only when it ran."""
    (work / "t.yaml").write_text("name: x\ndevices:\n  - { name: d0 }\nsteps:\n"
                                 "  - set_state: { device: d0, state: " + "s" * 40 + " }\n")
    p = th("validate", "t.yaml")
    assert p.returncode == 2
    assert "t.yaml:5:37: '" + "s" * 40 + "' is longer than 31 characters" in p.stderr, p.stderr
