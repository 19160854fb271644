"""Every room at a glance: watch_rooms, room_added, room_removed, presence_changed."""

import pytest

from tests.helpers import events, join, send


def watch(sock) -> list[dict]:
    ack = sock.emit("watch_rooms", {}, callback=True)
    assert ack["ok"], ack
    return ack["rooms"]


@pytest.fixture
def bearer(auth):
    return lambda username: {"Authorization": f"Bearer {auth.token(username)}"}


def test_watching_lists_every_room_like_the_api(connect, client, bearer):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "general")
    join(bob, "general")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    send(bob, "general", "hello")
    watcher = connect("alice", register=False)
    rooms = watch(watcher)
    assert rooms == client.get("/api/rooms", headers=bearer("alice")).get_json()["rooms"]
    assert [(r["room"], r["kind"], r["unread"]) for r in rooms] == [
        ("general", "public", 1),
        ("dm:alice:bob", "direct", 0),
    ]
    assert rooms[1]["peer"] == "bob" and rooms[1]["peer_online"] is True
    assert "peer" not in rooms[0]


def test_a_watcher_gets_messages_edits_and_deletes_but_nothing_else(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    watcher = connect("alice", register=False)
    watch(watcher)
    events(watcher)
    message = send(bob, "r", "to the sidebar")
    bob.emit("typing_status", {"room": "r", "typing": True}, callback=True)
    bob.emit("edit_message", {"room": "r", "id": message["id"], "message": "edited"}, callback=True)
    bob.emit("delete_message", {"room": "r", "id": message["id"]}, callback=True)
    bob.emit("mark_seen", {"room": "r", "message_id": message["id"]}, callback=True)
    connect("carol")  # carol joining is not the watcher's business either
    assert [name for name, _ in events(watcher)] == [
        "recieve_message",
        "message_edited",
        "message_deleted",
    ]


def test_watching_does_not_open_a_room(connect):
    alice = connect("alice")
    join(alice, "r")
    watcher = connect("alice", register=False)
    watch(watcher)
    ack = send(watcher, "r", "from the sidebar")
    assert ack["error"]["code"] == "not_in_room"
    ack = watcher.emit("typing_status", {"room": "r", "typing": True}, callback=True)
    assert ack["error"]["code"] == "not_in_room"
    # Watchers are not "online" in the room.
    bob = connect("bob")
    assert join(bob, "r")["online"] == ["alice", "bob"]  # alice through her open tab


def test_watching_and_opening_a_room_delivers_each_message_once(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    watch(alice)
    events(alice)
    send(bob, "r", "once")
    assert [m["message"] for m in events(alice, "recieve_message")] == ["once"]
    # Closing the open room keeps it watched.
    alice.emit("leave_room", {"room": "r"}, callback=True)
    events(alice)
    send(bob, "r", "still watched")
    assert [name for name, _ in events(alice)] == ["recieve_message"]


def test_a_room_joined_while_watching_is_watched(connect):
    alice, bob = connect("alice"), connect("bob")
    watch(alice)
    join(alice, "new")
    join(bob, "new")
    alice.emit("leave_room", {"room": "new"}, callback=True)
    events(alice)
    send(bob, "new", "after leaving")
    assert [m["message"] for m in events(alice, "recieve_message")] == ["after leaving"]


def test_a_new_direct_room_is_announced_to_the_peer(connect):
    alice, bob = connect("alice"), connect("bob")
    watch(bob)
    events(bob)
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    [added] = events(bob, "room_added")
    assert added == {
        "room": "dm:alice:bob",
        "kind": "direct",
        "unread": 0,
        "mentions": 0,
        "topic": None,
        "last_message": None,
        "peer": "alice",
        "peer_online": True,
    }
    # Watching again takes the new room in; its messages then arrive.
    assert [r["room"] for r in watch(bob)] == ["dm:alice:bob"]
    send(alice, "dm:alice:bob", "psst")
    assert [m["message"] for m in events(bob, "recieve_message")] == ["psst"]
    # Opening it a second time announces nothing new.
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    assert events(bob, "room_added") == []


def test_a_room_joined_in_one_tab_appears_in_the_others(connect):
    alice = connect("alice")
    other_tab = connect("alice", register=False)
    join(alice, "fresh")
    [added] = events(other_tab, "room_added")
    assert added["room"] == "fresh" and added["kind"] == "public"
    assert events(alice, "room_added") == []


def test_presence_changes_reach_watchers_of_direct_rooms(connect):
    alice, bob = connect("alice"), connect("bob")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    watch(alice)
    events(alice)
    bob_tab = connect("bob", register=False)  # already online: nothing to say
    assert events(alice, "presence_changed") == []
    bob.disconnect()
    assert events(alice, "presence_changed") == []  # still there through bob_tab
    bob_tab.disconnect()
    assert events(alice, "presence_changed") == [{"username": "bob", "online": False}]
    connect("bob", register=False)
    assert events(alice, "presence_changed") == [{"username": "bob", "online": True}]
    [dm] = watch(alice)
    assert dm["peer_online"] is True


def test_presence_is_not_sent_to_people_without_a_direct_room(connect):
    alice = connect("alice")
    watch(alice)
    events(alice)
    connect("bob").disconnect()
    assert events(alice, "presence_changed") == []


def test_removing_a_room_takes_it_off_every_connection(connect, client, bearer):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    watcher = connect("alice", register=False)
    watch(watcher)
    events(alice), events(bob), events(watcher)

    response = client.delete("/api/rooms/r/membership", headers=bearer("alice"))
    assert response.status_code == 204
    assert events(alice) == [("room_removed", {"room": "r"})]
    assert events(watcher) == [("room_removed", {"room": "r"})]
    left = {"room": "r", "username": "alice", "membership": True}
    assert events(bob) == [("leave_room_announcement", left)]  # once, as a membership
    send(bob, "r", "nobody hears")
    assert events(alice) == [] and events(watcher) == []
    assert send(alice, "r", "gone")["error"]["code"] == "not_in_room"
    rooms = client.get("/api/rooms", headers=bearer("alice")).get_json()["rooms"]
    assert rooms == []
    # Joining again makes it a member room once more.
    join(alice, "r")
    assert [r["room"] for r in client.get("/api/rooms", headers=bearer("alice")).json["rooms"]] == [
        "r"
    ]


def test_removing_a_room_you_do_not_have_open_is_announced_as_leaving(connect, client, bearer):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    alice.emit("leave_room", {"room": "r"}, callback=True)
    join(bob, "r")
    events(bob)
    assert client.delete("/api/rooms/r/membership", headers=bearer("alice")).status_code == 204
    left = {"room": "r", "username": "alice", "membership": True}
    assert events(bob) == [("leave_room_announcement", left)]


def test_a_removed_direct_room_comes_back_with_the_next_message(connect, client, bearer):
    alice, bob = connect("alice"), connect("bob")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    send(alice, "dm:alice:bob", "first")
    watch(bob)
    assert (
        client.delete("/api/rooms/dm:alice:bob/membership", headers=bearer("bob")).status_code
        == 204
    )
    events(bob)
    send(alice, "dm:alice:bob", "are you there?")
    [(name, added)] = events(bob)  # room_added only: the room is not watched any more
    assert name == "room_added"
    assert added["room"] == "dm:alice:bob" and added["unread"] == 2
    assert added["last_message"]["message"] == "are you there?"
    assert added["peer"] == "alice"


def test_removing_a_room_you_are_not_in_is_404(connect, client, bearer):
    alice = connect("alice")
    join(connect("bob"), "theirs")
    for room in ("theirs", "nowhere", "dm:alice:bob"):
        response = client.delete(f"/api/rooms/{room}/membership", headers=bearer("alice"))
        assert response.status_code == 404, room
        assert response.get_json()["error"]["code"] == "not_found"
    response = client.delete("/api/rooms/bad name!/membership", headers=bearer("alice"))
    assert response.status_code == 400
    assert events(alice, "room_removed") == []


def test_removing_with_the_session_cookie_needs_the_csrf_token(connect, client, auth):
    connect("alice")
    join(connect("alice", register=False), "r")
    auth.login(client, "alice")
    response = client.delete("/api/rooms/r/membership")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_payload"
    from tests.helpers import csrf_token

    token = csrf_token(client, "/register")  # any page with a form carries one
    response = client.delete("/api/rooms/r/membership", headers={"X-CSRFToken": token})
    assert response.status_code == 204


@pytest.mark.parametrize("payload", [[], "x", 1, None])
def test_watch_rooms_wants_an_object(connect, payload):
    alice = connect("alice")
    ack = alice.emit("watch_rooms", payload, callback=True)
    assert ack["error"]["code"] == "invalid_payload"
