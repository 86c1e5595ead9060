#!/usr/bin/python3
"""libiscsi's conformance suite (iscsi-test-cu) against a disk: ours (tcmu-harness) or
LIO's in-kernel rd_mcp for comparison. Runs where target_core_user exists (inside the
VM: `tcmu-harness with-kernel -- harness-tests/conformance/run`).

Each test runs as its own iscsi-test-cu process in XML mode: its CUnit XML gives pass or
fail with the failing assertions, and its console lines say whether a passing test was
in fact skipped (libiscsi reports skips as passes).  One process per test also means a
test that hangs or crashes is one error, not a lost family.

Families: LINUX runs against /dev/sgN (loopback fabric); SCSI and iSCSI run over
iscsi:// (LIO iSCSI fabric, a second session as the multipath URL).
"""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parents[2]
TH = ROOT / "build" / "tcmu-harness"
CFG = pathlib.Path("/sys/kernel/config/target")
INI1 = "iqn.2026-11.org.tcmu-harness:conformance-1"
INI2 = "iqn.2026-11.org.tcmu-harness:conformance-2"
FAMILIES = ("LINUX", "SCSI", "iSCSI")
SIZE_MIB = 64
TEST_TIMEOUT = 300


def list_tests(family):
    out = subprocess.run(["iscsi-test-cu", "--list"], capture_output=True, text=True).stdout
    return [t for t in out.split() if t.startswith(family + ".") and t.count(".") == 2]


def parse_cunit(xml_text):
    """(ok, failures) from a CUnitAutomated-Results.xml holding one test."""
    root = ET.fromstring(xml_text)
    failures = []
    ran = False
    for rec in root.iter("CUNIT_RUN_TEST_RECORD"):
        ran = True
        fail = rec.find("CUNIT_RUN_TEST_FAILURE")
        if fail is not None:
            failures.append("%s:%s: %s" % (fail.findtext("FILE_NAME", "").strip(),
                                           fail.findtext("LINE_NUMBER", "").strip(),
                                           fail.findtext("CONDITION", "").strip()))
    for f in root.iter("CUNIT_RUN_SUITE_FAILURE"):  # suite set-up failed
        ran = True
        failures.append("suite failed: " + (f.findtext("FAILURE_REASON") or "").strip())
    if not ran:
        return None, ["no test record in the CUnit XML"]
    return not failures, failures


def run_one(test, url, url2):
    """Runs one test; returns a dict: name, status (passed/skipped/failed/error), text."""
    with tempfile.TemporaryDirectory(prefix="th-conf-") as d:
        cmd = ["iscsi-test-cu", "-i", INI1, "-I", INI2, "--dataloss", "-x", "-t", test, url]
        if url2:
            cmd.append(url2)
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, cwd=d, capture_output=True, text=True,
                               timeout=TEST_TIMEOUT, errors="replace")
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout
            return {"name": test, "status": "error", "time": TEST_TIMEOUT, "console": out or "",
                    "text": "timed out after %d s\n%s" % (TEST_TIMEOUT, out or "")}
        took = time.monotonic() - t0
        console = (p.stdout + p.stderr).strip()
        res = pathlib.Path(d, "CUnitAutomated-Results.xml")
        if not res.exists():
            return {"name": test, "status": "error", "time": took, "console": console,
                    "text": "iscsi-test-cu exited %d without results\n%s" % (p.returncode, console)}
        ok, failures = parse_cunit(res.read_text(errors="replace"))
        if ok is None:
            return {"name": test, "status": "error", "time": took, "console": console,
                    "text": failures[0] + "\n" + console}
        if not ok:
            return {"name": test, "status": "failed", "time": took, "console": console,
                    "text": "\n".join(failures) + "\n" + console}
        return {"name": test, "status": "passed", "time": took, "text": "", "console": console}


def mark_skips(results):
    """libiscsi counts a skipped test as passed; its console says "[SKIPPED] ...". Lines
    every test of the family prints come from the tool's set-up (e.g. "REPORT SUPPORTED
    OPCODES is not implemented" on rd_mcp), not from the test, and do not count."""
    def skips(r):
        return {l.strip() for l in r["console"].splitlines() if "[SKIPPED]" in l}
    common = set.intersection(*(skips(r) for r in results)) if len(results) > 1 else set()
    for r in results:
        own = sorted(skips(r) - common)
        if r["status"] == "passed" and own:
            r["status"], r["text"] = "skipped", own[0]
        r.pop("console", None)


