"""Socket.IO events of the default namespace; the wire contract is docs/protocol.md.

Each handler is validate → call → flush: ``chat_event`` validates the payload with its
model (``chat/payloads.py``) and checks what every event shares, the handler calls one
domain function of the ``chat`` package, and the outbox the function filled is flushed
once it returns (its writes are committed by then). Replies are acks: ``{"ok": True,
...}`` or ``{"ok": False, "error": {code, message}}``; a client that asked for no ack gets
failures as ``chat_error`` instead.
"""

from __future__ import annotations

import functools
import logging
import typing

import flask_socketio
from flask import current_app, request
from flask_socketio import SocketIO, join_room

import connections
import wire
import ws
from chat import (
    history,
    membership,
    messages,
    moderation,
    outbox,
    presence,
    reactions,
    sql,
    summaries,
)
from chat.errors import (
    Failure,
    forbidden,
    invalid,
)
from chat.identity import IDENTIFIED_SOCKET, socket_user
from chat.moderation import Invite, Moderate, SetTopic
from chat.outbox import user_channel
from chat.payloads import (
    DeleteMessage,
    EditMessage,
    JoinRoom,
    LeaveRoom,
    LoadHistory,
    MarkSeen,
    SendMessage,
    TypingStatus,
    WatchRooms,
)
from chat.presence import Connection, OpenRoom, Presence, RedisPresence
from chat.protocol import CLIENT_EVENTS, parse
from chat.ratelimit import EVENT_BUDGETS, Budgets, moving_window
from chat.reactions import React
from models import db

log = logging.getLogger(__name__)
socketio = SocketIO()
HANDLED_EVENTS: set[str] = set()  # the chat_event names (each has a budget entry)


def init_app(app) -> None:
    cfg = app.config
    socketio.init_app(
        app,
        serializer=wire.WirePacket,
        json=wire.WireJSON,
        async_mode=cfg["ASYNC_MODE"],
        # Always given (never built from message_queue): Flask-SocketIO keeps init_app's
        # options on the one SocketIO object, so a queue would outlive its app.
        client_manager=wire.client_manager(cfg["REDIS_URL"], cfg["SOCKETIO_CHANNEL"]),
        cors_allowed_origins=cfg["CORS_ALLOWED_ORIGINS"],
        # What one event needs (a 4,000-character message fully \u-escaped is ~48 KB),
        # not the 1 MB default: bigger frames are refused before they are read.
        max_http_buffer_size=cfg["MAX_PACKET_SIZE"],
        ping_interval=cfg["PING_INTERVAL"],
        ping_timeout=cfg["PING_TIMEOUT"],
    )
    ws.install(socketio.server.eio, cfg.get("WSGI_MARK_HANDLED"))
    shared, channel = app.extensions["redis"], cfg["SOCKETIO_CHANNEL"]
    app.extensions["presence"] = RedisPresence(shared, channel) if shared else Presence()
    app.extensions["message_limit"] = moving_window(cfg["RATE_LIMIT"], shared, channel, "messages")
    budgets = cfg.get("EVENT_BUDGETS")  # tests may give their own ({} for none)
    app.extensions["budgets"] = Budgets(EVENT_BUDGETS if budgets is None else budgets)
    app.extensions["control"] = wire.Control(
        shared, channel, socketio.start_background_task, socketio.sleep
    )
    connections.install(app, socketio)
    outbox.init_app(app, _deliver)
    app.teardown_appcontext(sql.close)
    wire.install(socketio.server, HANDLED_EVENTS)


def _deliver(item: outbox.Emit | outbox.Control) -> None:
    """Send what the outbox held: an event to a Socket.IO room, or a control action."""
    if isinstance(item, outbox.Emit):
        skip = getattr(request, "sid", None) if item.skip_sender else None
        # To one connection of this process (a joiner's rejoin_room): straight to it, not
        # round Redis and back; and so before the held live messages the join's settle
        # sends straight, as docs/protocol.md promises.
        here = socketio.server.manager.is_connected(item.to, "/")
        socketio.emit(item.event, item.payload, to=item.to, skip_sid=skip, ignore_queue=here)
    else:
        current_app.extensions["control"].publish(item.action)


def _reply(result: dict | Failure, event: str | None = None) -> dict:
    if not isinstance(result, Failure):
        return {"ok": True, **result}
    server = socketio.server
    wire.refused(server, server.manager.eio_sid_from_sid(request.sid, "/"), result)
    if not wire.ack_requested():
        event = event or request.event["message"]
        socketio.emit("chat_error", {"event": event, **result.as_dict()}, to=request.sid)
    return {"ok": False, "error": result.as_dict()}


