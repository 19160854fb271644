"""What happens to a user's connections wherever they are, beside the events they send:
the Socket.IO rooms a connection joins and leaves as it opens, watches and closes rooms,
the control actions that reach its user's connections on every process (a membership
that ended, a sign-out), the catch-up after Redis comes back, and the background tasks
(presence heartbeats, the control listener).

``install`` hands it the app's Socket.IO server; ``events.py`` calls the rest.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
from collections.abc import Callable

import redis
from flask import request
from flask_socketio import join_room
from flask_socketio import leave_room as leave_socket_room

import wire
from chat import attachments
from chat.outbox import message_channel, open_channel, peer_channel
from chat.presence import Connection, Presence, RedisPresence

log = logging.getLogger(__name__)
_socketio = None  # the app's flask_socketio.SocketIO (install)


def install(app, socketio) -> None:
    """Register the control actions on the app's Control, and the catch-up after a Redis
    outage on its message queue."""
    global _socketio
    _socketio = socketio
    control = app.extensions["control"]
    control.on("drop_room", _drop_room(app))
    control.on("sign_out", _sign_out(app))
    if isinstance(socketio.server.manager, wire.QueueManager):
        socketio.server.manager.on_recovered = lambda: _resync(app)


# --- a connection's Socket.IO rooms ---------------------------------------------------


def subscribe(room: str) -> Callable[[set[int] | None], None]:
    """Put this connection into the room's channels, its live messages held back until
    the returned ``settle(ids)`` says what the join's replay holds (``fence.ReplayFence``:
    each message once, in the replay or live)."""
    manager, sid, channel = _socketio.server.manager, request.sid, message_channel(room)
    manager.hold(channel, sid)
    join_room(open_channel(room))
    join_room(channel)
    return functools.partial(manager.settle, channel, sid)


def unsubscribe(room: str) -> None:
    leave_socket_room(open_channel(room))
    leave_socket_room(message_channel(room))


def watch(me: Connection, found: list[dict]) -> None:
    """Put the connection into the message channels of these rooms and the presence
    channels of their direct peers, and out of those it no longer belongs to."""
    names = {s["room"] for s in found}
    for room in names - me.watching:
        join_room(message_channel(room))
    for room in me.watching - names:  # no longer a member
        if room not in me.rooms:
            leave_socket_room(message_channel(room))
    peers = {s["peer_id"] for s in found if s.get("peer_id")}
    for peer in peers - me.peers:
        join_room(peer_channel(peer))
    for peer in me.peers - peers:  # their direct room was removed
        leave_socket_room(peer_channel(peer))
    me.watches, me.watching, me.peers = True, names, peers


# --- actions on a user's connections in every process --------------------------------


def close_room(
    presence_: Presence, me: Connection, room: str, keep_watching: bool, announce: bool = True
) -> None:
    server = _socketio.server
    server.leave_room(me.sid, open_channel(room), namespace="/")
    if not (keep_watching and room in me.watching):
        server.leave_room(me.sid, message_channel(room), namespace="/")
        me.watching.discard(room)
    if presence_.leave(me.sid, room) and announce:
        _socketio.emit(
            "leave_room_announcement",
            {"room": room, "username": me.username, "membership": False},
            to=open_channel(room),
        )


def _drop_room(app):
    """{do: drop_room, user, room}: the user's connections here stop having the room open
    or watched (their membership ended: they left, or were kicked or banned, which
    membership.removed announced already). Each counts the drop, so a join or watch_rooms
    of theirs in flight does not open the room again."""

    def apply(action: dict) -> None:
        shared = app.extensions["presence"]
        room = action["room"]
        for sid in shared.sids_of(action["user"]):
            connection = shared.identity(sid)
            if connection is not None:
                connection.drops[room] = connection.drops.get(room, 0) + 1
                close_room(shared, connection, room, False, announce=False)

    return apply


def _sign_out(app):
    """{do: sign_out, user, session}: signed_out to the connections of one browser
    session (or, with None, of every session and token of the user) here, which are then
    disconnected; their cached identities are forgotten."""

    def apply(action: dict) -> None:
        app.extensions["identity_cache"].forget(action["user"], action.get("session"))
        for sid in app.extensions["presence"].sids_of(action["user"], action.get("session")):
            _socketio.emit("signed_out", {}, to=sid, ignore_queue=True)
            _socketio.server.disconnect(sid, namespace="/", ignore_queue=True)

    return apply


def _resync(app) -> None:
    """Redis is back: broadcasts from other processes were lost meanwhile, so every
    connection here is closed; clients reconnect and join with their last_id, which
    replays exactly what they missed. Presence is written back at once."""
    shared = app.extensions["presence"]
    sids = shared.all_sids()
    log.warning("Redis is back: closing %d connections so they catch up", len(sids))
    if isinstance(shared, RedisPresence):
        with contextlib.suppress(redis.RedisError):
            shared.heartbeat()
    for sid in sids:
        _socketio.server.disconnect(sid, namespace="/", ignore_queue=True)


# --- background tasks ---------------------------------------------------------------


def start_background_tasks(app) -> None:
    """Presence heartbeats, the control listener and the sweep of expired uploads,
    started on the first connect (so CLI commands and idle imports run no background
    task)."""
    if app.extensions.get("background_started"):
        return
    app.extensions["background_started"] = True
    shared = app.extensions["presence"]
    if isinstance(shared, RedisPresence):

        def beat():
            while True:
                _socketio.sleep(shared.ttl / 3)
                try:
                    shared.heartbeat()
                except redis.RedisError:
                    log.warning("presence heartbeat failed; retrying", exc_info=True)

        _socketio.start_background_task(beat)
    app.extensions["control"].start()
    interval = app.config["ATTACHMENT_SWEEP_SECONDS"]
    if interval:
        _socketio.start_background_task(_sweep_uploads, app, interval)


def _sweep_uploads(app, interval: float) -> None:
    """Remove expired uploads every ``interval`` seconds or so (every process does: a
    removal twice is harmless, and the jitter keeps them apart)."""
    while True:
        _socketio.sleep(interval * random.uniform(0.5, 1.5))
        try:
            with app.app_context():
                removed = attachments.sweep()
            if removed:
                log.info("removed %d expired uploads", removed)
        except Exception:
            log.warning("sweeping expired uploads failed; trying again later", exc_info=True)
