#!/usr/bin/python3
"""A stand-in for `tcmu-harness serve --control SOCK [--trace FILE]` that needs no kernel:
it speaks the control protocol (docs/control-protocol.md) over in-memory devices, so the
Python package and its pytest plugin can be tested anywhere. Misbehaviour on request,
from the environment:
  FAKE_EXIT_AT_START=N   say "fake: cannot start" on stderr and exit N before listening
  FAKE_START_DELAY=S     listen only after S seconds
  FAKE_DIE_ON=OP         exit 7 (after a stderr line) on receiving OP, unanswered
  FAKE_HANG_ON=OP        never answer OP
  FAKE_STUBBORN=1        answer shutdown but stay, and ignore SIGTERM (SIGKILL needed)
  FAKE_BAD_ID_ON=OP      answer OP with another id
  FAKE_GARBAGE_ON=OP     answer OP with a line that is not JSON
  FAKE_KMSG=FILE         the "kernel log": its lines (a test appends to it)
  FAKE_LOG=FILE          every request received, one JSON line each
  FAKE_EXIT_STATUS=N     exit status after a shutdown (default 0)
A request {"request": "_inject", "entry": {...}} appends a trace entry (tests only).
Protocol 2, as serve: the request's name is "request"; "op" is wait's opcode filter."""
import json
import os
import re
import signal
import socket
import sys
import threading
import time

ENV = os.environ
lock = threading.Condition()
devices = {}  # name -> object
rules = {}  # name -> list of rules
trace = []
state = {"sg": 0, "rule": 0, "stop": False}
SPLAT = re.compile(r"BUG:|WARNING:|Oops|Call Trace|general protection")


def kmsg_lines():
    path = ENV.get("FAKE_KMSG")
    if not path or not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().splitlines()


def add_trace(entry):
    with lock:
        entry = dict(entry, seq=len(trace))
        trace.append(entry)
        lock.notify_all()


def spec_to_device(spec):
    d = {}
    for part in spec.split(","):
        k, _, v = part.partition("=")
        d[k] = v
    return d


def add_device(req):
    if "spec" in req:
        d = spec_to_device(req["spec"])
    elif isinstance(req.get("device"), dict):
        d = dict(req["device"])
    else:
        raise ValueError("add_device: give device (a mapping) or spec")
    name = d.get("name")
    if not name:
        raise ValueError("request:1:1: device: name is required")
    allowed = {"name", "type", "size", "block_size", "backing", "vendor", "product",
               "revision", "serial", "wwn", "export", "iqn", "portal", "initiators", "chap",
               "workers", "early_warning", "second_partition", "write_protect", "loaded",
               "image", "media", "lun", "target", "external", "capacity"}
    for k in d:
        if k not in allowed:
            raise ValueError(f"request:1:1: device: unknown key '{k}'")
    with lock:
        if name in devices:
            raise ValueError(f"device {name} already exists")
        n = state["sg"]
        state["sg"] += 1
    typ = d.get("type", "disk")
    obj = {"name": name, "type": typ, "state": "online", "sg": f"/dev/sg{n}",
           "sd": f"/dev/sd{chr(97 + n % 26)}" if typ == "disk" else None,
           "st": f"/dev/st{n}" if typ == "tape" else None,
           "nst": f"/dev/nst{n}" if typ == "tape" else None,
           "address": f"9:0:{n}:0", "backstore": f"/fake/th-0000-{name}",
           "iscsi": None, "wwn": "naa.5001405000000000", "size": d.get("size", "64MiB"),
           "block_size": d.get("block_size", 512), "_given": d}
    with lock:
        devices[name] = obj
        rules[name] = []
    add_trace({"device": name, "op": "INQUIRY", "status": 0, "rule": None})
    return {"device": {k: v for k, v in obj.items() if not k.startswith("_")} |
            {"given": d}}


def need_device(req):
    name = req.get("device")
    if name not in devices:
        raise ValueError(f"request:1:1: no device '{name}'")
    return name


