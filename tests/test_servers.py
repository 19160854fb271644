"""The real server under each async mode (eventlet, gevent, threading), driven by
python-socketio clients over WebSocket, as another platform would."""

from __future__ import annotations

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
