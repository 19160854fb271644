"""docs/protocol.md: load_history (every direction), GET …/messages, rejoin_room replay."""

from __future__ import annotations

import pytest

from conformance import kit


@pytest.fixture(scope="module")
def filled():
    """A room of 30 messages: (room, owner's connection, ids oldest first)."""
    owner = kit.User()
    conn = owner.connect()
    name = kit.unique("hist")
    conn.join(name)
    ids = [conn.send(name, f"m{n}", client_id=f"h{n}")["id"] for n in range(30)]
    yield name, conn, ids
    conn.close()


def page(conn, name, **query):
    ack = conn.ok("load_history", {"room": name, **query})
    return [m["id"] for m in ack["messages"]], ack["has_more"], ack["has_newer"]


def test_history_pages_back_with_before_id(user, filled):
    name, _, ids = filled
    reader = user().connect()
    assert page(reader, name, limit=10) == (ids[-10:], True, False)
    assert page(reader, name, before_id=ids[-10], limit=10) == (ids[-20:-10], True, True)
    assert page(reader, name, before_id=ids[10], limit=10) == (ids[:10], False, True)
    assert page(reader, name) == (ids, False, False)  # default 50


def test_history_pages_forward_with_after_id(user, filled):
    name, _, ids = filled
    reader = user().connect()
    assert page(reader, name, after_id=ids[0], limit=10) == (ids[1:11], True, True)
    assert page(reader, name, after_id=ids[-11], limit=10) == (ids[-10:], True, False)
    assert page(reader, name, after_id=ids[-1]) == ([], True, False)


def test_history_around_a_message(user, filled):
    name, _, ids = filled
    reader = user().connect()
    assert page(reader, name, around_id=ids[15], limit=10) == (ids[10:20], True, True)
    assert page(reader, name, around_id=ids[1], limit=10) == (ids[:10], False, True)
    reader.error("load_history", {"room": name, "around_id": 2**31 - 1}, "not_found")


@pytest.mark.parametrize(
    "query",
    [
        {"before_id": 5, "after_id": 1},
        {"limit": 0},
        {"limit": 101},
        {"limit": "5"},
        {"before_id": -1},
        {"around_id": 2**31},
    ],
    ids=repr,
)
def test_history_refusals(user, filled, query):
    name, _, _ = filled
    user().connect().error("load_history", {"room": name, **query}, "invalid_payload")


def test_history_of_a_room_that_does_not_exist_is_forbidden(user, room):
    user().connect().error("load_history", {"room": room()}, "forbidden")


def test_the_messages_route_is_the_same_page_and_limit_is_1_to_100(user, filled):
    name, _, ids = filled
    reader = user()
    body = reader.get(f"/api/rooms/{name}/messages", before_id=ids[-10], limit=10).json()
    assert [m["id"] for m in body["messages"]] == ids[-20:-10]
    assert body["has_more"] is True and body["has_newer"] is True
    for message in body["messages"]:
        kit.check_event("recieve_message", (message,))
    assert reader.get(f"/api/rooms/{name}/messages", limit=100).status_code == 200
    for bad in (0, 101, "x"):
        answer = reader.get(f"/api/rooms/{name}/messages", limit=bad)
        kit.check_http_error(answer, 400, "invalid_payload")
    answer = reader.get(f"/api/rooms/{name}/messages", before_id=1, after_id=2)
    kit.check_http_error(answer, 400, "invalid_payload")
    kit.check_http_error(reader.get(f"/api/rooms/{kit.unique('r')}/messages"), 403, "forbidden")


def test_a_join_without_last_id_replays_the_newest_50(user, filled):
    name, _, ids = filled
    reader = user().connect()
    reader.join(name)
    replay = reader.wait("rejoin_room", room=name)
    assert len(replay) == 1
    assert [m["id"] for m in replay[0]["messages"]] == ids
    assert replay[0]["has_more"] is False and replay[0]["reset"] is False


def test_a_join_with_last_id_replays_exactly_what_is_newer(user, filled):
    name, _, ids = filled
    reader = user().connect()
    reader.join(name, last_id=ids[-5])
    replay = reader.wait("rejoin_room", room=name)[0]
    assert [m["id"] for m in replay["messages"]] == ids[-4:]
    assert replay["has_more"] is False and replay["reset"] is False


def test_a_join_with_the_newest_last_id_gets_no_replay(user, filled):
    name, _, ids = filled
    reader = user().connect()
    reader.join(name, last_id=ids[-1])
    reader.quiet()
    assert reader.events("rejoin_room") == []


def test_a_reply_bigger_than_64_kib_arrives_whole(user, room):
    """The 64 KiB cap is on what clients send; replays and pages are bigger."""
    conn = user().connect()
    name = room()
    conn.join(name)
    for n in range(18):
        conn.send(name, f"{n:02}" + "é" * 3998, client_id=f"big{n}")
    ack = conn.ok("load_history", {"room": name})
    assert len(ack["messages"]) == 18
    assert len(kit.json.dumps(ack).encode()) > 64 * 1024
