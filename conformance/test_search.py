"""docs/protocol.md, Search: GET /api/search."""

from __future__ import annotations

import pytest

from conformance import kit


def test_search_finds_word_starts_ignoring_case_and_accents_newest_first(user, room):
    alice, bob = user(fresh=True), user()
    a, b = alice.connect(), bob.connect()
    name = room()
    a.join(name)
    b.join(name)
    word = kit.unique("zq")
    first = a.send(name, f"Café {word}ment")["id"]
    second = b.send(name, f"CAFE {word}")["id"]
    a.send(name, f"re{word}")  # not the start of a word
    found = alice.get("/api/search", q=f"cafe {word}")
    assert found.status_code == 200
    body = found.json()
    assert [m["id"] for m in body["messages"]] == [second, first]
    assert body["has_more"] is False
    for message in body["messages"]:
        kit.check_event("recieve_message", (message,))
    by_bob = alice.get("/api/search", q=word, **{"from": bob.name}).json()["messages"]
    assert [m["id"] for m in by_bob] == [second]
    paged = alice.get("/api/search", q=word, limit=1).json()
    assert [m["id"] for m in paged["messages"]] == [second] and paged["has_more"] is True
    rest = alice.get("/api/search", q=word, limit=1, before_id=second).json()["messages"]
    assert [m["id"] for m in rest] == [first]


def test_search_never_finds_deleted_or_unreadable_messages(user, room):
    alice, eve = user(fresh=True), user(fresh=True)
    a = alice.connect()
    name = room("priv")
    a.join(name, private=True)
    word = kit.unique("zq")
    gone = a.send(name, word)["id"]
    a.ok("delete_message", {"room": name, "id": gone})
    a.send(name, f"{word} kept")
    assert len(alice.get("/api/search", q=word).json()["messages"]) == 1
    assert eve.get("/api/search", q=word).json()["messages"] == []
    kit.check_http_error(eve.get("/api/search", q=word, room=name), 403, "forbidden")


@pytest.mark.parametrize(
    "params", [{}, {"q": ""}, {"q": "!!!"}, {"q": "x" * 201}, {"q": "a", "limit": 51}], ids=repr
)
def test_search_refusals(user, params):
    kit.check_http_error(user().get("/api/search", **params), 400, "invalid_payload")