def write_junit(path, suite_name, results):
    counts = tally(results)
    ts = ET.Element("testsuite", name=suite_name, tests=str(len(results)),
                    failures=str(counts["failed"]), errors=str(counts["error"]),
                    skipped=str(counts["skipped"]),
                    time="%.2f" % sum(r["time"] for r in results))
    for r in results:
        fam, suite, test = r["name"].split(".")
        tc = ET.SubElement(ts, "testcase", classname="%s.%s" % (fam, suite), name=test,
                           time="%.2f" % r["time"])
        if r["status"] in ("failed", "error"):
            kind = "failure" if r["status"] == "failed" else "error"
            el = ET.SubElement(tc, kind, message=r["text"].split("\n", 1)[0][:200])
            el.text = r["text"]
        elif r["status"] == "skipped":
            ET.SubElement(tc, "skipped", message=r["text"][:200])
    ET.ElementTree(ts).write(path, encoding="utf-8", xml_declaration=True)


def tally(results):
    c = {"total": len(results), "passed": 0, "skipped": 0, "failed": 0, "error": 0}
    for r in results:
        c[r["status"]] += 1
    return c


def write_attr(path, value):
    pathlib.Path(path).write_text(str(value))


class Ours:
    """Two tcmu-harness disks: one on the loopback fabric, one exported over iSCSI."""
    name = "tcmu-harness"

    def __enter__(self):
        self.proc = subprocess.Popen(
            [str(TH), "serve", "--device", "name=conf-sg,size=%dMiB" % SIZE_MIB,
             "--device", "name=conf-isc,size=%dMiB,export=iscsi" % SIZE_MIB],
            stdout=subprocess.PIPE, text=True)
        devs = {}
        while len(devs) < 2:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("tcmu-harness serve exited %s" % self.proc.wait())
            d = json.loads(line)
            devs[d["name"]] = d
        self.sg = devs["conf-sg"]["sg"]
        self.url = devs["conf-isc"]["iscsi"]
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        if self.proc.wait(timeout=60) != 0:
            raise SystemExit("tcmu-harness serve exited %d" % self.proc.returncode)


class RdMcp:
    """LIO's in-kernel RAM disk, exported the same two ways, set up by hand in configfs."""
    name = "rd_mcp"
    IQN = "iqn.2026-11.org.tcmu-harness:conformance-rdmcp"
    LOOP = "naa.5001405c0f0e0001"

    def __enter__(self):
        self.undo = []
        try:
            self._setup()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _mkdir(self, p):
        p = pathlib.Path(p)
        p.mkdir()
        self.undo.append(lambda: p.rmdir())
        return p

    def _link(self, src, dst):
        os.symlink(src, dst)
        self.undo.append(lambda: os.unlink(dst))

    def _setup(self):
        hba = self._mkdir(CFG / "core" / "rd_mcp_4242")
        dev = self._mkdir(hba / "conf")
        write_attr(dev / "control", "rd_pages=%d" % (SIZE_MIB * 256))
        write_attr(dev / "enable", 1)
        # loopback: the nexus first, so that linking the LUN scans it
        if not (CFG / "loopback").exists():
            (CFG / "loopback").mkdir()
        tgt = self._mkdir(CFG / "loopback" / self.LOOP)
        tpg = self._mkdir(tgt / "tpgt_1")
        write_attr(tpg / "nexus", "naa.5001405c0f0e0002")
        lun = self._mkdir(tpg / "lun" / "lun_0")
        self._link(dev, lun / "conf")
        self.sg = self._find_sg(tpg)
        # iSCSI
        if not (CFG / "iscsi").exists():
            (CFG / "iscsi").mkdir()
        itgt = self._mkdir(CFG / "iscsi" / self.IQN)
        itpg = self._mkdir(itgt / "tpgt_1")
        ilun = self._mkdir(itpg / "lun" / "lun_0")
        self._link(dev, ilun / "conf")
        self._mkdir(itpg / "np" / "127.0.0.1:3260")
        for k, v in (("generate_node_acls", 1), ("demo_mode_write_protect", 0),
                     ("authentication", 0), ("cache_dynamic_acls", 1)):
            write_attr(itpg / "attrib" / k, v)
        write_attr(itpg / "enable", 1)
        self.undo.append(lambda: write_attr(itpg / "enable", 0))
        self.url = "iscsi://127.0.0.1:3260/%s/0" % self.IQN

    def _find_sg(self, tpg):
        addr = (tpg / "address").read_text().strip()  # "H:C:T"
        gen = pathlib.Path("/sys/bus/scsi/devices/%s:0/scsi_generic" % addr)
        for _ in range(300):
            sg = sorted(gen.glob("sg*")) if gen.is_dir() else []
            if sg and pathlib.Path("/dev", sg[0].name).exists():
                return "/dev/" + sg[0].name
            time.sleep(0.1)
        raise SystemExit("rd_mcp LUN never appeared at %s" % addr)

    def __exit__(self, *exc):
        while self.undo:
            try:
                self.undo.pop()()
            except OSError as e:
                print("rd_mcp teardown: %s" % e, file=sys.stderr)


