"""Socket.IO events of the default namespace; the wire contract is docs/protocol.md.

Each handler parses its payload, calls the domain functions in chat.py, commits, then
emits. Replies are acks: ``{"ok": True, ...}`` or ``{"ok": False, "error": {code,
message}}``; a client that asked for no ack gets failures as ``chat_error`` instead.
"""

from __future__ import annotations

import functools
import logging
from contextvars import ContextVar
from typing import NamedTuple

import flask_socketio
import redis
from flask import current_app, request
from flask_socketio import SocketIO, emit, join_room
from flask_socketio import leave_room as leave_socket_room
from sqlalchemy.exc import SQLAlchemyError

import auth
import chat
from chat import Failure, invalid
from models import Room, User, db
from presence import Connection, Presence, RedisPresence

log = logging.getLogger(__name__)
socketio = SocketIO()

# Whether the event being handled carries an ack id; set around every handler call.
_ack_requested: ContextVar[bool] = ContextVar("ack_requested", default=True)


def init_app(app) -> None:
    cfg = app.config
    socketio.init_app(
        app,
        async_mode=cfg["ASYNC_MODE"],
        message_queue=cfg["REDIS_URL"],
        channel=cfg["SOCKETIO_CHANNEL"],
        cors_allowed_origins=cfg["CORS_ALLOWED_ORIGINS"],
    )
    app.extensions["presence"] = (
        RedisPresence(redis.Redis.from_url(cfg["REDIS_URL"]), cfg["SOCKETIO_CHANNEL"])
        if cfg["REDIS_URL"]
        else Presence()
    )
    app.extensions["rate_limit"] = chat.RateLimit(
        cfg["RATE_LIMIT"], cfg["REDIS_URL"] or "memory://", key_prefix=cfg["SOCKETIO_CHANNEL"]
    )
    _track_acks(socketio.server)


def _track_acks(server) -> None:
    """Record whether each incoming event asked for an ack.

    Neither Flask-SocketIO nor python-socketio tells a handler this, and the protocol
    answers ack-less failures with ``chat_error``. python-socketio runs every event
    through ``_handle_event_internal`` (in the task that runs the handler), which sees the
    packet's ack id.
    """
    handle = server._handle_event_internal

    def tracked(srv, sid, eio_sid, data, namespace, ack_id):
        token = _ack_requested.set(ack_id is not None)
        try:
            return handle(srv, sid, eio_sid, data, namespace, ack_id)
        finally:
            _ack_requested.reset(token)

    server._handle_event_internal = tracked


def presence() -> Presence:
    return current_app.extensions["presence"]


def _reply(result: dict | Failure, event: str | None = None) -> dict:
    if not isinstance(result, Failure):
        return {"ok": True, **result}
    if not _ack_requested.get():
        event = event or request.event["message"]
        emit("chat_error", {"event": event, **result.as_dict()})
    return {"ok": False, "error": result.as_dict()}


def chat_event(handler=None, *, in_room: bool = False):
    """Register ``handler`` as the event of its name.

    The wrapper checks what every event shares: one object payload, a known connection,
    and a ``username`` (if given) that is the connection's own. With ``in_room``, the
    payload's ``room`` must be one this connection has joined, and the handler gets it as
    a third argument.
    """
    if handler is None:
        return functools.partial(chat_event, in_room=in_room)

    @functools.wraps(handler)
    def wrapper(*args):
        me = presence().identity(request.sid)
        if me is None:
            return _reply(Failure("unauthorized", "connection has no identity"))
        if len(args) != 1 or not isinstance(args[0], dict):
            return _reply(invalid("payload must be one JSON object"))
        data = args[0]
        claimed = data.get("username")
        if claimed is not None:
            if not isinstance(claimed, str):
                return _reply(invalid("username must be a string"))
            if claimed.lower() != me.username.lower():
                return _reply(Failure("forbidden", "username is not yours"))
        if not in_room:
            return _reply(handler(me, data))
        room = _joined_room(data.get("room"))
        if isinstance(room, Failure):
            return _reply(room)
        return _reply(handler(me, data, room))

    return socketio.on(handler.__name__)(wrapper)


