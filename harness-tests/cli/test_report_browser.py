"""The run report's pages in a real browser (Debian's chromium, headless), through
scripts/check-report: they load with no console message or script error, the timeline
marks exactly the faults of the trace, the filters act, the suite page's links resolve.
And the checker itself fails a page that marks the wrong faults or throws."""
import pathlib
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")
CHECK = str(ROOT / "scripts" / "check-report")


def check(*args) -> subprocess.CompletedProcess:
    return subprocess.run([CHECK, *map(str, args)], capture_output=True, text=True, timeout=600)


def test_chromium_is_there():
    # scripts/deps installs it: the browser checks must not pass by being skipped
    assert shutil.which("chromium"), "no chromium: run scripts/deps"


def test_every_fixtures_page_loads_clean_and_marks_its_faults(tmp_path):
    for src in ("runs", "traces"):
        d = tmp_path / src
        shutil.copytree(ROOT / "fixtures" / src, d)
        p = subprocess.run([TH, "report", d], capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        c = check("--screenshot", tmp_path / f"{src}.png", d)
        assert c.returncode == 0, c.stdout + c.stderr
        assert " problems" not in c.stdout and ": ok" in c.stdout
        assert (tmp_path / f"{src}.png").stat().st_size > 10000


def test_the_checker_fails_a_page_with_the_wrong_faults_or_a_script_error(tmp_path):
    d = tmp_path / "runs"
    shutil.copytree(ROOT / "fixtures" / "runs", d)
    assert subprocess.run([TH, "report", d / "busy-is-retried.jsonl"]).returncode == 0
    # one more fault in the trace than the page marks
    trace = d / "busy-is-retried.jsonl"
    trace.write_text(trace.read_text() + '{"t":9,"device":"d0","id":1,"op":"READ_10",'
                     '"cdb":"28","status":2,"sense":null,"rule":"extra","aborted":false}\n')
    c = check(d / "busy-is-retried.html")
    assert c.returncode == 1 and "marks 3 faults, the trace holds 4" in c.stderr, c.stderr
    # a page whose script throws
    assert subprocess.run([TH, "report", d / "hang-is-aborted.jsonl"]).returncode == 0
    page = d / "hang-is-aborted.html"
    page.write_text(page.read_text().replace("'use strict';", "'use strict'; null.x;", 1))
    c = check(page)
    assert c.returncode == 1 and "did not finish" in c.stderr, c.stderr
