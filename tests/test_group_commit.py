"""Messages sent together share one INSERT and one commit, and each sender still gets
its own id: checked with real threads against both databases."""

import threading

from sqlalchemy import text

from chat import groupcommit, rooms
from models import db, utcnow
from tests.helpers import join


def _room_and_user(app, connect):
    alice = connect("alice")
    join(alice, "r")
    with app.app_context():
        return rooms.find("r")[0], rooms.lookup_user("alice").id


def test_concurrent_sends_each_get_their_own_row(app, connect, monkeypatch):
    room_id, user_id = _room_and_user(app, connect)
    batches = []
    insert = groupcommit.insert_messages

    def recorded(batch):
        batches.append(len(batch))
        if len(batches) == 1:
            gate.wait(5)  # hold the first commit so the others pile up behind it
        insert(batch)

    monkeypatch.setattr(groupcommit, "insert_messages", recorded)
    gate = threading.Event()
    results: dict[int, tuple] = {}

    def sender(i: int):
        # Every third message has no client_id; 10 and 11 share one (a retry racing).
        client_id = None if i % 3 == 0 else ("dup" if i in (10, 11) else f"c{i}")
        with app.app_context():
            results[i] = (client_id, groupcommit.store(room_id, user_id, f"m{i}", client_id))

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
        if thread is threads[0]:
            while not batches:
                pass
    gate.set()
    for thread in threads:
        thread.join(10)

    assert len(results) == 30
    assert batches[0] == 1 and sum(batches) == 30 and len(batches) < 30  # grouped
    with app.app_context():
        stored = dict(
            db.session.execute(
                text("SELECT id, body FROM messages WHERE room_id = :r"), {"r": room_id}
            ).all()
        )
    assert len(stored) == 29  # the two "dup" sends are one message
    dup = [results[10][1], results[11][1]]
    assert dup[0][0] == dup[1][0] and sorted(r[2] for r in dup) == [False, True]
    for i, (client_id, (message_id, _created_at, created)) in results.items():
        if client_id != "dup":
            assert created and stored[message_id] == f"m{i}", i


def test_one_bad_row_does_not_fail_the_batch(app, connect, monkeypatch):
    room_id, user_id = _room_and_user(app, connect)
    with app.app_context():
        batch = [
            groupcommit.NewMessage(room_id, user_id, "fine", None, utcnow()),
            # Neither database stores a lone surrogate: the driver refuses the statement.
            groupcommit.NewMessage(room_id, user_id, "bad \ud800", None, utcnow()),
            groupcommit.NewMessage(room_id, user_id, "also fine", "c", utcnow()),
        ]
        groupcommit.GroupCommit()._store(batch)
    good, bad, other = batch
    assert good.id and good.created and other.id and other.created
    assert bad.error is not None and bad.id is None


def test_a_row_of_no_member_is_left_out_and_the_others_are_stored(app, connect):
    """A kick or ban elsewhere may leave a room open on a connection for a moment: the
    INSERT itself stores only members' messages, and says which it left out."""
    room_id, user_id = _room_and_user(app, connect)
    connect("bob")
    with app.app_context():
        bob = rooms.lookup_user("bob").id
        batch = [
            groupcommit.NewMessage(room_id, user_id, "a1", None, utcnow()),
            groupcommit.NewMessage(room_id, bob, "b1", None, utcnow()),
            groupcommit.NewMessage(room_id + 1000, user_id, "no such room", None, utcnow()),
            groupcommit.NewMessage(room_id, user_id, "a2", None, utcnow()),
            groupcommit.NewMessage(room_id, bob, "b2", "kept?", utcnow()),
            groupcommit.NewMessage(room_id, user_id, "a3", "mine", utcnow()),
        ]
        groupcommit.GroupCommit()._store(batch)
        stored = dict(
            db.session.execute(
                text("SELECT id, body FROM messages WHERE room_id = :r"), {"r": room_id}
            ).all()
        )
    a1, b1, nowhere, a2, b2, a3 = batch
    assert [m.refused for m in batch] == [False, True, True, False, True, False]
    assert all(m.error is None for m in batch)
    assert [stored[m.id] for m in (a1, a2, a3)] == ["a1", "a2", "a3"]
    assert a1.id < a2.id < a3.id and b1.id is None and b2.id is None and nowhere.id is None
    assert sorted(stored.values()) == ["a1", "a2", "a3"]