@socketio.on_error_default
def on_error(error: Exception) -> dict | bool:
    db.session.rollback()
    log.exception("event %r failed", request.event.get("message"))
    if request.event["message"] == "connect":
        return False  # refuse: an identity that could not be checked is no identity
    if isinstance(error, SQLAlchemyError):
        return _reply(Failure("unavailable", "the database is unavailable, try again"))
    if isinstance(error, redis.RedisError):
        return _reply(Failure("unavailable", "the message service is unavailable, try again"))
    return _reply(Failure("internal_error", "the server failed to handle this event"))


class JoinedRoom(NamedTuple):
    name: str
    id: int


def _joined_room(name: object) -> JoinedRoom | Failure:
    """The named room, if this connection has joined it."""
    if not chat.is_room_name(name):
        return invalid("room must be a room name")
    room_id = presence().room_id(request.sid, name)
    if room_id is None:
        return Failure("not_in_room", f"join {name} first")
    return JoinedRoom(name, room_id)


# --- connection ----------------------------------------------------------------------


@socketio.on("connect")
def connect(auth_data=None):
    """Client connects with a session cookie, ``auth: {token}`` or a Bearer header."""
    user = auth.socket_user(auth_data)
    if user is None:
        # python-socketio's exception (not the builtin one) refuses the connection.
        raise flask_socketio.ConnectionRefusedError("unauthorized")
    presence().connect(request.sid, user.id, user.username)
    _start_heartbeat(presence())


def _start_heartbeat(shared: Presence) -> None:
    """Keep this process's entries in shared presence alive (started on first connect,
    so CLI commands and idle imports run no background task)."""
    if not isinstance(shared, RedisPresence) or shared.heartbeat_started:
        return
    shared.heartbeat_started = True

    def beat():
        while True:
            socketio.sleep(shared.ttl / 3)
            try:
                shared.heartbeat()
            except redis.RedisError:
                log.warning("presence heartbeat failed; retrying", exc_info=True)

    socketio.start_background_task(beat)


@socketio.on("disconnect")
def disconnect(*_reason):
    """Counts as leave_room for every room of this connection."""
    connection, gone = presence().disconnect(request.sid)
    for room in gone:
        emit("leave_room_announcement", {"room": room, "username": connection.username}, to=room)


# --- events --------------------------------------------------------------------------


@chat_event
def joined_room(me: Connection, data: dict):
    """Client sends {room} or {peer}, optional last_id; joins it, acks {room, online, seen}
    and sends rejoin_room with the history the client lacks."""
    last_id = chat.check_message_id(data.get("last_id"), "last_id")
    if isinstance(last_id, Failure):
        return last_id
    room = chat.resolve_room(me.username, data.get("room"), data.get("peer"))
    if isinstance(room, Failure):
        return room
    chat.ensure_membership(room, me.user_id)
    db.session.commit()
    # Into the Socket.IO room before reading history: a message committed meanwhile is
    # in the history, the broadcast or both (the client dedupes by id), never neither.
    join_room(room.name)
    if presence().join(request.sid, room.name, room.id):
        emit(
            "join_room_announcement",
            {"room": room.name, "username": me.username},
            to=room.name,
            include_self=False,
        )
    catch_up = chat.replay(room, last_id)
    if catch_up is not None:
        emit("rejoin_room", catch_up)
    return {"room": room.name, "online": presence().online(room.name), "seen": chat.seen_by(room)}


@chat_event(in_room=True)
def send_message(me: Connection, data: dict, room: JoinedRoom):
    """Client sends {room, message, client_id?}; stores it once, emits recieve_message to
    the room (sender included) and acks {id, created_at}."""
    body = chat.clean_message(data.get("message"))
    if isinstance(body, Failure):
        return body
    client_id = chat.check_client_id(data.get("client_id"))
    if isinstance(client_id, Failure):
        return client_id
    if client_id is not None:
        earlier = chat.find_by_client_id(room.id, me.user_id, client_id)
        if earlier is not None:  # a retry: same ack, no second broadcast
            return {"id": earlier.id, "created_at": earlier.to_dict()["created_at"]}
    if not current_app.extensions["rate_limit"].hit(me.user_id):
        return Failure("rate_limited", "too many messages, slow down")
    author = db.session.get(User, me.user_id)
    message, created = chat.post_message(db.session.get(Room, room.id), author, body, client_id)
    db.session.commit()
    payload = message.to_dict()
    if created:
        emit("recieve_message", payload, to=room.name)
        if presence().set_typing(room.name, me.username, False):
            _emit_typing(room.name, me.username, False)
    return {"id": payload["id"], "created_at": payload["created_at"]}


