"""typing_status and load_history."""

from tests.helpers import events, join, send


def test_typing_reaches_the_others_only(connect):
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    join(alice, "r")
    join(bob, "r")
    join(carol, "elsewhere")
    for sock in (alice, bob, carol):
        events(sock)

    ack = alice.emit("typing_status", {"room": "r", "typing": True}, callback=True)

    assert ack == {"ok": True}
    assert events(bob) == [("typing_on", {"room": "r", "username": "alice", "typing": True})]
    assert events(alice) == []
    assert events(carol) == []
    alice.emit("typing_status", {"room": "r", "typing": False}, callback=True)
    assert events(bob) == [("typing_on", {"room": "r", "username": "alice", "typing": False})]


def test_typing_is_relayed_on_news_only(connect, monkeypatch):
    """A refresh within 3 s is not news; after 3 s it is (receivers fade an indicator
    after ~5 s), so a typing flood reaches the room at most once per 3 s."""
    from chat import presence

    now = [1000.0]
    monkeypatch.setattr(presence.time, "monotonic", lambda: now[0])
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    events(bob)
    for _ in range(20):
        ack = alice.emit("typing_status", {"room": "r", "typing": True}, callback=True)
        assert ack == {"ok": True}
    assert len(events(bob, "typing_on")) == 1
    now[0] += 3.5
    alice.emit("typing_status", {"room": "r", "typing": True}, callback=True)
    alice.emit("typing_status", {"room": "r", "typing": False}, callback=True)
    alice.emit("typing_status", {"room": "r", "typing": False}, callback=True)
    assert [e["typing"] for e in events(bob, "typing_on")] == [True, False]


def test_message_without_typing_sends_no_typing_event(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    events(bob)
    send(alice, "r", "hi")
    assert [name for name, _ in events(bob)] == ["recieve_message"]


def test_load_history_pages_backwards(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    ids = [send(alice, "r", f"m{i}")["id"] for i in range(7)]

    page = bob.emit("load_history", {"room": "r", "limit": 3}, callback=True)
    assert page["ok"] and page["has_more"] is True
    assert [m["id"] for m in page["messages"]] == ids[-3:]

    page = bob.emit("load_history", {"room": "r", "before_id": ids[4], "limit": 3}, callback=True)
    assert [m["id"] for m in page["messages"]] == ids[1:4] and page["has_more"] is True

    page = bob.emit("load_history", {"room": "r", "before_id": ids[1]}, callback=True)
    assert [m["id"] for m in page["messages"]] == ids[:1] and page["has_more"] is False


def test_load_history_defaults_to_50(connect):
    alice = connect("alice")
    join(alice, "r")
    for i in range(51):
        send(alice, "r", f"m{i}")
    page = alice.emit("load_history", {"room": "r"}, callback=True)
    assert len(page["messages"]) == 50 and page["has_more"] is True
