"""Kicks and bans racing what the target does, in one process (the test client, the
database of each backend); tests/test_scale_out_moderation.py runs the same races across
two real server processes.

A kick or ban ends the membership in the database, then the ``drop_room`` control action
closes the room on the target's connections. Whatever reaches the target's connections
before that action (or instead of it), nothing more gets through: every write checks the
membership in its own statement, every read checks the read rule in its own query, and a
join or watch_rooms in flight notices a drop that came while it ran."""

from __future__ import annotations

import pytest

from chat import rooms, summaries
from tests.helpers import events, in_another_thread, join, run_sql, send


def moderate(sock, action: str, room: str = "r", **fields) -> dict:
    return sock.emit("moderate", {"room": room, "action": action, **fields}, callback=True)


def code(ack: dict) -> str | None:
    return None if ack["ok"] else ack["error"]["code"]


def membership_of(app, username: str) -> list:
    return run_sql(
        app,
        "SELECT rooms.name, memberships.role FROM memberships"
        " JOIN users ON users.id = memberships.user_id"
        " JOIN rooms ON rooms.id = memberships.room_id WHERE users.username = :name",
        name=username,
    )


@pytest.fixture
def room(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    events(alice), events(bob)
    return alice, bob


@pytest.mark.parametrize("action", ["kick", "ban"])
def test_a_join_in_flight_when_the_membership_ends_opens_nothing(
    room, connect, app, monkeypatch, action
):
    """bob reconnects and resumes with his last_id; the kick commits and its drop_room
    reaches his new connection after his join read the membership, before it opened the
    room."""
    alice, _bob = room
    last = send(alice, "r", "before")["id"]
    bob_again = connect("bob", register=False)
    enter = rooms.enter

    def enter_then_moderated(*args, **kwargs):
        entered = enter(*args, **kwargs)
        monkeypatch.setattr(rooms, "enter", enter)  # once
        in_another_thread(lambda: moderate(alice, action, target="bob"))
        return entered

    monkeypatch.setattr(rooms, "enter", enter_then_moderated)
    ack = bob_again.emit("joined_room", {"room": "r", "last_id": last}, callback=True)
    assert code(ack) == "forbidden", ack
    received = events(bob_again)
    assert [name for name, _ in received] == ["room_removed"]  # no rejoin_room, nothing else
    assert membership_of(app, "bob") == []
    send(alice, "r", "after")
    assert events(bob_again) == []
    assert code(send(bob_again, "r", "in?")) == "not_in_room"
    assert "bob" not in join(alice, "r")["online"]


def test_a_fresh_join_the_kick_beat_makes_a_member_again(room, connect, app, monkeypatch):
    """The kick commits before the join reads anything: a join without last_id is a join
    again, as SPEC allows; its drop_room, arriving during the join, still wins."""
    alice, _bob = room
    bob_again = connect("bob", register=False)
    enter = rooms.enter

    def moderated_then_enter(*args, **kwargs):
        monkeypatch.setattr(rooms, "enter", enter)
        in_another_thread(lambda: moderate(alice, "kick", target="bob"))
        return enter(*args, **kwargs)

    monkeypatch.setattr(rooms, "enter", moderated_then_enter)
    ack = bob_again.emit("joined_room", {"room": "r"}, callback=True)
    # The drop came while the join ran: it is refused and its membership taken back.
    assert code(ack) == "forbidden"
    assert membership_of(app, "bob") == []
    assert join(bob_again, "r")["role"] == "member"  # asked again, afresh


def test_a_ban_committed_between_the_joins_insert_and_its_read_wins(room, app, monkeypatch):
    alice, bob = room
    moderate(alice, "kick", target="bob")
    events(bob)
    add_member = rooms.add_member

    def added_then_banned(*args, **kwargs):
        added = add_member(*args, **kwargs)
        monkeypatch.setattr(rooms, "add_member", add_member)
        # As a ban on another process whose drop_room is still on its way.
        control = app.extensions["control"]
        monkeypatch.setitem(control._handlers, "drop_room", lambda action: None)
        in_another_thread(lambda: moderate(alice, "ban", target="bob"))
        return added

    monkeypatch.setattr(rooms, "add_member", added_then_banned)
    ack = bob.emit("joined_room", {"room": "r"}, callback=True)
    assert code(ack) == "forbidden"
    assert membership_of(app, "bob") == []
    assert code(send(bob, "r", "in?")) == "not_in_room"


def test_a_watch_in_flight_when_the_membership_ends_does_not_watch_it(room, connect, monkeypatch):
    alice, _bob = room
    bob_watching = connect("bob", register=False)
    for_watching = summaries.for_watching

    def read_then_kicked(me):
        found = for_watching(me)
        in_another_thread(lambda: moderate(alice, "kick", target="bob"))
        return found

    monkeypatch.setattr(summaries, "for_watching", read_then_kicked)
    ack = bob_watching.emit("watch_rooms", {}, callback=True)
    assert ack == {"ok": True, "rooms": []}
    assert events(bob_watching, "room_removed") == [{"room": "r", "by": "alice"}]
    send(alice, "r", "not for bob")
    assert events(bob_watching) == []


@pytest.mark.parametrize("action", ["kick", "ban"])
def test_an_open_room_lets_nothing_through_before_its_drop_arrives(
    room, connect, app, monkeypatch, action
):
    """The kick or ban was committed on another process, whose drop_room has not reached
    this one yet: bob's connection still has the room open, and still nothing passes."""
    alice, bob = room
    mine = send(bob, "r", "mine")["id"]
    theirs = send(alice, "r", "theirs")["id"]
    bob.emit("watch_rooms", {}, callback=True)
    control = app.extensions["control"]
    monkeypatch.setitem(control._handlers, "drop_room", lambda action: None)
    assert moderate(alice, action, target="bob")["ok"]
    events(alice), events(bob)
    before = run_sql(
        app,
        "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM reactions),"
        " (SELECT count(*) FROM messages WHERE deleted OR edited_at IS NOT NULL),"
        " (SELECT count(*) FROM memberships)",
    )
    attempts = {
        "send_message": {"room": "r", "message": "one more"},
        "edit_message": {"room": "r", "id": mine, "message": "edited"},
        "delete_message": {"room": "r", "id": mine},
        "react": {"room": "r", "id": theirs, "emoji": "👍", "on": True},
        "mark_seen": {"room": "r", "message_id": theirs},
        "moderate": {"room": "r", "action": "delete", "id": theirs},
        "set_topic": {"room": "r", "topic": "mine now"},
        "invite": {"room": "r", "target": "alice"},
    }
    for event, payload in attempts.items():
        ack = bob.emit(event, payload, callback=True)
        assert code(ack) == "not_in_room", (event, ack)
    history = bob.emit("load_history", {"room": "r"}, callback=True)
    if action == "ban":
        assert code(history) == "forbidden"  # public: anyone not banned reads it
    else:
        assert history["ok"]
    assert (
        run_sql(
            app,
            "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM reactions),"
            " (SELECT count(*) FROM messages WHERE deleted OR edited_at IS NOT NULL),"
            " (SELECT count(*) FROM memberships)",
        )
        == before
    )
    assert [name for name, _ in events(alice)] == []
