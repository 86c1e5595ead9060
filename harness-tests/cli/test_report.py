"""The run report's host side (issue 15): `run --trace DIR` makes DIR, the trace reader and
the reaction analysis on recorded traces, `run --summary`, `report` and golden traces.
Scenarios without devices run on this host; traces of real runs are in fixtures/traces/."""
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")


def th(*args, cwd=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([TH, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def scenario(tmp_path: pathlib.Path, name: str = "s") -> pathlib.Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(f"name: {name}\ndevices: []\nsteps:\n  - run: \"true\"\n")
    return p


def test_run_trace_makes_the_directory_and_its_parents(tmp_path):
    s = scenario(tmp_path)
    p = th("run", "--trace", tmp_path / "new" / "deeper", s)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (tmp_path / "new" / "deeper" / "s.jsonl").is_file()
    assert (tmp_path / "new" / "deeper" / "s.kmsg").is_file()


def test_run_trace_under_a_file_is_a_usage_error_naming_it(tmp_path):
    s = scenario(tmp_path)
    (tmp_path / "plain").write_text("")
    p = th("run", "--trace", tmp_path / "plain" / "x", s)
    assert p.returncode == 2
    assert f"--trace {tmp_path / 'plain' / 'x'}: cannot make the directory: Not a directory" \
        in p.stderr, p.stderr


FIXTURES = ROOT / "fixtures" / "traces"


def test_report_prints_each_fixtures_reaction():
    p = th("report", FIXTURES / "busy-is-retried.jsonl", FIXTURES / "hang-is-aborted.jsonl")
    assert p.returncode == 0, p.stderr
    assert "BUSY (rule busy); 3 retries" in p.stdout and "recovered after" in p.stdout
    assert "aborted (ABORT_TASK) after 5." in p.stdout


def test_report_of_a_bad_trace_names_its_line_and_column(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t":1,"device":"d0"}\n{"t":1,\n')
    p = th("report", bad)
    assert p.returncode == 1
    assert f"{bad}:2: column " in p.stdout, p.stdout
    p = th("report", tmp_path / "missing.jsonl")
    assert p.returncode == 1 and "No such file or directory" in p.stdout
    p = th("report", "--bogus")
    assert p.returncode == 2 and "unknown option '--bogus'" in p.stderr


def test_run_summary_and_run_json_without_faults(tmp_path):
    s = scenario(tmp_path)
    p = th("run", "--summary", "--trace", tmp_path / "t", s)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "no command was answered with an error by a rule" in p.stdout
    import json
    run = json.loads((tmp_path / "t" / "s.run.json").read_text())
    assert run["passed"] is True and run["name"] == "s" and run["steps"][0]["what"] == "true"
    assert run["steps"][0]["start"] <= run["steps"][0]["end"]
    # --summary without --trace leaves no file behind
    before = set(pathlib.Path("/tmp").glob("th-summary-*"))
    p = th("run", "--summary", s)
    assert p.returncode == 0 and "no command was answered" in p.stdout
    assert set(pathlib.Path("/tmp").glob("th-summary-*")) == before


def test_run_trace_of_an_empty_name_is_a_usage_error(tmp_path):
    # review: the directory maker started past the end of an empty path
    s = scenario(tmp_path)
    p = th("run", "--trace", "", s, cwd=tmp_path)
    assert p.returncode == 2
    assert "--trace : cannot make the directory: No such file or directory" in p.stderr, p.stderr
