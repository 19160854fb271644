"""Private rooms: made by the join that creates them with ``private: true``, never in the
directory, read, joined and searched by members only, who invite others; everyone else
is answered as for a room that does not exist. Each on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.helpers import events, join, run_sql, send


@pytest.fixture
def bearer(auth):
    return lambda username: {"Authorization": f"Bearer {auth.token(username)}"}


@pytest.fixture
def team(connect):
    """alice made the private room "team" and invited bob; eve is a stranger."""
    alice, bob, eve = connect("alice"), connect("bob"), connect("eve")
    ack = alice.emit("joined_room", {"room": "team", "private": True}, callback=True)
    assert ack["ok"] and ack["role"] == "owner"
    invited = alice.emit("invite", {"room": "team", "target": "BOB"}, callback=True)
    assert invited == {"ok": True, "room": "team", "username": "bob"}
    send(alice, "team", "the plan is secret")
    for sock in (alice, bob, eve):
        events(sock)
    return alice, bob, eve


def code(ack: dict) -> str | None:
    return None if ack["ok"] else ack["error"]["code"]


def counts(app) -> tuple:
    return tuple(
        run_sql(
            app,
            "SELECT (SELECT count(*) FROM rooms), (SELECT count(*) FROM memberships),"
            " (SELECT count(*) FROM messages)",
        )[0]
    )


def test_an_invited_member_hears_of_it_and_joins(connect, bearer, client):
    alice, bob = connect("alice"), connect("bob")
    bob_tab = connect("bob", register=False)
    alice.emit("joined_room", {"room": "team", "private": True}, callback=True)
    alice.emit("invite", {"room": "team", "target": "bob"}, callback=True)
    for sock in (bob, bob_tab):
        [added] = events(sock, "room_added")
        assert added["room"] == "team" and added["kind"] == "private"
    ack = join(bob, "team")
    assert ack["role"] == "member" and ack["online"] == ["alice", "bob"]
    rooms = client.get("/api/rooms", headers=bearer("bob")).get_json()["rooms"]
    assert [(r["room"], r["kind"]) for r in rooms] == [("team", "private")]
    # Any member invites; inviting a member again changes nothing.
    connect("carol")
    assert bob.emit("invite", {"room": "team", "target": "carol"}, callback=True)["ok"]
    events(bob)
    assert alice.emit("invite", {"room": "team", "target": "bob"}, callback=True)["ok"]
    assert events(bob, "room_added") == []


def test_others_are_answered_as_for_a_room_that_does_not_exist(team, client, bearer, app):
    _alice, _bob, eve = team
    before = counts(app)
    answers = {}
    for name in ("team", "nowhere"):
        history = eve.emit("load_history", {"room": name}, callback=True)
        answers[name] = [history["error"]]
        for path in (f"/api/rooms/{name}/messages", f"/api/rooms/{name}/members"):
            response = client.get(path, headers=bearer("eve"))
            assert response.status_code == 403, path
            answers[name].append(response.get_json()["error"])
        response = client.get(f"/api/search?q=plan&room={name}", headers=bearer("eve"))
        assert response.status_code == 403
        answers[name].append(response.get_json()["error"])
    assert str(answers["team"]).replace("team", "X") == str(answers["nowhere"]).replace(
        "nowhere", "X"
    )
    assert answers["team"][0] == {
        "code": "forbidden",
        "message": "there is no room team that you may read",
    }
    ack = eve.emit("joined_room", {"room": "team"}, callback=True)
    assert ack["error"] == answers["team"][0]
    assert code(eve.emit("joined_room", {"room": "team", "private": True}, callback=True)) == (
        "forbidden"
    )
    assert counts(app) == before
    assert client.get("/api/search?q=plan", headers=bearer("eve")).get_json()["messages"] == []
    assert client.get("/api/directory", headers=bearer("eve")).get_json()["rooms"] == []


def test_members_read_search_and_list_it(team, client, bearer):
    _alice, bob, _eve = team
    page = bob.emit("load_history", {"room": "team"}, callback=True)
    assert [m["message"] for m in page["messages"]] == ["the plan is secret"]
    found = client.get("/api/search?q=plan", headers=bearer("bob")).get_json()["messages"]
    assert [m["room"] for m in found] == ["team"]
    listed = client.get("/api/rooms/team/members", headers=bearer("bob")).get_json()
    assert [(m["username"], m["role"]) for m in listed["members"]] == [
        ("alice", "owner"),
        ("bob", "member"),
    ]


def test_a_member_who_leaves_reads_it_no_more(team, client, bearer):
    alice, bob, _ = team
    join(bob, "team")
    send(alice, "team", "@bob one more")
    assert client.delete("/api/rooms/team/membership", headers=bearer("bob")).status_code == 204
    assert code(bob.emit("load_history", {"room": "team"}, callback=True)) == "forbidden"
    assert code(bob.emit("joined_room", {"room": "team"}, callback=True)) == "forbidden"
    assert client.get("/api/mentions", headers=bearer("bob")).get_json()["messages"] == []
    assert alice.emit("invite", {"room": "team", "target": "bob"}, callback=True)["ok"]
    assert join(bob, "team")["role"] == "member"
    assert len(client.get("/api/mentions", headers=bearer("bob")).get_json()["messages"]) == 1


def test_pages_of_a_private_room_are_for_its_members(team, client, auth):
    auth.login(client, "eve")
    assert client.get("/chat?room=team").status_code == 403
    assert client.get("/chat?room=not-yet").status_code == 200  # a join would make it
    auth.login(client, "bob")
    assert client.get("/chat?room=team").status_code == 200


def test_private_on_a_room_that_exists(connect, app):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "open")
    before = counts(app)
    ack = bob.emit("joined_room", {"room": "open", "private": True}, callback=True)
    assert code(ack) == "invalid_payload" and ack["error"]["message"].startswith("private:")
    assert counts(app) == before
    # A member joining a private room with it: a plain join.
    alice.emit("joined_room", {"room": "team", "private": True}, callback=True)
    assert join(alice, "team", private=True)["role"] == "owner"
    assert join(alice, "team")["role"] == "owner"


@pytest.mark.parametrize(
    "payload",
    [
        {"peer": "bob", "private": True},
        {"room": "dm:alice:bob", "private": True},
        {"room": "x", "private": "yes"},
        {"room": "x", "private": 1},
    ],
)
def test_a_direct_room_is_never_private(connect, app, payload):
    alice = connect("alice")
    connect("bob")
    before = counts(app)
    assert code(alice.emit("joined_room", payload, callback=True)) == "invalid_payload"
    assert counts(app) == before


def test_in_a_public_room_the_owner_and_moderators_invite(connect, app):
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    connect("dave")
    join(alice, "open")
    join(bob, "open")
    ack = bob.emit("invite", {"room": "open", "target": "carol"}, callback=True)
    assert code(ack) == "forbidden"
    alice.emit("moderate", {"room": "open", "action": "promote", "target": "bob"}, callback=True)
    assert bob.emit("invite", {"room": "open", "target": "carol"}, callback=True)["ok"]
    [added] = events(carol, "room_added")
    assert added["room"] == "open" and added["kind"] == "public"
    before = counts(app)
    for target, expected in (("nobody", "not_found"), ("x", "invalid_payload")):
        ack = alice.emit("invite", {"room": "open", "target": target}, callback=True)
        assert code(ack) == expected
    ack = alice.emit("invite", {"room": "elsewhere", "target": "dave"}, callback=True)
    assert code(ack) == "not_in_room"
    assert counts(app) == before


@pytest.mark.app_config(MAX_ROOMS_PER_USER=2)
def test_an_invitation_counts_against_the_cap(connect, app):
    alice, bob = connect("alice"), connect("bob")
    join(bob, "one")
    join(bob, "two")
    alice.emit("joined_room", {"room": "team", "private": True}, callback=True)
    ack = alice.emit("invite", {"room": "team", "target": "bob"}, callback=True)
    assert code(ack) == "limit_reached"
    assert events(bob, "room_added") == []
    # Nor is a private room made for a creator at the cap (nobody could ever join it).
    before = counts(app)
    ack = bob.emit("joined_room", {"room": "secret", "private": True}, callback=True)
    assert code(ack) == "limit_reached" and counts(app) == before
