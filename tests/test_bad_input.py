"""Every malformed payload gets its error code, changes nothing, and the connection stays
usable. Without an ack, the error arrives as chat_error."""

import pytest

from tests.helpers import events, join, send

LONG = "x" * 4001


@pytest.fixture
def pair(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    events(alice)
    events(bob)
    return alice, bob


NOT_AN_OBJECT = [None, "r", 42, ["r"], True]


@pytest.mark.parametrize(
    "event", ["joined_room", "send_message", "typing_status", "load_history", "leave_room"]
)
@pytest.mark.parametrize("payload", NOT_AN_OBJECT, ids=repr)
def test_non_object_payloads_are_invalid(pair, event, payload):
    alice, bob = pair
    ack = alice.emit(event, payload, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload"
    assert events(bob) == []


def test_an_event_with_two_arguments_is_invalid(pair):
    alice, _ = pair
    ack = alice.emit("send_message", {"room": "r", "message": "hi"}, "extra", callback=True)
    assert ack["error"]["code"] == "invalid_payload"


SEND_CASES = [
    ({"message": "hi"}, "invalid_payload"),
    ({"room": 5, "message": "hi"}, "invalid_payload"),
    ({"room": "bad name!", "message": "hi"}, "invalid_payload"),
    ({"room": "r"}, "invalid_payload"),
    ({"room": "r", "message": 5}, "invalid_payload"),
    ({"room": "r", "message": ""}, "invalid_payload"),
    ({"room": "r", "message": " \n\t "}, "invalid_payload"),
    ({"room": "r", "message": LONG}, "too_long"),
    ({"room": "r", "message": "nul\x00"}, "invalid_payload"),
    ({"room": "r", "message": "bell\x07"}, "invalid_payload"),
    ({"room": "r", "message": "esc\x1b[31m"}, "invalid_payload"),
    ({"room": "r", "message": "del\x7f"}, "invalid_payload"),
    ({"room": "r", "message": "c1\x85inside"}, "invalid_payload"),
    ({"room": "r", "message": "csi\x9b"}, "invalid_payload"),
    ({"room": "r", "message": "cr\rlf"}, "invalid_payload"),
    ({"room": "r", "message": "hi", "client_id": "x" * 65}, "invalid_payload"),
    ({"room": "r", "message": "hi", "client_id": ""}, "invalid_payload"),
    ({"room": "r", "message": "hi", "client_id": 7}, "invalid_payload"),
    ({"room": "r", "message": "hi", "username": "bob"}, "forbidden"),
    ({"room": "r", "message": "hi", "username": 3}, "invalid_payload"),
    ({"room": "elsewhere", "message": "hi"}, "not_in_room"),
]


@pytest.mark.parametrize(("payload", "code"), SEND_CASES)
def test_send_message_refusals(pair, app, payload, code):
    alice, bob = pair
    ack = alice.emit("send_message", payload, callback=True)
    assert ack == {"ok": False, "error": {"code": code, "message": ack["error"]["message"]}}
    assert ack["error"]["message"]
    assert events(bob) == []
    assert _message_count(app) == 0
    assert send(alice, "r", "still works")["ok"] is True


def test_username_matching_is_case_insensitive(pair):
    alice, _ = pair
    assert send(alice, "r", "hi", username="ALICE")["ok"] is True


JOIN_CASES = [
    ({}, "invalid_payload"),
    ({"room": ""}, "invalid_payload"),
    ({"room": "x" * 65}, "invalid_payload"),
    ({"room": "spaces here"}, "invalid_payload"),
    ({"room": "ünïcode"}, "invalid_payload"),
    ({"room": "<script>"}, "invalid_payload"),
    ({"room": 42}, "invalid_payload"),
    ({"room": "r", "last_id": -1}, "invalid_payload"),
    ({"room": "r", "last_id": "5"}, "invalid_payload"),
    ({"room": "r", "last_id": 1.5}, "invalid_payload"),
    ({"room": "r", "last_id": True}, "invalid_payload"),
    ({"room": "r", "username": "bob"}, "forbidden"),
]


@pytest.mark.parametrize(("payload", "code"), JOIN_CASES)
def test_joined_room_refusals(connect, payload, code):
    alice, carol = connect("alice"), connect("carol")
    join(carol, "r")
    events(carol)
    ack = alice.emit("joined_room", payload, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == code
    assert events(carol) == []  # nobody was announced
    assert join(carol, "r")["online"] == ["carol"]


TYPING_CASES = [
    ({"room": "r"}, "invalid_payload"),
    ({"room": "r", "typing": "yes"}, "invalid_payload"),
    ({"room": "r", "typing": 1}, "invalid_payload"),
    ({"typing": True}, "invalid_payload"),
    ({"room": "r", "typing": True, "username": "bob"}, "forbidden"),
    ({"room": "nope", "typing": True}, "not_in_room"),
]


@pytest.mark.parametrize(("payload", "code"), TYPING_CASES)
def test_typing_status_refusals(pair, payload, code):
    alice, bob = pair
    ack = alice.emit("typing_status", payload, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == code
    assert events(bob) == []


HISTORY_CASES = [
    ({}, "invalid_payload"),
    ({"room": "r", "limit": 0}, "invalid_payload"),
    ({"room": "r", "limit": 101}, "invalid_payload"),
    ({"room": "r", "limit": "10"}, "invalid_payload"),
    ({"room": "r", "before_id": -3}, "invalid_payload"),
    ({"room": "never-created"}, "forbidden"),  # as a private room of others
    ({"room": "r", "username": "bob"}, "forbidden"),
]


@pytest.mark.parametrize(("payload", "code"), HISTORY_CASES)
def test_load_history_refusals(pair, payload, code):
    alice, _ = pair
    ack = alice.emit("load_history", payload, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == code


def test_leave_room_refusals(pair):
    alice, bob = pair
    assert (
        alice.emit("leave_room", {"room": "nope"}, callback=True)["error"]["code"] == "not_in_room"
    )
    assert (
        alice.emit("leave_room", {"room": "r", "username": "bob"}, callback=True)["error"]["code"]
        == "forbidden"
    )
    assert events(bob) == []


def test_without_an_ack_errors_arrive_as_chat_error(pair):
    alice, bob = pair
    alice.emit("send_message", {"room": "r", "message": "   "})
    alice.emit("typing_status", {"room": "elsewhere", "typing": True})
    alice.emit("joined_room", "not an object")
    received = events(alice)
    assert received == [
        (
            "chat_error",
            {"event": "send_message", "code": "invalid_payload", "message": "message: is empty"},
        ),
        (
            "chat_error",
            {"event": "typing_status", "code": "not_in_room", "message": "join elsewhere first"},
        ),
        (
            "chat_error",
            {
                "event": "joined_room",
                "code": "invalid_payload",
                "message": "payload must be one JSON object",
            },
        ),
    ]
    assert events(bob) == []


def test_with_an_ack_no_chat_error_is_sent(pair):
    alice, _ = pair
    alice.emit("send_message", {"room": "r", "message": ""}, callback=True)
    assert events(alice) == []


def test_successful_events_without_ack_send_nothing_extra(pair):
    alice, bob = pair
    alice.emit("send_message", {"room": "r", "message": "no ack wanted"})
    assert [name for name, _ in events(alice)] == ["recieve_message"]
    assert [name for name, _ in events(bob)] == ["recieve_message"]


def _message_count(app):
    from models import Message, db

    with app.app_context():
        return db.session.query(Message).count()


def test_unknown_events_are_refused(pair):
    alice, bob = pair
    ack = alice.emit("pin_message", {"room": "r", "id": 1}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload"
    alice.emit("no_such_event", {})
    assert events(alice) == [
        (
            "chat_error",
            {
                "event": "no_such_event",
                "code": "invalid_payload",
                "message": "unknown event 'no_such_event'",
            },
        )
    ]
    assert events(bob) == []


def test_a_crashing_handler_rolls_back_answers_and_leaks_no_connection(pair, app, monkeypatch):
    from chat import groupcommit
    from models import db

    alice, bob = pair

    def explode(*_args):
        raise RuntimeError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(groupcommit, "store", explode)
        ack = send(alice, "r", "this one fails")
        assert ack == {
            "ok": False,
            "error": {
                "code": "internal_error",
                "message": "the server failed to handle this event",
            },
        }
    assert events(bob) == []
    assert send(alice, "r", "this one works")["ok"] is True
    assert [m["message"] for m in events(bob, "recieve_message")] == ["this one works"]
    with app.app_context():
        assert db.engine.pool.checkedout() == 0
