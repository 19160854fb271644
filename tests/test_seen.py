"""mark_seen: read positions that only move forward, and unread counts that follow them."""

import pytest

from tests.helpers import events, join, send


@pytest.fixture
def room(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    ids = [send(alice, "r", f"m{i}")["id"] for i in range(3)]
    events(alice)
    events(bob)
    return alice, bob, ids


def test_mark_seen_tells_the_others(room):
    alice, bob, ids = room
    ack = bob.emit("mark_seen", {"room": "r", "message_id": ids[1]}, callback=True)
    assert ack == {"ok": True, "room": "r", "message_id": ids[1]}
    assert events(alice) == [
        ("messages_seen", {"room": "r", "username": "bob", "message_id": ids[1]})
    ]
    assert events(bob) == []


def test_seen_never_moves_back(room):
    alice, bob, ids = room
    bob.emit("mark_seen", {"room": "r", "message_id": ids[2]}, callback=True)
    events(alice)
    ack = bob.emit("mark_seen", {"room": "r", "message_id": ids[0]}, callback=True)
    assert ack == {"ok": True, "room": "r", "message_id": ids[2]}
    assert events(alice) == []  # nothing moved, nothing to tell


def test_join_ack_lists_what_members_have_seen(room, connect):
    _, bob, ids = room
    bob.emit("mark_seen", {"room": "r", "message_id": ids[0]}, callback=True)
    assert join(connect("carol"), "r")["seen"] == {"bob": ids[0]}


def test_unread_counts_follow_the_read_position(room, client, auth):
    _, bob, ids = room
    headers = {"Authorization": f"Bearer {auth.token('bob')}"}
    assert client.get("/api/rooms", headers=headers).get_json()["rooms"][0]["unread"] == 3
    bob.emit("mark_seen", {"room": "r", "message_id": ids[1]}, callback=True)
    assert client.get("/api/rooms", headers=headers).get_json()["rooms"][0]["unread"] == 1


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"room": "r"}, "invalid_payload"),
        ({"room": "r", "message_id": "1"}, "invalid_payload"),
        ({"room": "r", "message_id": -1}, "invalid_payload"),
        ({"room": "r", "message_id": 10**9}, "not_found"),
        ({"room": "elsewhere", "message_id": 1}, "not_in_room"),
        ({"room": "r", "message_id": 1, "username": "alice"}, "forbidden"),
    ],
)
def test_mark_seen_refusals(room, payload, code):
    alice, bob, _ = room
    ack = bob.emit("mark_seen", payload, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == code
    assert events(alice) == []


def test_a_message_of_another_room_cannot_be_marked(room, connect):
    alice, bob, _ = room
    join(alice, "other")
    elsewhere = send(alice, "other", "x")["id"]
    ack = bob.emit("mark_seen", {"room": "r", "message_id": elsewhere}, callback=True)
    assert ack["error"]["code"] == "not_found"


def test_a_direct_message_shows_in_the_peers_room_list(connect, client, auth):
    alice, _ = connect("alice"), connect("bob")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    send(alice, "dm:alice:bob", "psst")
    headers = {"Authorization": f"Bearer {auth.token('bob')}"}
    [room] = client.get("/api/rooms", headers=headers).get_json()["rooms"]
    assert room["room"] == "dm:alice:bob" and room["unread"] == 1
    assert room["last_message"]["message"] == "psst"
