"""Rooms with owners: roles, moderation (delete, kick, ban, unban, promote, demote), the
room's record, topics and the member list, as conversations between 2-4 clients; each on
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.helpers import events, join, run_sql, send, statements


@pytest.fixture
def bearer(auth):
    return lambda username: {"Authorization": f"Bearer {auth.token(username)}"}


@pytest.fixture
def room(connect):
    """alice made room r (its owner); bob and carol joined it. Nothing received yet."""
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    assert join(alice, "r")["role"] == "owner"
    assert join(bob, "r")["role"] == "member"
    assert join(carol, "r")["role"] == "member"
    for sock in (alice, bob, carol):
        events(sock)
    return alice, bob, carol


def moderate(sock, action: str, room: str = "r", **fields) -> dict:
    return sock.emit("moderate", {"room": room, "action": action, **fields}, callback=True)


def code(ack: dict) -> str | None:
    return None if ack["ok"] else ack["error"]["code"]


def state(app) -> tuple:
    """Everything an action may change (a refused one must change none of it)."""
    return tuple(
        run_sql(
            app,
            "SELECT (SELECT count(*) FROM memberships),"
            " (SELECT count(*) FROM bans),"
            " (SELECT count(*) FROM room_audit),"
            " (SELECT count(*) FROM messages WHERE deleted),"
            " (SELECT count(*) FROM memberships WHERE role = 'moderator'),"
            " (SELECT count(*) FROM rooms WHERE topic IS NOT NULL)",
        )[0]
    )


def promote(owner, name: str, room: str = "r") -> None:
    assert moderate(owner, "promote", room, target=name) == {"ok": True}


def members(client, headers, room: str = "r", **query) -> dict:
    response = client.get(f"/api/rooms/{room}/members", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def audit(client, headers, room: str = "r", **query):
    return client.get(f"/api/rooms/{room}/audit", headers=headers, query_string=query)


# --- roles ---------------------------------------------------------------------------


def test_the_join_that_makes_a_room_owns_it_and_direct_rooms_have_no_roles(connect):
    alice, bob = connect("alice"), connect("bob")
    assert join(alice, "fresh")["role"] == "owner"
    assert join(bob, "fresh")["role"] == "member"
    assert join(alice, "fresh")["role"] == "owner"  # again, from the same connection
    assert alice.emit("joined_room", {"peer": "bob"}, callback=True)["role"] is None
    assert join(bob, "dm:alice:bob")["role"] is None


def test_the_member_list_gives_roles_and_who_is_online_by_username(room, connect, client, bearer):
    alice, bob, _carol = room
    promote(alice, "carol")
    connect("Dave")
    join(connect("dave", register=False), "r")
    bob.disconnect()
    listed = members(client, bearer("alice"))
    assert listed == {
        "members": [
            {"username": "alice", "role": "owner", "online": True},
            {"username": "bob", "role": "member", "online": False},
            {"username": "carol", "role": "moderator", "online": True},
            {"username": "Dave", "role": "member", "online": True},
        ],
        "has_more": False,
    }
    # Keyset pages by username, ignoring case; anyone who may read a public room asks.
    connect("eve")
    first = members(client, bearer("eve"), limit=2)
    assert [m["username"] for m in first["members"]] == ["alice", "bob"] and first["has_more"]
    rest = members(client, bearer("eve"), after="BOB", limit=2)
    assert [m["username"] for m in rest["members"]] == ["carol", "Dave"]
    assert rest["has_more"] is False
    assert members(client, bearer("eve"), after="dave")["members"] == []


def test_a_direct_rooms_members_have_no_role(connect, client, bearer):
    alice = connect("alice")
    connect("bob")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    listed = members(client, bearer("bob"), room="dm:alice:bob")["members"]
    assert listed == [
        {"username": "alice", "role": None, "online": True},
        {"username": "bob", "role": None, "online": True},
    ]
    response = client.get("/api/rooms/dm:alice:bob/members", headers=bearer("alice"))
    assert response.status_code == 200
    connect("eve")
    response = client.get("/api/rooms/dm:alice:bob/members", headers=bearer("eve"))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "status", "code_"),
    [
        ("/api/rooms/r/members?limit=0", 400, "invalid_payload"),
        ("/api/rooms/r/members?limit=101", 400, "invalid_payload"),
        ("/api/rooms/r/members?after=a", 400, "invalid_payload"),
        ("/api/rooms/r/members?after=no%20spaces", 400, "invalid_payload"),
        ("/api/rooms/r%20r/members", 400, "invalid_payload"),
        ("/api/rooms/nowhere/members", 403, "forbidden"),
        ("/api/rooms/r/audit?limit=0", 400, "invalid_payload"),
        ("/api/rooms/r/audit?before_id=-1", 400, "invalid_payload"),
        ("/api/rooms/r/audit?before_id=2147483648", 400, "invalid_payload"),
        ("/api/rooms/nowhere/audit", 403, "forbidden"),
    ],
)
def test_the_member_list_and_the_record_refuse_bad_arguments(
    room, client, bearer, path, status, code_
):
    response = client.get(path, headers=bearer("alice"))
    assert (response.status_code, response.get_json()["error"]["code"]) == (status, code_)


def test_the_member_list_and_the_record_need_an_identity(client):
    for path in ("/api/rooms/r/members", "/api/rooms/r/audit"):
        assert client.get(path).status_code == 401


def test_the_owner_who_leaves_passes_the_room_on(room, client, bearer):
    alice, _bob, _carol = room
    promote(alice, "carol")
    assert client.delete("/api/rooms/r/membership", headers=bearer("alice")).status_code == 204
    roles = {m["username"]: m["role"] for m in members(client, bearer("bob"))["members"]}
    assert roles == {"bob": "member", "carol": "owner"}  # the moderator first
    assert client.delete("/api/rooms/r/membership", headers=bearer("carol")).status_code == 204
    assert members(client, bearer("bob"))["members"][0]["role"] == "owner"


def test_a_room_nobody_owns_goes_to_its_next_joiner(connect, client, bearer, app):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    assert client.delete("/api/rooms/r/membership", headers=bearer("alice")).status_code == 204
    assert join(bob, "r")["role"] == "owner"
    assert join(alice, "r")["role"] == "member"
    assert run_sql(app, "SELECT count(*) FROM memberships WHERE role = 'owner'")[0][0] == 1


# --- moderate: delete ----------------------------------------------------------------


def test_the_owner_and_moderators_delete_anyones_message(room, client, bearer):
    alice, bob, carol = room
    promote(alice, "carol")
    mid = send(bob, "r", "something rude")["id"]
    events(alice), events(bob), events(carol)
    assert moderate(carol, "delete", id=mid, reason="rude") == {"ok": True}
    for sock in (alice, bob, carol):
        assert events(sock, "message_deleted") == [{"room": "r", "id": mid, "by": "carol"}]
    page = bob.emit("load_history", {"room": "r"}, callback=True)["messages"]
    assert page[-1]["deleted"] is True and page[-1]["message"] is None
    assert code(moderate(alice, "delete", id=mid)) == "not_found"  # already gone
    other = send(bob, "r", "another")["id"]
    assert moderate(alice, "delete", id=other) == {"ok": True}
    [entry, first] = audit(client, bearer("alice")).get_json()["entries"][:2]
    assert entry["actor"] == "alice" and entry["message_id"] == other
    assert first["action"] == "delete" and first["actor"] == "carol"
    assert first["target"] == "bob" and first["reason"] == "rude" and first["message_id"] == mid


def test_members_delete_only_their_own_and_moderators_spare_each_other(room, app):
    alice, bob, _carol = room
    promote(alice, "bob")
    promote(alice, "carol")
    by = {name: send(sock, "r", f"by {name}")["id"] for name, sock in zip("abc", room, strict=True)}
    before = state(app)
    assert code(moderate(bob, "delete", id=by["c"])) == "forbidden"  # another moderator's
    assert code(moderate(bob, "delete", id=by["a"])) == "forbidden"  # the owner's
    assert code(moderate(bob, "delete", id=10**6)) == "not_found"
    assert state(app) == before
    assert moderate(bob, "delete", id=by["b"]) == {"ok": True}  # his own
    moderate(alice, "demote", target="bob")
    before = state(app)
    assert code(moderate(bob, "delete", id=by["c"])) == "forbidden"
    assert code(moderate(bob, "delete", id=10**6)) == "forbidden"  # no rights, whatever the id
    assert state(app) == before
    assert moderate(alice, "delete", id=by["c"]) == {"ok": True}


# --- moderate: kick ------------------------------------------------------------------


def test_a_kick_removes_the_member_from_every_connection_and_they_may_join_again(
    room, connect, client, bearer
):
    alice, bob, carol = room
    seen_before = send(carol, "r", "before the kick")["id"]
    events(bob)
    bob_watching = connect("bob", register=False)
    assert bob_watching.emit("watch_rooms", {}, callback=True)["ok"]
    events(bob_watching)
    assert moderate(alice, "kick", target="bob", reason="cool off") == {"ok": True}
    for sock in (bob, bob_watching):
        assert events(sock, "room_removed") == [{"room": "r", "by": "alice"}]
    assert events(carol, "leave_room_announcement") == [
        {"room": "r", "username": "bob", "membership": True}
    ]
    send(carol, "r", "bob is out")
    for sock in (bob, bob_watching):
        assert events(sock, "recieve_message") == []
    assert code(send(bob, "r", "let me back")) == "not_in_room"
    assert [m["username"] for m in members(client, bearer("carol"))["members"]] == [
        "alice",
        "carol",
    ]
    # A resume from before the kick is refused (a client that has not heard of it); a
    # fresh join is a member again (so is one from a message read since).
    ack = bob.emit("joined_room", {"room": "r", "last_id": seen_before}, callback=True)
    assert code(ack) == "forbidden" and "without last_id" in ack["error"]["message"]
    assert join(bob, "r")["role"] == "member"
    assert events(bob, "rejoin_room")[0]["messages"][-1]["message"] == "bob is out"
    moderate(alice, "kick", target="bob")
    later = send(carol, "r", "read since")["id"]
    assert join(bob, "r", last_id=later)["role"] == "member"
    assert send(bob, "r", "back")["ok"]
    entry = audit(client, bearer("alice")).get_json()["entries"][-1]
    assert {k: entry[k] for k in ("actor", "action", "target", "reason")} == {
        "actor": "alice",
        "action": "kick",
        "target": "bob",
        "reason": "cool off",
    }


def test_nobody_acts_on_the_owner_a_moderator_on_a_moderator_or_anyone_on_themselves(
    room, connect, app
):
    alice, bob, _carol = room
    promote(alice, "bob")
    promote(alice, "carol")
    dave = connect("dave")
    join(dave, "r")
    before = state(app)
    refused = [
        (bob, "kick", "alice"),
        (bob, "ban", "alice"),
        (bob, "kick", "carol"),
        (bob, "ban", "carol"),
        (bob, "demote", "carol"),
        (bob, "promote", "dave"),  # the owner only
        (bob, "kick", "bob"),
        (bob, "ban", "bob"),
        (alice, "kick", "alice"),
        (alice, "ban", "alice"),
        (alice, "demote", "alice"),
        (alice, "promote", "alice"),
        (dave, "kick", "bob"),
        (dave, "ban", "carol"),
        (dave, "promote", "dave"),  # nobody raises themselves
        (dave, "unban", "carol"),
    ]
    for actor, action, target in refused:
        ack = moderate(actor, action, target=target)
        assert code(ack) == "forbidden", (action, target, ack)
    assert state(app) == before
    assert moderate(bob, "kick", target="dave") == {"ok": True}


def test_targets_that_are_no_members_or_no_users(room, connect, app):
    alice, _bob, _carol = room
    connect("eve")
    before = state(app)
    for action in ("kick", "promote", "demote"):
        assert code(moderate(alice, action, target="eve")) == "not_found", action
        assert code(moderate(alice, action, target="nobody")) == "not_found", action
    assert code(moderate(alice, "ban", target="nobody")) == "not_found"
    assert state(app) == before


@pytest.mark.parametrize(
    ("payload", "code_"),
    [
        ({"room": "r", "action": "kick"}, "invalid_payload"),
        ({"room": "r", "action": "kick", "target": "bob", "id": 1}, "invalid_payload"),
        ({"room": "r", "action": "delete"}, "invalid_payload"),
        ({"room": "r", "action": "delete", "id": 1, "target": "bob"}, "invalid_payload"),
        ({"room": "r", "action": "mute", "target": "bob"}, "invalid_payload"),
        ({"room": "r", "action": "KICK", "target": "bob"}, "invalid_payload"),
        ({"room": "r", "action": "kick", "target": "b"}, "invalid_payload"),
        ({"room": "r", "action": "delete", "id": "1"}, "invalid_payload"),
        ({"room": "r", "action": "delete", "id": 2**31}, "invalid_payload"),
        ({"room": "r", "action": "kick", "target": "bob", "reason": "x" * 251}, "too_long"),
        ({"room": "r", "action": "kick", "target": "bob", "reason": "a\x00b"}, "invalid_payload"),
        ({"room": "r", "action": "kick", "target": "bob", "reason": 5}, "invalid_payload"),
        ({"room": "r", "action": "kick", "target": "bob", "username": "bob"}, "forbidden"),
        ({"room": "elsewhere", "action": "kick", "target": "bob"}, "not_in_room"),
        ({"room": "r", "topic": "x" * 251}, "too_long"),
    ],
)
def test_refused_payloads_change_nothing(room, app, payload, code_):
    alice, bob, _ = room
    event = "set_topic" if "topic" in payload else "moderate"
    before = state(app)
    ack = alice.emit(event, payload, callback=True)
    assert code(ack) == code_, ack
    assert state(app) == before
    assert events(bob) == []


def test_a_reason_is_trimmed_and_empty_is_none(room, client, bearer):
    alice, *_ = room
    moderate(alice, "kick", target="bob", reason="   ")
    moderate(alice, "kick", target="carol", reason=" spam \n")
    newest, oldest = audit(client, bearer("alice")).get_json()["entries"]
    assert oldest["reason"] is None and newest["reason"] == "spam"


def test_direct_rooms_have_no_moderation(connect, app):
    alice, bob = connect("alice"), connect("bob")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    mid = send(alice, "dm:alice:bob", "hi")["id"]
    join(bob, "dm:alice:bob")
    before = state(app)
    for ack in (
        moderate(alice, "kick", "dm:alice:bob", target="bob"),
        moderate(alice, "delete", "dm:alice:bob", id=mid),
        bob.emit("set_topic", {"room": "dm:alice:bob", "topic": "us"}, callback=True),
        bob.emit("invite", {"room": "dm:alice:bob", "target": "alice"}, callback=True),
    ):
        assert code(ack) == "forbidden", ack
    assert state(app) == before


# --- moderate: ban and unban ---------------------------------------------------------


def test_a_banned_user_is_removed_and_then_cannot_join_read_search_or_be_mentioned(
    room, connect, client, bearer, app
):
    alice, bob, carol = room
    mentioned = send(alice, "r", "@bob see this")["id"]
    bob_tab = connect("bob", register=False)
    events(bob)
    assert moderate(alice, "ban", target="bob", reason="spam") == {"ok": True}
    for sock in (bob, bob_tab):
        assert events(sock, "room_removed") == [{"room": "r", "banned": True, "by": "alice"}]
    assert code(send(bob, "r", "still here?")) == "not_in_room"
    for sock in (bob, bob_tab):
        ack = sock.emit("joined_room", {"room": "r"}, callback=True)
        assert code(ack) == "forbidden" and "banned" in ack["error"]["message"]
        assert code(sock.emit("load_history", {"room": "r"}, callback=True)) == "forbidden"
    headers = bearer("bob")
    for path in ("/api/rooms/r/messages", "/api/rooms/r/members", "/api/search?q=see&room=r"):
        assert client.get(path, headers=headers).status_code == 403, path
    assert client.get("/api/search?q=see", headers=headers).get_json()["messages"] == []
    assert client.get("/api/mentions", headers=headers).get_json()["messages"] == []
    # A ban ends mentions: a message naming bob mentions nobody, an edit keeps no mention
    # of him, and nothing reaches him.
    assert send(alice, "r", "@bob is gone")["ok"]
    edit = {"room": "r", "id": mentioned, "message": "@bob see this, edited"}
    assert alice.emit("edit_message", edit, callback=True)["ok"]
    page = carol.emit("load_history", {"room": "r"}, callback=True)["messages"]
    assert [m["mentions"] for m in page[-2:]] == [[], []]
    assert events(bob, "mentioned") == events(bob_tab, "mentioned") == []
    # Nor can anyone bring him back while banned.
    ack = alice.emit("invite", {"room": "r", "target": "bob"}, callback=True)
    assert code(ack) == "forbidden"
    held = (
        "SELECT count(*) FROM memberships JOIN users ON users.id = user_id WHERE username = 'bob'"
    )
    assert run_sql(app, held)[0][0] == 0
    [entry] = audit(client, bearer("alice")).get_json()["entries"]
    assert (entry["action"], entry["target"], entry["reason"]) == ("ban", "bob", "spam")


def test_a_ban_is_once_and_an_unban_lets_them_join_again(room, client, bearer, app):
    alice, bob, carol = room
    promote(alice, "carol")
    assert moderate(carol, "ban", target="bob") == {"ok": True}
    before = state(app)
    assert moderate(carol, "ban", target="bob") == {"ok": True}  # nothing more to do
    assert state(app) == before
    assert code(bob.emit("joined_room", {"room": "r"}, callback=True)) == "forbidden"
    assert moderate(carol, "unban", target="bob") == {"ok": True}
    before = state(app)
    assert moderate(carol, "unban", target="bob") == {"ok": True}
    assert state(app) == before
    assert join(bob, "r")["role"] == "member"
    assert send(bob, "r", "I am back")["ok"]
    actions = [e["action"] for e in audit(client, bearer("alice")).get_json()["entries"]]
    assert actions == ["unban", "ban", "promote"]


def test_the_page_of_a_room_you_are_banned_from_is_refused(room, client, auth):
    alice, *_ = room
    moderate(alice, "ban", target="bob")
    auth.login(client, "bob")
    assert client.get("/chat?room=r").status_code == 403
    assert client.get("/chat?room=elsewhere").status_code == 200
    moderate(alice, "unban", target="bob")
    assert client.get("/chat?room=r").status_code == 200


def test_a_user_who_is_no_member_can_be_banned_before_they_join(room, connect, client, bearer):
    alice, *_ = room
    eve = connect("eve")
    assert moderate(alice, "ban", target="eve") == {"ok": True}
    assert events(eve, "room_removed") == []  # nothing to remove
    assert code(eve.emit("joined_room", {"room": "r"}, callback=True)) == "forbidden"
    assert client.get("/api/rooms/r/messages", headers=bearer("eve")).status_code == 403


def test_the_owner_may_ban_a_moderator_and_the_ban_ends_the_role(room, client, bearer):
    alice, bob, _ = room
    promote(alice, "bob")
    assert moderate(alice, "ban", target="bob") == {"ok": True}
    assert moderate(alice, "unban", target="bob") == {"ok": True}
    assert join(bob, "r")["role"] == "member"
    assert code(moderate(bob, "kick", target="carol")) == "forbidden"


# --- moderate: promote and demote ------------------------------------------------------


def test_the_owner_promotes_and_demotes_and_it_counts_at_once(room, client, bearer, connect):
    alice, bob, carol = room
    assert code(moderate(bob, "kick", target="carol")) == "forbidden"
    carol_watching = connect("carol", register=False)
    assert carol_watching.emit("watch_rooms", {}, callback=True)["ok"]
    for sock in (alice, bob, carol, carol_watching):
        events(sock)
    promote(alice, "bob")
    # Everyone with the room open or watched hears of it, the target included.
    news = {"room": "r", "username": "bob", "role": "moderator", "by": "alice"}
    for sock in (alice, bob, carol, carol_watching):
        assert events(sock, "role_changed") == [news]
    promote(alice, "bob")  # a moderator already: nothing changes, nothing is announced
    assert events(bob, "role_changed") == []
    roles = {m["username"]: m["role"] for m in members(client, bearer("carol"))["members"]}
    assert roles == {"alice": "owner", "bob": "moderator", "carol": "member"}
    assert moderate(bob, "kick", target="carol") == {"ok": True}
    assert moderate(alice, "demote", target="bob") == {"ok": True}
    assert events(bob, "role_changed") == [
        {"room": "r", "username": "bob", "role": "member", "by": "alice"}
    ]
    join(carol, "r")
    assert code(moderate(bob, "kick", target="carol")) == "forbidden"
    actions = [e["action"] for e in audit(client, bearer("alice")).get_json()["entries"]]
    assert actions == ["demote", "kick", "promote"]


# --- the record ------------------------------------------------------------------------


def test_the_record_is_for_the_owner_and_moderators_newest_first_in_pages(
    room, client, bearer, connect
):
    alice, _bob, _carol = room
    promote(alice, "carol")
    for i in range(5):
        assert alice.emit("set_topic", {"room": "r", "topic": f"topic {i}"}, callback=True)["ok"]
    connect("eve")
    for name in ("bob", "eve"):
        response = audit(client, bearer(name))
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    # The same answer for a room that does not exist.
    missing = audit(client, bearer("carol"), room="nowhere")
    assert missing.status_code == 403
    assert missing.get_json()["error"]["message"] == audit(client, bearer("eve")).get_json()[
        "error"
    ]["message"].replace(" r ", " nowhere ")
    entries = audit(client, bearer("carol"), limit=3).get_json()["entries"]
    assert [e["topic"] for e in entries] == ["topic 4", "topic 3", "topic 2"]
    assert set(entries[0]) == {
        "id",
        "at",
        "actor",
        "action",
        "target",
        "message_id",
        "reason",
        "topic",
    }
    assert entries[0]["at"].endswith("Z") and entries[0]["action"] == "set_topic"
    older = audit(client, bearer("carol"), before_id=entries[-1]["id"]).get_json()["entries"]
    assert [e["action"] for e in older] == ["set_topic", "set_topic", "promote"]


# --- topics ----------------------------------------------------------------------------


def test_a_topic_reaches_open_and_watching_connections_and_summaries(room, connect, client, bearer):
    alice, bob, carol = room
    bob_watching = connect("bob", register=False)
    bob_watching.emit("watch_rooms", {}, callback=True)
    stranger = connect("eve")
    join(stranger, "elsewhere")
    events(bob_watching)
    ack = alice.emit("set_topic", {"room": "r", "topic": "  Release on Friday  "}, callback=True)
    assert ack == {"ok": True, "room": "r", "topic": "Release on Friday"}
    for sock in (alice, bob, carol, bob_watching):
        assert events(sock, "room_updated") == [{"room": "r", "topic": "Release on Friday"}]
    assert events(stranger) == []
    [summary] = client.get("/api/rooms", headers=bearer("bob")).get_json()["rooms"]
    assert summary["topic"] == "Release on Friday"
    [listed] = client.get("/api/directory?q=r", headers=bearer("eve")).get_json()["rooms"]
    assert listed == {
        "room": "r",
        "members": 3,
        "topic": "Release on Friday",
        "last_message_at": None,
    }
    # The same topic again changes and sends nothing; empty clears it.
    again = alice.emit("set_topic", {"room": "r", "topic": "Release on Friday"}, callback=True)
    assert again["ok"] and events(bob) == []
    assert alice.emit("set_topic", {"room": "r", "topic": " "}, callback=True)["topic"] is None
    assert events(bob, "room_updated") == [{"room": "r", "topic": None}]
    [summary] = bob_watching.emit("watch_rooms", {}, callback=True)["rooms"]
    assert summary["topic"] is None


def test_only_the_owner_and_moderators_set_the_topic(room, app):
    alice, bob, carol = room
    before = state(app)
    ack = bob.emit("set_topic", {"room": "r", "topic": "mine now"}, callback=True)
    assert code(ack) == "forbidden" and state(app) == before
    promote(alice, "bob")
    assert bob.emit("set_topic", {"room": "r", "topic": "mine now"}, callback=True)["ok"]
    ack = carol.emit("set_topic", {"room": "r", "topic": "a\u0007bell"}, callback=True)
    assert code(ack) == "invalid_payload"
    topic = "é" * 250  # 250 code points
    assert alice.emit("set_topic", {"room": "r", "topic": topic}, callback=True)["topic"] == topic


# --- what a check costs ----------------------------------------------------------------


def test_roles_and_bans_add_no_query_to_a_send_or_a_join(room, connect, app):
    """A send is its INSERT alone (which checks the membership itself); a join is its
    membership INSERT, the one read of members (with the joiner's role and ban) and the
    replay, as before rooms had owners."""
    alice, bob, _ = room
    send(alice, "r", "hello")
    with statements(app) as seen:
        assert send(bob, "r", "plain")["ok"]
    assert len(seen) == 1 and seen[0].startswith("INSERT INTO messages"), seen
    bob_tab = connect("bob", register=False)
    with statements(app) as seen:
        join(bob_tab, "r", last_id=10**6)
    assert len(seen) == 3, seen
    assert seen[0].startswith("INSERT INTO memberships") and "bans" in seen[0]
    assert "bans" in seen[1] and "role" in seen[1]  # read with the membership
    with statements(app) as seen:
        assert bob.emit("load_history", {"room": "r"}, callback=True)["ok"]
    assert len(seen) == 1 and "bans" in seen[0], seen  # the page checks the ban itself


# --- the migration ---------------------------------------------------------------------


def test_the_migration_makes_each_public_rooms_earliest_member_its_owner(database_url):
    import flask_migrate

    from app import create_app
    from models import db
    from tests.conftest import base_config

    app = create_app(base_config(database_url))
    seed = [
        "INSERT INTO users (id, username, password_hash, created_at, token_version) VALUES"
        " (1, 'ann', 'x', CURRENT_TIMESTAMP, 0), (2, 'ben', 'x', CURRENT_TIMESTAMP, 0),"
        " (3, 'cat', 'x', CURRENT_TIMESTAMP, 0)",
        "INSERT INTO rooms (id, name, kind, created_at) VALUES"
        " (1, 'old', 'public', CURRENT_TIMESTAMP), (2, 'dm:ann:ben', 'direct', CURRENT_TIMESTAMP),"
        " (3, 'empty', 'public', CURRENT_TIMESTAMP), (4, 'tie', 'public', CURRENT_TIMESTAMP)",
        "INSERT INTO memberships (room_id, user_id, joined_at) VALUES"
        " (1, 1, '2026-01-02 00:00:00'), (1, 2, '2026-01-01 00:00:00'),"
        " (1, 3, '2026-01-03 00:00:00'), (2, 1, '2026-01-01 00:00:00'),"
        " (2, 2, '2026-01-01 00:00:00'), (4, 3, '2026-01-05 00:00:00'),"
        " (4, 2, '2026-01-05 00:00:00')",
    ]
    try:
        with app.app_context():
            flask_migrate.downgrade(revision="0005_search")
            for statement in seed:
                db.session.execute(text(statement))
            db.session.commit()
            flask_migrate.upgrade()
            roles = db.session.execute(
                text("SELECT room_id, user_id, role FROM memberships ORDER BY room_id, user_id")
            ).all()
            topics = db.session.execute(text("SELECT topic FROM rooms")).scalars().all()
    finally:
        with app.app_context():
            for table in ("memberships", "rooms", "users"):
                db.session.execute(text(f"DELETE FROM {table}"))
            db.session.commit()
            db.engine.dispose()
    assert [tuple(r) for r in roles] == [
        (1, 1, "member"),
        (1, 2, "owner"),  # the earliest
        (1, 3, "member"),
        (2, 1, "member"),  # a direct room: no owner
        (2, 2, "member"),
        (4, 2, "owner"),  # joined at the same moment: the smaller user id
        (4, 3, "member"),
    ]
    assert topics == [None] * 4


# --- the read rule, said twice -------------------------------------------------------


@pytest.mark.parametrize("kind", ["public", "private", "direct"])
@pytest.mark.parametrize("member", [False, True])
@pytest.mark.parametrize("banned", [False, True])
def test_the_read_rule_says_the_same_in_python_and_in_sql(app, auth, kind, member, banned):
    """rules.can_read (history, search, members, pages) and rooms.readable_clause (the
    mentions list) answer alike, for every kind of room and state of its reader."""
    from sqlalchemy import literal, select

    from chat import rooms, rules, sql

    auth.register("alice")
    auth.register("bob")
    name = "dm:alice:bob" if kind == "direct" else "place"
    run_sql(
        app,
        "INSERT INTO rooms (name, kind, created_at) VALUES (:n, :k, CURRENT_TIMESTAMP)",
        n=name,
        k=kind,
    )
    ids = "(SELECT id FROM rooms WHERE name = :n), (SELECT id FROM users WHERE username = 'bob')"
    if member:
        run_sql(
            app,
            f"INSERT INTO memberships (room_id, user_id, joined_at)"
            f" VALUES ({ids}, CURRENT_TIMESTAMP)",
            n=name,
        )
    if banned:
        run_sql(
            app,
            f"INSERT INTO bans (room_id, user_id, created_at) VALUES ({ids}, CURRENT_TIMESTAMP)",
            n=name,
        )
    with app.app_context():
        bob = rooms.lookup_user("bob")
        found = rooms.access(name, bob.id)
        in_python = rules.can_read(name, "bob", found.kind, found.member, found.banned)
        clause = rooms.readable_clause(literal(found.id), literal(found.kind), literal(bob.id))
        in_sql = bool(sql.connection().execute(select(clause)).scalar())
    assert in_python == in_sql
    expected = {"public": not banned, "private": member and not banned, "direct": True}[kind]
    assert in_python is expected
