"""docs/protocol.md: typing_status, mark_seen, edit_message, delete_message, react,
replies and mentions."""

from __future__ import annotations

import pytest


@pytest.fixture
def trio(user, room):
    """alice (two tabs) and bob in one room: (name, a1, a2, b)."""
    alice, bob = user(), user()
    a1, a2, b = alice.connect(), alice.connect(), bob.connect()
    name = room()
    for conn in (a1, a2, b):
        conn.join(name)
    return name, a1, a2, b


def test_typing_reaches_the_others_and_the_actors_other_tabs_not_the_actor(trio):
    name, a1, a2, b = trio
    assert a1.ok("typing_status", {"room": name, "typing": True}) == {"ok": True}
    expected = {"room": name, "username": a1.name, "typing": True}
    assert b.wait("typing_on", room=name) == [expected]
    assert a2.wait("typing_on", room=name) == [expected]
    a1.send(name, "done typing")  # a sent message ends typing
    assert b.wait("typing_on", 2, room=name)[1]["typing"] is False
    a1.quiet()
    assert a1.events("typing_on") == []


def test_typing_needs_a_boolean(trio):
    name, a1, _, _ = trio
    a1.error("typing_status", {"room": name, "typing": "yes"}, "invalid_payload")
    a1.error("typing_status", {"room": name, "typing": 1}, "invalid_payload")


def test_mark_seen_reaches_the_others_and_the_actors_other_tabs_and_never_moves_back(trio):
    name, a1, a2, b = trio
    first = b.send(name, "one")["id"]
    second = b.send(name, "two")["id"]
    ack = a1.ok("mark_seen", {"room": name, "message_id": second})
    assert ack == {"ok": True, "room": name, "message_id": second}
    expected = {"room": name, "username": a1.name, "message_id": second}
    assert b.wait("messages_seen", room=name) == [expected]
    assert a2.wait("messages_seen", room=name) == [expected]
    back = a1.ok("mark_seen", {"room": name, "message_id": first})
    assert back["message_id"] == second  # never moves back
    a1.quiet()
    assert len(b.events("messages_seen", name)) == 1
    assert a1.events("messages_seen") == []
    assert b.join(name)["seen"][a1.name] == second


def test_mark_seen_refusals(trio):
    name, a1, _, _ = trio
    a1.error("mark_seen", {"room": name, "message_id": 2**31 - 1}, "not_found")
    a1.error("mark_seen", {"room": name, "message_id": -1}, "invalid_payload")
    a1.error("mark_seen", {"room": name}, "invalid_payload")


def test_the_author_edits_and_everyone_gets_message_edited(trio):
    name, a1, a2, b = trio
    sent = a1.send(name, "helo")
    ack = a1.ok("edit_message", {"room": name, "id": sent["id"], "message": " hello "})
    assert ack["id"] == sent["id"] and ack["edited_at"]
    for conn in (a1, a2, b):
        edited = conn.wait("message_edited", room=name)[0]
        assert edited["message"] == "hello" and edited["edited_at"] == ack["edited_at"]
    again = a1.ok("edit_message", {"room": name, "id": sent["id"], "message": "hello"})
    assert again["edited_at"] == ack["edited_at"]  # the same text: nothing changes
    b.quiet()
    assert len(b.events("message_edited", name)) == 1


def test_edit_refusals(trio, room):
    name, a1, _, b = trio
    mine = a1.send(name, "mine")["id"]
    b.error("edit_message", {"room": name, "id": mine, "message": "x"}, "forbidden")
    a1.error("edit_message", {"room": name, "id": mine, "message": " "}, "invalid_payload")
    a1.error("edit_message", {"room": name, "id": mine, "message": "x" * 4001}, "too_long")
    a1.error("edit_message", {"room": name, "id": 2**31 - 1, "message": "x"}, "not_found")
    a1.error("edit_message", {"room": name, "id": "1", "message": "x"}, "invalid_payload")
    other = room()
    a1.join(other)
    a1.error("edit_message", {"room": other, "id": mine, "message": "x"}, "not_found")


def test_the_author_deletes_and_the_message_keeps_its_place(trio):
    name, a1, _, b = trio
    sent = a1.send(name, "oops")["id"]
    assert a1.ok("delete_message", {"room": name, "id": sent}) == {"ok": True, "id": sent}
    got = b.wait("message_deleted", room=name)
    assert got == [{"room": name, "id": sent, "by": a1.name}]
    page = b.ok("load_history", {"room": name})["messages"]
    gone = next(m for m in page if m["id"] == sent)
    assert gone["deleted"] is True and gone["message"] is None
    assert gone["username"] == a1.name and gone["reactions"] == [] and gone["mentions"] == []
    a1.error("delete_message", {"room": name, "id": sent}, "not_found")
    a1.error("edit_message", {"room": name, "id": sent, "message": "x"}, "not_found")


