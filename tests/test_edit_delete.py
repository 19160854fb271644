"""edit_message and delete_message: the author only, announced to the room, kept in history."""

import pytest

from tests.helpers import events, join, send


@pytest.fixture
def room(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    first = send(alice, "r", "helo", client_id="c1")
    events(alice)
    events(bob)
    return alice, bob, first["id"]


def test_author_edits_and_the_room_sees_it(room):
    alice, bob, mid = room
    ack = alice.emit("edit_message", {"room": "r", "id": mid, "message": " hello "}, callback=True)
    assert ack["ok"] is True and ack["id"] == mid and ack["edited_at"].endswith("Z")
    for sock in (alice, bob):
        [edited] = events(sock, "message_edited")
        assert edited["id"] == mid and edited["message"] == "hello"
        assert edited["edited_at"] == ack["edited_at"] and edited["client_id"] == "c1"
    page = bob.emit("load_history", {"room": "r"}, callback=True)
    assert page["messages"][0]["message"] == "hello" and page["messages"][0]["edited_at"]


def test_an_unchanged_edit_is_not_announced(room):
    alice, bob, mid = room
    ack = alice.emit("edit_message", {"room": "r", "id": mid, "message": "helo"}, callback=True)
    assert ack == {"ok": True, "id": mid, "edited_at": None}
    assert events(bob) == []


def test_author_deletes_and_the_text_is_gone(room, connect):
    alice, bob, mid = room
    assert alice.emit("delete_message", {"room": "r", "id": mid}, callback=True) == {
        "ok": True,
        "id": mid,
    }
    for sock in (alice, bob):
        assert events(sock) == [("message_deleted", {"room": "r", "id": mid, "by": "alice"})]
    carol = connect("carol")
    join(carol, "r")
    [history] = events(carol, "rejoin_room")
    [message] = history["messages"]
    assert message["id"] == mid and message["deleted"] is True and message["message"] is None
    assert message["username"] == "alice" and message["created_at"]


@pytest.mark.parametrize("event", ["edit_message", "delete_message"])
def test_others_cannot_change_a_message(room, event):
    alice, bob, mid = room
    ack = bob.emit(event, {"room": "r", "id": mid, "message": "mine now"}, callback=True)
    assert ack["error"]["code"] == "forbidden"
    assert events(alice) == []
    assert (
        alice.emit("load_history", {"room": "r"}, callback=True)["messages"][0]["message"] == "helo"
    )


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"room": "r", "message": "x"}, "invalid_payload"),
        ({"room": "r", "id": "1", "message": "x"}, "invalid_payload"),
        ({"room": "r", "id": True, "message": "x"}, "invalid_payload"),
        ({"room": "r", "id": 10**9, "message": "x"}, "not_found"),
        ({"room": "r", "id": "MID", "message": ""}, "invalid_payload"),
        ({"room": "r", "id": "MID", "message": "x" * 4001}, "too_long"),
        ({"room": "r", "id": "MID", "message": "bad\x00"}, "invalid_payload"),
        ({"room": "r", "id": "MID"}, "invalid_payload"),
        ({"room": "elsewhere", "id": "MID", "message": "x"}, "not_in_room"),
        ({"room": "r", "id": "MID", "message": "x", "username": "bob"}, "forbidden"),
    ],
)
def test_edit_refusals(room, payload, code):
    alice, bob, mid = room
    payload = {k: (mid if v == "MID" else v) for k, v in payload.items()}
    ack = alice.emit("edit_message", payload, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == code
    assert events(bob) == []


def test_a_deleted_message_cannot_be_edited_or_deleted_again(room):
    alice, bob, mid = room
    alice.emit("delete_message", {"room": "r", "id": mid}, callback=True)
    events(bob)
    for event in ("edit_message", "delete_message"):
        ack = alice.emit(event, {"room": "r", "id": mid, "message": "back"}, callback=True)
        assert ack["error"]["code"] == "not_found"
    assert events(bob) == []


def test_a_message_of_another_room_is_not_found(room):
    alice, _, mid = room
    join(alice, "other")
    ack = alice.emit("delete_message", {"room": "other", "id": mid}, callback=True)
    assert ack["error"]["code"] == "not_found"


def test_deleted_messages_do_not_count_as_unread(room, client, auth):
    alice, _, mid = room
    send(alice, "r", "second")
    alice.emit("delete_message", {"room": "r", "id": mid}, callback=True)
    headers = {"Authorization": f"Bearer {auth.token('bob')}"}
    [summary] = client.get("/api/rooms", headers=headers).get_json()["rooms"]
    assert summary["unread"] == 1
