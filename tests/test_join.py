"""joined_room and leave_room: presence, announcements, history and replay."""

import pytest

from models import db
from tests.helpers import events, join, send


def test_join_acks_with_who_is_online_and_announces_once(connect):
    alice, bob = connect("alice"), connect("bob")
    assert join(alice, "42") == {
        "ok": True,
        "room": "42",
        "online": ["alice"],
        "seen": {},
        "role": "owner",  # the join that made the room
    }
    ack = join(bob, "42")
    assert ack["online"] == ["alice", "bob"]
    joined = {"room": "42", "username": "bob", "membership": True}  # his first join
    assert events(alice) == [("join_room_announcement", joined)]
    assert events(bob, "join_room_announcement") == []


def test_only_a_first_join_is_a_membership_and_closing_the_room_is_none(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    events(alice)
    bob.emit("leave_room", {"room": "r"}, callback=True)
    join(bob, "r")  # opening it again, or a reload
    assert events(alice) == [
        ("leave_room_announcement", {"room": "r", "username": "bob", "membership": False}),
        ("join_room_announcement", {"room": "r", "username": "bob", "membership": False}),
    ]


def test_second_tab_of_an_online_user_is_not_announced(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    bob_tab = connect("bob", register=False)
    events(alice)
    assert join(bob_tab, "r")["online"] == ["alice", "bob"]
    assert events(alice) == []


def test_joining_twice_on_one_connection_changes_nothing(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    events(alice)
    assert join(bob, "r")["online"] == ["alice", "bob"]
    assert events(alice) == []


def test_empty_room_sends_no_history(connect):
    alice = connect("alice")
    join(alice, "fresh")
    assert events(alice, "rejoin_room") == []


def test_joiner_gets_newest_50_oldest_first_with_has_more(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    ids = [send(alice, "r", f"m{i}")["id"] for i in range(55)]
    join(bob, "r")
    [history] = events(bob, "rejoin_room")
    assert history["room"] == "r" and history["has_more"] is True and history["reset"] is False
    assert [m["id"] for m in history["messages"]] == ids[-50:]
    assert history["messages"][-1]["message"] == "m54"


def test_exactly_50_messages_have_no_more(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    for i in range(50):
        send(alice, "r", f"m{i}")
    join(bob, "r")
    [history] = events(bob, "rejoin_room")
    assert len(history["messages"]) == 50 and history["has_more"] is False


def test_reconnect_with_last_id_gets_exactly_what_it_missed(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    seen = send(alice, "r", "before")["id"]
    bob.disconnect()
    missed = [send(alice, "r", f"missed {i}")["id"] for i in range(3)]

    bob = connect("bob", register=False)
    join(bob, "r", last_id=seen)
    [replay] = events(bob, "rejoin_room")
    assert [m["id"] for m in replay["messages"]] == missed
    assert replay["has_more"] is False and replay["reset"] is False


def test_reconnect_with_nothing_new_sends_no_rejoin_room(connect):
    alice = connect("alice")
    join(alice, "r")
    last = send(alice, "r", "hi")["id"]
    other_tab = connect("alice", register=False)
    join(other_tab, "r", last_id=last)
    assert events(other_tab, "rejoin_room") == []


def test_more_than_1000_missed_resets_to_the_newest_page(connect, app):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    seen = send(alice, "r", "seen")["id"]
    bob.disconnect()
    _bulk_insert(app, "r", "alice", 1001)

    bob = connect("bob", register=False)
    join(bob, "r", last_id=seen)
    [replay] = events(bob, "rejoin_room")
    assert replay["reset"] is True and replay["has_more"] is True
    assert len(replay["messages"]) == 50
    assert replay["messages"][-1]["message"] == "bulk 1000"


def test_exactly_1000_missed_are_replayed_in_full(connect, app):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    seen = send(alice, "r", "seen")["id"]
    _bulk_insert(app, "r", "alice", 1000)
    join(connect("bob", register=False), "r")  # another tab: the newest page only
    late = connect("bob", register=False)
    join(late, "r", last_id=seen)
    [replay] = events(late, "rejoin_room")
    assert len(replay["messages"]) == 1000 and replay["reset"] is False


def _bulk_insert(app, room_name, username, count):
    from chat.rooms import find as find_room
    from chat.rooms import lookup_user
    from models import Message

    with app.app_context():
        (room_id, _kind), user = find_room(room_name), lookup_user(username)
        db.session.add_all(
            Message(room_id=room_id, user_id=user.id, body=f"bulk {i}") for i in range(count)
        )
        db.session.commit()


def test_membership_is_recorded(connect, auth, client):
    alice = connect("alice")
    join(alice, "r")
    response = client.get("/api/rooms", headers={"Authorization": f"Bearer {auth.token('alice')}"})
    assert [room["room"] for room in response.get_json()["rooms"]] == ["r"]


def test_leave_and_disconnect_announce_when_the_last_connection_goes(connect):
    alice, bob = connect("alice"), connect("bob")
    bob_tab = connect("bob", register=False)
    for sock in (alice, bob, bob_tab):
        join(sock, "r")
    events(alice)

    assert bob.emit("leave_room", {"room": "r"}, callback=True) == {"ok": True, "room": "r"}
    assert events(alice) == []  # bob is still here in his other tab
    bob_tab.disconnect()
    left = {"room": "r", "username": "bob", "membership": False}
    assert events(alice) == [("leave_room_announcement", left)]
    assert join(connect("carol"), "r")["online"] == ["alice", "carol"]


def test_after_leaving_a_room_events_need_a_new_join(connect):
    alice = connect("alice")
    join(alice, "r")
    alice.emit("leave_room", {"room": "r"}, callback=True)
    assert send(alice, "r", "hi")["error"]["code"] == "not_in_room"
    events(alice)
    join(connect("bob"), "r")
    assert events(alice) == []  # no longer in the Socket.IO room either


@pytest.mark.parametrize("name", ["42", "general", "a", "x" * 64, "Dev.Team_1-b"])
def test_valid_room_names(connect, name):
    assert join(connect("alice"), name)["room"] == name


def test_room_names_are_case_sensitive(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "Room")
    join(bob, "room")
    events(alice)
    send(bob, "room", "lower")
    assert events(alice, "recieve_message") == []
