"""Mentions: @name of a member, told to every connection of that user as `mentioned`,
kept in Message.mentions, counted in the Summary and listed by GET /api/mentions."""

from __future__ import annotations

import pytest

from chat.mentions import candidates, outside_code
from tests.helpers import events, join, send, statements


@pytest.fixture
def bearer(auth):
    def _bearer(username: str) -> dict:
        return {"Authorization": f"Bearer {auth.token(username)}"}

    return _bearer


@pytest.fixture
def room(connect):
    """alice, bob and carol are members of r (alice has it open; bob and carol only
    joined it once); dave exists but is no member."""
    alice = connect("alice")
    join(alice, "r")
    for name in ("bob", "carol"):
        sock = connect(name)
        join(sock, "r")
        sock.disconnect()
    connect("dave").disconnect()
    events(alice)
    return alice


def mentions_of(alice, text: str) -> list[str]:
    ack = send(alice, "r", text)
    assert ack["ok"], ack
    [message] = events(alice, "recieve_message")
    return message["mentions"]


def test_a_mention_reaches_every_connection_of_the_member(room, connect):
    alice = room
    bob_open, bob_watching, bob_idle = (connect("bob", register=False) for _ in range(3))
    join(bob_open, "r")
    bob_watching.emit("watch_rooms", {}, callback=True)
    carol = connect("carol", register=False)
    for sock in (bob_open, bob_watching, bob_idle, carol):
        events(sock)
    ack = send(alice, "r", "hey @bob, look")
    [message] = events(alice, "recieve_message")
    assert message["id"] == ack["id"] and message["mentions"] == ["bob"]
    assert events(bob_open) == [
        ("recieve_message", message),
        ("mentioned", {"room": "r", "message": message}),
    ]
    assert events(bob_watching) == [
        ("recieve_message", message),
        ("mentioned", {"room": "r", "message": message}),
    ]
    assert events(bob_idle) == [("mentioned", {"room": "r", "message": message})]
    assert events(carol) == [] and events(alice) == []


def test_names_are_matched_ignoring_case_and_given_as_registered(connect):
    alice, ann = connect("alice"), connect("Ann.Lee")
    join(alice, "r")
    join(ann, "r")
    events(ann)
    assert mentions_of(alice, "ping @ann.lee and @ANN.LEE") == ["Ann.Lee"]
    assert len(events(ann, "mentioned")) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@bob", ["bob"]),
        ("hi @bob", ["bob"]),
        ("(@bob)", ["bob"]),
        ("hi,@bob!", ["bob"]),
        ("@bob's idea", ["bob"]),
        ("«@bob»", ["bob"]),
        ("@@bob", ["bob"]),
        ("line\n@bob", ["bob"]),
        ("@carol then @bob then @carol", ["carol", "bob"]),
        ("@bob @BOB @Bob", ["bob"]),
        # Preceded by a username character: an address, not a mention.
        ("mail bob@example.com", []),
        ("x@bob", []),
        ("_@bob", []),
        (".@bob", []),
        ("-@bob", []),
        # The longest run of username characters, trailing . - _ dropped one by one.
        ("@bob.", ["bob"]),
        ("@bob...", ["bob"]),
        ("@bob_-.", ["bob"]),
        ("@bobby", []),
        ("@bob.carol", []),
        ("@bo", []),
        ("@", []),
        ("@ bob", []),
        ("@" + "b" * 40, []),
        # Only members; nobody mentions themselves.
        ("@dave", []),
        ("@nobody", []),
        ("@alice", []),
        ("@alice @bob", ["bob"]),
    ],
)
def test_what_names_someone(room, text, expected):
    assert mentions_of(room, text) == expected


def test_a_name_ending_in_punctuation_is_matched_before_a_shorter_one(connect):
    alice, bob, bob_dot = connect("alice"), connect("bob"), connect("bob.")
    for sock in (alice, bob, bob_dot):
        join(sock, "r")
    assert mentions_of(alice, "@bob. and @bob.. and @bob") == ["bob.", "bob"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("`@bob`", []),
        ("see `x` @bob `y`", ["bob"]),
        ("``code with ` and @bob``", []),
        ("`@bob", ["bob"]),  # an unclosed backtick is text
        ("``@bob`", ["bob"]),  # no closing run of the same length
        ("\\`@bob\\`", ["bob"]),  # escaped backticks are text
        ("```\n@bob\n```", []),
        ("```python\nx = '@bob'\n```\n@carol", ["carol"]),
        ("~~~\n@bob\n~~~", []),
        ("````\n```\n@bob\n````", []),  # a shorter fence does not close it
        ("```\n@bob", []),  # an unclosed fence runs to the end
        ("`a\n\n@bob`", ["bob"]),  # code spans do not cross a blank line
        ("`a\n@bob`", []),  # but do cross a line
    ],
)
def test_code_is_no_mention(room, text, expected):
    assert mentions_of(room, text) == expected


