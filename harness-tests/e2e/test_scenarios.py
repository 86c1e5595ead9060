"""`tcmu-harness run` and `serve SCENARIO` on the real kernel: failures, timeouts and
interruptions still tear every device down."""
import json
import os
import signal
import subprocess
import time

from conftest import TH, our_objects


def write(tmp_path, text):
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return p


def test_a_failing_step_reports_output_and_trace_lines(tmp_path):
    f = write(tmp_path, """name: fails on purpose
devices:
  - { name: f0, size: 8MiB }
steps:
  - run: sg_turs {f0.sg}; echo visible-output; exit 3
""")
    junit = tmp_path / "j.xml"
    p = subprocess.run([str(TH), "run", "--in-vm", "--junit", str(junit), str(f)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "exit status 3, expected 0" in p.stdout
    assert "visible-output" in p.stdout
    assert "last trace lines" in p.stdout and "TEST_UNIT_READY" in p.stdout
    assert 'failures="1"' in junit.read_text()
    assert our_objects() == []


def test_a_hanging_step_is_killed_at_its_timeout_and_devices_go(tmp_path):
    f = write(tmp_path, """name: hangs
devices:
  - { name: h0, size: 8MiB }
steps:
  - run: sleep 600
    expect: { timeout: 2 }
""")
    t0 = time.time()
    p = subprocess.run([str(TH), "run", "--in-vm", str(f)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 1
    assert "timed out after 2 s" in p.stdout
    assert time.time() - t0 < 60
    assert our_objects() == []


def test_sigint_during_a_step_tears_everything_down(tmp_path):
    f = write(tmp_path, """name: interrupted
devices:
  - { name: i0, size: 8MiB }
  - { name: i1, size: 8MiB }
steps:
  - run: sleep 600
    expect: { timeout: 600 }
""")
    proc = subprocess.Popen([str(TH), "run", "--in-vm", str(f)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    for _ in range(300):
        if len(our_objects()) >= 4:
            break
        time.sleep(0.1)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "interrupted" in out
    assert our_objects() == []


def test_serve_a_scenario_prints_devices_and_applies_its_rules(tmp_path):
    f = write(tmp_path, """name: served
devices:
  - { name: s0, size: 8MiB }
rules:
  - device: s0
    match: { op: TEST_UNIT_READY }
    respond: { sense: { key: NOT_READY, asc: 0x04, ascq: 0x03 } }
""")
    trace = tmp_path / "t.jsonl"
    proc = subprocess.Popen([str(TH), "serve", "--trace", str(trace), str(f)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dev = json.loads(proc.stdout.readline())
    assert dev["name"] == "s0" and dev["sg"].startswith("/dev/sg")
    p = subprocess.run(["sg_turs", dev["sg"]], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p.stdout + p.stderr
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert '"op":"TEST_UNIT_READY"' in trace.read_text()
    assert '"key":"NOT_READY"' in trace.read_text()
    assert not os.path.exists(dev["sg"])
    assert our_objects() == []
