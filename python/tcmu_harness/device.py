"""A live device of a Server, and the rules added to it."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional

from .client import TcmuHarnessError

if TYPE_CHECKING:  # pragma: no cover
    from .server import Server

__all__ = ["Device", "Rule", "device_request"]


def _plain(value: Any) -> Any:
    """A keyword argument's value as the request carries it: paths as text, mappings and
    lists element by element."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _spec_keys(spec: str) -> Dict[str, str]:
    keys: Dict[str, str] = {}
    for part in spec.split(","):
        k, _, v = part.partition("=")
        keys.setdefault(k.strip(), v)
    return keys


def device_request(device: Optional[Mapping[str, Any]], spec: Optional[str],
                   keys: Mapping[str, Any], make_name: Callable[[], str],
                   type_: Optional[str] = None) -> Dict[str, Any]:
    """The arguments of add_device: {"device": mapping} or {"spec": "k=v,..."}, with a
    name made up when none is given and the type filled in (or checked) for add_disk and
    add_tape. The server checks everything else, with the scenario parser's messages."""
    if spec is not None:
        if device is not None or keys:
            raise TypeError("give the device as spec= or as a mapping/keywords, not both")
        if not isinstance(spec, str) or not spec.strip():
            raise TypeError("spec= is a SPEC string like 'name=d0,size=8MiB'")
        given = _spec_keys(spec)
        parts = [spec]
        if "name" not in given:
            parts.insert(0, f"name={make_name()}")
        if type_ is not None:
            if "type" not in given:
                parts.append(f"type={type_}")
            elif given["type"] != type_:
                raise ValueError(f"type={given['type']} given for a {type_}")
        return {"spec": ",".join(parts)}
    mapping: Dict[str, Any] = dict(_plain(device or {}))
    mapping.update(_plain(dict(keys)))
    if "name" not in mapping:
        mapping = {"name": make_name(), **mapping}
    if type_ is not None:
        if mapping.setdefault("type", type_) != type_:
            raise ValueError(f"type {mapping['type']!r} given for a {type_}")
    return {"device": mapping}


class Rule:
    """A rule added to a device (by name: the server's, or rule-N for unnamed ones)."""

    def __init__(self, device: "Device", name: str) -> None:
        self.device = device
        self.name = name

    def __repr__(self) -> str:
        return f"Rule({self.device.name!r}, {self.name!r})"

    def info(self) -> Dict[str, Any]:
        """Its line of list_rules: name, index, fired, times, spent."""
        for r in self.device.list_rules():
            if r.get("name") == self.name:
                return r
        raise TcmuHarnessError(f"device {self.device.name} has no rule '{self.name}' "
                               "(removed?)", op="list_rules")

    @property
    def fired(self) -> int:
        """How many times it has answered a command so far."""
        return int(self.info().get("fired", 0))

    @property
    def spent(self) -> bool:
        return bool(self.info().get("spent", False))

    def remove(self) -> None:
        self.device.server.request("remove_rule", device=self.device.name, name=self.name)


