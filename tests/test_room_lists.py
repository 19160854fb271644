"""Room lists and reads cost what the budgets allow: memberships are capped, a room list
is one statement however many rooms, lists are limited per user, and what a connection
reads back is paid for in bytes."""

from __future__ import annotations

import pytest

from chat import summaries
from chat.ratelimit import EVENT_BUDGETS, Budget
from tests.helpers import events, join, run_sql, send, statements


@pytest.fixture
def bearer(auth):
    return lambda username: {"Authorization": f"Bearer {auth.token(username)}"}


def _watch(sock) -> dict:
    return sock.emit("watch_rooms", {}, callback=True)


# --- memberships are capped ------------------------------------------------------------


@pytest.mark.app_config(MAX_ROOMS_PER_USER=3)
def test_the_join_that_would_make_one_membership_too_many_is_limit_reached(connect, client, bearer):
    alice = connect("alice")
    for room in ("a", "b", "c"):
        join(alice, room)
    ack = alice.emit("joined_room", {"room": "d"}, callback=True)
    assert ack["error"]["code"] == "limit_reached"
    assert (
        alice.emit("send_message", {"room": "d", "message": "x"}, callback=True)["error"]["code"]
        == "not_in_room"
    )
    names = [r["room"] for r in client.get("/api/rooms", headers=bearer("alice")).json["rooms"]]
    assert sorted(names) == ["a", "b", "c"]
    join(alice, "b")  # a room of yours opens whatever the count
    assert client.delete("/api/rooms/a/membership", headers=bearer("alice")).status_code == 204
    join(alice, "d")  # room for one more


@pytest.mark.app_config(MAX_ROOMS_PER_USER=1)
def test_a_direct_room_counts_too(connect):
    alice = connect("alice")
    connect("bob")
    join(alice, "a")
    ack = alice.emit("joined_room", {"peer": "bob"}, callback=True)
    assert ack["error"]["code"] == "limit_reached"


# --- a room list is cheap for a user of many rooms ------------------------------------------


@pytest.mark.app_config(EVENT_BUDGETS={})  # 31 joins in a row
def test_a_room_list_is_one_statement_with_its_newest_messages(app, connect, client, bearer):
    alice, bob = connect("alice"), connect("bob")
    for i in range(30):
        join(alice, f"room{i}")
        join(bob, f"room{i}")
        send(bob, f"room{i}", f"hello {i}")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    headers = bearer("alice")
    with statements(app) as seen:
        rooms = client.get("/api/rooms", headers=headers).json["rooms"]
    assert len(rooms) == 31
    assert rooms[0]["last_message"]["message"] == "hello 29" and rooms[0]["unread"] == 1
    assert rooms[-1]["kind"] == "direct" and rooms[-1]["last_message"] is None
    # Who calls (the token's user); the rooms with their counts and newest messages; the
    # direct room's peer. (Reactions and reply originals only when some message has any.)
    assert len(seen) == 3, seen
    assert "memberships" in seen[1] and "lower(users.username)" in seen[2], seen


@pytest.mark.app_config(EVENT_BUDGETS={})
def test_a_list_longer_than_a_slice_is_built_in_slices_with_yields_between(
    app, connect, bearer, client, monkeypatch
):
    """Others' events run between the slices of a long list (a yield each), and the
    slices join into the same list: the newest messages, reactions and the peer stay with
    their rooms whatever slice they fall in."""
    monkeypatch.setattr(summaries, "SLICE", 4)
    alice, bob = connect("alice"), connect("bob")
    for i in range(9):
        join(alice, f"room{i}")
        join(bob, f"room{i}")
        sent = send(bob, f"room{i}", f"hello {i}")
    reaction = {"room": "room8", "id": sent["id"], "emoji": "👍", "on": True}
    ack = alice.emit("react", reaction, callback=True)
    assert ack["ok"], ack
    alice.emit("joined_room", {"peer": "bob"}, callback=True)  # the oldest: the last slice
    yields = []
    monkeypatch.setattr(summaries.time, "sleep", yields.append)
    rooms = client.get("/api/rooms", headers=bearer("alice")).json["rooms"]
    assert yields == [0, 0]  # 10 rooms in slices of 4: two yields between three slices
    assert [r["room"] for r in rooms] == [f"room{i}" for i in reversed(range(9))] + ["dm:alice:bob"]
    assert [r["last_message"]["message"] for r in rooms[:9]] == [
        f"hello {i}" for i in reversed(range(9))
    ]
    [reacted] = rooms[0]["last_message"]["reactions"]
    assert reacted == {"emoji": "👍", "count": 1, "users": ["alice"]}
    assert rooms[-1]["peer"] == "bob" and rooms[-1]["last_message"] is None


