"""The scenario CLI without a kernel: validate, exec, and run's refusal of bad files."""
import glob
import json
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")
GOOD = """name: good
devices:
  - { name: d0, size: 1MiB }
rules:
  - device: d0
    match: { op: READ_10, lba: 10-11 }
    respond: { sense: { key: MEDIUM_ERROR, asc: 0x11, ascq: 0, info: lba } }
    times: 1
"""


def th(*args, input=None):
    return subprocess.run([TH, *map(str, args)], capture_output=True, text=True, timeout=60,
                          input=input)


def write(tmp_path, text, name="s.yaml", mode="w"):
    p = tmp_path / name
    with open(p, mode) as f:
        f.write(text)
    return p


def test_every_shipped_scenario_validates():
    files = sorted(glob.glob(str(ROOT / "scenarios" / "*.yaml")))
    assert len(files) >= 15
    p = th("validate", *files)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count(": ok") == len(files)


@pytest.mark.parametrize("text, line, message", [
    ("name: x\ndevices: [ {name: d0\n", 3, "YAML syntax error"),
    ("name: x\ndevices:\n  - { name: d0, colour: red }\n", 3, "unknown key 'colour' in a device"),
    ("name: x\ndevices:\n  - { name: d0, size: [1, 2] }\n", 3, "expected a single value"),
    ("name: x\ndevices:\n  - { name: d0, block_size: 100000 }\n", 3, "out of range"),
    ("name: x\ndevices:\n  - { name: d0, block_size: 1000 }\n", 3, "power of two"),
    ("name: x\ndevices:\n  - { name: d0 }\nrules:\n  - { device: d9, respond: { status: BUSY } }\n",
     5, "no device named 'd9'"),
    ("name: x\ndevices:\n  - { name: d0 }\nrules:\n  - device: d0\n    match: { op: FROBNICATE }\n",
     6, "not an opcode name"),
    ("name: x\ndevices:\n  - { name: d0 }\nrules:\n  - device: d0\n    respond: { sense: { asc: 1 } }\n",
     6, "sense needs a key"),
    ("name: x\ndevices:\n  - { name: d0 }\nsteps:\n  - { run: true, expect: { exit: 300 } }\n",
     5, "out of range"),
    ("name: x\ndevices:\n  - { name: d0 }\n  - { name: d0 }\n", 4, "used twice"),
    # references and regexes are checked when the file is read, not when the step runs
    ("name: x\ndevices:\n  - { name: d0 }\nsteps:\n  - run: cat {d9.sg}\n", 5,
     "{d9.sg}: no device named 'd9'"),
    ("name: x\ndevices:\n  - { name: d0 }\nsteps:\n  - run: cat {d0.nothing}\n", 5,
     "a device has no field 'nothing' (fields: sg sd"),
    ("name: x\ndevices:\n  - { name: d0 }\nsteps:\n  - run: mt -f {d0.nst} status\n", 5,
     "{d0.nst}: d0 is a disk, and nst is a tape's node"),
    ("name: x\ndevices:\n  - { name: t0, type: tape }\nsteps:\n  - run: cat {t0.iscsi}\n", 5,
     "{t0.iscsi}: t0 has no iSCSI export"),
    ("name: x\ndevices:\n  - { name: d0 }\nsteps:\n  - { run: 'true', expect: { stdout: '(x' } }\n",
     5, "stdout: '(x' is not an extended regex"),
    ("name: x\ndevices:\n  - { name: d0 }\nsteps:\n  - { run: 'true', expect: { stderr: 'a++++++++++++++++' } }\n",
     5, "stderr: 'a++++++++++++++++' is too complex a regex"),
    ("devices:\n  - { name: d0 }\n", 1, "needs a name"),
    ("name: x\nsteps: []\n", 1, "needs devices"),
    ("- just\n- a list\n", 1, "must be a mapping"),
    ("name: x\ndevices:\n  - { name: d0 }\nexpect_trace:\n  - { op: READ_10, min: 1, after: 1 }\n",
     5, "not an earlier one"),
    ("name: x\ndevices:\n  - { name: d0 }\nexpect_trace:\n  - { op: READ_10 }\n", 5,
     "needs count, min or max"),
    ("name: x\ndevices:\n  - { name: d0, export: iscsi, chap: { user: u } }\n", 3,
     "chap needs both user and password"),
    ("name: x\ndevices:\n  - { name: d0, export: iscsi, chap: { user: u, pass: p } }\n", 3,
     "unknown key 'pass' in chap"),
    ("name: x\ndevices:\n  - { name: d0, initiators: [iqn.2026-11.x:y] }\n", 3,
     "need export: iscsi"),
    ("name: x\ndevices:\n  - { name: d0, export: iscsi, initiators: [] }\n", 3,
     "initiators is a list of at least 1 item"),
    # defect 5: a second initiators: or media: appended past the fixed arrays (a crash)
    ("name: x\ndevices:\n  - name: d0\n    export: iscsi\n"
     "    initiators: [iqn.2026-11.x:a, iqn.2026-11.x:b, iqn.2026-11.x:c, iqn.2026-11.x:d]\n"
     "    initiators: [iqn.2026-11.x:a, iqn.2026-11.x:b, iqn.2026-11.x:c, iqn.2026-11.x:d]\n",
     6, "key 'initiators' repeated in a device (first at line 5)"),
    ("name: x\ndevices:\n  - name: t0\n    type: tape\n    media: [" + "record: 1, " * 40 +
     "filemark: 1]\n    media: [" + "record: 1, " * 40 + "filemark: 1]\n",
     6, "key 'media' repeated in a device"),
    # defect 12: set_capacity on a tape crashed the run
    ("name: x\ndevices:\n  - { name: t0, type: tape }\nsteps:\n"
     "  - set_capacity: { device: t0, size: 1MiB }\n", 5,
     "set_capacity is for a disk; 't0' is a tape"),
])
def test_malformed_scenarios_are_rejected_with_a_position(tmp_path, text, line, message):
    f = write(tmp_path, text)
    p = th("validate", f)
    assert p.returncode == 2
    m = re.search(rf"^{re.escape(str(f))}:(\d+):(\d+): (.*)$", p.stderr, re.M)
    assert m, p.stderr
    assert message in p.stderr, p.stderr
    assert int(m.group(1)) == line, p.stderr