def test_outside_code_keeps_every_other_character_where_it_was():
    text = "a `b` c\n```\nd\n```\ne"
    masked = outside_code(text)
    assert len(masked) == len(text) and masked.split("\n")[0] == "a     c"
    assert masked.split("\n")[-1] == "e"
    assert candidates("`" * 3000 + " @bob " + "`" * 2999) == [["bob"]]


def test_a_mention_of_a_non_member_stays_plain_text(room, connect):
    alice = room
    dave = connect("dave", register=False)
    events(dave)
    ack = send(alice, "r", "@dave are you here?")
    [message] = events(alice, "recieve_message")
    assert message["mentions"] == [] and message["message"] == "@dave are you here?"
    assert events(dave) == []
    page = alice.emit("load_history", {"room": "r"}, callback=True)
    assert page["messages"][-1]["id"] == ack["id"] and page["messages"][-1]["mentions"] == []


def test_a_direct_room_mentions_the_peer_only(connect):
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    join(carol, "r")
    join(alice, "r")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    events(bob), events(carol)
    ack = send(alice, "dm:alice:bob", "@Bob @carol @alice")
    [message] = events(alice, "recieve_message")
    assert message["mentions"] == ["bob"]
    assert events(bob, "mentioned") == [{"room": "dm:alice:bob", "message": message}]
    assert events(carol) == []
    assert ack["ok"]


@pytest.mark.app_config(REGISTER_RATE_LIMIT="off")
def test_fifty_mentions_notify_each_user_once(room, connect, app):
    alice = room
    people = [connect(f"user{i:02}") for i in range(50)]
    for sock in people:
        join(sock, "r")
        events(sock)
    events(alice)
    text = " ".join(f"@user{i:02}" for i in range(50)) + " and again @user00 @USER49"
    with statements(app) as seen:
        assert send(alice, "r", text)["ok"]
    [message] = events(alice, "recieve_message")
    assert message["mentions"] == [f"user{i:02}" for i in range(50)]
    for sock in people:
        assert events(sock, "mentioned") == [{"room": "r", "message": message}]
    # Who they are, the message, and the rows of its mentions.
    assert len(seen) == 3, seen


def test_a_message_without_a_mention_or_reply_is_one_statement(room, app):
    with statements(app) as seen:
        assert send(room, "r", "no one here, mail me at a@b.com or `@bob`")["ok"]
    assert len(seen) == 1 and seen[0].startswith("INSERT INTO messages"), seen


def test_an_edit_tells_only_the_newly_mentioned(room, connect):
    alice = room
    bob, carol = connect("bob", register=False), connect("carol", register=False)
    mid = send(alice, "r", "hi @bob")["id"]
    events(alice), events(bob), events(carol)

    def edit(text):
        ack = alice.emit("edit_message", {"room": "r", "id": mid, "message": text}, callback=True)
        assert ack["ok"], ack
        [edited] = events(alice, "message_edited")
        return edited

    edited = edit("hi @bob and @carol")
    assert edited["mentions"] == ["bob", "carol"]
    assert events(bob) == []
    assert events(carol) == [("mentioned", {"room": "r", "message": edited})]
    edited = edit("hi @carol")
    assert edited["mentions"] == ["carol"] and events(bob) == [] and events(carol) == []
    edited = edit("hi @carol and @bob again")
    assert edited["mentions"] == ["carol", "bob"]
    assert events(bob) == [("mentioned", {"room": "r", "message": edited})]
    assert events(carol) == []
    # The same text again changes nothing and tells nobody.
    alice.emit("edit_message", {"room": "r", "id": mid, "message": "hi @carol and @bob again"})
    assert events(bob) == [] and events(carol) == [] and events(alice) == []


