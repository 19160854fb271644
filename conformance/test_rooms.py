"""docs/protocol.md, Rooms and joined_room / leave_room; the events that need a join."""

from __future__ import annotations

import pytest

from conformance import kit


def test_join_acks_online_with_the_joiner_and_the_creator_owns_the_room(user, room):
    alice = user()
    conn = alice.connect()
    name = room()
    ack = conn.join(name)
    assert ack["room"] == name
    assert ack["online"] == [alice.name]
    assert ack["role"] == "owner"
    assert ack["seen"] == {}


def test_a_join_is_announced_to_the_others_with_membership(user, room):
    alice, bob = user(), user()
    a, b = alice.connect(), bob.connect()
    name = room()
    a.join(name)
    ack = b.join(name)
    assert sorted(ack["online"]) == sorted([alice.name, bob.name])
    assert ack["role"] == "member"
    got = a.wait("join_room_announcement", room=name)
    assert got == [{"room": name, "username": bob.name, "membership": True}]
    b.ok("leave_room", {"room": name})
    a.wait("leave_room_announcement", room=name)
    b.join(name)  # opened again, already a member
    got = a.wait("join_room_announcement", 2, room=name)
    assert got[1] == {"room": name, "username": bob.name, "membership": False}
    assert b.events("join_room_announcement") == []


def test_a_second_tab_of_an_online_user_is_not_announced(user, room):
    alice, bob = user(), user()
    a = alice.connect()
    b1, b2 = bob.connect(), bob.connect()
    name = room()
    a.join(name)
    b1.join(name)
    a.wait("join_room_announcement", room=name)
    b2.join(name)
    a.quiet()
    assert len(a.events("join_room_announcement", name)) == 1


def test_leave_is_announced_when_it_was_the_users_last_connection_in_the_room(user, room):
    alice, bob = user(), user()
    a = alice.connect()
    b1, b2 = bob.connect(), bob.connect()
    name = room()
    a.join(name)
    b1.join(name)
    b2.join(name)
    assert b1.ok("leave_room", {"room": name}) == {"ok": True, "room": name}
    a.quiet()
    assert a.events("leave_room_announcement", name) == []
    b2.close()  # a disconnect counts as leave_room
    got = a.wait("leave_room_announcement", room=name)
    assert got == [{"room": name, "username": bob.name, "membership": False}]


@pytest.mark.parametrize(
    "payload",
    [{}, {"room": ""}, {"room": "has space"}, {"room": "x" * 65}, {"room": 5}, {"room": "é"}],
    ids=repr,
)
def test_a_join_with_a_bad_room_is_invalid_payload(user, payload):
    user().connect().error("joined_room", payload, "invalid_payload")


def test_a_join_with_both_room_and_peer_or_yourself_as_peer_is_invalid_payload(user, room):
    alice, bob = user(), user()
    conn = alice.connect()
    conn.error("joined_room", {"room": room(), "peer": bob.name}, "invalid_payload")
    conn.error("joined_room", {"peer": alice.name}, "invalid_payload")
    conn.error("joined_room", {"room": room(), "last_id": "5"}, "invalid_payload")
    conn.error("joined_room", {"room": room(), "last_id": -1}, "invalid_payload")


EVENTS_IN_ROOM = {
    "send_message": {"message": "hi"},
    "typing_status": {"typing": True},
    "mark_seen": {"message_id": 1},
    "edit_message": {"id": 1, "message": "x"},
    "delete_message": {"id": 1},
    "react": {"id": 1, "emoji": "👍", "on": True},
    "moderate": {"action": "kick", "target": "nobody"},
    "invite": {"target": "nobody"},
    "set_topic": {"topic": "t"},
    "leave_room": {},
}


@pytest.mark.parametrize("event", sorted(EVENTS_IN_ROOM))
def test_an_event_on_a_room_this_connection_has_not_joined_is_not_in_room(user, room, event):
    conn = user().connect()
    conn.error(event, {"room": room(), **EVENTS_IN_ROOM[event]}, "not_in_room")


@pytest.mark.parametrize("event", [*sorted(EVENTS_IN_ROOM), "joined_room", "load_history"])
def test_a_payload_that_is_not_one_object_is_invalid_payload(user, event):
    conn = user().connect()
    assert "payload" in conn.error(event, "a string", "invalid_payload")["message"]