def run_family(target, family, out, verbose):
    url, url2 = (target.sg, None) if family == "LINUX" else (target.url, target.url)
    tests = list_tests(family)
    results = []
    for t in tests:
        r = run_one(t, url, url2)
        results.append(r)
    mark_skips(results)
    if verbose:
        for r in results:
            print("  %-60s %s" % (r["name"], r["status"]), flush=True)
    tag = "ours" if target.name == "tcmu-harness" else target.name
    write_junit(out / ("%s-%s.xml" % (tag, family)), "%s.%s" % (tag, family), results)
    return results


def check_baseline(summary, baseline):
    """Returns a list of problems: a family that ran 0 tests, fewer passes than the
    baseline, or a test the baseline says passes that no longer does."""
    problems = []
    for fam, res in summary.items():
        base = baseline.get(fam)
        passed = {r["name"] for r in res if r["status"] == "passed"}
        if not res:
            problems.append("%s: ran 0 tests" % fam)
            continue
        if base is None:
            problems.append("%s: no baseline recorded" % fam)
            continue
        if len(passed) < base["passed"]:
            problems.append("%s: %d passed, baseline %d" % (fam, len(passed), base["passed"]))
        lost = sorted(set(base["passing"]) - passed)
        if lost:
            problems.append("%s: no longer passing: %s" % (fam, ", ".join(lost)))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", action="append", choices=("ours", "rd_mcp"))
    ap.add_argument("--family", action="append", choices=FAMILIES)
    ap.add_argument("--out", default=str(ROOT / "results" / "conformance"))
    ap.add_argument("--baseline", help="fail if our counts drop below this JSON")
    ap.add_argument("--write-baseline", help="record our passing tests in this JSON")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    targets = a.target or ["ours"]
    families = a.family or list(FAMILIES)
    if not (CFG / "core").is_dir():
        raise SystemExit("no configfs target core here: run through `tcmu-harness with-kernel`")
    if not shutil.which("iscsi-test-cu"):
        raise SystemExit("iscsi-test-cu not found (package libiscsi-bin)")
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = {}
    for tname in targets:
        with (Ours() if tname == "ours" else RdMcp()) as target:
            summary[tname] = {}
            for fam in families:
                t0 = time.monotonic()
                res = run_family(target, fam, out, a.verbose)
                summary[tname][fam] = res
                c = tally(res)
                print("%-13s %-6s total %3d  passed %3d  skipped %3d  failed %3d  error %3d"
                      "  (%.0f s)" % (target.name, fam, c["total"], c["passed"], c["skipped"],
                                      c["failed"], c["error"], time.monotonic() - t0),
                      flush=True)
                for r in res:
                    if r["status"] in ("failed", "error"):
                        print("    %s %s: %s" % (r["status"].upper(), r["name"],
                                               r["text"].split("\n", 1)[0]), flush=True)
    counts = {t: {f: tally(r) for f, r in fams.items()} for t, fams in summary.items()}
    (out / "summary.json").write_text(json.dumps(
        {"counts": counts,
         "results": {t: {f: [{k: r[k] for k in ("name", "status")} for r in res]
                         for f, res in fams.items()} for t, fams in summary.items()}},
        indent=1))
    if a.write_baseline and "ours" in summary:
        pathlib.Path(a.write_baseline).write_text(json.dumps(
            {f: {"passed": sum(r["status"] == "passed" for r in res),
                 "passing": sorted(r["name"] for r in res if r["status"] == "passed")}
             for f, res in summary["ours"].items()}, indent=1) + "\n")
    if a.baseline and "ours" in summary:
        problems = check_baseline(summary["ours"], json.loads(pathlib.Path(a.baseline).read_text()))
        for p in problems:
            print("CONFORMANCE REGRESSION: " + p, file=sys.stderr)
        if problems:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