def test_the_database_never_compiles_a_statement_just_in_time(app):
    """PostgreSQL's JIT pays off for long analytic scans only: with one huge room in the
    table, the room list's estimate crossed jit_above_cost and ~40 ms of work took ~500
    ms. Every connection of both pools has it off."""
    from models import EVENTS_BIND, db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        for engine in (db.engine, db.engines[EVENTS_BIND]):
            with engine.connect() as connection:
                assert connection.exec_driver_sql("SHOW jit").scalar() == "off"
                connection.rollback()
                assert connection.exec_driver_sql("SHOW jit").scalar() == "off"


# --- room lists are limited per user ---------------------------------------------------


@pytest.mark.app_config(ROOM_LIST_RATE_LIMIT="3/minute")
def test_room_lists_share_one_limit_per_user_across_api_sockets_and_pages(
    connect, client, bearer, auth
):
    alice = connect("alice")
    join(alice, "r")
    headers = bearer("alice")
    assert client.get("/api/rooms", headers=headers).status_code == 200
    assert _watch(alice)["ok"] is True
    tab = connect("alice", register=False)
    assert _watch(tab)["ok"] is True
    refused = client.get("/api/rooms", headers=headers)
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "rate_limited"
    assert refused.json["error"]["retry_after"] > 0
    assert _watch(tab)["error"]["code"] == "rate_limited"
    # The page still renders (its room list comes with watch_rooms once allowed).
    browser = client.application.test_client()
    auth.login(browser, "alice")
    page = browser.get("/chat?room=r")
    assert page.status_code == 200
    # Someone else's list is their own.
    connect("bob")
    assert client.get("/api/rooms", headers=bearer("bob")).status_code == 200


# --- what a connection reads back is paid for in bytes ------------------------------------

SMALL_READS = {**EVENT_BUDGETS, "read_bytes": Budget(60_000, 1)}


@pytest.mark.app_config(EVENT_BUDGETS=SMALL_READS)
def test_history_pages_are_paid_for_in_bytes(app, connect):
    alice = connect("alice")
    join(alice, "big")
    run_sql(
        app,
        "INSERT INTO messages (room_id, user_id, body, created_at, deleted) "
        "SELECT r.id, u.id, :body, CURRENT_TIMESTAMP, :no FROM rooms r, users u "
        "WHERE r.name = 'big' AND u.username = 'alice'",
        body="x" * 4000,
        no=False,
    )
    for _ in range(4):
        run_sql(
            app,
            "INSERT INTO messages (room_id, user_id, body, created_at, deleted) "
            "SELECT room_id, user_id, body, created_at, deleted FROM messages",
        )
    codes = []
    for _ in range(6):
        ack = alice.emit("load_history", {"room": "big", "limit": 10}, callback=True)
        codes.append("ok" if ack["ok"] else ack["error"]["code"])
    # Each page is ~42 kB: the second one spends the 60 kB budget into debt.
    assert codes[:2] == ["ok", "ok"]
    assert codes[2:] == ["rate_limited"] * 4
    # A join's replay is refused while the budget is in debt, too.
    reader = alice.emit("joined_room", {"room": "other"}, callback=True)
    assert reader["error"]["code"] == "rate_limited"


@pytest.mark.app_config(EVENT_BUDGETS={**EVENT_BUDGETS, "read_bytes": Budget(2_000, 1)})
def test_room_lists_are_paid_for_in_bytes(connect):
    alice, bob = connect("alice"), connect("bob")
    for i in range(10):
        join(alice, f"r{i}")
        join(bob, f"r{i}")
        send(bob, f"r{i}", "y" * 500)
    assert _watch(alice)["ok"] is True  # ~6 kB: into debt
    assert _watch(alice)["error"]["code"] == "rate_limited"


# --- presence follows the direct rooms you still have ---------------------------------------


def test_presence_stops_once_a_removed_direct_room_is_rewatched(connect, client, bearer):
    alice, bob = connect("alice"), connect("bob")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    _watch(alice)
    bob.disconnect()
    assert events(alice, "presence_changed") == [{"username": "bob", "online": False}]
    room = "dm:alice:bob"
    assert (
        client.delete(f"/api/rooms/{room}/membership", headers=bearer("alice")).status_code == 204
    )
    assert [r["room"] for r in _watch(alice)["rooms"]] == []
    events(alice)
    connect("bob", register=False)
    assert events(alice, "presence_changed") == []
