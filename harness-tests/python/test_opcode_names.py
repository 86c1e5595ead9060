"""The Python op names (trace_matches reads op=40 as READ_10) are the C tables' own."""
import re

from conftest import ROOT
from tcmu_harness.server import OP_NAMES, _op, trace_matches


def test_op_names_are_the_emulators_names_for_service_action_0():
    want = {}
    for f in ("disk", "tape"):  # the server looks in the disk table first (sc_op_name)
        for line in (ROOT / "framework" / "emu" / f"{f}.c").read_text().splitlines():
            m = re.match(r'\s*\{(0x[0-9a-fA-F]{2}), *([A-Za-z0-9x]+),.*"([A-Z0-9_]+)"', line)
            if m and m.group(2) in ("NO", "0x00", "0"):
                want.setdefault(int(m.group(1), 16), m.group(3))
    assert len(want) > 40
    assert OP_NAMES == want


def test_op_without_a_name_is_the_hex_the_trace_writes():
    assert _op(0xC1) == "0xC1" and _op("0xc1") == "0xC1" and _op("READ_10") == "READ_10"
    assert trace_matches({"device": "d0", "op": "0xC1"}, {"op": 193})
    assert not trace_matches({"device": "d0", "op": "READ_10"}, {"op": 42})
