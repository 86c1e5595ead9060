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
    p = th("report", "--text", FIXTURES / "busy-is-retried.jsonl",
           FIXTURES / "hang-is-aborted.jsonl")
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
    # --summary without --trace leaves no file behind (in a TMPDIR of its own: other runs
    # on the machine make and remove theirs in /tmp meanwhile, which made this flaky)
    import os
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    p = subprocess.run([TH, "run", "--summary", str(s)], capture_output=True, text=True,
                       env={**os.environ, "TMPDIR": str(tmpdir)}, timeout=120)
    assert p.returncode == 0 and "no command was answered" in p.stdout
    assert list(tmpdir.iterdir()) == []


def test_run_trace_of_an_empty_name_is_a_usage_error(tmp_path):
    # review: the directory maker started past the end of an empty path
    s = scenario(tmp_path)
    p = th("run", "--trace", "", s, cwd=tmp_path)
    assert p.returncode == 2
    assert "--trace : cannot make the directory: No such file or directory" in p.stderr, p.stderr


RUNS = ROOT / "fixtures" / "runs"


def copy_runs(dst: pathlib.Path) -> pathlib.Path:
    import shutil
    shutil.copytree(RUNS, dst)
    return dst


def test_report_of_a_directory_writes_a_page_per_run_and_the_suite_page(tmp_path):
    d = copy_runs(tmp_path / "traces")
    p = th("report", d)
    assert p.returncode == 0, p.stdout + p.stderr
    for stem in ("busy-is-retried", "hang-is-aborted", "medium-error-heals",
                 "tape-medium-error-third-read"):
        page = (d / f"{stem}.html").read_text()
        assert f"page: {d / stem}.html" in p.stdout
        assert "<script>" in page and 'href="index.html">all runs' in page
        assert "PASSED</span> in" in page  # from its run.json
        assert "Synchronizing SCSI cache" in page or "st " in page or "sd " in page  # its kernel log
    index = (d / "index.html").read_text()
    assert f"suite: {d / 'index.html'} (5 runs)" in p.stdout
    assert index.count("<tr><td><a href=") == 5 and "5 passed" in index
    assert "a hung READ is aborted" in index


def test_report_with_junit_takes_its_order_and_results_and_links_the_pages(tmp_path):
    d = copy_runs(tmp_path / "traces")
    junit = tmp_path / "scenarios.xml"
    junit.write_text(
        '<?xml version="1.0"?>\n<testsuites><testsuite name="x" tests="3" failures="1">\n'
        '<properties><property name="kernel.release" value="6.1.0-57-amd64"/></properties>\n'
        '<testcase classname="scenarios" name="hung &amp; aborted" '
        'file="scenarios/hang-is-aborted.yaml" time="6.5"></testcase>\n'
        '<testcase classname="scenarios" name="never traced" file="scenarios/x.yaml" '
        'time="1.0"><failure message="scenario failed">step 1 &lt;failed&gt;</failure>'
        '</testcase>\n</testsuite></testsuites>\n')
    out = tmp_path / "report"
    p = th("report", "-o", out, junit, d)
    assert p.returncode == 0, p.stdout + p.stderr
    index = (out / "index.html").read_text()
    # the JUnit's rows first, in its order; the traces it does not name after them
    assert index.index("hung &amp; aborted") < index.index("never traced")
    assert '<a href="hang-is-aborted.html">hung &amp; aborted</a>' in index
    assert "step 1 &lt;failed&gt;" in index and "1 failed" in index
    assert index.count("<tr><td>") == 6  # 2 from JUnit + 4 other traces
    assert (out / "hang-is-aborted.html").is_file()


def test_report_text_writes_no_page_and_o_makes_its_directory(tmp_path):
    d = copy_runs(tmp_path / "traces")
    p = th("report", "--text", d / "busy-is-retried.jsonl")
    assert p.returncode == 0 and "3 retries" in p.stdout and "page:" not in p.stdout
    assert not (d / "busy-is-retried.html").exists()
    p = th("report", "-o", tmp_path / "a" / "b", d / "busy-is-retried.jsonl")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "a" / "b" / "busy-is-retried.html").is_file()
    assert (tmp_path / "a" / "b" / "index.html").is_file()
    (tmp_path / "file").write_text("")
    p = th("report", "-o", tmp_path / "file" / "x", d / "busy-is-retried.jsonl")
    assert p.returncode == 2 and "cannot make the directory: Not a directory" in p.stderr
    p = th("report", "-o")
    assert p.returncode == 2 and "-o needs a directory" in p.stderr


def test_report_survives_a_bad_run_json_and_an_empty_directory(tmp_path):
    d = copy_runs(tmp_path / "traces")
    (d / "busy-is-retried.run.json").write_text('{"name": "x", "steps": [1,')
    p = th("report", d / "busy-is-retried.jsonl")
    assert p.returncode == 0, p.stderr
    assert "busy-is-retried.run.json ignored: column" in p.stdout
    assert "a trace without a run's result" in (d / "busy-is-retried.html").read_text()
    (tmp_path / "empty").mkdir()
    p = th("report", tmp_path / "empty")
    assert p.returncode == 0 and "no traces (*.jsonl) in it" in p.stdout
    assert "0 runs" in (tmp_path / "empty" / "index.html").read_text()


