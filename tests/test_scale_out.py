"""Two server processes behind one Redis (a private redis-server on a free port): a
message sent through one reaches clients of the other, and the rate limit is shared."""

from __future__ import annotations

import shutil

import pytest

from tests.servers import Server
from tests.test_servers import Client, register

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")


@pytest.fixture(scope="module")
def servers(redis_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("two")
    env = {"REDIS_URL": redis_url, "SOCKETIO_CHANNEL": "chat-test", "RATE_LIMIT": "3/10seconds"}
    first = Server(f"sqlite:///{tmp}/chat.db", tmp / "a.log", **env)
    second = Server(f"sqlite:///{tmp}/chat.db", tmp / "b.log", **env)
    first.migrate()
    first.start()
    second.start()
    yield first, second
    first.stop()
    second.stop()


def test_a_message_crosses_processes(servers):
    first, second = servers
    register(first, "alice")
    register(first, "bob")
    alice, bob = Client(first, "alice"), Client(second, "bob")
    try:
        alice.call("joined_room", {"room": "wide"})
        bob.call("joined_room", {"room": "wide"})
        ack = alice.call("send_message", {"room": "wide", "message": "across"})
        [message] = bob.wait_for("recieve_message")
        assert message["id"] == ack["id"] and message["message"] == "across"
        bob.call("typing_status", {"room": "wide", "typing": True})
        assert alice.wait_for("typing_on")[0]["username"] == "bob"
    finally:
        alice.close()
        bob.close()


def test_the_rate_limit_is_shared_between_processes(servers):
    first, second = servers
    register(first, "carol")
    on_first, on_second = Client(first, "carol"), Client(second, "carol")
    try:
        for client in (on_first, on_second):
            client.call("joined_room", {"room": "limits"})
        acks = [
            client.call("send_message", {"room": "limits", "message": f"m{i}"})
            for i, client in enumerate([on_first, on_second, on_first, on_second])
        ]
        assert [a["ok"] for a in acks] == [True, True, True, False]
        assert acks[3]["error"]["code"] == "rate_limited"
    finally:
        on_first.close()
        on_second.close()


def test_presence_is_shared_between_processes(servers):
    first, second = servers
    for name in ("dave", "erin"):
        register(first, name)
    dave, erin = Client(first, "dave"), Client(second, "erin")
    try:
        assert dave.call("joined_room", {"room": "shared"})["online"] == ["dave"]
        assert erin.call("joined_room", {"room": "shared"})["online"] == ["dave", "erin"]
        assert dave.wait_for("join_room_announcement")[0]["username"] == "erin"
        erin_tab = Client(first, "erin")  # a second tab, on the other process
        erin_tab.call("joined_room", {"room": "shared"})
        erin.close()
        erin_tab.call("typing_status", {"room": "shared", "typing": True})
        dave.wait_for("typing_on")
        assert [name for name, _ in dave.received].count("leave_room_announcement") == 0
        erin_tab.close()
        assert dave.wait_for("leave_room_announcement")[0]["username"] == "erin"
        assert [name for name, _ in dave.received].count("join_room_announcement") == 1
    finally:
        dave.close()