def handle(req):
    op = req.get("request") or None
    if op is None and "op" in req:
        raise ValueError(f"request:1:1: the request's name goes in \"request\" now (protocol "
                         f"2): {{\"request\": \"{req['op']}\", ...}}; \"op\" is only wait's "
                         f"opcode filter")
    if op is None:
        raise ValueError("request:1:1: a request needs \"request\": NAME")
    if op == "version":
        return {"protocol": 2, "version": "fake", "instance": "0000fake"}
    if op == "cursor":
        with lock:
            return {"next": len(trace)}
    if op == "devices":
        with lock:
            return {"devices": [{k: v for k, v in d.items() if not k.startswith("_")}
                                for d in devices.values()]}
    if op == "add_device":
        return add_device(req)
    if op == "remove_device":
        name = need_device(req)
        with lock:
            del devices[name]
            del rules[name]
        return {}
    if op == "add_rule":
        name = need_device(req)
        with lock:
            rname = req.get("name")
            if not rname:
                state["rule"] += 1
                rname = f"rule-{state['rule']}"
            if any(r["name"] == rname for r in rules[name]):
                raise ValueError(f"device {name} has a rule '{rname}' already")
            rules[name].append({"name": rname, "fired": 0, "times": req.get("times"),
                                "spent": False, "match": req.get("match"),
                                "respond": req.get("respond")})
        return {"rule": rname}
    if op == "remove_rule":
        name = need_device(req)
        with lock:
            before = len(rules[name])
            rules[name] = [r for r in rules[name] if r["name"] != req.get("name")]
            if len(rules[name]) == before:
                raise ValueError(f"device {name} has no rule '{req.get('name')}'")
        return {}
    if op == "list_rules":
        name = need_device(req)
        with lock:
            return {"rules": [{"name": r["name"], "index": i, "fired": r["fired"],
                               "times": r["times"], "spent": r["spent"]}
                              for i, r in enumerate(rules[name])]}
    if op == "_fire":  # tests: a rule answered a command
        name = need_device(req)
        with lock:
            for r in rules[name]:
                if r["name"] == req["name"]:
                    r["fired"] += 1
                    r["spent"] = r["times"] is not None and r["fired"] >= r["times"]
        add_trace({"device": name, "op": "READ_10", "status": 2, "rule": req["name"]})
        return {}
    if op in ("set_state", "queue_ua", "offline", "online", "set_capacity", "load", "unload"):
        name = need_device(req)
        with lock:
            if op in ("offline", "online"):
                devices[name]["state"] = op
            if op == "set_capacity":
                if devices[name]["type"] != "disk":
                    raise ValueError(f"set_capacity: {name} is a tape")
                devices[name]["size"] = req["size"]
            if op in ("load", "unload") and devices[name]["type"] != "tape":
                raise ValueError(f"{op}: {name} is a disk")
            devices[name].setdefault("_acts", []).append(req)
        return {}
    if op == "_inject":
        add_trace(req["entry"])
        return {}
    if op == "trace":
        after, mx = int(req.get("after", 0)), int(req.get("max", 1000))
        after_beyond("trace", req)
        with lock:
            page = trace[after:after + mx]
        return {"entries": page, "next": after + len(page)}
    if op == "wait":
        return wait(req)
    if op == "stats":
        with lock:
            return {"devices": {n: {"commands": sum(1 for e in trace if e.get("device") == n)}
                                for n in devices}}
    if op == "kmsg_mark":
        return {"mark": len(kmsg_lines())}
    if op == "kmsg_check":
        lines = kmsg_lines()[int(req["since"]):]
        allow = [re.compile(a) for a in req.get("allow", [])]
        fails = [f"kernel log: {line}" for line in lines
                 if SPLAT.search(line) and not any(a.search(line) for a in allow)]
        return {"log": lines, "failures": fails}
    if op == "shutdown":
        return {}
    raise ValueError(f"request:1:1: unknown request '{op}'")


def after_beyond(what, req):
    """As serve: an after beyond the cursor names entries that do not exist yet."""
    if "after" not in req:
        return
    with lock:
        now = len(trace)
    if int(req["after"]) > now:
        raise ValueError(f"{what}: after {int(req['after'])} is beyond the trace's cursor "
                         f"{now} (entries from the cursor on are still to come; the cursor "
                         f"request gives it)")


FILTERS = ("device", "op", "status", "rule", "tmr", "lba")  # the wait_trace step's keys
WAIT_KEYS = set(FILTERS) | {"request", "id", "count", "timeout", "after"}
# serve keeps an op as the trace names it; the few the tests use (others: 0xNN)
OP_NAMES = {0x00: "TEST_UNIT_READY", 0x12: "INQUIRY", 0x28: "READ_10", 0x2A: "WRITE_10"}
TMRS = {"ABORT_TASK", "ABORT_TASK_SET", "CLEAR_ACA", "CLEAR_TASK_SET", "LUN_RESET",
        "TARGET_WARM_RESET", "TARGET_COLD_RESET", "QUERY_TASK", "QUERY_TASK_SET",
        "QUERY_ASYNC_EVENT"}


def op_name(v):
    if isinstance(v, str) and v.upper() in OP_NAMES.values():
        return v.upper()
    try:
        n = v if isinstance(v, int) else int(str(v), 0)
    except ValueError:
        raise ValueError(f"request:1:1: '{v}' is not an opcode name (like READ_10) or number"
                         ) from None
    if not 0 <= n <= 255:
        raise ValueError(f"request:1:1: '{v}' is not an opcode name (like READ_10) or number")
    return OP_NAMES.get(n, f"0x{n:02X}")


