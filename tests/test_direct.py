"""Direct rooms: joined by peer or by their dm: name, only by their two users."""

from tests.helpers import events, join, send


def test_peer_join_opens_the_shared_direct_room(connect):
    alice, bob = connect("Alice"), connect("bob")
    ack = alice.emit("joined_room", {"peer": "BOB"}, callback=True)
    assert ack["ok"] and ack["room"] == "dm:alice:bob"
    assert join(bob, "dm:alice:bob")["online"] == ["Alice", "bob"]
    events(bob)
    send(alice, "dm:alice:bob", "psst")
    assert events(bob, "recieve_message")[0]["message"] == "psst"


def test_others_cannot_join_or_read_a_direct_room(connect):
    alice, bob, eve = connect("alice"), connect("bob"), connect("eve")
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    send(alice, "dm:alice:bob", "secret")
    ack = eve.emit("joined_room", {"room": "dm:alice:bob"}, callback=True)
    assert ack["error"]["code"] == "forbidden"
    ack = eve.emit("load_history", {"room": "dm:alice:bob"}, callback=True)
    assert ack["error"]["code"] == "forbidden"
    assert events(eve, "recieve_message") == []
    assert bob


def test_peer_errors(connect):
    alice = connect("alice")
    cases = [
        ({"peer": "nobody"}, "not_found"),
        ({"peer": "alice"}, "invalid_payload"),
        ({"peer": "ALICE"}, "invalid_payload"),
        ({"peer": "bob", "room": "x"}, "invalid_payload"),
        ({"peer": 7}, "invalid_payload"),
        ({"room": "dm:bob:alice"}, "invalid_payload"),
        ({"room": "dm:alice:alice"}, "invalid_payload"),
        ({"room": "dm:Alice:bob"}, "invalid_payload"),
        ({"room": "dm:alice:nobody"}, "not_found"),
    ]
    for payload, code in cases:
        ack = alice.emit("joined_room", payload, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] == code, payload
