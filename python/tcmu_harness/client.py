"""A JSON-lines client for the control socket of `tcmu-harness serve --control PATH`
(docs/control-protocol.md): one request per line, one response per line, in order."""
from __future__ import annotations

import itertools
import json
import re
import socket
import threading
from typing import Any, Dict, Mapping, Optional

__all__ = ["Client", "TcmuHarnessError", "ConnectionLost", "RequestTimeout", "WaitTimeout",
           "PROTOCOL"]

# The control protocol this package speaks (the `version` request's "protocol"): 2 names
# the request "request" ({"request": "wait", "op": "READ_10", ...}); 1 named it "op".
PROTOCOL = 2

# A response larger than this is taken as a broken server, not buffered for ever.
MAX_RESPONSE = 256 << 20
# The server's limit on a request line (without its "\n"); a longer one is answered and
# the connection closed, usually while we are still sending it: refused here instead.
MAX_REQUEST = 1 << 20


class TcmuHarnessError(Exception):
    """A request failed. `message` is the server's own message when it gave one;
    `response` the whole response object (None when there was none)."""

    def __init__(self, message: str, *, op: Optional[str] = None,
                 response: Optional[Dict[str, Any]] = None) -> None:
        # the server's messages often name the op already ("wait: 0 of 1 ...")
        named = op is None or message.startswith(f"{op}:")
        super().__init__(message if named else f"{op}: {message}")
        self.message = message
        self.op = op
        self.response = response


class ConnectionLost(TcmuHarnessError):
    """The server closed the connection (it exited, or refused us) before answering."""


class RequestTimeout(TcmuHarnessError):
    """No response within the client's timeout. The connection is closed: a late
    response would otherwise be taken as the answer to the next request."""


# The server's answer to a wait that ran out of time (dispatch.c r_wait).
_WAIT_TIMEOUT = re.compile(r"wait: \d+ of \d+ matching entries within ")


class WaitTimeout(TcmuHarnessError):
    """A `wait` ran out of time; `matched` is how many entries did match."""

    def __init__(self, message: str, *, matched: int, op: Optional[str] = "wait",
                 response: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message, op=op, response=response)
        self.matched = matched


class Client:
    """One connection. Thread-safe: requests from several threads are sent one at a
    time (a blocking `wait` holds the connection; use another Client alongside)."""

    def __init__(self, path: str, *, timeout: float = 60.0) -> None:
        self.path = str(path)
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._buf = b""
        self._sock: Optional[socket.socket] = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(self.path)
        except OSError as e:
            self._sock.close()
            self._sock = None
            raise ConnectionLost(f"cannot connect to the control socket {self.path}: "
                                 f"{e.strerror or e}") from e

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._sock is None

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def request(self, op: str, arguments: Optional[Mapping[str, Any]] = None, /, *,
                timeout: Optional[float] = None, check: bool = True,
                **args: Any) -> Dict[str, Any]:
        """Sends {"request": op, "id": N, **args}; returns the response object. With
        check (the default) a response with "ok": false raises TcmuHarnessError carrying
        the server's message (WaitTimeout for a `wait` that timed out). An "op" argument
        is an argument like any other (wait's opcode filter). `timeout` here is how long
        to wait for the response; a request's own arguments named timeout or check (the
        wait's timeout in seconds) go in the `arguments` mapping:
        request("wait", {"op": "READ_10", "timeout": 2.5})."""
        args = {**(arguments or {}), **args}
        if "request" in args or "id" in args:
            raise TypeError("request and id are the envelope's: give the request's name "
                            "first")
        with self._lock:
            if self._sock is None:
                raise ConnectionLost("the connection is closed", op=op)
            rid = next(self._ids)
            line = _encode(op, {"request": op, "id": rid, **args})
            try:
                self._sock.settimeout(self.timeout if timeout is None else timeout)
                self._sock.sendall(line)
                raw = self._read_line(op)
            except socket.timeout as e:
                self.close()
                raise RequestTimeout(f"no response within "
                                     f"{self.timeout if timeout is None else timeout:g} s",
                                     op=op) from e
            except (BrokenPipeError, ConnectionResetError) as e:
                self.close()
                raise ConnectionLost("the server closed the connection", op=op) from e
            except BaseException:
                # interrupted (Ctrl-C, a signal handler's exception) with the request
                # sent: its answer would be read as the next request's
                self.close()
                raise
        try:
            resp = json.loads(raw)
        except ValueError as e:
            self.close()
            raise TcmuHarnessError(f"not a JSON response: {raw[:200]!r}", op=op) from e
        if not isinstance(resp, dict) or not isinstance(resp.get("ok"), bool):
            self.close()
            raise TcmuHarnessError(f"not a response object: {raw[:200]!r}", op=op)
        # A line the server could not read (or a client too many) is answered with a null
        # id: with one request in flight at a time, that is the answer to ours.
        if resp.get("id") != rid and not (resp.get("id") is None and not resp["ok"]):
            self.close()
            raise TcmuHarnessError(f"response id {resp.get('id')!r} does not answer "
                                   f"request id {rid}", op=op, response=resp)
        if check and not resp["ok"]:
            err = str(resp.get("error") or "failed (no message)")
            # only a timeout is a WaitTimeout: an ERANGE answer ("no longer kept") or a
            # stopping server carries matched too
            if op == "wait" and "matched" in resp and _WAIT_TIMEOUT.match(err):
                raise WaitTimeout(err, matched=int(resp["matched"]), response=resp)
            raise TcmuHarnessError(err, op=op, response=resp)
        return resp

    def cursor(self) -> int:
        """The trace's cursor: the index the next entry gets (give it as after= to a
        trace or wait to see only what happens from now)."""
        return int(self.request("cursor")["next"])

    def _read_line(self, op: str) -> bytes:
        assert self._sock is not None
        while b"\n" not in self._buf:
            if len(self._buf) > MAX_RESPONSE:
                self.close()
                raise TcmuHarnessError(f"response longer than {MAX_RESPONSE} bytes", op=op)
            chunk = self._sock.recv(1 << 20)
            if not chunk:
                self.close()
                raise ConnectionLost("the server closed the connection before answering",
                                     op=op)
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line


def _encode(op: str, msg: Dict[str, Any]) -> bytes:
    """One request line. Characters beyond U+FFFF go as UTF-8 (the server refuses
    json.dumps' surrogate-pair escapes); NaN, infinities and lone surrogates (which are
    not JSON) and an over-long line are refused here, before anything is sent."""
    try:
        line = json.dumps(msg, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except ValueError as e:  # UnicodeEncodeError included
        raise TcmuHarnessError(f"cannot send as JSON: {e}", op=op) from e
    if len(line) > MAX_REQUEST:
        raise TcmuHarnessError(f"the request is {len(line)} bytes; the server takes lines "
                               f"of at most {MAX_REQUEST} bytes", op=op)
    return line + b"\n"