def test_an_unknown_or_reserved_event_is_invalid_payload(user):
    conn = user().connect()
    conn.error("no_such_event", {}, "invalid_payload")
    conn.error("connect", {}, "invalid_payload")
    assert conn.sio.connected


def test_a_failure_without_an_ack_comes_as_chat_error(user, room):
    conn = user().connect()
    name = room()
    conn.emit("send_message", {"room": name, "message": "hi"})
    got = conn.wait("chat_error")
    assert got[0]["event"] == "send_message"
    assert got[0]["code"] == "not_in_room"


def test_a_rooms_ids_grow_but_skip_the_ids_of_other_rooms(user, room):
    conn = user().connect()
    one, two = room(), room()
    conn.join(one)
    conn.join(two)
    first = conn.send(one, "a")["id"]
    other = conn.send(two, "b")["id"]
    second = conn.send(one, "c")["id"]
    assert first < other < second  # one sequence for every room: never detect loss by id+1


def test_the_member_list_pages_by_username_for_readers_only(user, room):
    alice, bob = user(), user()
    a, b = alice.connect(), bob.connect()
    name = room()
    a.join(name)
    b.join(name)
    answer = alice.get(f"/api/rooms/{name}/members", limit=1)
    assert answer.status_code == 200
    body = answer.json()
    assert body["has_more"] is True and len(body["members"]) == 1
    everyone = alice.get(f"/api/rooms/{name}/members").json()["members"]
    assert {m["username"]: m["role"] for m in everyone} == {
        alice.name: "owner",
        bob.name: "member",
    }
    assert all(m["online"] is True for m in everyone)
    kit.check_http_error(alice.get(f"/api/rooms/{name}/members", limit=101), 400, "invalid_payload")
    kit.check_http_error(alice.get(f"/api/rooms/{room()}/members"), 403, "forbidden")


def test_ending_a_membership_sends_room_removed_and_is_404_the_second_time(user, room):
    alice = user()
    a1, a2 = alice.connect(), alice.connect()
    name = room()
    a1.join(name)
    answer = kit.http("DELETE", f"/api/rooms/{name}/membership", alice.token)
    assert answer.status_code == 204
    assert a2.wait("room_removed") == [{"room": name}]
    answer = kit.http("DELETE", f"/api/rooms/{name}/membership", alice.token)
    kit.check_http_error(answer, 404, "not_found")
    a1.error("send_message", {"room": name, "message": "hi"}, "not_in_room")


def test_the_room_list_and_the_directory(user, room):
    alice = user(fresh=True)
    conn = alice.connect()
    name = room("dir")
    conn.join(name)
    conn.send(name, "hello")
    rooms = alice.get("/api/rooms").json()["rooms"]
    mine = [r for r in rooms if r["room"] == name]
    assert mine and mine[0]["kind"] == "public" and mine[0]["last_message"]["message"] == "hello"
    found = alice.get("/api/directory", q=name).json()["rooms"]
    assert [r["room"] for r in found] == [name]
    assert found[0]["members"] == 1


def test_unread_and_mentions_in_the_room_list_follow_the_last_read_id(user, room):
    alice, bob = user(fresh=True), user()
    a, b = alice.connect(), bob.connect()
    name = room()
    a.join(name)
    b.join(name)
    b.send(name, "one")
    last = b.send(name, f"two @{alice.name}")["id"]
    a.send(name, "mine")  # your own messages are never unread

    def summary():
        rooms = alice.get("/api/rooms").json()["rooms"]
        return next(r for r in rooms if r["room"] == name)

    found = summary()
    assert (found["unread"], found["mentions"]) == (2, 1)
    a.ok("mark_seen", {"room": name, "message_id": last})
    found = summary()
    assert (found["unread"], found["mentions"]) == (0, 0)


@pytest.mark.parametrize(
    "path", ["/api/directory", "/api/mentions", "/api/rooms/{room}/audit"], ids=str
)
def test_list_routes_take_a_limit_of_1_to_100(user, room, path):
    alice = user()
    conn = alice.connect()
    name = room()
    conn.join(name)
    target = path.format(room=name)
    assert alice.get(target, limit=100).status_code == 200
    for bad in (0, 101):
        kit.check_http_error(alice.get(target, limit=bad), 400, "invalid_payload")
