"""The real server under each async mode (eventlet, gevent, threading), driven by
python-socketio clients over WebSocket, as another platform would."""

from __future__ import annotations

import contextlib
import time

import pytest
import requests
import socketio

from tests.servers import Server

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module", params=["eventlet", "gevent", "threading"])
def server(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    server = Server(f"sqlite:///{tmp}/chat.db", tmp / "server.log", ASYNC_MODE=request.param)
    server.migrate()
    server.start()
    yield server
    server.stop()


class Client:
    """A python-socketio client that records what it receives."""

    def __init__(self, server: Server, username: str) -> None:
        response = requests.post(
            server.url + "/api/token", json={"username": username, "password": PASSWORD}, timeout=10
        )
        response.raise_for_status()
        self.received: list[tuple[str, dict]] = []
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", lambda event, data: self.received.append((event, data)))
        self.sio.connect(
            server.url, auth={"token": response.json()["token"]}, transports=["websocket"]
        )

    def call(self, event: str, data: dict) -> dict:
        return self.sio.call(event, data, timeout=10)

    def wait_for(self, event: str, count: int = 1, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [data for name, data in self.received if name == event]
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"no {event} within {timeout}s; got {self.received}")

    def close(self) -> None:
        self.sio.disconnect()


def register(server: Server, username: str) -> None:
    response = requests.post(
        server.url + "/api/register", json={"username": username, "password": PASSWORD}, timeout=10
    )
    assert response.status_code in (201, 409)


def test_chat_and_catch_up_after_reconnect(server):
    register(server, "alice")
    register(server, "bob")
    alice, bob = Client(server, "alice"), Client(server, "bob")
    try:
        assert alice.call("joined_room", {"room": "lobby"})["online"] == ["alice"]
        assert bob.call("joined_room", {"room": "lobby"})["online"] == ["alice", "bob"]
        alice.wait_for("join_room_announcement")

        ack = alice.call("send_message", {"room": "lobby", "message": "hi bob", "client_id": "m1"})
        assert ack["ok"] is True
        [message] = bob.wait_for("recieve_message")
        assert message["id"] == ack["id"] and message["username"] == "alice"
        assert (
            alice.call("send_message", {"room": "lobby", "message": "hi bob", "client_id": "m1"})
            == ack
        )

        bob.close()
        alice.wait_for("leave_room_announcement")
        missed = [
            alice.call("send_message", {"room": "lobby", "message": f"missed {i}"})["id"]
            for i in range(2)
        ]

        bob = Client(server, "bob")
        bob.call("joined_room", {"room": "lobby", "last_id": message["id"]})
        [replay] = bob.wait_for("rejoin_room")
        assert [m["id"] for m in replay["messages"]] == missed
        assert len(alice.wait_for("recieve_message")) == 3
    finally:
        alice.close()
        bob.close()


def test_refused_connection_without_identity(server):
    sio = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(server.url, auth={"token": "forged"}, transports=["websocket"])


def _raw_websocket(server: Server):
    """An unauthenticated WebSocket to the Engine.IO endpoint, handshake done by hand."""
    import base64
    import os
    import socket

    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1024)
    assert response.startswith(b"HTTP/1.1 101"), response
    assert b"permessage-deflate" not in response.lower()
    return sock


def test_a_huge_frame_from_a_stranger_is_refused_unread(server):
    from tests.test_ws import client_frame

    register(server, "bystander")
    bystander = Client(server, "bystander")
    try:
        sock = _raw_websocket(server)
        # The header of a 900 kB text frame, then its payload, from a socket that has
        # not even said who it is: refused (close 1009) on the header alone.
        frame = client_frame(0x1, b"4" + b"x" * 900_000)
        with contextlib.suppress(OSError):  # it may close before the payload is all out
            sock.sendall(frame)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        sock.close()
        assert b"\x88\x02\x03\xf1" in data  # close frame, code 1009 (message too big)
        assert bystander.call("joined_room", {"room": "calm"})["ok"] is True
        assert "Traceback" not in server.log_path.read_text()
    finally:
        bystander.close()


def test_a_client_that_ignores_retry_after_is_read_and_answered_slower(server):
    """Past its burst, each event refused as too fast costs the connection
    ws.REFUSAL_COST reads (10 refusals a second at most), and an HTTP 429 is answered
    REFUSAL_DELAY late: a client that loops on refusals costs the server little. The
    connection stays up and serves what it may."""
    register(server, "carol")
    carol = Client(server, "carol")
    try:
        codes = [carol.call("watch_rooms", {}).get("ok") for _ in range(10)]
        assert codes == [True] * 10  # the per-connection burst
        started = time.monotonic()
        refused = [carol.call("watch_rooms", {}) for _ in range(40)]
        elapsed = time.monotonic() - started
        assert {r["error"]["code"] for r in refused} == {"rate_limited"}
        # ~19 refusals spend the read burst (1,000 reads), the other 21 come at 10/s.
        assert elapsed >= 1.5, elapsed
        assert carol.call("joined_room", {"room": "still-here"})["ok"] is True
    finally:
        carol.close()
    token = requests.post(
        server.url + "/api/token", json={"username": "carol", "password": PASSWORD}, timeout=10
    ).json()["token"]
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        statuses, times = [], []
        for _ in range(12):  # ROOM_LIST_RATE_LIMIT: 10 per user in 20 s, 10 spent above
            started = time.monotonic()
            statuses.append(http.get(server.url + "/api/rooms", timeout=10).status_code)
            times.append(time.monotonic() - started)
        assert statuses == [429] * 12
        assert min(times) >= 0.1, times
