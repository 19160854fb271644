"""Every event has a budget per connection: a person's burst passes, a flood meets
rate_limited (with retry_after), nothing refused is stored or broadcast, and the
connection stays up. Caps on open rooms and connections per user."""

import pytest

from events import socketio
from tests.helpers import events, join, send


@pytest.fixture
def pair(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    events(alice), events(bob)
    return alice, bob


def codes(acks) -> list:
    return [a["error"]["code"] if not a["ok"] else "ok" for a in acks]


def test_an_edit_flood_is_cut_after_a_burst(pair):
    alice, bob = pair
    sent = send(alice, "r", "original")
    events(bob)
    acks = [
        alice.emit(
            "edit_message", {"room": "r", "id": sent["id"], "message": f"v{i}" * 500}, callback=True
        )
        for i in range(200)
    ]
    passed = codes(acks).count("ok")
    assert 30 <= passed <= 32  # the burst, and what refilled meanwhile
    refused = [a for a in acks if not a["ok"]]
    assert {a["error"]["code"] for a in refused} == {"rate_limited"}
    assert all(0 < a["error"]["retry_after"] <= 2 for a in refused)
    assert len(events(bob, "message_edited")) == passed
    assert send(alice, "r", "still connected")["ok"]


def test_a_typing_flood_reaches_the_room_once(pair):
    alice, bob = pair
    acks = [
        alice.emit("typing_status", {"room": "r", "typing": True}, callback=True)
        for _ in range(1000)
    ]
    assert codes(acks).count("ok") <= 32
    assert len(events(bob, "typing_on")) == 1


def test_a_mark_flood_writes_a_burst_at_most(pair):
    alice, bob = pair
    ids = [send(bob, "r", f"m{i}")["id"] for i in range(5)]
    acks = [
        alice.emit("mark_seen", {"room": "r", "message_id": ids[i % 5]}, callback=True)
        for i in range(600)
    ]
    assert 30 <= codes(acks).count("ok") <= 35
    assert "rate_limited" in codes(acks)


def test_unknown_and_reserved_event_floods_are_limited(pair):
    alice, _ = pair
    acks = [alice.emit("nonsense", {}, callback=True) for _ in range(50)]
    acks += [alice.emit("connect", {}, callback=True) for _ in range(10)]
    assert codes(acks)[:30] == ["invalid_payload"] * 30
    assert codes(acks)[-1] == "rate_limited"
    assert send(alice, "r", "fine")["ok"]


def test_joins_pay_for_the_history_they_are_sent(connect, app):
    from tests.test_join import _bulk_insert

    alice = connect("alice")
    join(alice, "big")
    _bulk_insert(app, "big", "alice", 0)
    with app.app_context():
        from chat import rooms
        from models import Message, db

        room_id = rooms.find("big")[0]
        user_id = rooms.lookup_user("alice").id
        db.session.add_all(
            Message(room_id=room_id, user_id=user_id, body="x" * 4000) for _ in range(230)
        )
        db.session.commit()
    reader = connect("bob")
    acks = []
    for _ in range(8):
        acks.append(reader.emit("joined_room", {"room": "big", "last_id": 0}, callback=True))
        reader.emit("leave_room", {"room": "big"}, callback=True)
    # Each replay is ~1 MB of text; the budget holds 4 MB and refills 250 kB/s.
    assert codes(acks)[:4] == ["ok"] * 4
    assert codes(acks)[-1] == "rate_limited"
    replays = events(reader, "rejoin_room")
    assert 4 <= len(replays) <= 5
    assert all(len(r["messages"]) == 230 for r in replays)


def test_a_replay_too_big_to_send_whole_becomes_a_reset_page(connect, app):
    from chat import rooms

    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    seen = send(alice, "r", "seen")["id"]
    with app.app_context():
        from models import Message, db

        room_id, user_id = rooms.find("r")[0], rooms.lookup_user("alice").id
        db.session.add_all(
            Message(room_id=room_id, user_id=user_id, body="y" * 4000) for _ in range(300)
        )
        db.session.commit()
    join(bob, "r", last_id=seen)
    [replay] = events(bob, "rejoin_room")
    assert replay["reset"] is True and replay["has_more"] is True
    assert len(replay["messages"]) == 50


@pytest.mark.app_config(MAX_ROOMS_PER_CONNECTION=3)
def test_rooms_open_per_connection_are_capped(connect):
    alice = connect("alice")
    for name in ("a", "b", "c"):
        join(alice, name)
    ack = alice.emit("joined_room", {"room": "d"}, callback=True)
    assert ack["error"]["code"] == "forbidden"
    assert join(alice, "a")["ok"]  # one already open is fine
    alice.emit("leave_room", {"room": "b"}, callback=True)
    assert join(alice, "d")["ok"]


@pytest.mark.app_config(MAX_CONNECTIONS_PER_USER=2)
def test_connections_per_user_are_capped(app, auth, connect):
    connect("alice")
    connect("alice", register=False)
    third = socketio.test_client(app, auth={"token": auth.token("alice")})
    assert not third.is_connected()
    assert connect("bob").is_connected()