class Device:
    """A device served by a Server: its nodes (.sg, .sd, .st, .nst, .iscsi), the fault
    actions of the control protocol, and its part of the trace."""

    def __init__(self, server: "Server", info: Mapping[str, Any], *, since: int = 0) -> None:
        self.server = server
        self.info: Dict[str, Any] = dict(info)
        self.since = since  # the trace index when it was added: its trace starts here
        self.removed = False

    def __repr__(self) -> str:
        return f"Device({self.name!r}, type={self.type!r}, sg={self.sg!r})"

    def __getitem__(self, key: str) -> Any:
        """The fields of the device object, as `serve` prints them: dev["sg"]."""
        return self.info[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.info.get(key, default)

    @property
    def name(self) -> str:
        return str(self.info["name"])

    type = property(lambda self: self.info.get("type"), doc="disk or tape")
    sg = property(lambda self: self.info.get("sg"), doc="/dev/sgN (None over iSCSI)")
    sd = property(lambda self: self.info.get("sd"), doc="/dev/sdX of a disk")
    st = property(lambda self: self.info.get("st"), doc="/dev/stN of a tape (rewinding)")
    nst = property(lambda self: self.info.get("nst"), doc="/dev/nstN (no rewind)")
    iscsi = property(lambda self: self.info.get("iscsi"), doc="iscsi:// URL with export iscsi")
    address = property(lambda self: self.info.get("address"), doc="H:C:T:L")
    backstore = property(lambda self: self.info.get("backstore"), doc="its configfs backstore")
    wwn = property(lambda self: self.info.get("wwn"), doc="naa.<16 hex>")
    size = property(lambda self: self.info.get("size"), doc="bytes")
    block_size = property(lambda self: self.info.get("block_size"))

    @property
    def state(self) -> Optional[str]:
        """online or offline, as the server has it now."""
        return self.refresh().get("state")

    def refresh(self) -> Dict[str, Any]:
        """Fetches the device object again (state, size after set_capacity, ...)."""
        for d in self.server.request("devices")["devices"]:
            if d.get("name") == self.name:
                self.info = dict(d)
                return self.info
        raise TcmuHarnessError(f"no device {self.name} (removed?)", op="devices")

    def _act(self, op: str, **args: Any) -> Dict[str, Any]:
        return self.server.request(op, device=self.name, **args)

    # --- rules ------------------------------------------------------------------------

    def add_rule(self, match: Optional[Mapping[str, Any]] = None,
                 respond: Optional[Mapping[str, Any]] = None, times: Optional[int] = None,
                 name: Optional[str] = None, *, position: Optional[int] = None,
                 **more: Any) -> Rule:
        """A rule (docs/scenario-format.md "rules": match, respond, times, and
        until_state/after_state as keywords); last in priority unless position=0."""
        args: Dict[str, Any] = {k: _plain(v) for k, v in more.items()}
        for key, val in (("match", match), ("respond", respond), ("times", times),
                         ("name", name), ("position", position)):
            if val is not None:
                args[key] = _plain(val)
        resp = self._act("add_rule", **args)
        return Rule(self, str(resp.get("rule", name)))

    def list_rules(self) -> List[Dict[str, Any]]:
        return list(self._act("list_rules")["rules"])

    def rules(self) -> List[Rule]:
        return [Rule(self, str(r["name"])) for r in self.list_rules()]

    def remove_rule(self, name: str) -> None:
        self._act("remove_rule", name=name)

    # --- fault actions ----------------------------------------------------------------

    def set_state(self, state: str) -> None:
        self._act("set_state", state=state)

    def queue_ua(self, key: Any = "UNIT_ATTENTION", asc: int = 0x29, ascq: int = 0x00,
                 **sense: Any) -> None:
        """Queues a unit attention (default: 29/00, power on or reset) for the next
        command that takes one."""
        self._act("queue_ua", sense={"key": key, "asc": asc, "ascq": ascq, **sense})

    def offline(self) -> None:
        """NOT READY to everything, announced by UNIT ATTENTION 28/00 when back."""
        self._act("offline")

    def online(self) -> None:
        self._act("online")

    def set_capacity(self, size: Any) -> None:
        """New capacity (bytes, or "8MiB"), announced by UNIT ATTENTION 2A/09."""
        self._act("set_capacity", size=size)
        self.refresh()

    def load(self) -> None:
        """Tapes: put the cartridge in (rewound, UNIT ATTENTION 28/00)."""
        self._act("load")

    def unload(self) -> None:
        """Tapes: take the cartridge out (NOT READY, MEDIUM NOT PRESENT)."""
        self._act("unload")

    def stats(self) -> Dict[str, Any]:
        return dict(self.server.stats().get(self.name, {}))

    def remove(self) -> None:
        """Tears the device down (its nodes and kernel objects go)."""
        if not self.removed:
            self.server.remove_device(self.name)
            self.removed = True

    # --- the trace --------------------------------------------------------------------

    def cursor(self) -> int:
        """The trace index now: wait_trace(after=dev.cursor()) sees only what follows."""
        return self.server.cursor()

    def trace(self, after: Optional[int] = None, **filters: Any) -> List[Dict[str, Any]]:
        """This device's trace entries (since it was added, or from index after) that
        match filters: op=, status=, rule=, tmr=, lba=."""
        start = self.since if after is None else after
        return self.server.trace(start, device=self.name, **filters)

    def wait_trace(self, timeout: float = 10.0, count: int = 1, after: Optional[int] = None,
                   **filters: Any) -> int:
        """Blocks until `count` entries of this device that match the filters (op=,
        status=, rule=, tmr=, lba=) are in the trace, counting from when the device was
        added (or from index after); returns how many matched. Raises WaitTimeout."""
        start = self.since if after is None else after
        return self.server.wait_trace(timeout=timeout, count=count, after=start,
                                      device=self.name, **filters)
