"""Golden traces on the host (issue 15): `run --record-golden DIR` and `--compare-golden DIR`
with scenarios without devices (they run here: their golden trace has no commands), the
option errors, a missing or hostile golden file, a difference in JUnit and run.json, and
the stem of a scenario file (its name without .yaml: a.b.yaml and a.c.yaml are two)."""
import json
import pathlib
import subprocess
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")


def th(*args, cwd=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([TH, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def scenario(tmp_path: pathlib.Path, name: str = "s") -> pathlib.Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(f"name: {name}\ndevices: []\nsteps:\n  - run: \"true\"\n")
    return p


def test_record_then_compare_is_the_same_and_stems_keep_dots(tmp_path):
    a, b = scenario(tmp_path, "a.b"), scenario(tmp_path, "a.c")
    p = th("run", "--record-golden", tmp_path / "g" / "deeper", a, b)
    assert p.returncode == 0, p.stdout + p.stderr
    g = tmp_path / "g" / "deeper"
    assert sorted(x.name for x in g.iterdir()) == ["a.b.golden", "a.c.golden"]
    text = (g / "a.b.golden").read_text()
    assert text.startswith("# tcmu-harness golden trace 1 (harness ")
    assert "\ncommands\nreactions\n" in text
    p = th("run", "--compare-golden", g, "--trace", tmp_path / "t", a, b)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"golden: the same as {g / 'a.b.golden'} (multiset, tolerance 0)" in p.stdout
    run = json.loads((tmp_path / "t" / "a.b.run.json").read_text())
    assert run["golden"] == {"file": str(g / "a.b.golden"), "mode": "multiset", "result": "same",
                             "message": f"the same as {g / 'a.b.golden'} (multiset, tolerance 0)",
                             "diff": ""}
    assert (tmp_path / "t" / "a.c.jsonl").is_file() and (tmp_path / "t" / "a.c.kmsg").is_file()


def test_a_difference_fails_with_the_diff_in_junit_and_run_json(tmp_path):
    s = scenario(tmp_path)
    g = tmp_path / "g"
    g.mkdir()
    (g / "s.golden").write_text("# tcmu-harness golden trace 1 (edited)\ncommands\n"
                                "d0 READ_10 lba 0+8: GOOD x2\nreactions\n")
    junit = tmp_path / "j.xml"
    p = th("run", "--compare-golden", g, "--golden-match", "sequence", "--junit", junit,
           "--trace", tmp_path / "t", s)
    assert p.returncode == 1, p.stdout + p.stderr
    want = (f"FAIL s (")
    assert want in p.stdout
    assert (f"the initiator behaved differently from {g / 's.golden'} (sequence, tolerance 0): "
            "-d0 READ_10 lba 0+8: GOOD x2") in p.stdout, p.stdout
    failure = ET.parse(junit).getroot().find(".//failure").text
    assert "the initiator behaved differently" in failure
    assert f"--- {g / 's.golden'}\n+++ this run\n@@ commands: golden line 3" in failure, failure
    run = json.loads((tmp_path / "t" / "s.run.json").read_text())
    assert run["passed"] is False and run["golden"]["result"] == "differs"
    assert "-d0 READ_10 lba 0+8: GOOD x2\n" in run["golden"]["diff"]
    assert run["message"].startswith("the initiator behaved differently")


def test_without_trace_no_file_is_left_and_a_missing_golden_says_how_to_record(tmp_path):
    s = scenario(tmp_path)
    (tmp_path / "g").mkdir()
    # the temporary trace is made in TMPDIR: one of its own, as other runs use /tmp
    import os
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    p = subprocess.run([TH, "run", "--compare-golden", str(tmp_path / "g"), str(s)],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "TMPDIR": str(tmpdir)})
    assert p.returncode == 1
    assert (f"no golden trace {tmp_path / 'g' / 's.golden'}: record it with tcmu-harness run "
            f"--record-golden {tmp_path / 'g'} {s}") in p.stdout, p.stdout
    assert list(tmpdir.iterdir()) == []


def test_a_hostile_golden_file_fails_the_scenario_with_file_and_line(tmp_path):
    s = scenario(tmp_path)
    g = tmp_path / "g"
    g.mkdir()
    (g / "s.golden").write_bytes(b"# tcmu-harness golden trace 1\ncommands\n" + b"x" * 100000)
    p = th("run", "--compare-golden", g, s)
    assert p.returncode == 1
    assert f"{g / 's.golden'}:3: a line longer than 4096 bytes" in p.stdout, p.stdout
    (g / "s.golden").write_bytes(b"\x7fELF\x00\x01")
    p = th("run", "--compare-golden", g, s)
    assert p.returncode == 1 and f"{g / 's.golden'}:1: column 1: byte 0x7f" in p.stdout, p.stdout
    (g / "s.golden").write_bytes(b"")
    p = th("run", "--compare-golden", g, s)
    assert p.returncode == 1 and f"{g / 's.golden'}: empty: not a golden trace" in p.stdout


def test_option_errors(tmp_path):
    s = scenario(tmp_path)
    (tmp_path / "g").mkdir()
    (tmp_path / "f").write_text("")
    cases = [
        (["--compare-golden", tmp_path / "g", "--golden-match", "exact"],
         "--golden-match is multiset or sequence"),
        (["--compare-golden", tmp_path / "g", "--golden-tolerance", "-1"],
         "--golden-tolerance is a whole number from 0 to 1000000"),
        (["--compare-golden", tmp_path / "g", "--golden-tolerance", "3x"],
         "--golden-tolerance is a whole number from 0 to 1000000"),
        (["--golden-match", "sequence"], "--golden-match and --golden-tolerance go with "
                                         "--compare-golden"),
        (["--record-golden", tmp_path / "g", "--compare-golden", tmp_path / "g"],
         "--record-golden and --compare-golden exclude each other"),
        (["--compare-golden", tmp_path / "missing"],
         f"--compare-golden {tmp_path / 'missing'}: No such file or directory"),
        (["--compare-golden", tmp_path / "f"], f"--compare-golden {tmp_path / 'f'}: Not a directory"),
        (["--record-golden", tmp_path / "f" / "x"],
         f"--record-golden {tmp_path / 'f' / 'x'}: cannot make the directory: Not a directory"),
    ]
    for args, msg in cases:
        p = th("run", *args, s)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert msg in p.stderr, (args, p.stderr)
    p = th("run", "--help")
    assert "--record-golden DIR" in p.stdout and "--golden-tolerance N" in p.stdout


def test_a_failed_scenario_is_not_recorded(tmp_path):
    s = tmp_path / "bad.yaml"
    s.write_text("name: bad\ndevices: []\nsteps:\n  - run: \"false\"\n")
    p = th("run", "--record-golden", tmp_path / "g", s)
    assert p.returncode == 1
    assert f"golden: {tmp_path / 'g' / 'bad.golden'} not recorded: the scenario failed" in p.stdout
    assert not (tmp_path / "g" / "bad.golden").exists()


def test_a_scenarios_golden_key_chooses_its_comparison_unless_run_says(tmp_path):
    s = tmp_path / "k.yaml"
    s.write_text("name: k\ndevices: []\ngolden: {match: sequence, tolerance: 2}\n"
                 "steps:\n  - run: \"true\"\n")
    g = tmp_path / "g"
    assert th("run", "--record-golden", g, s).returncode == 0
    p = th("run", "--compare-golden", g, s)
    assert p.returncode == 0 and "(sequence, tolerance 2)" in p.stdout, p.stdout
    p = th("run", "--compare-golden", g, "--golden-match", "multiset", s)
    assert p.returncode == 0 and "(multiset, tolerance 2)" in p.stdout, p.stdout
    p = th("run", "--compare-golden", g, "--golden-tolerance", "0", s)
    assert p.returncode == 0 and "(sequence, tolerance 0)" in p.stdout, p.stdout


def test_a_bad_golden_key_is_located(tmp_path):
    s = tmp_path / "b.yaml"
    s.write_text("name: b\ndevices: []\ngolden:\n  match: exact\n  tolerance: -1\n  other: 1\n")
    p = th("validate", s)
    assert p.returncode == 2
    assert f"{s}:4:10: golden match is multiset or sequence, not 'exact'" in p.stderr, p.stderr
    assert f"{s}:5:14: " in p.stderr, p.stderr
    assert f"{s}:6:3: " in p.stderr and "other" in p.stderr, p.stderr


def test_the_message_names_a_difference_whatever_its_device_is_called(tmp_path):
    # device names may be "--" (letters, digits, '_', '-', '.'): its line in the diff is
    # "--- ...", which the one-line message took for the diff's header and left out
    s = scenario(tmp_path)
    g = tmp_path / "g"
    g.mkdir()
    (g / "s.golden").write_text("# tcmu-harness golden trace 1\ncommands\n"
                                "-- READ_10 lba 0+8: GOOD\n++ READ_10 lba 8+8: GOOD\nreactions\n")
    p = th("run", "--compare-golden", g, s)
    assert p.returncode == 1, p.stdout + p.stderr
    assert (f"differently from {g / 's.golden'} (multiset, tolerance 0): "
            "--- READ_10 lba 0+8: GOOD; -++ READ_10 lba 8+8: GOOD\n") in p.stdout, p.stdout
