"""Replies (send_message's reply_to, Message.reply_to) and history pages both ways:
load_history's after_id and around_id, has_more and has_newer."""

from __future__ import annotations

import pytest

from tests.helpers import events, join, run_sql, send, statements


@pytest.fixture
def room(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    events(alice), events(bob)
    return alice, bob


def page(sock, room="r", **query):
    ack = sock.emit("load_history", {"room": room, **query}, callback=True)
    assert ack["ok"], ack
    return ack


def ids_of(ack):
    return [m["id"] for m in ack["messages"]]


# --- replies -------------------------------------------------------------------------


def test_a_reply_carries_its_original(room):
    alice, bob = room
    original = send(alice, "r", "lunch at noon?")["id"]
    ack = send(bob, "r", "yes!", reply_to=original)
    assert ack["ok"], ack
    expected = {"id": original, "username": "alice", "excerpt": "lunch at noon?", "deleted": False}
    for sock in (alice, bob):
        [message] = events(sock, "recieve_message")[-1:]
        assert message["id"] == ack["id"] and message["reply_to"] == expected
    [first, reply] = page(alice)["messages"]
    assert first["reply_to"] is None and reply["reply_to"] == expected


def test_the_excerpt_is_the_first_120_code_points_of_the_current_text(room):
    alice, bob = room
    long_text = "😀" * 100 + "é" * 30 + "tail"  # astral and accented: code points, not bytes
    original = send(alice, "r", long_text)["id"]
    send(bob, "r", "ha", reply_to=original)
    [message] = events(bob, "recieve_message")[-1:]
    assert message["reply_to"]["excerpt"] == "😀" * 100 + "é" * 20
    alice.emit("edit_message", {"room": "r", "id": original, "message": "short now"})
    assert page(bob)["messages"][-1]["reply_to"]["excerpt"] == "short now"
    alice.emit("delete_message", {"room": "r", "id": original})
    assert page(bob)["messages"][-1]["reply_to"] == {
        "id": original,
        "username": "alice",
        "excerpt": None,
        "deleted": True,
    }


def test_a_deleted_reply_shows_no_original(room):
    alice, bob = room
    original = send(alice, "r", "q")["id"]
    reply = send(bob, "r", "a", reply_to=original)["id"]
    bob.emit("delete_message", {"room": "r", "id": reply}, callback=True)
    assert page(alice)["messages"][-1]["reply_to"] is None


@pytest.mark.parametrize(
    ("reply_to", "code"),
    [
        ("OTHER_ROOM", "not_found"),
        ("DELETED", "not_found"),
        (10**6, "not_found"),
        (2**31 - 1, "not_found"),
        (2**31, "invalid_payload"),
        (2**63, "invalid_payload"),
        (-1, "invalid_payload"),
        ("5", "invalid_payload"),
        (1.0, "invalid_payload"),
        (True, "invalid_payload"),
    ],
)
def test_a_reply_to_what_is_not_there_is_refused_and_stores_nothing(room, app, reply_to, code):
    alice, bob = room
    join(alice, "other")
    elsewhere = send(alice, "other", "over there")["id"]
    gone = send(alice, "r", "soon gone")["id"]
    alice.emit("delete_message", {"room": "r", "id": gone}, callback=True)
    reply_to = {"OTHER_ROOM": elsewhere, "DELETED": gone}.get(reply_to, reply_to)
    events(alice), events(bob)
    ack = send(bob, "r", "an answer", reply_to=reply_to, client_id="c1")
    assert ack["ok"] is False and ack["error"]["code"] == code, ack
    assert events(alice) == [] and events(bob) == []
    assert run_sql(app, "SELECT count(*) FROM messages")[0][0] == 2


@pytest.mark.app_config(RATE_LIMIT="2/minute")
def test_a_refused_reply_does_not_count_against_the_rate_limit(room):
    alice, _ = room
    for _ in range(3):
        assert send(alice, "r", "x", reply_to=10**6)["error"]["code"] == "not_found"
    assert send(alice, "r", "one")["ok"] and send(alice, "r", "two")["ok"]
    assert send(alice, "r", "three")["error"]["code"] == "rate_limited"


def test_a_reply_costs_one_read_of_its_original(room, app):
    alice, bob = room
    original = send(alice, "r", "q")["id"]
    with statements(app) as seen:
        assert send(bob, "r", "a", reply_to=original)["ok"]
    assert len(seen) == 2 and seen[1].startswith("INSERT INTO messages"), seen


def test_a_retried_reply_is_stored_once(room):
    alice, bob = room
    original = send(alice, "r", "q")["id"]
    first = send(bob, "r", "a", reply_to=original, client_id="k")
    again = send(bob, "r", "a", reply_to=original, client_id="k")
    assert first == again
    assert len(events(alice, "recieve_message")) == 2


def test_replies_in_a_direct_room(connect):
    alice, bob = connect("alice"), connect("bob")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    original = send(alice, "dm:alice:bob", "psst")["id"]
    bob.emit("joined_room", {"peer": "alice"}, callback=True)
    events(bob)
    assert send(bob, "dm:alice:bob", "what", reply_to=original)["ok"]
    [message] = events(bob, "recieve_message")
    assert message["reply_to"]["username"] == "alice"


# --- pages both ways -----------------------------------------------------------------


@pytest.fixture
def twenty(room):
    alice, bob = room
    ids = [send(alice if i % 2 else bob, "r", f"m{i}")["id"] for i in range(20)]
    events(alice), events(bob)
    return alice, ids


def test_pages_say_whether_older_and_newer_messages_exist(twenty):
    alice, ids = twenty
    newest = page(alice, limit=5)
    assert ids_of(newest) == ids[-5:]
    assert newest["has_more"] is True and newest["has_newer"] is False
    older = page(alice, before_id=ids[-5], limit=5)
    assert ids_of(older) == ids[-10:-5]
    assert older["has_more"] is True and older["has_newer"] is True
    oldest = page(alice, before_id=ids[3], limit=5)
    assert ids_of(oldest) == ids[:3]
    assert oldest["has_more"] is False and oldest["has_newer"] is True
    nothing = page(alice, before_id=ids[0])
    assert nothing["messages"] == [] and nothing["has_more"] is False
    assert nothing["has_newer"] is True
    everything = page(alice, before_id=ids[-1] + 1000)
    assert ids_of(everything) == ids and everything["has_newer"] is False


def test_after_id_pages_forward(twenty):
    alice, ids = twenty
    first = page(alice, after_id=ids[4], limit=5)
    assert ids_of(first) == ids[5:10]
    assert first["has_more"] is True and first["has_newer"] is True
    last = page(alice, after_id=ids[14], limit=5)
    assert ids_of(last) == ids[15:] and last["has_newer"] is False
    beyond = page(alice, after_id=ids[-1])
    assert beyond == {"ok": True, "messages": [], "has_more": True, "has_newer": False}
    before_all = page(alice, after_id=0, limit=3)
    assert ids_of(before_all) == ids[:3] and before_all["has_more"] is False


def test_around_id_opens_a_message_in_context(twenty):
    alice, ids = twenty
    middle = page(alice, around_id=ids[10], limit=5)
    assert ids_of(middle) == ids[8:13]  # two older, the message, the rest newer
    assert middle["has_more"] is True and middle["has_newer"] is True
    even = page(alice, around_id=ids[10], limit=6)
    assert ids_of(even) == ids[7:13]
    near_start = page(alice, around_id=ids[1], limit=6)
    assert ids_of(near_start) == ids[:6]  # fewer older: the rest of the page is newer
    assert near_start["has_more"] is False and near_start["has_newer"] is True
    near_end = page(alice, around_id=ids[-2], limit=6)
    assert ids_of(near_end) == ids[-5:]  # up to half older, never more
    assert near_end["has_more"] is True and near_end["has_newer"] is False
    alone = page(alice, around_id=ids[10], limit=1)
    assert ids_of(alone) == [ids[10]] and alone["has_more"] and alone["has_newer"]
    default = page(alice, around_id=ids[10])
    assert ids_of(default) == ids and not default["has_more"] and not default["has_newer"]


def test_around_a_deleted_message_is_fine_around_a_missing_one_not(twenty, connect):
    alice, ids = twenty
    alice.emit("delete_message", {"room": "r", "id": ids[9]}, callback=True)
    assert ids_of(page(alice, around_id=ids[9], limit=3)) == ids[8:11]
    join(alice, "other")
    elsewhere = send(alice, "other", "x")["id"]
    for missing in (elsewhere, 10**6):
        ack = alice.emit("load_history", {"room": "r", "around_id": missing}, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] == "not_found", ack


@pytest.mark.parametrize(
    "query",
    [
        {"before_id": 5, "after_id": 1},
        {"before_id": 5, "around_id": 3},
        {"after_id": 1, "around_id": 3},
        {"after_id": "1"},
        {"around_id": 2**31},
        {"after_id": -1},
    ],
)
def test_page_anchors_are_checked(twenty, query):
    alice, _ = twenty
    ack = alice.emit("load_history", {"room": "r", **query}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", ack


def test_the_http_page_takes_the_same_anchors(twenty, client, auth):
    _, ids = twenty
    headers = {"Authorization": f"Bearer {auth.token('alice')}"}

    def get(query):
        return client.get(f"/api/rooms/r/messages?{query}", headers=headers)

    body = get(f"around_id={ids[10]}&limit=3").get_json()
    assert ids_of(body) == ids[9:12] and body["has_more"] and body["has_newer"]
    body = get(f"after_id={ids[17]}").get_json()
    assert ids_of(body) == ids[18:] and body["has_more"] and not body["has_newer"]
    assert get("limit=2").get_json()["has_newer"] is False
    assert get(f"after_id={ids[1]}&before_id={ids[5]}").status_code == 400
    assert get("around_id=99999999999").status_code == 400
    assert get("around_id=999999").status_code == 404
