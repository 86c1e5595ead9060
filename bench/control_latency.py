#!/usr/bin/env python3
"""Round-trip latency of the control channel: serve --control with one disk, then N
add_rule (each followed by its remove_rule) and N wait requests over one connection,
each timed from the write of the request to the read of its response line.

The waits ask for an entry that is already in the trace (the INQUIRY the kernel sent
when the disk appeared), so they measure the channel and the trace lookup, not the kernel.
Needs the real kernel (run it in the VM):
  ./build/tcmu-harness vm --timeout 900 -- python3 bench/control_latency.py
"""
import argparse
import json
import os
import pathlib
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def start(th: pathlib.Path, path: str) -> subprocess.Popen:
    p = subprocess.Popen([str(th), "serve", "--device", "name=b0,size=8MiB", "--control", path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ready, _, _ = select.select([p.stdout], [], [], 60)
    if not ready or not p.stdout.readline():
        p.kill()
        sys.exit(f"serve did not come up: {p.stderr.read().decode()}")
    return p


class Conn:
    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")

    def timed(self, line: bytes) -> tuple[float, dict]:
        t0 = time.perf_counter_ns()
        self.sock.sendall(line)
        resp = self.file.readline()
        t1 = time.perf_counter_ns()
        return (t1 - t0) / 1000.0, json.loads(resp)


def summary(name: str, us: list[float]) -> dict:
    us = sorted(us)
    return {"request": name, "n": len(us), "median_us": round(statistics.median(us), 1),
            "p90_us": round(us[int(len(us) * 0.9)], 1), "p99_us": round(us[int(len(us) * 0.99)], 1),
            "max_us": round(us[-1], 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000, help="round trips of each kind")
    ap.add_argument("--harness", default=str(ROOT / "build" / "tcmu-harness"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ctl.sock")
        serve = start(pathlib.Path(a.harness), path)
        try:
            c = Conn(path)
            add = json.dumps({"request": "add_rule", "device": "b0", "name": "bench",
                              "match": {"op": "WRITE_10", "lba": "100-107"},
                              "respond": {"sense": {"key": "MEDIUM_ERROR", "asc": "0x0C"}}})
            remove = json.dumps({"request": "remove_rule", "device": "b0", "name": "bench"})
            wait = json.dumps({"request": "wait", "device": "b0", "op": "INQUIRY", "after": 0,
                               "timeout": 5})
            adds, removes, waits = [], [], []
            for _ in range(a.n):
                us, r = c.timed(add.encode() + b"\n")
                assert r["ok"], r
                adds.append(us)
                us, r = c.timed(remove.encode() + b"\n")
                assert r["ok"], r
                removes.append(us)
            for _ in range(a.n):
                us, r = c.timed(wait.encode() + b"\n")
                assert r["ok"] and r["matched"] == 1, r
                waits.append(us)
            _, r = c.timed(b'{"request":"shutdown"}\n')
            assert r["ok"], r
        finally:
            try:
                serve.wait(timeout=60)
            except subprocess.TimeoutExpired:
                serve.kill()
        for s in (summary("add_rule", adds), summary("remove_rule", removes),
                  summary("wait", waits)):
            print(json.dumps(s))
    return 0 if serve.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
