"""The initiator's reactions on the real kernel: `run --summary --trace DIR` of scenarios
whose faults Linux answers in known ways (the SCSI midlayer retries BUSY; sd aborts a hung
READ at the disk's timeout and retries it) prints them, keeps them in JUnit, and leaves
the result and steps beside the trace for `report`."""
import json
import pathlib
import subprocess

from conftest import TH, our_objects

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_run_summary_shows_busy_retried_and_a_hang_aborted(tmp_path):
    out = tmp_path / "traces" / "new"
    junit = tmp_path / "j.xml"
    scen = [ROOT / "scenarios" / "busy-is-retried.yaml", ROOT / "scenarios" / "hang-is-aborted.yaml"]
    p = subprocess.run([str(TH), "run", "--in-vm", "--summary", "--trace", str(out), "--junit",
                        str(junit), *map(str, scen)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert our_objects() == []
    busy = [l for l in p.stdout.splitlines() if "BUSY (rule busy)" in l]
    assert len(busy) == 1, p.stdout
    assert "retries" in busy[0] and "recovered after" in busy[0], busy[0]
    hang = [l for l in p.stdout.splitlines() if "(rule black-hole)" in l]
    assert len(hang) == 1 and "aborted (ABORT_TASK) after" in hang[0], p.stdout
    assert "recovered after" in hang[0], hang[0]
    assert "initiator's reactions to the faults" in junit.read_text()
    assert "BUSY (rule busy)" in junit.read_text()
    # beside each trace: the result and every step, on the trace's clock
    run = json.loads((out / "hang-is-aborted.run.json").read_text())
    assert run["passed"] is True and run["name"]
    assert run["steps"], run
    for s in run["steps"]:
        assert 0 <= s["start"] <= s["end"], s
    lines = [json.loads(l) for l in (out / "hang-is-aborted.jsonl").read_text().splitlines()]
    cmds = [l for l in lines if "op" in l]
    assert cmds and all("lat_us" in l for l in cmds)
    held = [l for l in cmds if l.get("rule") == "black-hole"]
    assert held and held[0]["lat_us"] > 1_000_000, held  # held until the abort
    r = subprocess.run([str(TH), "report", str(out / "busy-is-retried.jsonl")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and busy[0].strip() in r.stdout, r.stdout + r.stderr