@chat_event(in_room=True)
def typing_status(me: Connection, data: dict, room: JoinedRoom):
    """Client sends {room, typing}; emits typing_on {room, username, typing} to the others."""
    typing = data.get("typing")
    if not isinstance(typing, bool):
        return invalid("typing must be true or false")
    presence().set_typing(room.name, me.username, typing)
    _emit_typing(room.name, me.username, typing)
    return {}


@chat_event
def load_history(me: Connection, data: dict):
    """Client sends {room, before_id?, limit?}; acks {messages, has_more}: the page of
    messages older than before_id, oldest first. Needs read access, not a join."""
    return chat.read_page(me.username, data.get("room"), data.get("before_id"), data.get("limit"))


@chat_event(in_room=True)
def edit_message(me: Connection, data: dict, room: JoinedRoom):
    """Client sends {room, id, message}; the author only. Emits message_edited (a Message)
    to the room and acks {id, edited_at}."""
    body = chat.clean_message(data.get("message"))
    if isinstance(body, Failure):
        return body
    message = chat.own_message(room.id, me.user_id, data.get("id"))
    if isinstance(message, Failure):
        return message
    changed = chat.edit(message, body)
    db.session.commit()
    payload = message.to_dict()
    if changed:
        emit("message_edited", payload, to=room.name)
    return {"id": message.id, "edited_at": payload["edited_at"]}


@chat_event(in_room=True)
def delete_message(me: Connection, data: dict, room: JoinedRoom):
    """Client sends {room, id}; the author only. Soft-deletes it and emits message_deleted
    {room, id} to the room."""
    message = chat.own_message(room.id, me.user_id, data.get("id"))
    if isinstance(message, Failure):
        return message
    chat.soft_delete(message)
    db.session.commit()
    emit("message_deleted", {"room": room.name, "id": message.id}, to=room.name)
    return {"id": message.id}


@chat_event(in_room=True)
def mark_seen(me: Connection, data: dict, room: JoinedRoom):
    """Client sends {room, message_id}; stores it as the reader's last read id (it never
    moves back) and emits messages_seen {room, username, message_id} to the others."""
    message_id = chat.check_message_id(data.get("message_id"), "message_id", required=True)
    if isinstance(message_id, Failure):
        return message_id
    if not chat.message_exists(room.id, message_id):
        return Failure("not_found", f"no message {message_id} in {room.name}")
    moved = chat.mark_read(room.id, me.user_id, message_id)
    db.session.commit()
    if moved is None:  # an older id: the stored position stays, and is the answer
        return {"room": room.name, "message_id": chat.last_read_id(room.id, me.user_id)}
    emit(
        "messages_seen",
        {"room": room.name, "username": me.username, "message_id": moved},
        to=room.name,
        include_self=False,
    )
    return {"room": room.name, "message_id": moved}


@chat_event(in_room=True)
def leave_room(me: Connection, data: dict, room: JoinedRoom):
    """Client sends {room}; leaves it and tells the others when this was the user's last
    connection there."""
    leave_socket_room(room.name)
    if presence().leave(request.sid, room.name):
        emit("leave_room_announcement", {"room": room.name, "username": me.username}, to=room.name)
    return {"room": room.name}


@socketio.on("*")
def unknown_event(event: str, *_args):
    """Any other event is refused, so a client never waits for an ack that cannot come."""
    return _reply(invalid(f"unknown event {event!r}"), event)


def _emit_typing(room: str, username: str, typing: bool) -> None:
    emit(
        "typing_on",
        {"room": room, "username": username, "typing": typing},
        to=room,
        include_self=False,
    )