def test_suite_page_links_are_paths_whatever_the_file_names(tmp_path):
    # review: a trace named javascript:alert(1).jsonl was linked as href="javascript:...",
    # one named a#b?c%41.jsonl as a link to the file "a"
    import re
    import urllib.parse
    d = tmp_path / "traces"
    d.mkdir()
    names = ["javascript:alert(document.title)", "a#b?c%41", "x y&\"z'"]
    for n in names:
        (d / f"{n}.jsonl").write_text((RUNS / "busy-is-retried.jsonl").read_text())
    p = th("report", d)
    assert p.returncode == 0, p.stdout + p.stderr
    hrefs = re.findall(r'<a href="([^"]*)"', (d / "index.html").read_text())
    assert len(hrefs) == 3, hrefs
    for h in hrefs:
        assert not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", h) and "#" not in h and "?" not in h, h
    import html
    got = sorted(urllib.parse.unquote(html.unescape(h)) for h in hrefs)
    assert got == sorted(f"{n}.html" for n in names)
    assert all((d / g).is_file() for g in got)


def test_report_reads_a_junit_of_a_million_unclosed_tags_in_linear_time(tmp_path):
    # review: every "<testcase " rescanned to the one '>' at the end: 100,000 of them
    # (1 MB) took more than 100 s
    junit = tmp_path / "j.xml"
    junit.write_text("<testsuite>" + '<testcase name="a" ' * 100000 + ">")
    p = th("report", "-o", tmp_path / "out", junit, timeout=20)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "(1 runs)" in p.stdout


def test_a_trace_whose_path_is_too_long_is_refused_not_cut_to_another(tmp_path):
    # review: DIR/NAME past PATH_MAX was cut to PATH_MAX - 1 bytes, which named another
    # trace (evil.jsonl for evil.jsonlAAA....jsonl): read twice, its page written twice
    import os
    d, names = tmp_path, []
    while len(str(d)) < 4084 - 201:
        d = d / ("d" * 200)
        names.append("d" * 200)
    d = d / ("e" * (4084 - len(str(d)) - 1))
    assert len(str(d)) == 4084
    cur = tmp_path
    for part in d.relative_to(tmp_path).parts:
        cur = cur / part
        os.mkdir(cur)
    (d / "evil.jsonl").write_text('{"t":1,"device":"EVIL","op":"X","status":2,"rule":"r"}\n')
    long_name = "evil.jsonl" + "A" * 200 + ".jsonl"
    dfd = os.open(d, os.O_RDONLY)  # DIR/NAME is too long to be opened by its path
    try:
        fd = os.open(long_name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=dfd)
        os.write(fd, (RUNS / "busy-is-retried.jsonl").read_bytes())
        os.close(fd)
    finally:
        os.close(dfd)
    out = tmp_path / "out"
    p = th("report", "-o", out, d)
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"{d}/{long_name}: File name too long" in p.stderr, p.stderr
    assert p.stdout.count("page: ") == 1 and "(1 runs)" in p.stdout, p.stdout


def test_report_reads_the_scenario_only_from_a_regular_file(tmp_path):
    # run.json is input: a "file" naming a FIFO made report wait for a writer for ever
    import json
    import os
    runs = ROOT / "fixtures" / "runs"
    for ext in ("jsonl", "kmsg", "run.json"):
        (tmp_path / f"state-machine.{ext}").write_bytes((runs / f"state-machine.{ext}").read_bytes())
    os.mkfifo(tmp_path / "fifo")
    for target in ("fifo", "/dev/zero", str(tmp_path)):
        r = json.loads((runs / "state-machine.run.json").read_text())
        r["file"] = target
        (tmp_path / "state-machine.run.json").write_text(json.dumps(r))
        p = th("report", tmp_path / "state-machine.jsonl", cwd=tmp_path, timeout=20)
        assert p.returncode == 0, target + p.stdout + p.stderr
        assert '"states":[]' in (tmp_path / "state-machine.html").read_text()


def test_run_temporary_trace_falls_back_to_tmp_when_tmpdir_is_unusable(tmp_path):
    import os
    s = scenario(tmp_path)
    env = dict(os.environ, TMPDIR=str(tmp_path / "nonexistent"))
    p = subprocess.run([TH, "run", "--record-golden", str(tmp_path / "g"), str(s)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (tmp_path / "g" / "s.golden").is_file()


def test_run_junit_may_go_in_the_trace_directory_it_makes(tmp_path):
    # --junit's directory was checked when read, before --trace DIR was made
    s = scenario(tmp_path)
    for args in (["--trace", "out", "--junit", "out/j.xml"],
                 ["--junit", "out2/j.xml", "--record-golden", "out2"]):
        p = th("run", *args, s, cwd=tmp_path)
        assert p.returncode == 0, p.stdout + p.stderr
        assert (tmp_path / args[args.index("--junit") + 1]).is_file()
    p = th("run", "--junit", "nowhere/j.xml", "--trace", "out3", s, cwd=tmp_path)
    assert p.returncode == 2 and "its directory does not exist" in p.stderr, p.stderr
    assert not (tmp_path / "out3").exists()  # made for nothing: removed