def test_empty_binary_and_huge_files(tmp_path):
    empty = write(tmp_path, "", "empty.yaml")
    binary = write(tmp_path, b"name: x\x00\xff\xfe", "bin.yaml", "wb")
    huge = write(tmp_path, "#" * (2 << 20), "huge.yaml")
    for f, msg in ((empty, "empty scenario file"), (binary, "binary data"),
                   (huge, "larger than")):
        p = th("validate", f)
        assert p.returncode == 2, (f, p.stderr)
        assert f"{f}:" in p.stderr and msg in p.stderr, p.stderr


def test_run_refuses_an_invalid_file_before_any_kernel_work(tmp_path):
    bad = write(tmp_path, "name: x\ndevices: 3\n")
    p = th("run", bad)
    assert p.returncode == 2
    assert "devices must be a list" in p.stderr
    assert "VM" not in p.stderr


def test_exec_runs_commands_through_rules_and_emulation_in_order(tmp_path):
    f = write(tmp_path, GOOD)
    read = "28 00 00 00 00 0a 00 00 02 00"
    p = th("exec", f, "--device", "d0", "--cdb", read, "--cdb", read, "--cdb", "12 00 00 00 05 00",
           "--alloc", "5")
    assert p.returncode == 0, p.stderr
    first, second, inq = [json.loads(l) for l in p.stdout.splitlines()]
    assert first["status"] == 2
    assert first["sense"]["key"] == "MEDIUM_ERROR" and first["sense"]["info"] == 10
    assert first["residual"] == 1024
    assert second["status"] == 0 and len(second["data_in"]) == 2 * 1024
    assert inq["residual"] == 0 and inq["data_in"] == "0000061245"  # disk, SPC-4, HISUP, 69 more


def test_exec_writes_then_reads_back_and_reports_hangs(tmp_path):
    f = write(tmp_path, GOOD + """  - device: d0
    match: { op: TEST_UNIT_READY }
    respond: { hang: true }
""")
    p = th("exec", f, "--device", "d0", "--cdb", "2a 00 00 00 00 01 00 00 01 00", "--data-out",
           "ab" * 512, "--cdb", "28 00 00 00 00 01 00 00 01 00", "--cdb", "00 00 00 00 00 00")
    assert p.returncode == 0, p.stderr
    w, r, tur = [json.loads(l) for l in p.stdout.splitlines()]
    assert w["status"] == 0
    assert r["data_in"] == "ab" * 512
    assert tur["hung"] is True


