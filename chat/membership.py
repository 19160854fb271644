"""Opening rooms and ending memberships: ``joined_room`` (create on first join, record
the membership, announce, replay what the joiner lacks) and ``DELETE …/membership``."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from chat import history, outbox, presence, rooms, rules, summaries
from chat.errors import Failure, forbidden, invalid, not_found, rate_limited
from chat.payloads import JoinRoom
from chat.presence import Connection, OpenRoom


def join(me: Connection, payload: JoinRoom, subscribe: Callable[[str], None]) -> dict | Failure:
    """Open the room on this connection: {room, online, seen}.

    ``subscribe(room)`` puts the connection into the room's Socket.IO rooms; it runs
    before history is read, so a message committed meanwhile is in the replay, the
    broadcast or both (the client dedupes by id), never neither.
    """
    user = rooms.UserRef(me.user_id, me.username)
    target = rooms.resolve(user, payload.room, payload.peer)
    if isinstance(target, Failure):
        return target
    cap = current_app.config["MAX_ROOMS_PER_CONNECTION"]
    if target.name not in me.rooms and len(me.rooms) >= cap:
        return forbidden(f"at most {cap} rooms open per connection: leave one first")
    budgets = current_app.extensions["budgets"]
    wait = budgets.reading(me.budgets)
    if wait is not None:
        return rate_limited("too much history sent lately, slow down", wait)
    entered = rooms.enter(user, target)
    if isinstance(entered, Failure):
        return entered
    room = entered.room
    subscribe(room.name)
    if me.watches:
        me.watching.add(room.name)
    peer_id = room.peer.id if room.peer else None
    if presence.current().join(me.sid, OpenRoom(room.name, room.id, peer_id)) or entered.joined:
        person = {"room": room.name, "username": me.username, "membership": entered.joined}
        outbox.emit(
            "join_room_announcement", person, outbox.open_channel(room.name), skip_sender=True
        )
    catch_up = history.replay(room.id, room.name, payload.last_id)
    if catch_up is not None:
        budgets.read(me.budgets, history.payload_size(catch_up["messages"]))
        outbox.emit("rejoin_room", catch_up, me.sid)
    if entered.joined and presence.current().has_others(me.user_id, me.sid):
        # The user's other tabs learn of the new room.
        summaries.room_added(me.user_id, me.username, room.id, skip_sender=True)
    if entered.peer_added:
        summaries.room_added(room.peer.id, room.peer.username, room.id)
    online = presence.current().online(room.name)
    return {"room": room.name, "online": online, "seen": entered.seen}


def end(user_id: int, username: str, room: str) -> Failure | None:
    """End the user's membership of ``room``: room_removed to all their connections,
    which stop having it open or watched, on every process, and one
    leave_room_announcement with ``membership: true`` to the room. A direct room comes
    back with its next message."""
    if not rules.is_room_name(room):
        return invalid("room: not a room name")
    found = rooms.find(room)
    if found is None or not rooms.remove_member(found[0], user_id):
        return not_found(f"you are not a member of {room}")
    outbox.emit("room_removed", {"room": room}, outbox.user_channel(user_id))
    outbox.control({"do": "drop_room", "user": user_id, "room": room})
    # After the user's connections here have closed the room: the others hear it.
    person = {"room": room, "username": username, "membership": True}
    outbox.emit("leave_room_announcement", person, outbox.open_channel(room))
    return None
