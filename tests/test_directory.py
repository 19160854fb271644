"""GET /api/directory: public rooms by name prefix, the most recently active first."""

import pytest

from tests.helpers import join, send


@pytest.fixture
def bearer(auth):
    return lambda username: {"Authorization": f"Bearer {auth.token(username)}"}


def directory(client, headers, **params) -> list[dict]:
    response = client.get("/api/directory", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["rooms"]


def test_rooms_by_prefix_with_members_most_active_first(connect, client, bearer):
    alice, bob = connect("alice"), connect("bob")
    for name in ("games", "general", "Gardening", "music"):
        join(alice, name)
    join(bob, "general")
    send(alice, "games", "first")
    sent = send(alice, "general", "newest")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)

    rooms = directory(client, bearer("alice"), q="g")
    assert [(r["room"], r["members"]) for r in rooms] == [
        ("general", 2),
        ("games", 1),
        ("Gardening", 1),  # case-insensitive; no messages: last
    ]
    assert rooms[0]["last_message_at"] == sent["created_at"]
    assert rooms[2]["last_message_at"] is None
    # Direct rooms are never listed; an empty prefix lists every public room.
    assert {r["room"] for r in directory(client, bearer("alice"))} == {
        "games",
        "general",
        "Gardening",
        "music",
    }
    assert [r["room"] for r in directory(client, bearer("alice"), q="GEN")] == ["general"]


def test_wildcards_are_literal(connect, client, bearer):
    alice = connect("alice")
    for name in ("a_b", "axb", "a.b"):
        join(alice, name)
    assert [r["room"] for r in directory(client, bearer("alice"), q="a_")] == ["a_b"]


def test_limit(connect, client, bearer):
    alice = connect("alice")
    for i in range(5):
        join(alice, f"room{i}")
    assert len(directory(client, bearer("alice"), q="room", limit=2)) == 2


@pytest.mark.parametrize(
    "params",
    [
        {"q": "has space"},
        {"q": "%"},
        {"q": "x" * 65},
        {"limit": 0},
        {"limit": 101},
        {"limit": "many"},
        {"limit": "9" * 5000},
        {"q": "\x00"},
    ],
    ids=repr,
)
def test_bad_queries_are_400(connect, client, bearer, params):
    connect("alice")
    response = client.get("/api/directory", query_string=params, headers=bearer("alice"))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_payload"


def test_the_directory_needs_a_user(client):
    response = client.get("/api/directory")
    assert response.status_code == 401