def test_exec_probability_is_reproducible(tmp_path):
    f = ROOT / "scenarios" / "probability-seeded.yaml"
    args = ["exec", f, "--device", "d0"] + ["--cdb", "00 00 00 00 00 00"] * 30
    a, b = th(*args), th(*args)
    assert a.returncode == 0 and a.stdout == b.stdout
    statuses = [json.loads(l)["status"] for l in a.stdout.splitlines()]
    assert 0 < statuses.count(2) < 30


def test_exec_usage_errors(tmp_path):
    f = write(tmp_path, GOOD)
    assert th("exec", f, "--device", "nope", "--cdb", "00").returncode == 2
    assert th("exec", f, "--device", "d0", "--cdb", "zz").returncode == 2
    assert th("exec", f, "--device", "d0").returncode == 2


def test_help_lists_the_scenario_commands():
    p = th("--help")
    for cmd in ("run", "serve", "validate", "exec", "cleanup", "vm"):
        assert f"  {cmd}" in p.stdout


def test_tape_media_declarations_are_checked(tmp_path):
    f = write(tmp_path, "name: x\ndevices:\n  - name: t0\n    type: tape\n    media:\n"
                        "      - { record: 10 }\n      - { tape_mark: 1 }\n")
    p = th("validate", f)
    assert p.returncode == 2
    assert f"{f}:7:" in p.stderr and "not 'tape_mark'" in p.stderr


def test_exec_serves_tape_commands(tmp_path):
    f = write(tmp_path, "name: x\ndevices:\n  - name: t0\n    type: tape\n    media:\n"
                        "      - { text: hello }\n      - { filemark: 1 }\n")
    p = th("exec", f, "--device", "t0", "--cdb", "08 00 00 10 00 00", "--alloc", "4096")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["status"] == 2 and r["sense"]["ili"] is True and r["sense"]["info"] == 4096 - 5
    assert r["data_in"] == b"hello".hex()


@pytest.mark.parametrize("spec, message", [
    ("name=s0,export=iscsi,chap_user=u", "chap needs both user and password"),
    ("name=s0,initiator=iqn.2026-11.x:y", "need export: iscsi"),
    ("name=s0,portal=0.0.0.0:3260", "need export: iscsi"),
])
def test_serve_refuses_iscsi_options_that_cannot_work_before_any_kernel_work(spec, message):
    p = th("serve", "--device", spec)
    assert p.returncode == 2
    assert f"--device '{spec}': " in p.stderr and message in p.stderr, p.stderr


KMSG_KEYS = GOOD + """expect_kmsg: ["Attached SCSI disk", "\\\\[sd[a-z]+\\\\]"]
forbid_kmsg:
  - "I/O error"
allow_kmsg: ["WARNING: .* at drivers/scsi/"]
"""


def test_validate_accepts_the_kernel_log_keys(tmp_path):
    p = th("validate", write(tmp_path, KMSG_KEYS))
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("key, value, line, col, message", [
    ("expect_kmsg", '["(unclosed"]', 9, 15, "'(unclosed' is not an extended regex"),
    ("forbid_kmsg", '["ok", "a{2,1}"]', 9, 21, "'a{2,1}' is not an extended regex"),
    ("allow_kmsg", "[{a: 1}]", 9, 14, "expected a single value, not a mapping"),
    ("allow_kmsg", "WARNING", 9, 13, "must be a list"),
    ("allow_kmsg", '["ok", ""]', 9, 20, "an empty regex matches every kernel log line"),
])
def test_validate_rejects_bad_kernel_log_regexes_at_their_place(tmp_path, key, value, line, col,
                                                                 message):
    f = write(tmp_path, f"{GOOD}{key}: {value}\n")
    p = th("validate", f)
    assert p.returncode == 2
    assert f"{f}:{line}:{col}: " in p.stderr and message in p.stderr, p.stderr


def test_run_with_a_bad_allow_kmsg_file_is_a_usage_error_naming_its_line(tmp_path):
    s = write(tmp_path, GOOD)
    allow = write(tmp_path, "# baseline\n\nWARNING: .* at fs/\nbad[\n", "allow.txt")
    p = th("run", "--allow-kmsg", allow, s)
    assert p.returncode == 2
    assert f"--allow-kmsg {allow}:4: 'bad[' is not an extended regex" in p.stderr, p.stderr
    assert "VM" not in p.stderr
    p = th("run", "--allow-kmsg", tmp_path / "missing.txt", s)
    assert p.returncode == 2
    assert f"{tmp_path / 'missing.txt'}: No such file or directory" in p.stderr, p.stderr


