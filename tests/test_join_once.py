"""A message sent while someone joins reaches them once: in the join's replay or live,
never both, never neither (``fence.ReplayFence``). The join subscribes before it reads the
replay; the races are made here on purpose, by sending from another client at the two
moments that matter (the conformance suite hammers the same rule from outside)."""

from __future__ import annotations

import time

import pytest

import fence
from chat import history
from tests.helpers import events, in_another_thread, join, send


def received_ids(sock) -> list[tuple[str, int]]:
    """(how, id) of every message received, in order: 'replay' or 'live'."""
    found = []
    for name, payload in events(sock):
        if name == "rejoin_room":
            found += [("replay", m["id"]) for m in payload["messages"]]
        elif name == "recieve_message":
            found.append(("live", payload["id"]))
    return found


@pytest.fixture
def pair(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    send(alice, "r", "before")
    return alice, bob


def test_a_message_committed_before_the_replay_is_read_comes_once_in_the_replay(pair, monkeypatch):
    alice, bob = pair
    replay, sent = history.replay, {}

    def sent_first(*args, **kwargs):
        # Bob is subscribed already: Alice's broadcast reaches his connection now, and
        # the read below sees her message too.
        in_another_thread(lambda: sent.update(send(alice, "r", "meanwhile")))
        return replay(*args, **kwargs)

    monkeypatch.setattr(history, "replay", sent_first)
    join(bob, "r")
    got = received_ids(bob)
    assert [i for _, i in got].count(sent["id"]) == 1, got
    assert ("replay", sent["id"]) in got


def test_a_message_committed_after_the_read_comes_live_after_the_replay(pair, monkeypatch):
    alice, bob = pair
    replay, sent = history.replay, {}

    def sent_after(*args, **kwargs):
        found = replay(*args, **kwargs)
        in_another_thread(lambda: sent.update(send(alice, "r", "just after")))
        return found

    monkeypatch.setattr(history, "replay", sent_after)
    join(bob, "r")
    got = received_ids(bob)
    assert got[-1] == ("live", sent["id"]), got  # held back, then sent after the replay
    assert [i for _, i in got].count(sent["id"]) == 1
    # The fence lets everything after the join through as before.
    later = send(alice, "r", "later")["id"]
    assert received_ids(bob) == [("live", later)]


def test_a_join_that_fails_lets_what_it_held_go(pair, monkeypatch):
    alice, bob = pair
    sent = {}

    def broken(*args, **kwargs):
        in_another_thread(lambda: sent.update(send(alice, "r", "while it broke")))
        raise RuntimeError("the read failed")

    monkeypatch.setattr(history, "replay", broken)
    ack = bob.emit("joined_room", {"room": "r"}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "internal_error"
    assert ("live", sent["id"]) in received_ids(bob)


def test_held_messages_go_out_anyway_when_a_join_never_settles(monkeypatch):
    manager = fence.LocalManager()
    sent = []
    monkeypatch.setattr(
        fence.socketio_server.Manager, "emit", lambda self, *a, **k: sent.append((a, k))
    )
    manager.hold("m:r", "sid1")
    skip = manager._fenced("recieve_message", {"id": 1}, "m:r", None)
    assert "sid1" in skip and sent == []
    monkeypatch.setattr(fence, "HOLD_AT_MOST", 0.0)
    manager._fences["m:r"]["sid1"].until = time.monotonic() - 1
    skip = manager._fenced("recieve_message", {"id": 2}, "m:r", None)
    assert "sid1" not in skip
    assert [args[1]["id"] for args, _ in sent] == [1]  # the held one, to that connection
    assert manager._fences == {}


def test_the_replay_goes_straight_to_its_connection_never_round_the_queue(connect, monkeypatch):
    """rejoin_room is for the joiner, a connection of this process: it is handed to it
    directly (ignore_queue), so with Redis it does not go round the queue, costs no
    round trip, and comes before the held live messages the join's settle hands over
    directly too. What may reach other processes' connections still takes the queue."""
    from events import socketio

    alice, bob = connect("alice"), connect("bob")
    join(bob, "r")
    send(bob, "r", "before alice")
    manager = socketio.server.manager
    emitted = []
    real_emit = manager.emit

    def spy(event, *args, **kwargs):
        emitted.append((event, kwargs.get("ignore_queue", False)))
        return real_emit(event, *args, **kwargs)

    monkeypatch.setattr(manager, "emit", spy)
    join(alice, "r")
    send(bob, "r", "after alice")
    assert ("rejoin_room", True) in emitted, emitted
    assert ("join_room_announcement", False) in emitted, emitted
    assert ("recieve_message", False) in emitted, emitted