def chat_event(handler=None, *, in_room: bool = False):
    """Register ``handler`` as the event of its name: validate → call → flush.

    The wrapper checks what every event shares: a known connection, one object payload
    valid for the event's model, and a ``username`` (if given) that is the connection's
    own. With ``in_room``, the payload's room must be one this connection has open, and
    the handler gets it (an ``OpenRoom``) as a third argument. An event without a payload
    model or a budget entry refuses to load.
    """
    if handler is None:
        return functools.partial(chat_event, in_room=in_room)
    name = handler.__name__
    model = CLIENT_EVENTS[name].payload
    if name not in EVENT_BUDGETS:
        raise LookupError(f"event {name} has no budget in chat.ratelimit.EVENT_BUDGETS")

    @functools.wraps(handler)
    def wrapper(*args):
        me = presence.current().identity(request.sid)
        if me is None:
            return _reply(Failure("unauthorized", "connection has no identity"))
        payload = parse(model, args[0]) if len(args) == 1 else None
        if payload is None:
            payload = invalid("payload must be one JSON object")
        if isinstance(payload, Failure):
            return _reply(payload)
        claimed = payload.username
        if claimed is not None and claimed.lower() != me.username.lower():
            return _reply(forbidden("username is not yours"))
        if in_room:
            room = me.rooms.get(payload.room)
            if room is None:
                return _reply(Failure("not_in_room", f"join {payload.room} first"))
            result = handler(me, payload, room)
        else:
            result = handler(me, payload)
        outbox.flush()
        return _reply(result)

    HANDLED_EVENTS.add(name)
    return socketio.on(name)(wrapper)


@socketio.on_error_default
def on_error(error: Exception) -> dict | bool:
    outbox.drop()
    db.session.rollback()
    event = request.event.get("message")
    outage = wire.outage_of(error)
    if outage is None:
        log.exception("event %r failed", event)
    else:
        wire.log_outage(log, event, error)
    if event == "connect":
        # An identity that could not be checked is no identity: refused, with a code.
        if outage is not None:
            refuse_connection("unavailable", outage.message)
        refuse_connection("internal_error", "the server failed to check who you are")
    if outage is not None:
        return _reply(outage)
    return _reply(Failure("internal_error", "the server failed to handle this event"))


# --- connection ----------------------------------------------------------------------


def refuse_connection(code: str, message: str) -> typing.NoReturn:
    """Refuse a connecting socket: connect_error carries ``{message: code, data: {code,
    message}}`` (chat.payloads.ConnectRefused), a stable code in both places."""
    # python-socketio's exception (not the builtin one) refuses the connection.
    raise flask_socketio.ConnectionRefusedError(code, {"code": code, "message": message})


@socketio.on("connect")
def connect(auth_data=None):
    """Client connects with a session cookie, ``auth: {token}`` or a Bearer header."""
    user = socket_user(auth_data)
    if user is None:
        refuse_connection("unauthorized", "sign in, or connect with a valid token")
    cap = current_app.config["MAX_CONNECTIONS_PER_USER"]
    if presence.current().connections_per_user(user.id) >= cap:
        refuse_connection("too_many_connections", f"at most {cap} connections per user")
    # From now on this connection's events need no session cookie decoded.
    request.environ[IDENTIFIED_SOCKET] = True
    join_room(user_channel(user.id))
    presence.arrive(Connection(request.sid, user.id, user.username, user.session_id))
    outbox.flush()
    connections.start_background_tasks(current_app._get_current_object())


@socketio.on("disconnect")
def disconnect(*_reason):
    """Counts as leave_room for every room of this connection."""
    presence.depart(request.sid)
    outbox.flush()


# --- events --------------------------------------------------------------------------


@chat_event
def joined_room(me: Connection, payload: JoinRoom):
    """Client sends {room} or {peer}, optional last_id and private; joins it (making it
    when new), acks {room, online, seen, role} and sends rejoin_room with the history the
    client lacks."""
    return membership.join(me, payload, connections.subscribe, connections.unsubscribe)


