"""`tcmu-harness serve --control SOCK` as a Python object: started with no devices,
driven over the control socket, stopped with `shutdown` (SIGTERM, then SIGKILL, if it
does not go)."""
from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Union

from .client import PROTOCOL, Client, ConnectionLost, TcmuHarnessError
from .device import Device, device_request

__all__ = ["Server", "find_binary"]

PathLike = Union[str, "os.PathLike[str]"]


def _installed_binary() -> Optional[pathlib.Path]:
    """cmake --install writes _installed.py: the CLI's path relative to this package (so a
    relocated prefix still finds it). A checkout has none."""
    try:
        from ._installed import BINARY  # type: ignore[import-not-found]
    except ImportError:
        return None
    return pathlib.Path(__file__).resolve().parent / BINARY


def find_binary(binary: Optional[PathLike] = None) -> str:
    """The tcmu-harness executable: the one given, else $TCMU_HARNESS_BIN, else
    `tcmu-harness` on PATH, else bin/tcmu-harness of the prefix this package was installed
    into (`cmake --install`), else build/tcmu-harness of the checkout this package is in."""
    if binary is not None:
        return str(binary)
    env = os.environ.get("TCMU_HARNESS_BIN")
    if env:
        return env
    found = shutil.which("tcmu-harness")
    if found:
        return found
    installed = _installed_binary()
    if installed is not None and installed.is_file() and os.access(installed, os.X_OK):
        return str(installed)
    in_tree = pathlib.Path(__file__).resolve().parents[2] / "build" / "tcmu-harness"
    if in_tree.is_file() and os.access(in_tree, os.X_OK):
        return str(in_tree)
    raise TcmuHarnessError("no tcmu-harness executable: give its path (Server(binary=...), "
                           "--tcmu-harness-bin, or $TCMU_HARNESS_BIN) or put it on PATH")


class _Tail:
    """Collects a pipe's lines on a thread, so the server never blocks on a full pipe."""

    def __init__(self, stream: Any, keep: int = 2000) -> None:
        self.lines: List[str] = []
        self._keep = keep
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            if len(self.lines) > self._keep:
                del self.lines[: len(self.lines) - self._keep]
        stream.close()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def text(self) -> str:
        return "\n".join(self.lines)


