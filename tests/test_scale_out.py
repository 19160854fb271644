"""Two server processes behind one Redis (a private redis-server on a free port): a
message sent through one reaches clients of the other, and the rate limit is shared."""

from __future__ import annotations

import shutil
import time

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


def _bearer(server, username: str) -> dict:
    import requests

    response = requests.post(
        server.url + "/api/token",
        json={"username": username, "password": "correct horse battery"},
        timeout=10,
    )
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_watching_and_room_added_cross_processes(servers):
    first, second = servers
    for name in ("fay", "gus"):
        register(first, name)
    fay, gus = Client(first, "fay"), Client(second, "gus")
    try:
        assert gus.call("watch_rooms", {}) == {"ok": True, "rooms": []}
        fay.call("joined_room", {"peer": "gus"})
        [added] = gus.wait_for("room_added")
        assert added["room"] == "dm:fay:gus" and added["peer"] == "fay"
        assert added["peer_online"] is True
        [dm] = gus.call("watch_rooms", {})["rooms"]
        assert dm["peer_online"] is True
        fay.call("send_message", {"room": "dm:fay:gus", "message": "over here"})
        assert gus.wait_for("recieve_message")[0]["message"] == "over here"
        fay.close()
        assert gus.wait_for("presence_changed") == [{"username": "fay", "online": False}]
    finally:
        fay.close()
        gus.close()


def test_mentions_and_reactions_cross_processes(servers):
    first, second = servers
    for name in ("hal", "ivy"):
        register(first, name)
    hal, ivy, ivy_idle = Client(first, "hal"), Client(second, "ivy"), Client(first, "ivy")
    try:
        hal.call("joined_room", {"room": "talk"})
        ivy.call("joined_room", {"room": "talk"})
        ack = hal.call("send_message", {"room": "talk", "message": "@ivy look"})
        for client in (ivy, ivy_idle):  # the room open on one process, nothing on the other
            [mentioned] = client.wait_for("mentioned")
            assert mentioned["room"] == "talk" and mentioned["message"]["id"] == ack["id"]
            assert mentioned["message"]["mentions"] == ["ivy"]
        react = {"room": "talk", "id": ack["id"], "emoji": "👀", "on": True}
        assert ivy.call("react", react)["count"] == 1
        [changed] = hal.wait_for("reaction_changed")
        assert changed == {
            "room": "talk",
            "id": ack["id"],
            "emoji": "👀",
            "count": 1,
            "users": ["ivy"],
        }
    finally:
        hal.close()
        ivy.close()
        ivy_idle.close()


def test_removing_a_room_reaches_connections_on_the_other_process(servers):
    import requests

    first, second = servers
    for name in ("hal", "ida"):
        register(first, name)
    hal, ida_there = Client(first, "hal"), Client(second, "ida")
    try:
        hal.call("joined_room", {"room": "leaving"})
        ida_there.call("joined_room", {"room": "leaving"})
        hal.wait_for("join_room_announcement")
        response = requests.delete(
            first.url + "/api/rooms/leaving/membership", headers=_bearer(first, "ida"), timeout=10
        )
        assert response.status_code == 204
        assert ida_there.wait_for("room_removed") == [{"room": "leaving"}]
        assert hal.wait_for("leave_room_announcement")[0]["username"] == "ida"
        hal.call("send_message", {"room": "leaving", "message": "gone?"})
        hal.wait_for("recieve_message")  # through Redis, as ida's would have been
        ack = ida_there.call("send_message", {"room": "leaving", "message": "still here?"})
        assert ack["error"]["code"] == "not_in_room"
        assert [name for name, _ in ida_there.received].count("recieve_message") == 0
    finally:
        hal.close()
        ida_there.close()


def test_logout_everywhere_signs_out_sockets_on_the_other_process(servers):
    import requests

    first, second = servers
    register(first, "jan")
    there = Client(second, "jan")
    try:
        there.call("joined_room", {"room": "bye"})
        response = requests.post(
            first.url + "/api/logout-everywhere", headers=_bearer(first, "jan"), timeout=10
        )
        assert response.status_code == 204
        assert there.wait_for("signed_out") == [{}]
        deadline = time.monotonic() + 10
        while there.sio.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not there.sio.connected
    finally:
        there.close()
