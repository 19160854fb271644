"""docs/protocol.md, Transport limits: the 64 KiB inbound cap, reconnects."""

from __future__ import annotations

from conformance import kit


def test_a_packet_over_64_kib_closes_the_connection(user, room):
    alice = user()
    conn = alice.connect()
    name = room()
    conn.join(name)
    conn.emit("send_message", {"room": name, "message": "x" * (70 * 1024)})
    assert conn.gone.wait(kit.TIMEOUT), "the connection stayed up"
    assert kit.Conn(alice).ok("load_history", {"room": name})["messages"] == []


def test_a_4000_character_message_fully_escaped_fits(user, room):
    conn = user().connect()
    name = room()
    conn.join(name)
    text = "\U0001f600" * 4000  # \ud83d\ude00 on the wire: 48 KB
    conn.send(name, text)
    assert conn.sio.connected


def test_after_a_server_side_disconnect_the_client_reconnects_itself_with_last_id(user, room):
    """A python-socketio client does not reconnect by itself after the server closes
    its connection (here: a sign-out of every session): the client opens a new one and
    joins with its last_id, which replays what it missed."""
    alice, bob = user(fresh=True), user()
    a, b = alice.connect(), bob.connect()
    name = room()
    a.join(name)
    b.join(name)
    last = b.send(name, "seen")["id"]
    a.wait("recieve_message", room=name)
    assert kit.http("POST", "/api/logout-everywhere", alice.token).status_code == 204
    assert a.gone.wait(kit.TIMEOUT)
    missed = [b.send(name, f"missed {n}")["id"] for n in range(3)]
    kit.time.sleep(1)
    assert not a.sio.connected  # nobody reconnected it
    alice.token = kit.sign_in(alice.name)
    again = alice.connect()
    again.join(name, last_id=last)
    replay = again.wait("rejoin_room", room=name)[0]
    assert [m["id"] for m in replay["messages"]] == missed