class Server:
    """One `tcmu-harness serve` process with a control socket and no devices at first.

        with Server() as s:
            d = s.add_disk(size="8MiB")
            d.add_rule(match={"op": "READ_10", "lba": "100-107"},
                       respond={"sense": {"key": "MEDIUM_ERROR", "asc": 0x11, "ascq": 0}},
                       times=1)
    """

    def __init__(self, binary: Optional[PathLike] = None, *, trace: Optional[PathLike] = None,
                 control: Optional[PathLike] = None, args: Sequence[str] = (),
                 env: Optional[Mapping[str, str]] = None, start_timeout: float = 30.0,
                 request_timeout: float = 120.0, stop_timeout: float = 60.0) -> None:
        self.binary = find_binary(binary)
        self.trace_path = str(trace) if trace is not None else None
        self._tmpdir: Optional[str] = None
        if control is None:
            self._tmpdir = tempfile.mkdtemp(prefix="tcmu-harness-")
            control = os.path.join(self._tmpdir, "control.sock")
        self.control = str(control)
        self.args = list(args)
        self.env = dict(env) if env is not None else None
        self.start_timeout = start_timeout
        self.request_timeout = request_timeout
        self.stop_timeout = stop_timeout
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.info: Dict[str, Any] = {}
        self._client: Optional[Client] = None
        self._stderr: Optional[_Tail] = None
        self._stdout: Optional[_Tail] = None
        self._names = 0
        self._names_lock = threading.Lock()
        self._conn_lock = threading.Lock()

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> "Server":
        if self.proc is not None:
            raise TcmuHarnessError("this server was started already")
        argv = [self.binary, "serve", "--control", self.control]
        if self.trace_path:
            argv += ["--trace", self.trace_path]
        argv += self.args
        env = None if self.env is None else {**os.environ, **self.env}
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, env=env)
        except OSError as e:
            self._cleanup_files()
            raise TcmuHarnessError(f"cannot run {self.binary}: {e.strerror or e}") from e
        # A script that ends without stop() (an exception, no `with`) must not leave serve
        # running with its devices, re-parented to init: reaped when this object goes, or
        # at interpreter exit at the latest. (Holds the process, not self.)
        weakref.finalize(self, _reap, self.proc, self._tmpdir, self.stop_timeout)
        self._stderr = _Tail(self.proc.stderr)
        self._stdout = _Tail(self.proc.stdout)
        try:
            self._connect()
        except BaseException:
            self._terminate()
            self._cleanup_files()
            raise
        return self

    def _connect(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.start_timeout
        last = ""
        while True:
            if self.proc.poll() is not None:
                self._stderr.join(5) if self._stderr else None
                raise TcmuHarnessError(f"tcmu-harness serve exited with status "
                                       f"{self.proc.returncode} before its control socket "
                                       f"answered{self._stderr_suffix()}")
            if os.path.exists(self.control):
                try:
                    client = Client(self.control, timeout=self.request_timeout)
                    info = client.request("version", timeout=10)
                    # (a serve older than the pid key cannot be told apart: taken)
                    if "pid" not in info or _descends(info["pid"], self.proc.pid):
                        self.info = info
                        self._client = client
                        break
                    # another serve holds the path (ours exits on PATH.lock): never adopt it
                    client.close()
                    last = (f"the socket is answered by another serve (pid "
                            f"{info.get('pid')!r}, not {self.proc.pid})")
                except TcmuHarnessError as e:
                    last = str(e)
                except TcmuHarnessError as e:
                    last = str(e)
            if time.monotonic() > deadline:
                raise TcmuHarnessError(f"tcmu-harness serve: the control socket {self.control} "
                                       f"did not answer within {self.start_timeout:g} s"
                                       f"{' (' + last + ')' if last else ''}"
                                       f"{self._stderr_suffix()}")
            time.sleep(0.05)
        if self.info.get("protocol") != PROTOCOL:
            raise TcmuHarnessError(f"tcmu-harness serve speaks control protocol "
                                   f"{self.info.get('protocol')!r}; this package speaks "
                                   f"{PROTOCOL}")

    def stop(self) -> int:
        """Asks serve to shut down (it tears every device down and exits); SIGTERM
        after stop_timeout, SIGKILL after as long again. Returns its exit status."""
        if self.proc is None:
            return 0
        asked = False
        if self.proc.poll() is None and self._client is not None:
            try:
                self.request("shutdown", timeout=10)
                asked = True
            except TcmuHarnessError:
                pass  # gone already, or refused: the signals below
        rc = self._terminate(asked)
        self._cleanup_files()
        return rc

    def kill(self) -> int:
        """SIGKILL: no teardown runs (what a crashed harness leaves behind)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.kill()
        rc = self.proc.wait()
        self._close_client()
        self._cleanup_files()
        return rc

    def _terminate(self, asked: bool = False) -> int:
        assert self.proc is not None
        self._close_client()
        steps = (None, signal.SIGTERM, signal.SIGKILL) if asked else (signal.SIGTERM,
                                                                       signal.SIGKILL)
        for sig in steps:
            if sig is not None and self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=self.stop_timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        if self.proc.poll() is None:
            self.proc.wait()  # after SIGKILL: it goes, however long the kernel takes
        for tail in (self._stderr, self._stdout):
            if tail:
                tail.join(5)
        return self.proc.returncode

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _cleanup_files(self) -> None:
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> "Server":
        return self.start() if self.proc is None else self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        rc = self.stop()
        if rc != 0 and exc_type is None:
            raise TcmuHarnessError(f"tcmu-harness serve exited with status {rc}"
                                   f"{self._stderr_suffix()}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        return None if self.proc is None else self.proc.poll()

    @property
    def pid(self) -> Optional[int]:
        return None if self.proc is None else self.proc.pid

    @property
    def stderr(self) -> str:
        """What serve wrote to stderr so far (its messages and warnings)."""
        return self._stderr.text() if self._stderr else ""

    @property
    def stdout(self) -> str:
        return self._stdout.text() if self._stdout else ""

    def _stderr_suffix(self) -> str:
        text = self.stderr.strip()
        return f"; its stderr:\n{text}" if text else ""

    # --- requests ---------------------------------------------------------------------

    def request(self, op: str, arguments: Optional[Mapping[str, Any]] = None, /, *,
                timeout: Optional[float] = None, check: bool = True,
                **args: Any) -> Dict[str, Any]:
        """One request on the server's connection; see docs/control-protocol.md and
        Client.request (arguments: a mapping, for ones named timeout or check)."""
        args = {**(arguments or {}), **args}
        client = self._client
        if client is None:
            raise TcmuHarnessError("the server is not running (start() it, or use `with`)",
                                   op=op)
        if client.closed and self.running:
            # closed after a timeout or a broken response (a late answer must not be read
            # as the next one's): a fresh connection, so one such request does not fail
            # every later one (a session's server serves all the tests)
            with self._conn_lock:
                if self._client is client:
                    try:
                        self._client = Client(self.control, timeout=self.request_timeout)
                    except ConnectionLost:
                        pass  # the closed one then says why, serve's status included
                client = self._client or client
        return self._call(client, op, timeout, check, args)

    def _call(self, client: Client, op: str, timeout: Optional[float], check: bool,
              args: Dict[str, Any]) -> Dict[str, Any]:
        try:
            return client.request(op, args, timeout=timeout, check=check)
        except ConnectionLost as e:
            if self.proc is not None:
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                if self.proc.poll() is not None:
                    if self._stderr:
                        self._stderr.join(5)
                    raise ConnectionLost(f"{e.message}: tcmu-harness serve exited with "
                                         f"status {self.proc.returncode}"
                                         f"{self._stderr_suffix()}", op=op) from e
            raise

    def connect(self) -> Client:
        """A second connection (for a blocking wait alongside other requests)."""
        return Client(self.control, timeout=self.request_timeout)

    def version(self) -> Dict[str, Any]:
        return self.request("version")

    @property
    def instance(self) -> str:
        return str(self.info.get("instance", ""))

    def _auto_name(self, prefix: str) -> str:
        with self._names_lock:
            n = self._names
            self._names += 1
        return f"{prefix}{n}"

    def add_device(self, device: Optional[Mapping[str, Any]] = None, *,
                   spec: Optional[str] = None, **keys: Any) -> Device:
        """Adds a device: a YAML device mapping (docs/scenario-format.md "devices") as a
        dict or as keyword arguments (size="8MiB", block_size=4096, type="tape", ...), or
        a SPEC string (spec="name=d0,size=8MiB,lun=1", as `serve --device`). Without a
        name one is made up (dev0, dev1, ...)."""
        args = device_request(device, spec, keys, lambda: self._auto_name("dev"))
        since = self.cursor()
        resp = self.request("add_device", **args)
        return Device(self, resp["device"], since=since)

    def add_disk(self, device: Optional[Mapping[str, Any]] = None, *,
                 spec: Optional[str] = None, **keys: Any) -> Device:
        """add_device with type disk (names disk0, disk1, ... unless given)."""
        args = device_request(device, spec, keys, lambda: self._auto_name("disk"), "disk")
        since = self.cursor()
        return Device(self, self.request("add_device", **args)["device"], since=since)

    def add_tape(self, device: Optional[Mapping[str, Any]] = None, *,
                 spec: Optional[str] = None, **keys: Any) -> Device:
        """add_device with type tape (names tape0, tape1, ... unless given)."""
        args = device_request(device, spec, keys, lambda: self._auto_name("tape"), "tape")
        since = self.cursor()
        return Device(self, self.request("add_device", **args)["device"], since=since)

    def remove_device(self, name: str) -> None:
        self.request("remove_device", device=name)

    def devices(self) -> List[Device]:
        return [Device(self, d) for d in self.request("devices")["devices"]]

    def device(self, name: str) -> Device:
        """The live device of that name (KeyError if there is none)."""
        for d in self.request("devices")["devices"]:
            if d.get("name") == name:
                return Device(self, d)
        raise KeyError(name)

    __getitem__ = device

    def stats(self) -> Dict[str, Any]:
        return dict(self.request("stats")["devices"])

    # --- the trace --------------------------------------------------------------------

    def cursor(self) -> int:
        """The trace index the next entry will get: give it as after= to see only what
        comes later."""
        return int(self.request("cursor")["next"])

    def trace_page(self, after: int = 0, max: int = 1000) -> Dict[str, Any]:
        """One `trace` request: {"entries": [...], "next": cursor}."""
        return self.request("trace", after=after, max=max)

    def iter_trace(self, after: int = 0) -> Iterator[Dict[str, Any]]:
        """Every kept entry from index `after` on, each with its "seq"."""
        while True:
            page = self.trace_page(after)
            entries = page.get("entries") or []
            yield from entries
            nxt = int(page.get("next", after))
            if not entries or nxt <= after:
                return
            after = nxt

    def trace(self, after: int = 0, **filters: Any) -> List[Dict[str, Any]]:
        """The entries from index `after` on that match filters (device=, op=, status=,
        rule=, tmr=, lba=; as `wait` and expect_trace filter)."""
        return [e for e in self.iter_trace(after) if trace_matches(e, filters)]

    def wait_trace(self, *, timeout: float = 10.0, count: int = 1,
                   after: Optional[int] = None, **filters: Any) -> int:
        """Blocks until `count` trace entries from index `after` (default: now) match the
        filters; returns how many matched. Raises WaitTimeout (with .matched) when they
        do not come within timeout seconds. Runs on its own connection, so other threads
        may drive the server meanwhile."""
        args: Dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
        args["count"] = count
        args["timeout"] = timeout  # seconds, as the wait_trace step takes it
        if after is not None:
            args["after"] = after
        with self.connect() as c:
            resp = self._call(c, "wait", timeout + 30, True, args)
        return int(resp.get("matched", count))

    # --- the kernel log ---------------------------------------------------------------

    def kmsg_mark(self) -> Any:
        """A mark in the kernel log; give it to kmsg_check as since."""
        return self.request("kmsg_mark")["mark"]

    def kmsg_check(self, since: Any, *, allow: Iterable[str] = (),
                   expect: Iterable[str] = (), forbid: Iterable[str] = ()) -> Dict[str, Any]:
        """The kernel log since the mark and its verdict: {"log": [...], "failures": [...]}
        (no failures: it passed). allow/expect/forbid are extended regexes."""
        args: Dict[str, Any] = {"since": since}
        for key, val in (("allow", allow), ("expect", expect), ("forbid", forbid)):
            val = list(val)
            if val:
                args[key] = val
        return self.request("kmsg_check", **args)


def _reap(proc: "subprocess.Popen[bytes]", tmpdir: Optional[str], timeout: float) -> None:
    if proc.poll() is None:
        proc.terminate()  # serve tears its devices down on SIGTERM
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if tmpdir:
        shutil.rmtree(tmpdir, ignore_errors=True)


# SAM status names, as filters and expect_trace take them (the trace has numbers).
STATUS = {"GOOD": 0x00, "CHECK_CONDITION": 0x02, "CONDITION_MET": 0x04, "BUSY": 0x08,
          "RESERVATION_CONFLICT": 0x18, "TASK_SET_FULL": 0x28, "ACA_ACTIVE": 0x30,
          "TASK_ABORTED": 0x40}


def _status(v: Any) -> Any:
    if isinstance(v, str):
        name = v.strip().upper()
        if name in STATUS:
            return STATUS[name]
        try:
            return int(name, 0)
        except ValueError:
            return v
    return v


# The names the trace writes for an opcode given as a number (service action 0), as the
# server's op filter keeps it (framework/emu/disk.c, then tape.c; test_opcode_table checks).
OP_NAMES = {
    0x00: "TEST_UNIT_READY",
    0x01: "REWIND",
    0x03: "REQUEST_SENSE",
    0x05: "READ_BLOCK_LIMITS",
    0x08: "READ_6",
    0x0A: "WRITE_6",
    0x10: "WRITE_FILEMARKS_6",
    0x11: "SPACE_6",
    0x12: "INQUIRY",
    0x15: "MODE_SELECT_6",
    0x19: "ERASE_6",
    0x1A: "MODE_SENSE_6",
    0x1B: "START_STOP_UNIT",
    0x1E: "PREVENT_ALLOW_MEDIUM_REMOVAL",
    0x25: "READ_CAPACITY_10",
    0x28: "READ_10",
    0x2A: "WRITE_10",
    0x2B: "LOCATE_10",
    0x2E: "WRITE_AND_VERIFY_10",
    0x2F: "VERIFY_10",
    0x34: "PRE_FETCH_10",
    0x35: "SYNCHRONIZE_CACHE_10",
    0x37: "READ_DEFECT_DATA_10",
    0x41: "WRITE_SAME_10",
    0x42: "UNMAP",
    0x44: "REPORT_DENSITY_SUPPORT",
    0x4D: "LOG_SENSE",
    0x55: "MODE_SELECT_10",
    0x5A: "MODE_SENSE_10",
    0x83: "EXTENDED_COPY",
    0x88: "READ_16",
    0x89: "COMPARE_AND_WRITE",
    0x8A: "WRITE_16",
    0x8B: "ORWRITE_16",
    0x8E: "WRITE_AND_VERIFY_16",
    0x8F: "VERIFY_16",
    0x90: "PRE_FETCH_16",
    0x91: "SYNCHRONIZE_CACHE_16",
    0x92: "LOCATE_16",
    0x93: "WRITE_SAME_16",
    0x9C: "WRITE_ATOMIC_16",
    0xA8: "READ_12",
    0xAA: "WRITE_12",
    0xAE: "WRITE_AND_VERIFY_12",
    0xAF: "VERIFY_12",
    0xB7: "READ_DEFECT_DATA_12",
}


def _op(v: Any) -> Any:
    """op as the server's wait reads it: a number (40, "0x28", "40") becomes the name the
    trace writes ("READ_10", or "0xC1" for one without a name); a name stays."""
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        if v.upper() in OP_NAMES.values():
            return v
        try:
            v = int(v.strip(), 0)
        except ValueError:
            return v
    if isinstance(v, int) and 0 <= v <= 255:
        return OP_NAMES.get(v, f"0x{v:02X}")
    return v


def _tmr(v: Any) -> Any:
    """tmr as the server reads it: any case, '-' for '_' ("lun-reset" is LUN_RESET)."""
    return v.strip().upper().replace("-", "_") if isinstance(v, str) else v


def _descends(pid: Any, ancestor: int) -> bool:
    """Whether pid is ancestor or runs under it (serve may be started through a wrapper)."""
    for _ in range(64):
        if not isinstance(pid, int) or pid <= 1:
            return False
        if pid == ancestor:
            return True
        try:
            stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.upper() == b.upper()
    return bool(a == b)


def trace_matches(entry: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    """Whether one trace entry passes filters, as the server's wait decides: with tmr=
    only TMRs of that type (and only device= applies), without it only commands."""
    tmr = filters.get("tmr")
    if tmr is not None:
        if "tmr" not in entry or not _same(_tmr(entry.get("tmr")), _tmr(tmr)):
            return False
    elif "tmr" in entry:
        return False
    for key, want in filters.items():
        if key == "tmr" or want is None:
            continue
        got = entry.get(key)
        if key == "status":
            if _status(got) != _status(want):
                return False
        elif key == "lba":
            if got is None or int(got) != int(want):
                return False
        elif key == "op":
            if not _same(got, _op(want)):
                return False
        elif not _same(got, want):
            return False
    return True
