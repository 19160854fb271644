"""docs/protocol.md: watch_rooms, room_added, presence_changed, direct rooms."""

from __future__ import annotations

from conformance import kit


def test_watching_delivers_messages_edits_and_deletes_of_every_room_and_nothing_else(user, room):
    alice, bob = user(fresh=True), user()
    a, b = alice.connect(), bob.connect()
    name = room()
    a.join(name)
    a.ok("leave_room", {"room": name})
    watcher = alice.connect()
    ack = watcher.ok("watch_rooms", {})
    assert [s["room"] for s in ack["rooms"]] == [name]
    summary = ack["rooms"][0]
    assert summary["kind"] == "public" and summary["unread"] == 0
    b.join(name)
    sent = b.send(name, "for the watcher")["id"]
    b.ok("typing_status", {"room": name, "typing": True})
    b.ok("edit_message", {"room": name, "id": sent, "message": "edited"})
    b.ok("delete_message", {"room": name, "id": sent})
    assert watcher.wait("message_deleted", room=name)[0]["id"] == sent
    assert [m["id"] for m in watcher.events("recieve_message", name)] == [sent]
    assert len(watcher.events("message_edited", name)) == 1
    watcher.quiet()
    assert watcher.events("typing_on") == []
    assert watcher.events("join_room_announcement") == []
    assert alice.name not in b.join(name)["online"]
    watcher.error("send_message", {"room": name, "message": "x"}, "not_in_room")


def test_watching_and_joining_the_same_room_never_delivers_twice(user, room):
    alice, bob = user(fresh=True), user()
    a, b = alice.connect(), bob.connect()
    name = room()
    a.join(name)
    a.ok("watch_rooms", {})
    b.join(name)
    sent = b.send(name, "once")["id"]
    a.wait("recieve_message", room=name)
    a.quiet()
    assert a.ids(name) == [sent]


def test_a_direct_room_is_named_after_both_users_and_the_peer_gets_room_added(user):
    alice, bob = user(fresh=True), user(fresh=True)
    a, b = alice.connect(), bob.connect()
    ack = a.join(peer=bob.name)
    name = "dm:" + ":".join(sorted([alice.name.lower(), bob.name.lower()]))
    assert ack["room"] == name and ack["role"] is None
    added = b.wait("room_added")
    assert added[0]["room"] == name and added[0]["kind"] == "direct"
    assert added[0]["peer"] == alice.name
    assert b.join(name)["room"] == name  # by its dm: name too


def test_a_direct_room_of_others_and_unknown_or_own_peers_are_refused(user):
    alice, bob, eve = user(), user(), user()
    a = alice.connect()
    a.join(peer=bob.name)
    name = "dm:" + ":".join(sorted([alice.name.lower(), bob.name.lower()]))
    e = eve.connect()
    e.error("joined_room", {"room": name}, "forbidden")
    e.error("load_history", {"room": name}, "forbidden")
    e.error("joined_room", {"peer": kit.unique("nobody")}, "not_found")
    e.error("joined_room", {"peer": eve.name}, "invalid_payload")


def test_presence_changed_reaches_the_watchers_of_a_direct_peer(user):
    alice, bob = user(fresh=True), user(fresh=True)
    a = alice.connect()
    a.join(peer=bob.name)
    a.ok("watch_rooms", {})
    b = bob.connect()
    assert a.wait("presence_changed", username=bob.name, online=True)
    b.close()
    assert a.wait("presence_changed", username=bob.name, online=False)


def test_watch_rooms_floods_meet_their_budget(user):
    conn = user(fresh=True).connect()
    conn.error("watch_rooms", "not an object", "invalid_payload")
    codes = []
    for _ in range(15):
        ack = conn.call("watch_rooms", {})
        codes.append(True if ack["ok"] else ack["error"]["code"])
        if not ack["ok"]:
            break
    assert "rate_limited" in codes
