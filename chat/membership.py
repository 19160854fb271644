"""Opening rooms and ending memberships: ``joined_room`` (create on first join, record
the membership, announce, replay what the joiner lacks), ``DELETE …/membership``, and a
membership a moderator ends (kick, ban)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import current_app

from chat import history, outbox, presence, rooms, rules, summaries
from chat.errors import Failure, forbidden, invalid, not_found, rate_limited
from chat.payloads import JoinRoom
from chat.presence import Connection, OpenRoom

# What subscribe returns: told the replay's ids (None: the join took nothing), it lets
# the connection's held live messages go.
Settle = Callable[[set[int] | None], None]


def join(
    me: Connection,
    payload: JoinRoom,
    subscribe: Callable[[str], Settle],
    unsubscribe: Callable[[str], None],
) -> dict | Failure:
    """Open the room on this connection: {room, online, seen, role}.

    ``subscribe(room)`` puts the connection into the room's Socket.IO rooms; it runs
    before history is read, so a message committed meanwhile is in the replay or the
    broadcast. It holds the room's live messages back until the ``settle(ids)`` it
    returns is told which ids the replay sent: then each message arrives once, in the
    replay or live, never both, never neither. ``unsubscribe(room)`` takes the connection
    out again when the membership ended while this join was in flight.
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
    # A kick or ban whose drop_room reaches this connection while the join is in flight
    # (after its read, before the room is open here) is noticed by this count (below).
    drops = me.drops.get(target.name, 0)
    entered = rooms.enter(user, target, bool(payload.private), payload.last_id)
    if isinstance(entered, Failure):
        return entered
    room = entered.room
    settle = subscribe(room.name)
    try:
        replayed = _open(me, payload, entered)
        if me.drops.get(room.name, 0) != drops:
            settle(None)
            return _dropped_meanwhile(me, entered, unsubscribe)
        if entered.joined and presence.current().has_others(me.user_id, me.sid):
            # The user's other tabs learn of the new room.
            summaries.room_added(me.user_id, me.username, room.id, skip_sender=True)
        if entered.peer_added:
            summaries.room_added(room.peer.id, room.peer.username, room.id)
        online = presence.current().online(room.name)
    except BaseException:
        settle(set())  # what was held goes out, as it would have without the join
        raise
    # After the replay (the outbox keeps the order): the held messages it lacks.
    outbox.after_commit(functools.partial(settle, replayed))
    return {"room": room.name, "online": online, "seen": entered.seen, "role": entered.role}


def _open(me: Connection, payload: JoinRoom, entered: rooms.Entered) -> set[int]:
    """The room open on this connection: announced, and what the joiner lacks queued
    (``rejoin_room``); the ids it holds."""
    room = entered.room
    if me.watches:
        me.watching.add(room.name)
    peer_id = room.peer.id if room.peer else None
    if presence.current().join(me.sid, OpenRoom(room.name, room.id, peer_id)) or entered.joined:
        person = {"room": room.name, "username": me.username, "membership": entered.joined}
        outbox.emit(
            "join_room_announcement", person, outbox.open_channel(room.name), skip_sender=True
        )
    reader = history.Reader(room.kind, me.user_id)
    catch_up = history.replay(room.id, room.name, reader, payload.last_id)
    if catch_up is None:
        return set()
    budgets = current_app.extensions["budgets"]
    budgets.read(me.budgets, history.payload_size(catch_up["messages"]))
    outbox.emit("rejoin_room", catch_up, me.sid)
    return {message["id"] for message in catch_up["messages"]}


def _dropped_meanwhile(me: Connection, entered: rooms.Entered, unsubscribe) -> Failure:
    """The membership ended (a kick, a ban) while the join was in flight: the join takes
    back nothing the drop took away. Nothing it queued is sent, the room is neither open
    nor watched here, and a membership it made is ended again."""
    room = entered.room
    outbox.drop()
    if entered.joined:
        rooms.remove_member(room.id, me.user_id)
    presence.current().leave(me.sid, room.name)  # its announcement was never sent
    me.watching.discard(room.name)
    unsubscribe(room.name)
    return forbidden(f"you were removed from {room.name} meanwhile")


def end(user_id: int, username: str, room: str) -> Failure | None:
    """End the user's membership of ``room`` (``DELETE …/membership``): as ``removed``.
    A direct room comes back with its next message; a room whose owner leaves passes to
    its longest-standing moderator, else member."""
    if not rules.is_room_name(room):
        return invalid("room: not a room name")
    found = rooms.find(room)
    if found is None or rooms.remove_member(found[0], user_id) is None:
        return not_found(f"you are not a member of {room}")
    removed(user_id, username, room)
    return None


def removed(
    user_id: int, username: str, room: str, *, banned: bool = False, by: str | None = None
) -> None:
    """Queue what a membership that ended must do: room_removed ({room, banned: true} for
    a ban; ``by``: the moderator who ended it) to every connection of the user, the
    ``drop_room`` control action, which closes and unwatches the room on each of them, on
    every process, and then one leave_room_announcement with ``membership: true`` to
    those who have the room open."""
    news = {"room": room, "banned": True} if banned else {"room": room}
    if by is not None:
        news["by"] = by
    outbox.emit("room_removed", news, outbox.user_channel(user_id))
    outbox.control({"do": "drop_room", "user": user_id, "room": room})
    person = {"room": room, "username": username, "membership": True}
    outbox.emit("leave_room_announcement", person, outbox.open_channel(room))