def test_run_help_documents_the_kernel_log_verdict():
    p = th("run", "--help")
    assert p.returncode == 0
    for word in ("--allow-kmsg FILE", "system-out", ".kmsg", "WARNING:"):
        assert word in p.stdout, p.stdout



@pytest.mark.parametrize("spec, yaml", [
    ("name=d0,block_size=1000", "{ name: d0, block_size: 1000 }"),
    ("name=d0,size=0", "{ name: d0, size: 0 }"),
    ("name=d0,vendor=ABCDEFGHIJ", "{ name: d0, vendor: ABCDEFGHIJ }"),
    ("name=t0,type=tape,media=record:x", "{ name: t0, type: tape, media: [record: x] }"),
    ("name=d0,media=text:hi", "{ name: d0, media: [text: hi] }"),
    ("name=d0,lun=16384", "{ name: d0, lun: 16384 }"),
])
def test_a_spec_and_a_yaml_device_get_one_message(tmp_path, spec, yaml):
    f = write(tmp_path, f"name: x\ndevices:\n  - {yaml}\n")
    v = th("validate", f)
    assert v.returncode == 2
    m = re.search(rf"^{re.escape(str(f))}:3:\d+: (.*)$", v.stderr, re.M)
    assert m, v.stderr
    p = th("serve", "--device", spec)
    assert p.returncode == 2
    assert f"tcmu-harness serve: --device '{spec}': {m.group(1)}\n" in p.stderr, (p.stderr, m.group(1))


def test_serve_needs_devices_or_a_scenario():
    p = th("serve")
    assert p.returncode == 2 and "usage" in p.stderr


INQUIRY = "12 00 00 00 24 00"


def test_exec_answers_with_the_declared_identity(tmp_path):
    f = write(tmp_path, "name: x\ndevices:\n"
                        "  - { name: d0, vendor: ACME, product: Anvil, revision: '0042' }\n")
    p = th("exec", f, "--device", "d0", "--cdb", INQUIRY, "--alloc", "36")
    assert p.returncode == 0, p.stderr
    data = bytes.fromhex(json.loads(p.stdout)["data_in"])
    assert data[8:16] == b"ACME    ", data
    assert data[16:32] == b"Anvil".ljust(16), data
    assert data[32:36] == b"0042", data


def test_exec_with_file_backing_writes_land_in_the_file(tmp_path):
    img = tmp_path / "d0.img"
    f = write(tmp_path, f"name: x\ndevices:\n  - {{ name: d0, size: 1MiB, backing: 'file:{img}' }}\n")
    p = th("exec", f, "--device", "d0", "--cdb", "2a 00 00 00 00 02 00 00 01 00", "--data-out",
           "5a" * 512)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["status"] == 0
    data = img.read_bytes()
    assert len(data) == 1 << 20
    assert data[1024:1536] == b"\x5a" * 512 and data[:1024] == bytes(1024)


def test_exec_on_a_tape_reads_its_media_and_honours_its_state(tmp_path):
    f = write(tmp_path, "name: x\ndevices:\n  - name: t0\n    type: tape\n    media:\n"
                        "      - { filemark: 1 }\n      - { text: second }\n"
                        "  - { name: t1, type: tape, loaded: false }\n")
    # READ(6) variable: the filemark first, then the record after it
    read = "08 00 00 10 00 00"
    p = th("exec", f, "--device", "t0", "--cdb", read, "--alloc", "4096", "--cdb", read,
           "--alloc", "4096")
    assert p.returncode == 0, p.stderr
    fm, rec = [json.loads(l) for l in p.stdout.splitlines()]
    assert fm["sense"]["fm"] is True, fm
    assert bytes.fromhex(rec["data_in"]) == b"second", rec
    p = th("exec", f, "--device", "t1", "--cdb", "00 00 00 00 00 00")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["sense"]["key"] == "NOT_READY", p.stdout


TAPE_RESIDUE = """name: x
devices:
  - name: t0
    type: tape
    media:
      - { record: 1024 }
      - { record: 1024 }
      - { filemark: 1 }
rules:
  - device: t0
    name: res
    match: { op: READ_6 }
    respond: { sense: { key: NO_SENSE, asc: 0, ascq: 1, fm: true, info: residue }, short: SHORT }
"""


