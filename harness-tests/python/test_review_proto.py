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
    with Server(TH, control=path) as first:
        second = Server(TH, control=path)
        try:
            with pytest.raises(TcmuHarnessError, match="PATH.lock|holds|exited"):
                second.start()
        finally:
            if second.proc is not None:
                second.proc.wait(timeout=30)
                assert second.proc.returncode == 1  # it was refused by the lock
            second._close_client()
        first.version()  # still up