def test_an_edit_keeps_a_mention_of_someone_who_left_since(room, connect, client, bearer):
    alice = room
    mid = send(alice, "r", "thanks @bob")["id"]
    assert client.delete("/api/rooms/r/membership", headers=bearer("bob")).status_code == 204
    ack = alice.emit(
        "edit_message", {"room": "r", "id": mid, "message": "thanks @bob and @dave"}, callback=True
    )
    assert ack["ok"]
    [edited] = events(alice, "message_edited")
    assert edited["mentions"] == ["bob"]  # dave never was a member; bob was mentioned


def test_summaries_count_unread_mentions(room, connect, client, bearer):
    alice = room
    first = send(alice, "r", "@bob one")["id"]
    send(alice, "r", "@bob two @bob")
    third = send(alice, "r", "@bob three")["id"]
    send(alice, "r", "@carol not yours")
    alice.emit("delete_message", {"room": "r", "id": third}, callback=True)

    def summary():
        [found] = client.get("/api/rooms", headers=bearer("bob")).get_json()["rooms"]
        return found

    assert summary()["mentions"] == 2 and summary()["unread"] == 3
    bob = connect("bob", register=False)
    join(bob, "r")
    bob.emit("mark_seen", {"room": "r", "message_id": first}, callback=True)
    assert summary()["mentions"] == 1
    [watched] = bob.emit("watch_rooms", {}, callback=True)["rooms"]
    assert watched["mentions"] == 1 and watched["last_message"]["mentions"] == ["carol"]


def test_the_mentions_list_pages_newest_first_across_rooms(room, connect, client, bearer):
    alice = room
    join(alice, "s")
    bob = connect("bob", register=False)
    join(bob, "s")
    ids = []
    for i in range(5):
        ids.append(send(alice, "r" if i % 2 else "s", f"@bob number {i}")["id"])
    send(alice, "r", "@carol is not bob")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    ids.append(send(alice, "dm:alice:bob", "psst @bob")["id"])

    def page(**query):
        response = client.get("/api/mentions", headers=bearer("bob"), query_string=query)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    first = page(limit=4)
    assert [m["id"] for m in first["messages"]] == ids[::-1][:4] and first["has_more"] is True
    assert [m["room"] for m in first["messages"]] == ["dm:alice:bob", "s", "r", "s"]
    assert all(m["mentions"] == ["bob"] for m in first["messages"])
    rest = page(before_id=first["messages"][-1]["id"], limit=4)
    assert [m["id"] for m in rest["messages"]] == ids[::-1][4:] and rest["has_more"] is False
    # Deleted messages drop out; rooms bob may still read stay: a public room he left (not
    # banned from: see test_owners.py) and his direct ones, even taken off his list.
    alice.emit("delete_message", {"room": "s", "id": ids[4]}, callback=True)
    assert client.delete("/api/rooms/r/membership", headers=bearer("bob")).status_code == 204
    assert client.delete("/api/rooms/dm:alice:bob/membership", headers=bearer("bob")).status_code
    assert [m["id"] for m in page()["messages"]] == [ids[5], ids[3], ids[2], ids[1], ids[0]]
    assert page(limit=100)["has_more"] is False
    assert client.get("/api/mentions", headers=bearer("carol")).get_json()["messages"][0][
        "message"
    ] == ("@carol is not bob")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", "invalid_payload"),
        ("limit=101", "invalid_payload"),
        ("limit=x", "invalid_payload"),
        ("before_id=-1", "invalid_payload"),
        ("before_id=2147483648", "invalid_payload"),
        ("before_id=" + "9" * 5000, "invalid_payload"),
    ],
)
def test_the_mentions_list_refuses_bad_arguments(room, client, bearer, query, code):
    response = client.get(f"/api/mentions?{query}", headers=bearer("bob"))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code


def test_the_mentions_list_needs_an_identity(client):
    response = client.get("/api/mentions")
    assert response.status_code == 401


def test_every_message_carries_its_mentions(room, connect, client, bearer):
    alice = room
    send(alice, "r", "@carol hello")
    carol = connect("carol", register=False)
    join(carol, "r")
    [replay] = events(carol, "rejoin_room")
    assert replay["messages"][-1]["mentions"] == ["carol"]
    page = client.get("/api/rooms/r/messages", headers=bearer("carol")).get_json()
    assert page["messages"][-1]["mentions"] == ["carol"]
    mid = page["messages"][-1]["id"]
    alice.emit("delete_message", {"room": "r", "id": mid}, callback=True)
    page = client.get("/api/rooms/r/messages", headers=bearer("carol")).get_json()
    assert page["messages"][-1]["deleted"] and page["messages"][-1]["mentions"] == []
