"""react and reaction_changed: one emoji per reaction, idempotent, at most 20 kinds on a
message, told to the room's open connections, carried by every Message."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select

from chat import reactions, sql
from chat.sql import reactions as table
from models import utcnow
from tests.helpers import events, join, run_sql, send, statements

THUMBS, HEART, PARTY = "👍", "❤️", "🎉"
KEYS = ["mid", "uid", "emoji", "now"]
TWENTY = [chr(0x1F600 + i) for i in range(20)]  # 😀 … 😓: twenty kinds


def react(sock, mid, emoji, on=True, room="r", **extra):
    payload = {"room": room, "id": mid, "emoji": emoji, "on": on, **extra}
    return sock.emit("react", payload, callback=True)


def history(sock, room="r", **extra):
    page = sock.emit("load_history", {"room": room, **extra}, callback=True)
    assert page["ok"], page
    return page["messages"]


def reaction_rows(app) -> list:
    return run_sql(app, "SELECT message_id, user_id, emoji FROM reactions ORDER BY id")


@pytest.fixture
def room(connect):
    """alice and bob have r open; carol only watches it. A message of alice's."""
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    for sock in (alice, bob, carol):
        join(sock, "r")
    carol.emit("leave_room", {"room": "r"}, callback=True)
    assert carol.emit("watch_rooms", {}, callback=True)["ok"]
    mid = send(alice, "r", "hello")["id"]
    for sock in (alice, bob, carol):
        events(sock)
    return alice, bob, carol, mid


def test_a_reaction_reaches_the_rooms_open_connections(room):
    alice, bob, carol, mid = room
    ack = react(bob, mid, THUMBS)
    assert ack == {"ok": True, "id": mid, "emoji": THUMBS, "count": 1, "users": ["bob"]}
    news = {"room": "r", "id": mid, "emoji": THUMBS, "count": 1, "users": ["bob"]}
    assert events(alice) == [("reaction_changed", news)]
    assert events(bob) == [("reaction_changed", news)]
    assert events(carol) == []  # watching is not having it open
    [message] = history(carol)
    assert message["reactions"] == [{"emoji": THUMBS, "count": 1, "users": ["bob"]}]


def test_reacting_twice_changes_and_sends_nothing(room, app):
    alice, bob, _, mid = room
    react(bob, mid, THUMBS)
    events(alice), events(bob)
    again = react(bob, mid, THUMBS)
    assert again == {"ok": True, "id": mid, "emoji": THUMBS, "count": 1, "users": ["bob"]}
    # Taking back what was never given is a repeat too.
    assert react(alice, mid, PARTY, on=False)["count"] == 0
    assert events(alice) == [] and events(bob) == []
    assert len(reaction_rows(app)) == 1


def test_taking_a_reaction_back(room):
    alice, bob, _, mid = room
    react(bob, mid, THUMBS)
    react(alice, mid, THUMBS)
    events(alice), events(bob)
    ack = react(bob, mid, THUMBS, on=False)
    assert ack == {"ok": True, "id": mid, "emoji": THUMBS, "count": 1, "users": ["alice"]}
    assert events(alice, "reaction_changed") == [
        {"room": "r", "id": mid, "emoji": THUMBS, "count": 1, "users": ["alice"]}
    ]
    react(alice, mid, THUMBS, on=False)
    assert events(bob, "reaction_changed")[-1]["count"] == 0
    assert history(bob)[0]["reactions"] == []


def test_emoji_in_order_of_first_use_and_users_oldest_first(room, connect):
    alice, bob, carol, mid = room
    join(carol, "r")
    react(bob, mid, HEART)
    react(alice, mid, THUMBS)
    react(carol, mid, HEART)
    react(alice, mid, HEART)
    react(carol, mid, PARTY)
    assert history(alice)[0]["reactions"] == [
        {"emoji": HEART, "count": 3, "users": ["bob", "carol", "alice"]},
        {"emoji": THUMBS, "count": 1, "users": ["alice"]},
        {"emoji": PARTY, "count": 1, "users": ["carol"]},
    ]
    # The first heart taken back: the thumb was used first now.
    react(bob, mid, HEART, on=False)
    assert [r["emoji"] for r in history(alice)[0]["reactions"]] == [THUMBS, HEART, PARTY]