def test_delete_refusals(trio):
    name, a1, _, b = trio
    mine = a1.send(name, "mine")["id"]
    b.error("delete_message", {"room": name, "id": mine}, "forbidden")
    a1.error("delete_message", {"room": name, "id": 2**31 - 1}, "not_found")
    a1.error("delete_message", {"room": name, "id": 2**31}, "invalid_payload")
    a1.error("delete_message", {"room": name}, "invalid_payload")


def test_reactions_are_idempotent_and_reach_the_room(trio):
    name, a1, _, b = trio
    mid = b.send(name, "react to me")["id"]
    ack = a1.ok("react", {"room": name, "id": mid, "emoji": "👍", "on": True})
    assert ack == {"ok": True, "id": mid, "emoji": "👍", "count": 1, "users": [a1.name]}
    change = {"room": name, "id": mid, "emoji": "👍", "count": 1, "users": [a1.name]}
    assert b.wait("reaction_changed", room=name) == [change]
    assert a1.ok("react", {"room": name, "id": mid, "emoji": "👍", "on": True}) == ack
    heart = a1.ok("react", {"room": name, "id": mid, "emoji": "❤", "on": True})
    assert heart["emoji"] == "❤️"  # fully qualified
    off = a1.ok("react", {"room": name, "id": mid, "emoji": "👍", "on": False})
    assert off["count"] == 0 and off["users"] == []
    b.wait("reaction_changed", 3, room=name)
    b.quiet()
    assert len(b.events("reaction_changed", name)) == 3
    page = b.ok("load_history", {"room": name})["messages"]
    assert page[-1]["reactions"] == [{"emoji": "❤️", "count": 1, "users": [a1.name]}]


@pytest.mark.parametrize("emoji", ["", "a", "👍👍", "👍 ", "🏽", ":smile:"])
def test_a_reaction_must_be_exactly_one_emoji(trio, emoji):
    name, a1, _, _ = trio
    mid = a1.send(name, "x")["id"]
    a1.error("react", {"room": name, "id": mid, "emoji": emoji, "on": True}, "invalid_payload")


def test_a_21st_emoji_is_limit_reached_and_an_unknown_message_not_found(trio):
    name, a1, _, _ = trio
    mid = a1.send(name, "many")["id"]
    emojis = "😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙😚🙂🤗🤩"
    for emoji in emojis[:20]:
        a1.ok("react", {"room": name, "id": mid, "emoji": emoji, "on": True})
    a1.error("react", {"room": name, "id": mid, "emoji": emojis[20], "on": True}, "limit_reached")
    a1.error("react", {"room": name, "id": 2**31 - 1, "emoji": "👍", "on": True}, "not_found")


def test_a_reply_carries_its_original_and_its_excerpt_goes_with_a_delete(trio):
    name, a1, _, b = trio
    original = b.send(name, "x" * 130)["id"]
    reply = a1.send(name, "answer", reply_to=original)["id"]
    got = b.wait("recieve_message", 2, room=name)
    message = next(m for m in got if m["id"] == reply)
    assert message["reply_to"] == {
        "id": original,
        "username": b.name,
        "excerpt": "x" * 120,
        "deleted": False,
    }
    b.ok("delete_message", {"room": name, "id": original})
    page = a1.ok("load_history", {"room": name, "around_id": reply})["messages"]
    later = next(m for m in page if m["id"] == reply)
    assert later["reply_to"]["deleted"] is True and later["reply_to"]["excerpt"] is None
    a1.error("send_message", {"room": name, "message": "x", "reply_to": original}, "not_found")
    a1.error("send_message", {"room": name, "message": "x", "reply_to": 2**31 - 1}, "not_found")


def test_a_mention_of_a_member_reaches_every_connection_of_that_user(user, room):
    alice, bob, carol = user(), user(fresh=True), user()
    a, b1, c = alice.connect(), bob.connect(), carol.connect()
    b2 = bob.connect()  # has the room neither open nor watched
    name = room()
    a.join(name)
    b1.join(name)
    text = f"hi @{bob.name.upper()}, `@{bob.name}` @{carol.name} @{alice.name} x@{bob.name}"
    sent = a.send(name, text)["id"]
    message = a.wait("recieve_message", room=name)[0]
    assert message["mentions"] == [bob.name]  # carol is no member; self is no mention
    for conn in (b1, b2):
        got = conn.wait("mentioned", room=name)
        assert [m["message"]["id"] for m in got] == [sent]
    c.quiet()
    assert c.events("mentioned") == []
    listed = bob.get("/api/mentions").json()
    assert [m["id"] for m in listed["messages"]] == [sent] and listed["has_more"] is False


def test_an_edit_mentions_only_the_newly_mentioned(user, room):
    alice, bob, carol = user(), user(), user()
    a, b, c = alice.connect(), bob.connect(), carol.connect()
    name = room()
    for conn in (a, b, c):
        conn.join(name)
    sent = a.send(name, f"@{bob.name}")["id"]
    b.wait("mentioned")
    a.ok("edit_message", {"room": name, "id": sent, "message": f"@{bob.name} @{carol.name}"})
    assert c.wait("mentioned")[0]["message"]["mentions"] == [bob.name, carol.name]
    b.quiet()
    assert len(b.events("mentioned")) == 1