def wait(req):
    for k in req:
        if k not in WAIT_KEYS:
            raise ValueError(f"request:1:1: unknown key '{k}' in wait")
    count = int(req.get("count", 1))
    timeout = req.get("timeout", 10)
    try:  # a JSON number, or one in a string, as serve reads it
        timeout = float(timeout) if not isinstance(timeout, bool) else -1.0
    except (TypeError, ValueError):
        timeout = -1.0
    if not 0 <= timeout <= 86400:
        raise ValueError(f"request:1:1: timeout: '{timeout}' is not a number of seconds "
                         f"from 0 to 86400 (fractions allowed, like 0.5)")
    filt = {k: req[k] for k in FILTERS if k in req}
    if "op" in filt:
        filt["op"] = op_name(filt["op"])
    if "tmr" in filt:
        tmr = str(filt["tmr"]).upper().replace("-", "_")
        if tmr not in TMRS:
            raise ValueError(f"request:1:1: '{filt['tmr']}' is not a TMR type "
                             f"(like ABORT_TASK, LUN_RESET)")
        filt["tmr"] = tmr
    after_beyond("wait", req)
    end = time.monotonic() + timeout
    with lock:
        pos = int(req["after"]) if "after" in req else len(trace)
        matched = 0
        while True:
            while pos < len(trace) and matched < count:
                e = trace[pos]
                pos += 1
                if all(e.get(k) == v for k, v in filt.items()):
                    matched += 1
            if matched >= count:
                return {"matched": matched, "next": pos}
            left = end - time.monotonic()
            if left <= 0 or state["stop"]:
                return {"ok": False, "matched": matched, "next": pos,
                        "error": f"wait: {matched} of {count} matching entries within "
                                 f"{timeout:g} s"}
            lock.wait(min(left, 0.1))


def respond(conn, req, resp):
    out = {"ok": True, "id": req.get("id")}
    out.update(resp)
    if req.get("request") and os.environ.get("FAKE_BAD_ID_ON") == req.get("request"):
        out["id"] = "someone-else"
    line = json.dumps(out) + "\n"
    if req.get("request") and os.environ.get("FAKE_GARBAGE_ON") == req.get("request"):
        line = "this is not json\n"
    conn.sendall(line.encode())


def client(conn, on_shutdown):
    buf = b""
    with conn:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                try:
                    req = json.loads(raw)
                except ValueError as e:
                    conn.sendall((json.dumps({"ok": False, "id": None,
                                              "error": f"request:1:1: {e}"}) + "\n").encode())
                    continue
                if ENV.get("FAKE_LOG"):
                    with lock, open(ENV["FAKE_LOG"], "a") as f:
                        f.write(json.dumps(req) + "\n")
                op = req.get("request", "")
                if op and ENV.get("FAKE_DIE_ON") == op:
                    sys.stderr.write(f"fake: dying on {op}\n")
                    sys.stderr.flush()
                    os._exit(7)
                if op and ENV.get("FAKE_HANG_ON") == op:
                    time.sleep(3600)
                try:
                    resp = handle(req)
                except (ValueError, KeyError, TypeError) as e:
                    resp = {"ok": False, "error": str(e.args[0] if e.args else e)}
                respond(conn, req, resp)
                if op == "shutdown":
                    on_shutdown()


def main():
    args = sys.argv[1:]
    if not args or args[0] != "serve" or "--control" not in args:
        sys.stderr.write("fake: usage: serve --control SOCK [--trace FILE]\n")
        return 2
    path = args[args.index("--control") + 1]
    if ENV.get("FAKE_EXIT_AT_START"):
        sys.stderr.write("fake: cannot start\n")
        return int(ENV["FAKE_EXIT_AT_START"])
    time.sleep(float(ENV.get("FAKE_START_DELAY", "0")))
    stop = threading.Event()
    stubborn = ENV.get("FAKE_STUBBORN") == "1"
    signal.signal(signal.SIGTERM, (lambda *a: None) if stubborn else (lambda *a: stop.set()))
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    srv.settimeout(0.1)

    def on_shutdown():
        if not stubborn:
            stop.set()

    while not stop.is_set():
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=client, args=(conn, on_shutdown), daemon=True).start()
    with lock:
        state["stop"] = True
        lock.notify_all()
    srv.close()
    os.unlink(path)
    if "--trace" in args:
        with open(args[args.index("--trace") + 1], "w") as f:
            for e in trace:
                f.write(json.dumps(e) + "\n")
    sys.stderr.write("fake: stopped\n")
    return int(ENV.get("FAKE_EXIT_STATUS", "0"))


if __name__ == "__main__":
    sys.exit(main())
