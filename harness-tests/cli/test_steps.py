"""Background steps through `tcmu-harness run`, without a kernel: a scenario that declares
no devices runs its commands on this host. What must hold: a background command left
running fails the scenario (unless may_outlive), kill and wait work, and nothing the
scenario started survives it, whether it passed, failed or was interrupted."""
import pathlib
import signal
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = str(ROOT / "build" / "tcmu-harness")


def run(tmp_path: pathlib.Path, steps: str) -> subprocess.CompletedProcess:
    p = tmp_path / "s.yaml"
    p.write_text("name: steps\ndevices: []\nsteps:\n" + steps)
    return subprocess.run([TH, "run", str(p)], capture_output=True, text=True, timeout=120)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan may wait for its reaper)."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def spawner(pidfile: pathlib.Path, extra: str = "") -> str:
    """A background step whose shell leaves a `sleep` in its group, with the sleep's pid in
    pidfile, then a step that waits until the pid is written."""
    return (f'  - {{run: "sleep 100 & echo $! > {pidfile}; wait", background: b{extra}}}\n'
            f'  - run: "while ! test -s {pidfile}; do sleep 0.02; done"\n')


def sleeper_pid(pidfile: pathlib.Path) -> int:
    pid = int(pidfile.read_text())
    assert pid > 0
    return pid


def test_a_background_command_left_running_fails_the_scenario(tmp_path):
    pidfile = tmp_path / "pid"
    p = run(tmp_path, spawner(pidfile))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "FAIL steps" in p.stdout
    assert "(background 'b'): still running at the end of the scenario" in p.stdout
    assert "`may_outlive: true` on the step allows that" in p.stdout
    assert not alive(sleeper_pid(pidfile)), "the background's sleep was left running"


def test_may_outlive_passes_and_the_command_is_still_stopped(tmp_path):
    pidfile = tmp_path / "pid"
    p = run(tmp_path, spawner(pidfile, ", may_outlive: true"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "PASS steps" in p.stdout
    assert not alive(sleeper_pid(pidfile))


def test_kill_then_wait_checks_the_expect_of_the_background_step(tmp_path):
    p = run(tmp_path, '  - {run: "sleep 100", background: b, expect: {exit: 143}}\n'
                      '  - kill: b\n  - wait: b\n')
    assert p.returncode == 0, p.stdout + p.stderr
    p = run(tmp_path, '  - {run: "sleep 100", background: b}\n  - {kill: b, signal: KILL}\n'
                      '  - wait: b\n')
    assert p.returncode == 1
    assert "step 3 (line 6) wait: step 1 (line 4) `sleep 100` (background 'b'): exit status " \
           "137, expected 0" in p.stdout


def test_wait_applies_exit_and_output_expectations(tmp_path):
    p = run(tmp_path, '  - {run: "echo done", background: b, expect: {stdout: "^done$"}}\n'
                      '  - wait: b\n')
    assert p.returncode == 0, p.stdout + p.stderr
    p = run(tmp_path, '  - {run: "echo done; exit 2", background: b}\n  - wait: b\n')
    assert p.returncode == 1
    assert "exit status 2, expected 0\n--- stdout\ndone\n" in p.stdout


def test_a_failing_step_stops_the_background_commands(tmp_path):
    pidfile = tmp_path / "pid"
    p = run(tmp_path, spawner(pidfile) + '  - run: "exit 5"\n  - wait: b\n')
    assert p.returncode == 1
    assert "step 3 (line 6) `exit 5`: exit status 5, expected 0" in p.stdout
    assert not alive(sleeper_pid(pidfile))


def test_sigint_ends_the_run_and_leaves_nothing_running(tmp_path):
    pidfile = tmp_path / "pid"
    s = tmp_path / "s.yaml"
    s.write_text("name: steps\ndevices: []\nsteps:\n" + spawner(pidfile) +
                 '  - run: "sleep 100"\n')
    h = subprocess.Popen([TH, "run", str(s)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        # the signal once the last step runs (its command is in the log)
        line = ""
        while "sleep 100\n" != line[-10:]:
            line = h.stdout.readline()
            assert line, "the run ended before its last step"
        h.send_signal(signal.SIGINT)  # a terminal's Ctrl-C reaches the harness's group only
        out, _ = h.communicate(timeout=60)
    finally:
        if h.poll() is None:
            h.kill()
    assert h.returncode == 130, out
    assert "interrupted" in out
    assert "still running at the end of the scenario" not in out  # the interrupt is the failure
    pid = sleeper_pid(pidfile)
    for _ in range(100):  # SIGKILL was sent; the kernel may take a moment to finish it
        if not alive(pid):
            break
        time.sleep(0.05)
    assert not alive(pid)


def test_validate_locates_a_wait_for_an_unknown_background(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: x\ndevices: []\nsteps:\n  - wait: nosuch\n")
    r = subprocess.run([TH, "validate", str(p)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert f"{p}:4:11: wait: no step before this one starts a background named 'nosuch'" in \
        r.stdout + r.stderr


def test_commands_find_files_next_to_the_scenario_from_any_directory(tmp_path):
    # $TH_SCENARIO_DIR: the scenario file's directory, absolute, whatever the working
    # directory and however the file was named (an installed scenario runs its tools so).
    d = tmp_path / "suite"
    (d / "tools").mkdir(parents=True)
    tool = d / "tools" / "hello.sh"
    tool.write_text("#!/bin/sh\necho hello from the tool\n")
    tool.chmod(0o755)
    (d / "s.yaml").write_text(
        "name: dir\ndevices: []\nsteps:\n"
        f'  - run: test "$TH_SCENARIO_DIR" = "{d.resolve()}"\n'
        '  - run: \'"$TH_SCENARIO_DIR"/tools/hello.sh\'\n'
        '    expect: { stdout: "^hello from the tool$" }\n'
        '  - run: "sleep 0.1; $TH_SCENARIO_DIR/tools/hello.sh"\n'
        "    background: bg\n"
        '    expect: { stdout: "^hello from the tool$" }\n'
        "  - wait: bg\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("../suite/s.yaml", str(d / "s.yaml")):
        r = subprocess.run([TH, "run", name], cwd=elsewhere, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
    # and a failing check fails: the variable is not merely present
    (d / "bad.yaml").write_text("name: dir\ndevices: []\nsteps:\n"
                                '  - run: test "$TH_SCENARIO_DIR" = /nonexistent\n')
    r = subprocess.run([TH, "run", "../suite/bad.yaml"], cwd=elsewhere, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