@chat_event
def watch_rooms(me: Connection, payload: WatchRooms):
    """Client sends {}; subscribes this connection to the messages, edits and deletes of
    every room its user is a member of, and to its direct peers' presence_changed. Acks
    {rooms: [Summary]}."""
    drops = dict(me.drops)
    found = summaries.for_watching(me)
    if isinstance(found, Failure):
        return found
    # A membership that ended while the list was read (a kick, a ban) stays unwatched.
    dropped = {room for room, n in list(me.drops.items()) if drops.get(room, 0) != n}
    found = [s for s in found if s["room"] not in dropped]
    connections.watch(me, found)
    return {"rooms": summaries.with_peer_online(found)}


@chat_event(in_room=True)
def send_message(me: Connection, payload: SendMessage, room: OpenRoom):
    """Client sends {room, message, client_id?, reply_to?}; stores it once, emits
    recieve_message to the room's open and watching connections (sender included) and
    mentioned to each user it mentions, and acks {id, created_at}."""
    return messages.send(me, room, payload)


@chat_event(in_room=True)
def typing_status(me: Connection, payload: TypingStatus, room: OpenRoom):
    """Client sends {room, typing}; emits typing_on {room, username, typing} to the others
    that have the room open, when it is news."""
    presence.typing(me, room.name, payload.typing)
    return {}


@chat_event
def load_history(me: Connection, payload: LoadHistory):
    """Client sends {room, before_id? | after_id? | around_id?, limit?}; acks {messages,
    has_more, has_newer}: a page of messages, oldest first. Needs read access, not a
    join."""
    return history.load(me, payload)


@chat_event(in_room=True)
def edit_message(me: Connection, payload: EditMessage, room: OpenRoom):
    """Client sends {room, id, message}; the author only. Emits message_edited (a Message)
    to the room and mentioned to users it newly mentions; acks {id, edited_at}."""
    return messages.edit(me, room, payload)


@chat_event(in_room=True)
def react(me: Connection, payload: React, room: OpenRoom):
    """Client sends {room, id, emoji, on}; adds or takes back the user's reaction, emits
    reaction_changed {room, id, emoji, count, users} to the room's open connections when
    that changed anything, and acks {id, emoji, count, users}."""
    return reactions.react(me, room, payload)


@chat_event(in_room=True)
def delete_message(me: Connection, payload: DeleteMessage, room: OpenRoom):
    """Client sends {room, id}; the author only. Soft-deletes it and emits message_deleted
    {room, id, by} to the room."""
    return messages.delete(me, room, payload)


@chat_event(in_room=True)
def moderate(me: Connection, payload: Moderate, room: OpenRoom):
    """Client sends {room, action, target? | id?, reason?}; the owner or a moderator
    deletes a message (message_deleted {room, id, by}), kicks, bans or unbans a user, the
    owner promotes or demotes one. Recorded; acks {}."""
    return moderation.moderate(me, room, payload)


@chat_event(in_room=True)
def invite(me: Connection, payload: Invite, room: OpenRoom):
    """Client sends {room, target}; makes the target a member, who gets room_added. Acks
    {room, username}."""
    return moderation.invite(me, room, payload)


@chat_event(in_room=True)
def set_topic(me: Connection, payload: SetTopic, room: OpenRoom):
    """Client sends {room, topic}; the owner or a moderator sets (empty: clears) it and the
    room's open and watching connections get room_updated {room, topic}. Acks {room,
    topic}."""
    return moderation.set_topic(me, room, payload)


@chat_event(in_room=True)
def mark_seen(me: Connection, payload: MarkSeen, room: OpenRoom):
    """Client sends {room, message_id}; stores it as the reader's last read id (it never
    moves back) and emits messages_seen {room, username, message_id} to the others."""
    return messages.mark_seen(me, room, payload)


@chat_event(in_room=True)
def leave_room(me: Connection, payload: LeaveRoom, room: OpenRoom):
    """Client sends {room}; closes it on this connection (a watched room stays watched)
    and tells the others when this was the user's last connection with it open."""
    connections.close_room(presence.current(), me, room.name, keep_watching=True)
    return {"room": room.name}


@socketio.on(wire.REFUSED)
def reserved_event(event: str, *_args):
    """A client emitted an event named like one of the transport's own."""
    return _reply(wire.refusal(event), event)


@socketio.on("*")
def unknown_event(event: str, *_args):
    """Any other event is refused, so a client never waits for an ack that cannot come."""
    return _reply(invalid(f"unknown event {event!r}"), event)


def close_every_connection(seconds: float = 3.0) -> int:
    """SIGTERM: close every connection of this process (clients reconnect elsewhere)."""
    return wire.close_every_connection(socketio.server, seconds)


def in_flight() -> int:
    return wire.in_flight()
