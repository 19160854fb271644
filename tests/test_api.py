"""The JSON API for other platforms: rooms with unread counts, and history pages."""

import pytest

from tests.helpers import join, send


@pytest.fixture
def bearer(auth):
    def _bearer(username: str) -> dict:
        return {"Authorization": f"Bearer {auth.token(username)}"}

    return _bearer


def test_rooms_list_unread_counts_and_last_message(connect, client, bearer):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    join(alice, "quiet")
    send(alice, "r", "one")
    send(bob, "r", "two")
    last = send(bob, "r", "three")

    rooms = client.get("/api/rooms", headers=bearer("alice")).get_json()["rooms"]
    assert [(r["room"], r["kind"], r["unread"]) for r in rooms] == [
        ("r", "public", 2),  # bob's two; alice's own never count
        ("quiet", "public", 0),  # rooms without messages come last
    ]
    assert rooms[0]["last_message"]["id"] == last["id"]
    assert rooms[1]["last_message"] is None


def test_rooms_are_listed_most_recently_active_first(connect, client, bearer):
    alice = connect("alice")
    for name in ("a", "b", "c"):
        join(alice, name)
    for name in ("b", "a"):
        send(alice, name, "hi")
    rooms = client.get("/api/rooms", headers=bearer("alice")).get_json()["rooms"]
    assert [r["room"] for r in rooms] == ["a", "b", "c"]
    send(alice, "b", "again")
    rooms = client.get("/api/rooms", headers=bearer("alice")).get_json()["rooms"]
    assert [r["room"] for r in rooms] == ["b", "a", "c"]


def test_rooms_include_direct_rooms(connect, client, bearer):
    alice, _ = connect("alice"), connect("bob")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    rooms = client.get("/api/rooms", headers=bearer("alice")).get_json()["rooms"]
    assert rooms == [
        {
            "room": "dm:alice:bob",
            "kind": "direct",
            "unread": 0,
            "mentions": 0,
            "topic": None,
            "last_message": None,
            "peer": "bob",
            "peer_online": True,
        }
    ]


def test_room_messages_pages_like_load_history(connect, client, bearer):
    alice = connect("alice")
    join(alice, "r")
    ids = [send(alice, "r", f"m{i}")["id"] for i in range(5)]
    body = client.get("/api/rooms/r/messages?limit=2", headers=bearer("alice")).get_json()
    assert [m["id"] for m in body["messages"]] == ids[-2:] and body["has_more"] is True
    body = client.get(
        f"/api/rooms/r/messages?before_id={ids[3]}", headers=bearer("alice")
    ).get_json()
    assert [m["id"] for m in body["messages"]] == ids[:3] and body["has_more"] is False


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/rooms/r/messages?limit=0", 400, "invalid_payload"),
        ("/api/rooms/r/messages?limit=abc", 400, "invalid_payload"),
        ("/api/rooms/r/messages?before_id=-1", 400, "invalid_payload"),
        # A room that does not exist reads as a private room of others does.
        ("/api/rooms/nowhere/messages", 403, "forbidden"),
        ("/api/rooms/dm:bob:carol/messages", 403, "forbidden"),
    ],
)
def test_room_messages_errors(connect, client, bearer, auth, path, status, code):
    join(connect("alice"), "r")
    auth.register("bob")
    auth.register("carol")
    join(connect("bob", register=False), "dm:bob:carol")
    response = client.get(path, headers=bearer("alice"))
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}]
)
def test_api_needs_an_identity(client, headers):
    for path in ("/api/rooms", "/api/rooms/r/messages"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_unread_counts_stop_at_a_thousand(connect, client, bearer, app):
    from tests.test_join import _bulk_insert

    alice, bob = connect("alice"), connect("bob")
    join(alice, "busy")
    join(bob, "busy")
    _bulk_insert(app, "busy", "bob", 1500)
    [room] = client.get("/api/rooms", headers=bearer("alice")).get_json()["rooms"]
    assert room["unread"] == 1000 and room["last_message"]["message"] == "bulk 1499"
