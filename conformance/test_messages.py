"""docs/protocol.md, send_message: storing, broadcasting, retries, input rules, the limit."""

from __future__ import annotations

import pytest

MESSAGE_FIELDS = {
    "id",
    "room",
    "username",
    "message",
    "created_at",
    "edited_at",
    "deleted",
    "client_id",
    "mentions",
    "reactions",
    "reply_to",
    "attachments",
}


def test_a_message_reaches_everyone_with_the_room_open_sender_included(user, room):
    alice, bob, carol = user(), user(), user()
    a, b, c = alice.connect(), bob.connect(), carol.connect()
    name = room()
    a.join(name)
    b.join(name)
    ack = a.send(name, "  <b>hello</b>  ", client_id="c1")
    assert isinstance(ack["id"], int) and ack["created_at"]
    for conn in (a, b):
        got = conn.wait("recieve_message", room=name)
        assert len(got) == 1
        message = got[0]
        assert set(message) == MESSAGE_FIELDS
        assert message["id"] == ack["id"] and message["created_at"] == ack["created_at"]
        assert message["username"] == alice.name
        assert message["message"] == "<b>hello</b>"  # trimmed, HTML kept as text
        assert message["client_id"] == "c1"
        assert message["deleted"] is False and message["edited_at"] is None
    assert ack["created_at"].endswith(("Z", "+00:00"))
    c.quiet()
    assert c.events("recieve_message") == []


def test_a_retry_with_the_same_client_id_is_stored_once_and_not_broadcast_again(user, room):
    alice, bob = user(), user()
    a, b = alice.connect(), bob.connect()
    name = room()
    a.join(name)
    b.join(name)
    first = a.send(name, "once", client_id="retry-1")
    again = a.send(name, "once", client_id="retry-1")
    assert again == first
    later = alice.connect()  # a retry from a new connection, after a reconnect
    later.join(name)
    assert later.send(name, "once", client_id="retry-1") == first
    b.wait("recieve_message", room=name)
    b.quiet()
    assert b.ids(name) == [first["id"]]
    page = b.ok("load_history", {"room": name})
    assert [m["id"] for m in page["messages"]] == [first["id"]]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"message": ""}, "invalid_payload"),
        ({"message": "   \n\t "}, "invalid_payload"),
        ({"message": "x" * 4001}, "too_long"),
        ({"message": "a\x00b"}, "invalid_payload"),
        ({"message": "a\x7fb"}, "invalid_payload"),
        ({"message": "a\x85b"}, "invalid_payload"),
        ({"message": 5}, "invalid_payload"),
        ({"message": "hi", "client_id": "x" * 65}, "invalid_payload"),
        ({"message": "hi", "reply_to": "1"}, "invalid_payload"),
        ({"message": "hi", "reply_to": 2**31}, "invalid_payload"),
        ({"message": "hi", "attachments": list(range(1, 12))}, "invalid_payload"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_send_input_rules(user, room, payload, code):
    conn = user().connect()
    name = room()
    conn.join(name)
    conn.error("send_message", {"room": name, **payload}, code)
    assert conn.ok("load_history", {"room": name})["messages"] == []


def test_4000_code_points_after_trimming_pass(user, room):
    conn = user().connect()
    name = room()
    conn.join(name)
    text = "😀" * 4000
    conn.send(name, f"  {text}  ")
    assert conn.wait("recieve_message", room=name)[0]["message"] == text


def test_the_message_limit_answers_rate_limited_with_retry_after(user, room):
    conn = user(fresh=True).connect()
    name = room()
    conn.join(name)
    for n in range(250):
        ack = conn.call("send_message", {"room": name, "message": f"m{n}", "client_id": f"k{n}"})
        if not ack["ok"]:
            assert ack["error"]["code"] == "rate_limited", ack
            assert isinstance(ack["error"]["retry_after"], int | float)
            assert ack["error"]["retry_after"] > 0
            # A retry of a stored message is answered even over the limit.
            again = conn.call("send_message", {"room": name, "message": "m0", "client_id": "k0"})
            assert again["ok"] is True
            return
    pytest.skip("no rate_limited within 250 sends (RATE_LIMIT off or above 250)")


def test_an_event_flood_meets_its_budget_and_the_connection_stays_up(user, room):
    conn = user().connect()
    name = room()
    conn.join(name)
    codes = []
    for n in range(80):
        ack = conn.call("typing_status", {"room": name, "typing": n % 2 == 0})
        codes.append(ack["ok"] or ack["error"]["code"])
        if ack["ok"] is False:
            assert ack["error"]["retry_after"] > 0
            break
    assert "rate_limited" in codes
    assert codes.count(True) >= 25  # a person's burst passes
    assert conn.sio.connected
    assert conn.call("load_history", {"room": name})["ok"] is True
