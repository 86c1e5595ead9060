"""Golden traces on the real kernel (issue 15): `run --record-golden DIR` of a scenario
whose fault Linux answers in a known way (the SCSI midlayer retries BUSY three times), then
`--compare-golden DIR` of a second run, which behaves the same; then the golden edited as
if the initiator had changed (one retry fewer, another op): the scenario fails, and JUnit
and run.json show the difference; the tolerance forgives the retry, not the op."""
import json
import pathlib
import subprocess
import xml.etree.ElementTree as ET

from conftest import TH, our_objects

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCEN = ROOT / "scenarios" / "busy-is-retried.yaml"


def th_run(*args):
    return subprocess.run([str(TH), "run", "--in-vm", *map(str, args), str(SCEN)],
                          capture_output=True, text=True, timeout=300)


def test_record_compare_and_a_changed_initiator(tmp_path):
    g = tmp_path / "golden"
    p = th_run("--record-golden", g)
    assert p.returncode == 0, p.stdout + p.stderr
    golden = g / "busy-is-retried.golden"
    text = golden.read_text()
    assert "\nd0 READ_10 lba 2048+8: BUSY rule=busy x3\nd0 READ_10 lba 2048+8: GOOD\n" in text, text
    assert "; attempts 4; aborts 0; resets 0; request sense 0; recovered\n" in text, text
    assert our_objects() == []

    # a second run of the same initiator: the same, in either mode
    for mode in ("multiset", "sequence"):
        p = th_run("--compare-golden", g, "--golden-match", mode)
        assert p.returncode == 0, p.stdout + p.stderr
        assert f"golden: the same as {golden} ({mode}, tolerance 0)" in p.stdout, p.stdout

    # one retry fewer: a difference at tolerance 0, none at tolerance 1
    golden.write_text(text.replace("BUSY rule=busy x3", "BUSY rule=busy x2")
                      .replace("; attempts 4;", "; attempts 3;"))
    junit, traces = tmp_path / "j.xml", tmp_path / "t"
    p = th_run("--compare-golden", g, "--junit", junit, "--trace", traces)
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"the initiator behaved differently from {golden} (multiset, tolerance 0): " \
           "-d0 READ_10 lba 2048+8: BUSY rule=busy x2; +d0 READ_10 lba 2048+8: BUSY rule=busy x3" \
        in p.stdout, p.stdout
    failure = ET.parse(junit).getroot().find(".//failure").text
    assert f"--- {golden}\n+++ this run\n" in failure, failure
    assert "+d0 READ_10 lba 2048+8: BUSY rule=busy; attempts 4;" in failure, failure
    run = json.loads((traces / "busy-is-retried.run.json").read_text())
    assert run["passed"] is False
    assert run["golden"]["result"] == "differs" and run["golden"]["mode"] == "multiset"
    assert "-d0 READ_10 lba 2048+8: BUSY rule=busy x2\n" in run["golden"]["diff"], run
    p = th_run("--compare-golden", g, "--golden-tolerance", "1")
    assert p.returncode == 0, p.stdout + p.stderr

    # another op where SYNCHRONIZE CACHE(10) was: no tolerance forgives it
    golden.write_text(text.replace("SYNCHRONIZE_CACHE_10", "SYNCHRONIZE_CACHE_16"))
    p = th_run("--compare-golden", g, "--golden-match", "sequence", "--golden-tolerance", "1",
               "--trace", traces)
    assert p.returncode == 1, p.stdout + p.stderr
    diff = json.loads((traces / "busy-is-retried.run.json").read_text())["golden"]["diff"]
    assert "-d0 SYNCHRONIZE_CACHE_16 lba 0+0: GOOD\n+d0 SYNCHRONIZE_CACHE_10 lba 0+0: GOOD\n" \
        in diff, diff
    assert our_objects() == []
