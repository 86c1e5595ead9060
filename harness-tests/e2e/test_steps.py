"""Background steps and wait_trace on the real kernel: commands doing I/O to a device
while the scenario acts, and what happens at the end of a scenario to a command still
running (it fails the scenario unless allowed, and neither it nor a device survives)."""
import pathlib
import subprocess
import time

from conftest import TH, our_objects


def run_scenario(tmp_path: pathlib.Path, text: str, timeout: int = 300) -> subprocess.CompletedProcess:
    f = tmp_path / "s.yaml"
    f.write_text(text)
    return subprocess.run([str(TH), "run", "--in-vm", str(f)], capture_output=True, text=True,
                          timeout=timeout)


def alive(pid: int) -> bool:
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def gone(pid: int) -> bool:
    """The process has ended; SIGKILL takes effect as soon as the kernel lets it."""
    for _ in range(200):
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def reader(pidfile: pathlib.Path, extra: str = "") -> str:
    """A background step reading the disk over and over (the pid of its dd loop's shell in
    pidfile, a subshell in the command's group), and a step that waits for the pid."""
    return (f'  - run: "(while :; do dd if={{d0.sd}} of=/dev/null bs=4k count=256 iflag=direct '
            f'2>/dev/null; done) & echo $! > {pidfile}; wait"\n'
            f'    background: load{extra}\n'
            f'  - run: "while ! test -s {pidfile}; do sleep 0.05; done"\n')


def test_a_background_command_left_running_fails_and_nothing_survives(tmp_path):
    pidfile = tmp_path / "pid"
    p = run_scenario(tmp_path, "name: left running\ndevices:\n  - { name: d0, size: 8MiB }\n"
                               "steps:\n" + reader(pidfile) + "  - sleep_ms: 500\n")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "(background 'load'): still running at the end of the scenario" in p.stdout
    assert gone(int(pidfile.read_text()))
    assert our_objects() == []


def test_may_outlive_passes_with_io_still_going_and_nothing_survives(tmp_path):
    pidfile = tmp_path / "pid"
    p = run_scenario(tmp_path, "name: may outlive\ndevices:\n  - { name: d0, size: 8MiB }\n"
                               "steps:\n" + reader(pidfile, "\n    may_outlive: true") +
                     "  - wait_trace: { device: d0, op: READ_10, count: 20 }\n")
    assert p.returncode == 0, p.stdout + p.stderr
    assert gone(int(pidfile.read_text()))
    assert our_objects() == []


def test_a_command_stuck_on_a_hung_command_is_reaped_after_the_teardown(tmp_path):
    # dd waits for a READ that never completes (uninterruptibly): SIGKILL cannot end it
    # until the teardown completes the hung command; the run must still end cleanly.
    pidfile = tmp_path / "pid"
    p = run_scenario(tmp_path, f"""name: stuck at the end
devices:
  - {{ name: d0, size: 8MiB }}
rules:
  - {{ device: d0, name: hole, match: {{ op: READ_10, lba: 64 }}, respond: {{ hang: true }} }}
steps:
  - run: "dd if={{d0.sd}} of=/dev/null bs=4k skip=8 count=1 iflag=direct & echo $! > {pidfile}; wait"
    background: stuck
    may_outlive: true
  # a hung command is in the trace once it completes: the kernel says it is in flight
  - run: "until grep -qv '^ *0 ' /sys/block/{{d0.sdname}}/inflight; do sleep 0.05; done"
""")
    assert p.returncode == 0, p.stdout + p.stderr
    assert gone(int(pidfile.read_text()))
    assert our_objects() == []


def test_wait_trace_that_times_out_says_how_many_matched_and_shows_the_trace(tmp_path):
    p = run_scenario(tmp_path, """name: too few
devices:
  - { name: d0, size: 8MiB }
steps:
  - run: dd if={d0.sd} of=/dev/null bs=4k count=2 iflag=direct
  - wait_trace: { device: d0, op: READ_10, count: 5, timeout: 2 }
""")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "step 2 (line 6) wait_trace: 2 of 5 matching entries" in p.stdout
    assert '"op":"READ_10"' in p.stdout
    assert our_objects() == []


def test_an_action_at_a_point_of_a_background_commands_traffic(tmp_path):
    # The 4th READ of a dd running in the background gets a MEDIUM ERROR added once the
    # trace shows the first three: dd's outcome depends on the step running at that point.
    p = run_scenario(tmp_path, """name: precise point
devices:
  - { name: d0, size: 8MiB }
rules:
  - { device: d0, name: gate, match: { op: READ_10, nth: 4 }, respond: { delay_ms: 3000 } }
steps:
  - run: dd if={d0.sd} of=/dev/null bs=4k count=8 iflag=direct
    background: r
    expect: { exit: 1, stderr: "error reading .*: No data available" }   # ENODATA: medium error
  - wait_trace: { device: d0, op: READ_10, count: 3, since: start }
  - add_rule:
      device: d0
      name: bad
      match: { op: READ_10, lba: 32-39 }
      respond: { sense: { key: MEDIUM_ERROR, asc: 0x11, ascq: 0, info: lba } }
  - wait: r
expect_trace:
  - { device: d0, op: READ_10, rule: bad, min: 1 }
""")
    assert p.returncode == 0, p.stdout + p.stderr
    assert our_objects() == []
