"""Client: request framing, ids, errors, timeouts, a server that goes away. The far end
is a socket in the test, scripted response by response."""
import json
import socket
import threading
import time

import pytest

from tcmu_harness import Client, ConnectionLost, RequestTimeout, TcmuHarnessError, WaitTimeout


class Peer:
    """A one-connection server; script(conn, requests) decides what goes back."""

    def __init__(self, tmp_path, script):
        self.path = str(tmp_path / "c.sock")
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.thread = threading.Thread(target=self._run, args=(script,), daemon=True)
        self.thread.start()

    def _run(self, script):
        conn, _ = self.sock.accept()
        with conn:
            script(conn, self._reader(conn))

    def _reader(self, conn):
        buf = b""
        while True:
            while b"\n" not in buf:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buf += chunk
            line, buf = buf.split(b"\n", 1)
            req = json.loads(line)
            self.requests.append(req)
            yield req


def answer(conn, req, **res):
    conn.sendall((json.dumps({"ok": True, "id": req["id"], **res}) + "\n").encode())


def test_each_request_is_one_line_with_a_new_id_and_the_result_comes_back(tmp_path):
    def script(conn, reqs):
        for req in reqs:
            answer(conn, req, echo=req.get("arg"))
    peer = Peer(tmp_path, script)
    with Client(peer.path) as c:
        assert c.request("version")["echo"] is None
        assert c.request("devices", arg=[1, {"a": "b"}])["echo"] == [1, {"a": "b"}]
        r = c.request("stats", arg="x")
    assert r["ok"] is True and r["echo"] == "x"
    assert [q["request"] for q in peer.requests] == ["version", "devices", "stats"]
    ids = [q["id"] for q in peer.requests]
    assert len(set(ids)) == 3 and r["id"] == ids[2]


def test_a_response_split_over_many_writes_and_two_in_one_write(tmp_path):
    def script(conn, reqs):
        first = next(reqs)
        line = json.dumps({"ok": True, "id": first["id"], "big": "x" * 300000}) + "\n"
        for i in range(0, len(line), 7001):
            conn.sendall(line[i:i + 7001].encode())
            time.sleep(0.001)
        second = next(reqs)
        # the answer to the second and, ahead of its request, to the third
        third_id = second["id"] + 1
        conn.sendall((json.dumps({"ok": True, "id": second["id"], "n": 2}) + "\n" +
                      json.dumps({"ok": True, "id": third_id, "n": 3}) + "\n").encode())
        next(reqs)
    peer = Peer(tmp_path, script)
    with Client(peer.path) as c:
        assert len(c.request("trace")["big"]) == 300000
        assert c.request("version")["n"] == 2
        assert c.request("version")["n"] == 3  # from the buffer, in order


def test_an_error_carries_the_servers_message(tmp_path):
    msg = "request:1:27: add_rule: device d9 does not exist"

    def script(conn, reqs):
        for req in reqs:
            conn.sendall((json.dumps({"ok": False, "id": req["id"], "error": msg}) +
                          "\n").encode())
    peer = Peer(tmp_path, script)
    with Client(peer.path) as c:
        with pytest.raises(TcmuHarnessError) as e:
            c.request("add_rule", device="d9")
        assert e.value.message == msg and e.value.op == "add_rule"
        assert msg in str(e.value)
        assert e.value.response["ok"] is False
        # check=False hands the failed response back instead
        assert c.request("add_rule", check=False)["error"] == msg


def test_a_wait_that_times_out_raises_wait_timeout_with_the_matched_count(tmp_path):
    def script(conn, reqs):
        for req in reqs:
            conn.sendall((json.dumps({"ok": False, "id": req["id"], "matched": 2, "next": 9,
                                      "error": "wait: 2 of 3 matching entries within 50 ms"})
                          + "\n").encode())
    peer = Peer(tmp_path, script)
    with Client(peer.path) as c:
        with pytest.raises(WaitTimeout) as e:
            c.request("wait", {"timeout": 0.05}, count=3)
    assert e.value.matched == 2 and "2 of 3" in e.value.message


def test_no_response_in_time_raises_and_closes_the_connection(tmp_path):
    def script(conn, reqs):
        for _ in reqs:
            pass  # never answers
    peer = Peer(tmp_path, script)
    c = Client(peer.path)
    with pytest.raises(RequestTimeout) as e:
        c.request("wait", timeout=0.3)
    assert "no response within 0.3 s" in str(e.value)
    assert c.closed  # a late answer must not be taken for the next request's
    with pytest.raises(ConnectionLost):
        c.request("version")


def test_the_server_closing_the_connection_is_connection_lost(tmp_path):
    def script(conn, reqs):
        next(reqs)  # reads one request and hangs up
    peer = Peer(tmp_path, script)
    with Client(peer.path) as c:
        with pytest.raises(ConnectionLost) as e:
            c.request("version")
    assert "closed the connection" in str(e.value)


@pytest.mark.parametrize("reply", [b"not json at all\n", b"[1, 2]\n",
                                   b'{"ok": "yes", "id": 1}\n'])
def test_a_response_that_is_not_a_response_object_is_an_error(tmp_path, reply):
    def script(conn, reqs):
        next(reqs)
        conn.sendall(reply)
        next(reqs, None)
    peer = Peer(tmp_path, script)
    with Client(peer.path) as c:
        with pytest.raises(TcmuHarnessError, match="not a"):
            c.request("version")
        assert c.closed


def test_a_response_with_another_id_is_an_error(tmp_path):
    def script(conn, reqs):
        req = next(reqs)
        conn.sendall((json.dumps({"ok": True, "id": req["id"] + 100}) + "\n").encode())
        next(reqs, None)
    peer = Peer(tmp_path, script)
    with Client(peer.path) as c:
        with pytest.raises(TcmuHarnessError, match="does not answer request id"):
            c.request("version")


def test_connecting_to_no_socket_names_the_path(tmp_path):
    path = tmp_path / "nobody.sock"
    with pytest.raises(ConnectionLost) as e:
        Client(str(path))
    assert str(path) in str(e.value)


def test_requests_from_several_threads_each_get_their_own_answer(tmp_path):
    def script(conn, reqs):
        for req in reqs:
            answer(conn, req, arg=req.get("arg"))
    peer = Peer(tmp_path, script)
    got, errors = [], []
    with Client(peer.path) as c:
        def worker(k):
            try:
                for i in range(50):
                    assert c.request("version", arg=[k, i])["arg"] == [k, i]
                got.append(k)
            except Exception as e:  # reported below
                errors.append(e)
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [] and sorted(got) == [0, 1, 2, 3]
