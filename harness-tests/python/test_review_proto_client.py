"""Review of protocol 2 (rev-proto): defects proven against the real serve (no kernel:
serve --control with no device does no kernel work)."""
import time

import pytest

from tcmu_harness import Server, TcmuHarnessError
from conftest import ROOT

TH = ROOT / "build" / "tcmu-harness"


def test_a_second_server_on_a_held_path_fails_to_start_instead_of_adopting_the_first(tmp_path):
    """Defect: Server.start() takes any serve answering on the path for its own. The
    second serve exits 1 on PATH.lock, but start() has already connected to the FIRST
    serve's socket, so it returns as if started; its requests (and a stop()'s shutdown)
    then go to the other serve."""
    path = tmp_path / "c.sock"
    adopted = []
    with Server(TH, control=path) as first:
        for attempt in range(20):  # a race with the refused serve's exit: any one shows it
            second = Server(TH, control=path)
            try:
                second.start()
                adopted.append((attempt, second.info.get("instance")))
            except TcmuHarnessError as e:
                assert "holds" in str(e) and "exited with status 1" in str(e), str(e)
            finally:
                if second.proc is not None:
                    second.proc.wait(timeout=30)
                    assert second.proc.returncode == 1  # it was refused by the lock
                second._close_client()
        assert adopted == [], (f"start() returned connected to the first serve (instance "
                               f"{first.instance}) in attempts {adopted}")
        first.version()  # still up


@pytest.mark.parametrize("filt", [{"op": 40}, {"op": "0x28"}, {"op": "40"}])
def test_trace_filters_op_as_the_servers_wait_does(filt):
    """Defect: Server.trace/Device.trace say they filter "as `wait` and expect_trace
    filter", and protocol 2 made wait's op the wait_trace step's (a name or a number, kept
    as the trace names it: 40, "0x28" -> READ_10). trace_matches compares the text, so
    d.trace(op=40) finds nothing where d.wait_trace(op=40) matches."""
    from tcmu_harness.server import trace_matches
    assert trace_matches({"device": "d0", "op": "READ_10", "status": 0}, filt)


def test_trace_filters_tmr_as_the_servers_wait_does():
    """Defect: wait (protocol 2) takes tmr="lun-reset" as LUN_RESET; trace_matches does not."""
    from tcmu_harness.server import trace_matches
    assert trace_matches({"device": "d0", "tmr": "LUN_RESET"}, {"tmr": "lun-reset"})


def test_a_wait_whose_entries_were_dropped_is_not_a_wait_timeout(tmp_path):
    """Defect (error mapping; the rule predates protocol 2): Client.request raises
    WaitTimeout ("a `wait` ran out of time") for any failed wait whose response has
    "matched", and serve's r_wait puts "matched" in its ERANGE answer too (the entries from
    after are no longer kept), so that is reported as a timeout. The answer below is the
    shape r_wait sends for -ERANGE."""
    import json
    import socket
    import threading
    from tcmu_harness import Client, WaitTimeout
    path = str(tmp_path / "s")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(1)

    def answer():
        conn, _ = ls.accept()
        req = json.loads(conn.makefile().readline())
        conn.sendall(json.dumps({"ok": False, "id": req["id"], "error": "wait: trace entry 0 "
                                 "is no longer kept: the oldest is 1000 (the trace keeps 1000 "
                                 "entries)", "matched": 0, "next": 1000}).encode() + b"\n")
        conn.close()

    th = threading.Thread(target=answer)
    th.start()
    c = Client(path, timeout=10)
    with pytest.raises(TcmuHarnessError, match="no longer kept") as ei:
        c.request("wait", {"after": 0, "timeout": 5})
    th.join(10)
    c.close()
    ls.close()
    assert not isinstance(ei.value, WaitTimeout), "an ERANGE answer raised WaitTimeout"