@pytest.mark.parametrize(
    "emoji",
    ["👍🏽", "👨‍👩‍👧‍👦", "🧑🏿‍🤝‍🧑🏻", "🇫🇷", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🫠", "©️"],
    ids=[
        "skin-tone",
        "zwj-family",
        "zwj-skin-tones",
        "flag",
        "keycap",
        "tag-flag",
        "new",
        "symbol",
    ],
)
def test_one_emoji_of_any_kind_is_a_reaction(room, emoji):
    alice, _, _, mid = room
    ack = react(alice, mid, emoji)
    assert ack["ok"] and ack["emoji"] == emoji, ack
    assert history(alice)[0]["reactions"] == [{"emoji": emoji, "count": 1, "users": ["alice"]}]


def test_an_emoji_is_stored_in_its_fully_qualified_form(room):
    alice, bob, _, mid = room
    assert react(alice, mid, "❤")["emoji"] == HEART  # U+2764 alone is the same heart
    assert react(bob, mid, HEART)["count"] == 2
    assert react(alice, mid, HEART)["count"] == 2  # a repeat
    assert history(alice)[0]["reactions"] == [
        {"emoji": HEART, "count": 2, "users": ["alice", "bob"]}
    ]
    # A picker's presentation selector after an emoji that needs none is the same emoji.
    assert react(alice, mid, THUMBS + "\ufe0f")["emoji"] == THUMBS
    assert react(bob, mid, THUMBS)["count"] == 2


@pytest.mark.parametrize(
    "emoji",
    [
        "text",
        "👍👍",
        "👍 ",
        "a👍",
        "",
        "\ud800",
        "\ud83d",
        "🏽",
        ":thumbsup:",
        "👍" * 20,
        5,
        None,
        "a\ufe0f",
        "\ufe0f",
    ],
    ids=[
        "text",
        "two-emoji",
        "emoji-and-space",
        "letter-and-emoji",
        "empty",
        "lone-surrogate",
        "half-a-pair",
        "bare-skin-tone",
        "shortcode",
        "long",
        "number",
        "null",
        "letter-and-selector",
        "selector-alone",
    ],
)
def test_anything_but_one_emoji_is_refused(room, app, emoji):
    alice, bob, _, mid = room
    ack = react(alice, mid, emoji)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", ack
    assert ack["error"]["message"].startswith("emoji: ")
    assert reaction_rows(app) == [] and events(bob) == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"id": 10**6}, "not_found"),
        ({"id": 2**31 - 1}, "not_found"),
        ({"id": 2**31}, "invalid_payload"),
        ({"id": 2**63}, "invalid_payload"),
        ({"id": -1}, "invalid_payload"),
        ({"id": "MID"}, "invalid_payload"),
        ({"id": True}, "invalid_payload"),
        ({"on": "true"}, "invalid_payload"),
        ({"on": 1}, "invalid_payload"),
        ({"on": None}, "invalid_payload"),
        ({"room": "elsewhere"}, "not_in_room"),
        ({"username": "bob"}, "forbidden"),
    ],
)
def test_refusals_change_nothing(room, app, change, code):
    alice, bob, _, mid = room
    payload = {"room": "r", "id": mid, "emoji": THUMBS, "on": True}
    payload.update(change)
    if payload["id"] == "MID":
        payload["id"] = str(mid)
    ack = alice.emit("react", payload, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == code, ack
    assert reaction_rows(app) == [] and events(bob) == []


def test_a_message_of_another_room_or_a_deleted_one_is_not_found(room, app):
    alice, bob, _, mid = room
    join(alice, "other")
    elsewhere = send(alice, "other", "over here")["id"]
    assert react(bob, elsewhere, THUMBS, room="other")["error"]["code"] == "not_in_room"
    join(bob, "other")
    assert react(bob, elsewhere, THUMBS, room="r")["error"]["code"] == "not_found"
    react(bob, mid, THUMBS)
    alice.emit("delete_message", {"room": "r", "id": mid}, callback=True)
    events(alice), events(bob)
    assert react(bob, mid, PARTY)["error"]["code"] == "not_found"
    assert react(bob, mid, THUMBS, on=False)["error"]["code"] == "not_found"
    assert events(alice) == []
    # A deleted message shows no reactions (its row is kept, like its id).
    [message] = history(alice)
    assert message["deleted"] is True and message["reactions"] == []
    assert len(reaction_rows(app)) == 1


def test_the_twenty_first_kind_is_refused(room, app):
    alice, bob, _, mid = room
    for emoji in TWENTY:
        assert react(alice, mid, emoji)["ok"]
    events(alice), events(bob)
    ack = react(bob, mid, PARTY)
    assert ack["ok"] is False and ack["error"]["code"] == "limit_reached", ack
    assert events(alice) == [] and len(reaction_rows(app)) == 20
    # A kind already there can still be added to, and a freed place taken.
    assert react(bob, mid, TWENTY[0])["count"] == 2
    react(alice, mid, TWENTY[5], on=False)
    assert react(bob, mid, PARTY)["ok"]
    kinds = [r["emoji"] for r in history(alice)[0]["reactions"]]
    assert len(kinds) == 20 and kinds[-1] == PARTY


def test_a_kind_that_raced_past_the_cap_is_taken_back(room, app, monkeypatch):
    """Two new kinds added at once each count 19 before the other is stored: the one
    used later is then one too many, and is taken back."""
    alice, bob, _, mid = room
    for emoji in TWENTY:
        react(alice, mid, emoji)
    events(alice), events(bob)
    # An insert that counted the kinds before the twentieth was committed.
    columns = ["message_id", "user_id", "emoji", "created_at"]
    values = select(
        *(bindparam(k, type_=table.c[c].type) for k, c in zip(KEYS, columns, strict=True))
    )
    stale = sql.per_dialect(lambda insert: insert(table).from_select(columns, values))
    monkeypatch.setattr(reactions, "_ADD", stale)
    ack = react(bob, mid, PARTY)
    assert ack["ok"] is False and ack["error"]["code"] == "limit_reached", ack
    assert events(alice) == [] and len(reaction_rows(app)) == 20


def test_at_most_a_hundred_users_are_named(room, app):
    alice, bob, _, mid = room
    now = utcnow()
    for i in range(150):
        run_sql(
            app,
            "INSERT INTO users (username, password_hash, created_at, token_version)"
            " VALUES (:name, 'x', :now, 0)",
            name=f"fan{i:03}",
            now=now,
        )
    run_sql(
        app,
        "INSERT INTO reactions (message_id, user_id, emoji, created_at)"
        " SELECT :mid, id, :emoji, :now FROM users WHERE username LIKE 'fan%' ORDER BY username",
        mid=mid,
        emoji=THUMBS,
        now=now,
    )
    [message] = history(alice)
    [thumbs] = message["reactions"]
    assert thumbs["count"] == 150 and thumbs["users"] == [f"fan{i:03}" for i in range(100)]
    ack = react(bob, mid, THUMBS)
    assert ack["count"] == 151 and len(ack["users"]) == 100 and "bob" not in ack["users"]
    [news] = events(alice, "reaction_changed")
    assert news["count"] == 151 and news["users"] == ack["users"]


def test_every_message_carries_its_reactions(room, connect, client, auth):
    alice, bob, carol, mid = room
    react(bob, mid, THUMBS)
    expected = [{"emoji": THUMBS, "count": 1, "users": ["bob"]}]
    edited = alice.emit("edit_message", {"room": "r", "id": mid, "message": "hi"}, callback=True)
    assert edited["ok"]
    [message] = events(carol, "message_edited")
    assert message["reactions"] == expected
    dave = connect("dave")
    join(dave, "r")
    [replay] = events(dave, "rejoin_room")
    assert replay["messages"][0]["reactions"] == expected
    bearer = {"Authorization": f"Bearer {auth.token('alice')}"}
    page = client.get("/api/rooms/r/messages", headers=bearer).get_json()
    assert page["messages"][0]["reactions"] == expected
    [summary] = client.get("/api/rooms", headers=bearer).get_json()["rooms"]
    assert summary["last_message"]["reactions"] == expected
    # A new message has none.
    send(alice, "r", "next")
    assert events(bob, "recieve_message")[0]["reactions"] == []


def test_a_page_of_fifty_messages_with_five_reactions_each_is_two_queries(connect, app):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    first = send(alice, "r", "the original")["id"]
    ids = [send(bob, "r", f"m{i}")["id"] for i in range(60)]
    now = utcnow()
    for mid in ids[-50:]:
        for emoji in (THUMBS, HEART, PARTY, "🙂", "😂"):
            run_sql(
                app,
                "INSERT INTO reactions (message_id, user_id, emoji, created_at)"
                " SELECT :mid, id, :emoji, :now FROM users",
                mid=mid,
                emoji=emoji,
                now=now,
            )
    history(alice, limit=1)  # the room's id is known from now on
    with statements(app) as seen:
        page = alice.emit("load_history", {"room": "r"}, callback=True)
    assert len(page["messages"]) == 50
    assert all(
        len(m["reactions"]) == 5 and m["reactions"][0]["count"] == 2 for m in page["messages"]
    )
    # The page, and the reactions of all of it: one query more than a page without any.
    assert len(seen) == 2, seen
    with statements(app) as seen:
        older = alice.emit("load_history", {"room": "r", "before_id": ids[-50]}, callback=True)
    assert older["has_newer"] is True and len(older["messages"]) == 11
    assert len(seen) == 1, seen  # no reactions among them: the page alone
    # Replies cost one query more, for their originals, only when a page has some.
    replies = [send(bob, "r", f"re {i}", reply_to=first)["id"] for i in range(50)]
    with statements(app) as seen:
        page = alice.emit("load_history", {"room": "r"}, callback=True)
    assert [m["id"] for m in page["messages"]] == replies
    assert all(m["reply_to"]["excerpt"] == "the original" for m in page["messages"])
    assert len(seen) == 2, seen


def test_reactions_are_budgeted_per_connection(room):
    alice, _, _, mid = room
    answers = [react(alice, mid, HEART, on=i % 2 == 0) for i in range(40)]
    codes = [a["error"]["code"] for a in answers if not a["ok"]]
    assert codes and set(codes) == {"rate_limited"}
    assert answers[0]["ok"] and len(codes) < 15
