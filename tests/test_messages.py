"""send_message: conversations between two or three clients."""

import pytest

from tests.helpers import events, join, send


def test_message_reaches_everyone_in_the_room_and_nobody_else(connect):
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    join(alice, "42")
    join(bob, "42")
    join(carol, "other")
    for sock in (alice, bob, carol):
        events(sock)

    ack = send(alice, "42", "  hello bob  ")

    assert ack["ok"] is True and isinstance(ack["id"], int)
    assert ack["created_at"].endswith("Z")
    for sock in (alice, bob):
        [message] = events(sock, "recieve_message")
        assert message == {
            "id": ack["id"],
            "room": "42",
            "username": "alice",
            "message": "hello bob",
            "created_at": ack["created_at"],
            "edited_at": None,
            "deleted": False,
            "client_id": None,
            "mentions": [],
            "reactions": [],
            "reply_to": None,
            "attachments": [],
        }
    assert events(carol) == []


def test_ids_grow_within_a_room(connect):
    alice = connect("alice")
    join(alice, "r")
    ids = [send(alice, "r", f"m{i}")["id"] for i in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_retry_with_same_client_id_is_stored_once(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    events(bob)

    first = send(alice, "r", "once", client_id="c-1")
    retry = send(alice, "r", "once", client_id="c-1")

    assert retry == first
    assert len(events(bob, "recieve_message")) == 1


def test_retry_from_a_new_connection_gets_the_first_ack(connect, auth, app):
    alice = connect("alice")
    join(alice, "r")
    first = send(alice, "r", "hello", client_id="abc")
    alice.disconnect()

    again = connect("alice", register=False)
    join(again, "r")
    events(again)
    assert send(again, "r", "hello", client_id="abc") == first
    assert events(again, "recieve_message") == []


def test_same_client_id_from_another_user_or_room_is_a_new_message(connect):
    alice, bob = connect("alice"), connect("bob")
    for sock in (alice, bob):
        join(sock, "a")
        join(sock, "b")
    first = send(alice, "a", "x", client_id="same")
    assert send(bob, "a", "x", client_id="same")["id"] != first["id"]
    assert send(alice, "b", "x", client_id="same")["id"] != first["id"]


def test_html_is_stored_and_sent_as_text(connect):
    alice = connect("alice")
    join(alice, "r")
    events(alice)
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    send(alice, "r", payload)
    assert events(alice, "recieve_message")[0]["message"] == payload


def test_newlines_tabs_and_unicode_are_kept(connect):
    alice = connect("alice")
    join(alice, "r")
    events(alice)
    send(alice, "r", "line one\n\tline two — ✓ 😀")
    assert events(alice, "recieve_message")[0]["message"] == "line one\n\tline two — ✓ 😀"


def test_4000_code_points_fit_and_4001_are_too_long(connect):
    alice = connect("alice")
    join(alice, "r")
    assert send(alice, "r", "😀" * 4000)["ok"] is True
    ack = send(alice, "r", "😀" * 4001)
    assert ack["error"]["code"] == "too_long"


def test_a_sent_message_ends_typing(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    alice.emit("typing_status", {"room": "r", "typing": True}, callback=True)
    events(bob)
    send(alice, "r", "done typing")
    received = events(bob)
    assert ("typing_on", {"room": "r", "username": "alice", "typing": False}) in received
    assert [name for name, _ in received].count("recieve_message") == 1


@pytest.mark.app_config(RATE_LIMIT="3/10seconds")
def test_rate_limit_refuses_the_fourth_message_and_stores_nothing(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    events(bob)
    acks = [send(alice, "r", f"m{i}", client_id=f"c{i}") for i in range(4)]
    assert [a["ok"] for a in acks] == [True, True, True, False]
    assert acks[3]["error"]["code"] == "rate_limited"
    assert 9 < acks[3]["error"]["retry_after"] <= 10  # seconds until the first one ages out
    assert len(events(bob, "recieve_message")) == 3
    # An idempotent retry of a stored message is answered, not counted or refused.
    assert send(alice, "r", "m0", client_id="c0") == acks[0]


@pytest.mark.app_config(RATE_LIMIT="1/10seconds")
def test_a_rate_limited_send_without_ack_says_when_to_retry(connect):
    alice = connect("alice")
    join(alice, "r")
    send(alice, "r", "first")
    events(alice)
    alice.emit("send_message", {"room": "r", "message": "second"})
    [error] = events(alice, "chat_error")
    assert error["code"] == "rate_limited" and error["event"] == "send_message"
    assert 0 < error["retry_after"] <= 10


@pytest.mark.app_config(RATE_LIMIT="3/10seconds")
def test_a_failed_send_does_not_count(connect, monkeypatch):
    from chat import groupcommit

    alice = connect("alice")
    join(alice, "r")

    def down(*_args):
        raise RuntimeError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(groupcommit, "store", down)
        for _ in range(3):
            assert send(alice, "r", "lost")["error"]["code"] == "internal_error"
    for i in range(3):
        assert send(alice, "r", f"m{i}")["ok"]


@pytest.mark.app_config(RATE_LIMIT="3/10seconds")
def test_retries_do_not_count(connect):
    alice = connect("alice")
    join(alice, "r")
    first = send(alice, "r", "once", client_id="c")
    for _ in range(5):
        assert send(alice, "r", "once", client_id="c") == first
    for i in range(2):
        assert send(alice, "r", f"m{i}")["ok"]


@pytest.mark.app_config(RATE_LIMIT="3/10seconds")
def test_rate_limit_is_per_user(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    for i in range(3):
        assert send(alice, "r", f"a{i}")["ok"]
    assert send(bob, "r", "b")["ok"]


@pytest.mark.app_config(RATE_LIMIT="3/10seconds")
def test_refused_sends_do_not_count_against_the_limit(connect):
    alice = connect("alice")
    join(alice, "r")
    for _ in range(5):
        assert send(alice, "r", "   ")["error"]["code"] == "invalid_payload"
    for i in range(3):
        assert send(alice, "r", f"m{i}")["ok"]


def test_a_retry_is_decided_by_the_insert_in_one_round_trip(connect, monkeypatch):
    """No lookup before the insert: the unique constraint decides (so two racing sends
    with one client_id are stored once), and only a retry reads the first message back."""
    from chat import groupcommit

    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    lookup = groupcommit.find_by_client_id
    calls = []

    def counted(*args):
        calls.append(args)
        return lookup(*args)

    monkeypatch.setattr(groupcommit, "find_by_client_id", counted)
    first = send(alice, "r", "once", client_id="race")
    assert calls == []
    events(bob)
    assert send(alice, "r", "once", client_id="race") == first
    assert len(calls) == 1  # after the insert found the conflict
    assert events(bob) == []
