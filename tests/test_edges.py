"""Edge inputs a hostile client sends: out-of-range integers, lone surrogates, reserved
event names, room names shaped like a connection's sid. Each is refused with
invalid_payload, changes nothing, and leaves the connection usable."""

import pytest

from events import socketio
from tests.helpers import events, join, send

HUGE = [2**31, 2**63, 2**64, int("9" * 99), -1]


@pytest.fixture
def pair(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    events(alice), events(bob)
    return alice, bob


@pytest.mark.parametrize("value", HUGE, ids=lambda v: str(v)[:12])
@pytest.mark.parametrize(
    "event,field,extra",
    [
        ("joined_room", "last_id", {}),
        ("load_history", "before_id", {}),
        ("mark_seen", "message_id", {}),
        ("edit_message", "id", {"message": "x"}),
        ("delete_message", "id", {}),
    ],
)
def test_integers_out_of_the_database_range_are_refused(pair, event, field, extra, value):
    alice, bob = pair
    ack = alice.emit(event, {"room": "r", field: value, **extra}, callback=True)
    assert ack["error"]["code"] == "invalid_payload", ack
    assert events(bob) == []
    assert send(alice, "r", "still here")["ok"]


def test_a_huge_last_id_on_a_new_room_creates_nothing(connect, client, auth):
    alice = connect("alice")
    ack = alice.emit("joined_room", {"room": "new", "last_id": 2**63}, callback=True)
    assert ack["error"]["code"] == "invalid_payload"
    token = auth.token("alice")
    rooms = client.get("/api/rooms", headers={"Authorization": f"Bearer {token}"}).json["rooms"]
    assert rooms == []
    assert client.get("/api/directory", headers={"Authorization": f"Bearer {token}"}).json == {
        "rooms": []
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"message": "lone \ud800 surrogate"},
        {"message": "tail \udfff"},
        {"message": "ok", "client_id": "\ud800"},
        {"message": "ok", "client_id": "nul\x00"},
        {"message": "ok", "client_id": "tab\tinside"},
    ],
    ids=repr,
)
def test_unstorable_strings_are_refused(pair, payload):
    alice, bob = pair
    ack = alice.emit("send_message", {"room": "r", **payload}, callback=True)
    assert ack["error"]["code"] == "invalid_payload"
    assert events(bob) == []


def test_an_edit_with_a_lone_surrogate_is_refused(pair):
    alice, bob = pair
    sent = send(alice, "r", "fine")
    events(bob)
    ack = alice.emit(
        "edit_message", {"room": "r", "id": sent["id"], "message": "bad \ud83d"}, callback=True
    )
    assert ack["error"]["code"] == "invalid_payload"
    assert events(bob) == []


@pytest.mark.parametrize(
    "name", ["connect", "disconnect", "__disconnect_final", "connect_error", "*"]
)
def test_reserved_event_names_are_refused_and_run_nothing(pair, name):
    alice, bob = pair
    ack = alice.emit(name, {}, callback=True)
    assert ack == {
        "ok": False,
        "error": {"code": "invalid_payload", "message": f"{name!r} is a reserved event name"},
    }
    assert events(bob) == []  # nobody was told alice left or came back
    assert join(bob, "r")["online"] == ["alice", "bob"]
    assert send(alice, "r", "still in the room")["ok"]
    assert [m["message"] for m in events(bob, "recieve_message")] == ["still in the room"]


def test_a_reserved_event_without_ack_gets_chat_error(pair):
    alice, _ = pair
    alice.emit("disconnect", {})
    [error] = events(alice, "chat_error")
    assert error["event"] == "disconnect" and error["code"] == "invalid_payload"


def test_a_room_named_like_a_sid_reaches_no_connection(connect):
    alice, mallory = connect("alice"), connect("mallory")
    sid = socketio.server.manager.sid_from_eio_sid(alice.eio_sid, "/")
    assert len(sid) == 20
    events(alice)
    join(mallory, sid)
    send(mallory, sid, "into alice's private room?")
    assert events(alice) == []
