"""docs/protocol.md: roles, moderate, invite, set_topic, private rooms, the audit route."""

from __future__ import annotations

import pytest

from conformance import kit


@pytest.fixture
def owned(user, room):
    """A public room owned by alice, with bob (a member): (name, alice, a, bob, b)."""
    alice, bob = user(), user()
    a, b = alice.connect(), bob.connect()
    name = room()
    assert a.join(name)["role"] == "owner"
    b.join(name)
    return name, alice, a, bob, b


def test_a_moderator_deletes_anyones_message(owned):
    name, _, a, _bob, b = owned
    sent = b.send(name, "spam")["id"]
    assert a.ok("moderate", {"room": name, "action": "delete", "id": sent}) == {"ok": True}
    assert b.wait("message_deleted", room=name) == [{"room": name, "id": sent, "by": a.name}]


def test_a_kick_ends_the_membership_and_the_kicked_may_join_again(owned):
    name, _, a, bob, b = owned
    last = a.send(name, "before the kick")["id"]
    a.ok("moderate", {"room": name, "action": "kick", "target": bob.name})
    assert b.wait("room_removed") == [{"room": name, "by": a.name}]
    b.error("send_message", {"room": name, "message": "x"}, "not_in_room")
    b.error("joined_room", {"room": name, "last_id": last}, "forbidden")  # a stale resume
    b.join(name)


def test_a_ban_keeps_them_out_until_unbanned(owned):
    name, _, a, bob, b = owned
    a.ok("moderate", {"room": name, "action": "ban", "target": bob.name, "reason": "spam"})
    assert b.wait("room_removed") == [{"room": name, "banned": True, "by": a.name}]
    b.error("joined_room", {"room": name}, "forbidden")
    b.error("load_history", {"room": name}, "forbidden")
    kit.check_http_error(bob.get(f"/api/rooms/{name}/messages"), 403, "forbidden")
    a.ok("moderate", {"room": name, "action": "unban", "target": bob.name})
    b.join(name)


def test_promote_and_demote_are_the_owners_and_moderators_do_not_act_on_each_other(owned, user):
    name, alice, a, bob, b = owned
    carol = user()
    c = carol.connect()
    c.join(name)
    b.error("moderate", {"room": name, "action": "kick", "target": carol.name}, "forbidden")
    a.ok("moderate", {"room": name, "action": "promote", "target": bob.name})
    a.ok("moderate", {"room": name, "action": "promote", "target": carol.name})
    b.error("moderate", {"room": name, "action": "kick", "target": carol.name}, "forbidden")
    b.error("moderate", {"room": name, "action": "ban", "target": alice.name}, "forbidden")
    b.error("moderate", {"room": name, "action": "demote", "target": carol.name}, "forbidden")
    a.ok("moderate", {"room": name, "action": "demote", "target": carol.name})
    b.ok("moderate", {"room": name, "action": "kick", "target": carol.name})
    a.error("moderate", {"room": name, "action": "kick", "target": alice.name}, "forbidden")


def test_a_promotion_and_a_demotion_reach_the_room_as_role_changed(owned):
    name, _, a, bob, b = owned
    a.ok("moderate", {"room": name, "action": "promote", "target": bob.name})
    news = {"room": name, "username": bob.name, "role": "moderator", "by": a.name}
    assert b.wait("role_changed", room=name) == [news]
    assert a.wait("role_changed", room=name) == [news]
    a.ok("moderate", {"room": name, "action": "demote", "target": bob.name})
    assert b.wait("role_changed", room=name, count=2)[-1] == {**news, "role": "member"}


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"action": "shout", "target": "x"}, "invalid_payload"),
        ({"action": "delete"}, "invalid_payload"),
        ({"action": "kick"}, "invalid_payload"),
        ({"action": "kick", "id": 1}, "invalid_payload"),
        ({"action": "delete", "id": 2**31 - 1}, "not_found"),
        ({"action": "kick", "target": "nobody-at-all"}, "not_found"),
        ({"action": "ban", "target": "nobody-at-all", "reason": "x" * 251}, "too_long"),
    ],
    ids=repr,
)
def test_moderate_refusals(owned, payload, code):
    name, _, a, _, _ = owned
    a.error("moderate", {"room": name, **payload}, code)


def test_the_topic_reaches_open_and_watching_connections(owned, user):
    name, _alice, a, bob, b = owned
    watcher = bob.connect()
    watcher.ok("watch_rooms", {})
    assert a.ok("set_topic", {"room": name, "topic": " launch "}) == {
        "ok": True,
        "room": name,
        "topic": "launch",
    }
    for conn in (b, watcher):
        assert conn.wait("room_updated", room=name) == [{"room": name, "topic": "launch"}]
    b.error("set_topic", {"room": name, "topic": "mine"}, "forbidden")
    a.error("set_topic", {"room": name, "topic": "x" * 251}, "too_long")
    a.error("set_topic", {"room": name, "topic": "a\x00"}, "invalid_payload")
    assert a.ok("set_topic", {"room": name, "topic": ""})["topic"] is None


def test_the_audit_lists_actions_for_owner_and_moderators_only(owned):
    name, alice, a, bob, b = owned
    sent = b.send(name, "x")["id"]
    a.ok("moderate", {"room": name, "action": "delete", "id": sent, "reason": "why"})
    a.ok("set_topic", {"room": name, "topic": "t"})
    answer = alice.get(f"/api/rooms/{name}/audit")
    assert answer.status_code == 200
    entries = answer.json()["entries"]
    assert [e["action"] for e in entries] == ["set_topic", "delete"]
    assert entries[1]["message_id"] == sent and entries[1]["reason"] == "why"
    assert entries[1]["actor"] == alice.name and entries[1]["target"] == bob.name
    kit.check_http_error(bob.get(f"/api/rooms/{name}/audit"), 403, "forbidden")
    kit.check_http_error(alice.get(f"/api/rooms/{kit.unique('r')}/audit"), 403, "forbidden")


def test_a_private_room_is_for_members_and_any_member_invites(user, room):
    alice, bob, eve = user(), user(fresh=True), user()
    a, b, e = alice.connect(), bob.connect(), eve.connect()
    name = room("priv")
    assert a.join(name, private=True)["role"] == "owner"
    a.send(name, "secret")
    e.error("joined_room", {"room": name}, "forbidden")
    nothing = e.error("load_history", {"room": name}, "forbidden")
    other = room()
    missing = e.error("load_history", {"room": other}, "forbidden")
    # One answer, word for word, whether the private room exists or not.
    assert nothing["message"].replace(name, "R") == missing["message"].replace(other, "R")
    assert kit.http("GET", "/api/directory", eve.token, params={"q": name}).json()["rooms"] == []
    ack = a.ok("invite", {"room": name, "target": bob.name.upper()})
    assert ack == {"ok": True, "room": name, "username": bob.name}
    added = b.wait("room_added")
    assert added[0]["room"] == name and added[0]["kind"] == "private"
    b.join(name)
    b.ok("invite", {"room": name, "target": eve.name})
    e.join(name)
    a.error("invite", {"room": name, "target": kit.unique("nobody")}, "not_found")


def test_a_private_join_of_an_existing_public_room_is_invalid_payload(owned):
    name, _, a, _, _ = owned
    a.error("joined_room", {"room": name, "private": True}, "invalid_payload")


def test_in_a_public_room_only_owner_and_moderators_invite(owned, user):
    name, _, a, _bob, b = owned
    carol = user()
    b.error("invite", {"room": name, "target": carol.name}, "forbidden")
    a.ok("invite", {"room": name, "target": carol.name})