def test_a_fixed_mode_tape_residue_counts_the_tapes_current_blocks(tmp_path):
    # MODE SELECT(6) sets 1024-byte blocks; READ(6) FIXED asks for 4, the rule lets one
    # through: INFORMATION is 3 (SSC: blocks when FIXED), not bytes nor 512-byte blocks.
    f = write(tmp_path, TAPE_RESIDUE.replace("SHORT", "{ blocks: 1 }"))
    p = th("exec", f, "--device", "t0", "--cdb", "15 10 00 00 0c 00", "--data-out",
           "000000080000000000000400", "--cdb", "08 01 00 00 04 00", "--alloc", "4096")
    assert p.returncode == 0, p.stderr
    sel, rd = [json.loads(l) for l in p.stdout.splitlines()]
    assert sel["status"] == 0, sel
    assert rd["sense"]["info"] == 3 and len(rd["data_in"]) == 2 * 1024, rd


def test_a_variable_mode_tape_residue_counts_bytes(tmp_path):
    f = write(tmp_path, TAPE_RESIDUE.replace("SHORT", "{ bytes: 100 }"))
    p = th("exec", f, "--device", "t0", "--cdb", "08 00 00 10 00 00", "--alloc", "4096")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["sense"]["info"] == 4096 - 100, p.stdout


@pytest.mark.parametrize("where, line, message", [
    ("rule", "{ device: t0, match: { op: START_STOP_UNIT }, respond: { status: BUSY } }",
     "'START_STOP_UNIT' is not a tape command: 0x1B on a tape is LOAD_UNLOAD (device t0 is a tape)"),
    ("rule", "{ match: { op: PRE_FETCH_10 }, device: t0, respond: { status: BUSY } }",
     "0x34 on a tape is READ_POSITION"),
    ("rule", "{ device: d0, match: { op: REWIND }, respond: { status: BUSY } }",
     "'REWIND' is not a disk command (a disk has no command 0x01) (device d0 is a disk)"),
    ("rule", "{ device: t0, match: { op: READ_6, lba: 1-2 }, respond: { status: BUSY } }",
     "lba: device t0 is a tape, and tape commands carry no LBA"),
    ("expect", "{ op: SYNCHRONIZE_CACHE_16, device: t0, count: 0 }",
     "(a tape has no command 0x91) (device t0 is a tape)"),
    ("wait", "{ op: START_STOP_UNIT, device: t0 }", "0x1B on a tape is LOAD_UNLOAD"),
])
def test_op_names_resolve_by_the_devices_type(tmp_path, where, line, message):
    text = ("name: x\ndevices:\n  - { name: t0, type: tape }\n  - { name: d0, size: 1MiB }\n" +
            ("rules:\n  - " + line + "\n" if where == "rule" else "") +
            ("expect_trace:\n  - " + line + "\n" if where == "expect" else "") +
            ("steps:\n  - wait_trace: " + line + "\n" if where == "wait" else ""))
    f = write(tmp_path, text)
    p = th("validate", f)
    assert p.returncode == 2, p.stderr
    assert f"{f}:" in p.stderr and message in p.stderr, p.stderr


def test_tape_op_names_validate_on_a_tape(tmp_path):
    f = write(tmp_path, "name: x\ndevices:\n  - { name: t0, type: tape }\nrules:\n"
                        "  - { device: t0, match: { op: REWIND }, respond: { status: BUSY } }\n"
                        "  - { device: t0, match: { op: SPACE_6 }, respond: { status: BUSY } }\n"
                        "expect_trace:\n  - { device: t0, op: LOCATE_10, count: 0 }\n"
                        "  - { device: t0, op: 0x01, count: 0 }\n")
    p = th("validate", f)
    assert p.returncode == 0, p.stderr


def test_the_shells_own_braces_are_left_alone(tmp_path: pathlib.Path) -> None:
    # {1..3} and awk's {print $1} name no device and no field: they are the shell's
    f = tmp_path / "braces.yaml"
    f.write_text("name: x\ndevices:\n  - { name: d0 }\nsteps:\n"
                 "  - run: \"echo {1..3} | awk '{print $1}' > /dev/null; ls {d0.sg}\"\n"
                 "  - run: \"echo '{}' | jq '{name: .name}'; awk '{print a.size}' < /dev/null\"\n")
    p = subprocess.run([TH, "validate", str(f)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
