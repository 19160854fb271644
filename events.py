"""Socket.IO events of the default namespace; the wire contract is docs/protocol.md.

Each handler parses its payload, calls the domain functions in chat.py (which commit as
they write), then emits. Replies are acks: ``{"ok": True, ...}`` or ``{"ok": False,
"error": {code, message}}``; a client that asked for no ack gets failures as
``chat_error`` instead.

Socket.IO rooms the server uses are namespaced, so no name a client picks can address a
connection (every connection is also in a room named after its sid):

- ``r:<room>``: connections that have the room open (typing, announcements, seen);
- ``m:<room>``: connections that have it open or watch it (messages, edits, deletes), so
  one message is one broadcast, encoded once, to both;
- ``u:<user id>``: every connection of a user (room_added, room_removed);
- ``p:<user id>``: watchers of that user's direct rooms (presence_changed).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import uuid
from contextvars import ContextVar

import flask_socketio
import orjson
import redis
import socketio as socketio_server
from flask import current_app, request
from flask_socketio import SocketIO, emit, join_room
from flask_socketio import leave_room as leave_socket_room
from socketio import packet as socketio_packet
from sqlalchemy.exc import SQLAlchemyError

import auth
import chat
import ws
from chat import Failure, invalid
from models import db, isoformat
from presence import Connection, OpenRoom, Presence, RedisPresence
from ratelimit import EVENT_BUDGETS, Budgets, MessageLimit, RedisMessageLimit

log = logging.getLogger(__name__)
socketio = SocketIO()

# Whether the event being handled carries an ack id; set around every handler call.
_ack_requested: ContextVar[bool] = ContextVar("ack_requested", default=True)
# Names python-socketio dispatches to the transport's own handlers; a client must not
# use them. ("*" is python-socketio's catch-all: an event of that name would reach it unwrapped.)
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error", "__disconnect_final", "*"})
_REFUSED = "\x00reserved"
HANDLED_EVENTS: set[str] = set()  # the chat_event names (each has its own budget)


def open_channel(room: str) -> str:
    return "r:" + room


def message_channel(room: str) -> str:
    return "m:" + room


def user_channel(user_id: int) -> str:
    return f"u:{user_id}"


def peer_channel(user_id: int) -> str:
    return f"p:{user_id}"


class QueueManager(socketio_server.RedisManager):
    """python-socketio's Redis message queue, with two changes for outages: it
    resubscribes every second (its own back-off grows to a minute, all of it lost
    broadcasts), and once it is back it has this process's clients catch up
    (``Control.resync``), since what other processes broadcast meanwhile never arrived."""

    on_recovered = None  # set by init_app

    def _redis_listen_with_retries(self):  # replaces the library's loop of this name
        lost = False
        while True:
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                if lost:
                    lost = False
                    if self.on_recovered is not None:
                        self.on_recovered()
                yield from self.pubsub.listen()
            except Exception as error:
                if not lost:
                    log.warning("message queue lost, serving this process only: %s", error)
                lost = True
                self.server.sleep(1)


class WireJSON:
    """The JSON codec of Socket.IO packets: orjson (a 50-message rejoin_room encodes in
    ~5 us instead of ~70 us), with the standard library for what orjson refuses (lone
    surrogates, which the handlers then refuse with invalid_payload)."""

    @staticmethod
    def dumps(obj, **_options) -> str:
        try:
            return orjson.dumps(obj).decode()
        except TypeError:
            return json.dumps(obj, separators=(",", ":"))

    @staticmethod
    def loads(text, **_options):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return json.loads(text)


class WirePacket(socketio_packet.Packet):
    """Socket.IO packets as this server speaks them: JSON through WireJSON, and no walk
    through every emitted payload looking for binary parts (python-socketio's default;
    this protocol has none, and binary from clients is refused)."""

    json = WireJSON

    @classmethod
    def data_is_binary(cls, data) -> bool:
        return False


def init_app(app) -> None:
    cfg = app.config
    socketio.init_app(
        app,
        serializer=WirePacket,
        json=WireJSON,
        async_mode=cfg["ASYNC_MODE"],
        # Always given (never built from message_queue): Flask-SocketIO keeps init_app's
        # options on the one SocketIO object, so a queue would outlive its app.
        client_manager=(
            QueueManager(cfg["REDIS_URL"], channel=cfg["SOCKETIO_CHANNEL"])
            if cfg["REDIS_URL"]
            else socketio_server.Manager()
        ),
        cors_allowed_origins=cfg["CORS_ALLOWED_ORIGINS"],
        # What one event needs (a 4,000-character message fully \u-escaped is ~48 KB),
        # not the 1 MB default: bigger frames are refused before they are read.
        max_http_buffer_size=cfg["MAX_PACKET_SIZE"],
        ping_interval=cfg["PING_INTERVAL"],
        ping_timeout=cfg["PING_TIMEOUT"],
    )
    ws.install(socketio.server.eio, cfg.get("WSGI_MARK_HANDLED"))
    shared = redis.Redis.from_url(cfg["REDIS_URL"]) if cfg["REDIS_URL"] else None
    channel = cfg["SOCKETIO_CHANNEL"]
    if shared is not None:
        app.extensions["presence"] = RedisPresence(shared, channel)
        app.extensions["message_limit"] = RedisMessageLimit(
            cfg["RATE_LIMIT"], shared, f"{channel}:limit:messages:"
        )
    else:
        app.extensions["presence"] = Presence()
        app.extensions["message_limit"] = MessageLimit(cfg["RATE_LIMIT"])
    app.extensions["control"] = control = Control(
        app.extensions["presence"], shared, channel, app.extensions.get("identity_cache")
    )
    if isinstance(socketio.server.manager, QueueManager):
        socketio.server.manager.on_recovered = control.resync
    budgets = cfg.get("EVENT_BUDGETS")  # tests may give their own ({} for none)
    app.extensions["budgets"] = Budgets(EVENT_BUDGETS if budgets is None else budgets)
    app.teardown_appcontext(chat.close_db_connection)
    _track_acks(socketio.server)
    _guard_packets(socketio.server)


def _track_acks(server) -> None:
    """Record whether each incoming event asked for an ack, and turn events that use a
    reserved name into a refusal.

    Neither Flask-SocketIO nor python-socketio tells a handler whether an ack was asked
    for, and the protocol answers ack-less failures with ``chat_error``. python-socketio
    runs every event through ``_handle_event_internal`` (in the task that runs the
    handler), which sees the packet's ack id.
    """
    handle = server._handle_event_internal

    def tracked(srv, sid, eio_sid, data, namespace, ack_id):
        global _in_flight
        if not isinstance(data[0], str) or data[0] in RESERVED_EVENTS:
            data = [_REFUSED, str(data[0])]
        over = _over_budget(srv, sid, eio_sid, data[0])
        if over is not None:
            return _answer_early(srv, sid, eio_sid, namespace, ack_id, data[0], over)
        token = _ack_requested.set(ack_id is not None)
        _in_flight += 1
        try:
            return handle(srv, sid, eio_sid, data, namespace, ack_id)
        finally:
            _in_flight -= 1
            _ack_requested.reset(token)

    server._handle_event_internal = tracked


def _over_budget(server, sid: str, eio_sid: str, event: str) -> Failure | None:
    """Spend one of the connection's budget for the event (garbage pays too: unknown and
    reserved names share one budget). Checked before Flask-SocketIO sets up the event's
    request context, so a flood refused costs as little as it can."""
    app = server.environ.get(eio_sid, {}).get("flask.app")
    me = app and app.extensions["presence"].identity(sid)
    if not me:
        return None  # not connected yet: the handler answers unauthorized
    name = event if event in HANDLED_EVENTS else "refused"
    wait = app.extensions["budgets"].spend(me.budgets, name)
    if wait is None:
        return None
    shown = event if name != "refused" else "refused"
    return Failure("rate_limited", f"too many {shown} events, slow down", round(wait, 3))


def _answer_early(server, sid, eio_sid, namespace, ack_id, event: str, failure: Failure):
    if ack_id is not None:
        reply = {"ok": False, "error": failure.as_dict()}
        server._send_packet(
            eio_sid,
            server.packet_class(socketio_packet.ACK, namespace=namespace, id=ack_id, data=[reply]),
        )
    else:
        server.emit(
            "chat_error",
            {"event": event, **failure.as_dict()},
            to=sid,
            namespace=namespace,
            ignore_queue=True,
        )


def _guard_packets(server) -> None:
    """Refuse what the protocol never uses before python-socketio buffers or parses it:
    binary events and their attachments, and packets that do not decode. The connection
    is closed with one log line (no traceback per frame to flood the log)."""
    handle = server._handle_eio_message

    def guarded(eio_sid, data):
        if not isinstance(data, str) or data[:1] in ("5", "6"):  # binary event or ack
            log.warning("closing %s: binary Socket.IO packets are not accepted", eio_sid)
            server.eio.disconnect(eio_sid)
            return None
        try:
            return handle(eio_sid, data)
        except ValueError as error:  # the packet's JSON or framing did not decode
            log.warning("closing %s: malformed Socket.IO packet (%s)", eio_sid, error)
            server.eio.disconnect(eio_sid)
            return None

    server.eio.on("message", guarded)


_in_flight = 0  # events being handled now (a SIGTERM lets them finish)


def in_flight() -> int:
    return _in_flight


def close_every_connection() -> int:
    """Close every Engine.IO connection of this process (SIGTERM): each client's
    disconnect runs as usual, and the clients reconnect, to another process."""
    eio = socketio.server.eio
    sids = list(eio.sockets)
    for eio_sid in sids:
        eio.disconnect(eio_sid)
    return len(sids)


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
    payload's ``room`` must be one this connection has open, and the handler gets it as a
    third argument.
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
        room = _open_room(data.get("room"))
        if isinstance(room, Failure):
            return _reply(room)
        return _reply(handler(me, data, room))

    HANDLED_EVENTS.add(handler.__name__)
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


class NamedRoom:
    """A room this connection has open: its name plus what ``OpenRoom`` knows."""

    __slots__ = ("id", "name", "peer_id")

    def __init__(self, name: str, room: OpenRoom) -> None:
        self.name, self.id, self.peer_id = name, room.id, room.peer_id


def _open_room(name: object) -> NamedRoom | Failure:
    """The named room, if this connection has it open."""
    if not chat.is_room_name(name):
        return invalid("room must be a room name")
    room = presence().open_room(request.sid, name)
    if room is None:
        return Failure("not_in_room", f"join {name} first")
    return NamedRoom(name, room)


def _me(connection: Connection) -> chat.UserRef:
    return chat.UserRef(connection.user_id, connection.username)


# --- connection ----------------------------------------------------------------------


@socketio.on("connect")
def connect(auth_data=None):
    """Client connects with a session cookie, ``auth: {token}`` or a Bearer header."""
    user = auth.socket_user(auth_data)
    if user is None:
        # python-socketio's exception (not the builtin one) refuses the connection.
        raise flask_socketio.ConnectionRefusedError("unauthorized")
    cap = current_app.config["MAX_CONNECTIONS_PER_USER"]
    if presence().connections_per_user(user.id) >= cap:
        raise flask_socketio.ConnectionRefusedError(f"at most {cap} connections per user")
    connection = Connection(user.id, user.username, getattr(user, "session_id", None))
    # From now on this connection's events need no session cookie decoded (see auth).
    request.environ[auth.IDENTIFIED_SOCKET] = True
    join_room(user_channel(user.id))
    if presence().connect(request.sid, connection):
        _presence_changed(connection, True)
    _start_background_tasks(current_app._get_current_object())


@socketio.on("disconnect")
def disconnect(*_reason):
    """Counts as leave_room for every room of this connection."""
    connection, gone, offline = presence().disconnect(request.sid)
    if connection is None:
        return
    for room in gone:
        emit(
            "leave_room_announcement",
            {"room": room, "username": connection.username},
            to=open_channel(room),
        )
    if offline:
        _presence_changed(connection, False)


def _presence_changed(connection: Connection, online: bool) -> None:
    socketio.emit(
        "presence_changed",
        {"username": connection.username, "online": online},
        to=peer_channel(connection.user_id),
    )


def _start_background_tasks(app) -> None:
    """Presence heartbeats and the control listener, started on the first connect (so CLI
    commands and idle imports run no background task)."""
    if app.extensions.get("background_started"):
        return
    app.extensions["background_started"] = True
    shared = app.extensions["presence"]
    if isinstance(shared, RedisPresence):

        def beat():
            while True:
                socketio.sleep(shared.ttl / 3)
                try:
                    shared.heartbeat()
                except redis.RedisError:
                    log.warning("presence heartbeat failed; retrying", exc_info=True)

        socketio.start_background_task(beat)
    app.extensions["control"].start()


# --- events --------------------------------------------------------------------------


@chat_event
def joined_room(me: Connection, data: dict):
    """Client sends {room} or {peer}, optional last_id; joins it, acks {room, online, seen}
    and sends rejoin_room with the history the client lacks."""
    last_id = chat.check_message_id(data.get("last_id"), "last_id")
    if isinstance(last_id, Failure):
        return last_id
    target = chat.resolve_room(_me(me), data.get("room"), data.get("peer"))
    if isinstance(target, Failure):
        return target
    cap = current_app.config["MAX_ROOMS_PER_CONNECTION"]
    if target.name not in me.rooms and len(me.rooms) >= cap:
        return Failure("forbidden", f"at most {cap} rooms open per connection: leave one first")
    budgets = current_app.extensions["budgets"]
    wait = budgets.in_debt(me.budgets, "replay_bytes")
    if wait is not None:
        return Failure("rate_limited", "too much history sent lately, slow down", round(wait, 3))
    room, joined, peer_added = chat.enter_room(_me(me), target)
    # Into the Socket.IO rooms before reading history: a message committed meanwhile is
    # in the history, the broadcast or both (the client dedupes by id), never neither.
    join_room(open_channel(room.name))
    join_room(message_channel(room.name))
    if me.watches:
        me.watching.add(room.name)
    peer_id = room.peer.id if room.peer else None
    if presence().join(request.sid, room.name, OpenRoom(room.id, peer_id)):
        emit(
            "join_room_announcement",
            {"room": room.name, "username": me.username},
            to=open_channel(room.name),
            include_self=False,
        )
    catch_up = chat.replay(room.id, room.name, last_id)
    if catch_up is not None:
        budgets.charge(me.budgets, "replay_bytes", chat.payload_size(catch_up["messages"]))
        emit("rejoin_room", catch_up)
    if joined and presence().has_others(me.user_id, request.sid):
        # The user's other tabs learn of the new room.
        _room_added(me.user_id, me.username, room.id, skip_sid=request.sid)
    if peer_added:
        _room_added(room.peer.id, room.peer.username, room.id)
    online = presence().online(room.name)
    return {"room": room.name, "online": online, "seen": chat.seen_by(room.id)}


def _room_added(user_id: int, username: str, room_id: int, skip_sid: str | None = None) -> None:
    [summary] = chat.room_summaries(user_id, username, room_id) or [None]
    if summary is None:
        return
    _with_peer_online([summary])
    socketio.emit("room_added", summary, to=user_channel(user_id), skip_sid=skip_sid)


def _with_peer_online(summaries: list[dict]) -> list[dict]:
    """Fill in peer_online for direct rooms (and drop the internal peer_id)."""
    peer_ids = [s["peer_id"] for s in summaries if s.get("peer_id")]
    online = presence().users_online(peer_ids)
    for summary in summaries:
        if "peer_id" in summary:
            summary["peer_online"] = summary.pop("peer_id") in online
    return summaries


def room_list(user_id: int, username: str) -> list[dict]:
    """The user's room summaries as the protocol has them (GET /api/rooms, watch_rooms)."""
    return _with_peer_online(chat.room_summaries(user_id, username))


@chat_event
def watch_rooms(me: Connection, data: dict):
    """Client sends {}; subscribes this connection to the messages, edits and deletes of
    every room its user is a member of, and to its direct peers' presence_changed. Acks
    {rooms: [Summary]}."""
    summaries = chat.room_summaries(me.user_id, me.username)
    names = {s["room"] for s in summaries}
    for room in names - me.watching:
        join_room(message_channel(room))
    for room in me.watching - names:  # no longer a member
        if room not in me.rooms:
            leave_socket_room(message_channel(room))
    for summary in summaries:
        if summary.get("peer_id"):
            join_room(peer_channel(summary["peer_id"]))
    me.watches, me.watching = True, names
    return {"rooms": _with_peer_online(summaries)}


@chat_event(in_room=True)
def send_message(me: Connection, data: dict, room: NamedRoom):
    """Client sends {room, message, client_id?}; stores it once, emits recieve_message to
    the room's open and watching connections (sender included) and acks {id, created_at}."""
    body = chat.clean_message(data.get("message"))
    if isinstance(body, Failure):
        return body
    client_id = chat.check_client_id(data.get("client_id"))
    if isinstance(client_id, Failure):
        return client_id
    limit = current_app.extensions["message_limit"]
    hit = limit.hit(me.user_id)
    if isinstance(hit, float):
        earlier = client_id and chat.find_by_client_id(room.id, me.user_id, client_id)
        if earlier:  # a retry of a stored message is answered, not limited
            return {"id": earlier[0], "created_at": isoformat(earlier[1])}
        return Failure("rate_limited", "too many messages, slow down", retry_after=round(hit, 3))
    try:
        message_id, created_at, created = chat.store_message(room.id, me.user_id, body, client_id)
    except BaseException:
        limit.refund(hit)  # a failed send does not count
        raise
    created_at = isoformat(created_at)
    if not created:  # a retry: the first ack, no second broadcast, not counted
        limit.refund(hit)
        return {"id": message_id, "created_at": created_at}
    emit(
        "recieve_message",
        {
            "id": message_id,
            "room": room.name,
            "username": me.username,
            "message": body,
            "created_at": created_at,
            "edited_at": None,
            "deleted": False,
            "client_id": client_id,
        },
        to=message_channel(room.name),
    )
    if presence().set_typing(room.name, me.username, False):
        _emit_typing(room.name, me.username, False)
    if room.peer_id is not None and chat.add_member(room.id, room.peer_id):
        # The peer had removed this direct room: it comes back with this message.
        _room_added(room.peer_id, chat.other_participant(room.name, me.username), room.id)
    return {"id": message_id, "created_at": created_at}


@chat_event(in_room=True)
def typing_status(me: Connection, data: dict, room: NamedRoom):
    """Client sends {room, typing}; emits typing_on {room, username, typing} to the others
    that have the room open."""
    typing = data.get("typing")
    if not isinstance(typing, bool):
        return invalid("typing must be true or false")
    if presence().set_typing(room.name, me.username, typing):  # news only: no echo floods
        _emit_typing(room.name, me.username, typing)
    return {}


@chat_event
def load_history(me: Connection, data: dict):
    """Client sends {room, before_id?, limit?}; acks {messages, has_more}: the page of
    messages older than before_id, oldest first. Needs read access, not a join."""
    return chat.read_page(me.username, data.get("room"), data.get("before_id"), data.get("limit"))


@chat_event(in_room=True)
def edit_message(me: Connection, data: dict, room: NamedRoom):
    """Client sends {room, id, message}; the author only. Emits message_edited (a Message)
    to the room and acks {id, edited_at}."""
    body = chat.clean_message(data.get("message"))
    if isinstance(body, Failure):
        return body
    edited = chat.edit_message(room.id, room.name, me.username, me.user_id, data.get("id"), body)
    if isinstance(edited, Failure):
        return edited
    message, changed = edited
    if changed:
        emit("message_edited", message, to=message_channel(room.name))
    return {"id": message["id"], "edited_at": message["edited_at"]}


@chat_event(in_room=True)
def delete_message(me: Connection, data: dict, room: NamedRoom):
    """Client sends {room, id}; the author only. Soft-deletes it and emits message_deleted
    {room, id} to the room."""
    message_id = chat.delete_message(room.id, me.user_id, data.get("id"))
    if isinstance(message_id, Failure):
        return message_id
    emit("message_deleted", {"room": room.name, "id": message_id}, to=message_channel(room.name))
    return {"id": message_id}


@chat_event(in_room=True)
def mark_seen(me: Connection, data: dict, room: NamedRoom):
    """Client sends {room, message_id}; stores it as the reader's last read id (it never
    moves back) and emits messages_seen {room, username, message_id} to the others."""
    message_id = chat.check_message_id(data.get("message_id"), "message_id", required=True)
    if isinstance(message_id, Failure):
        return message_id
    moved = chat.mark_read(room.id, me.user_id, message_id)
    if isinstance(moved, Failure):
        return moved
    if moved is None:  # an older id: the stored position stays, and is the answer
        return {"room": room.name, "message_id": chat.last_read_id(room.id, me.user_id)}
    emit(
        "messages_seen",
        {"room": room.name, "username": me.username, "message_id": moved},
        to=open_channel(room.name),
        include_self=False,
    )
    return {"room": room.name, "message_id": moved}


@chat_event(in_room=True)
def leave_room(me: Connection, data: dict, room: NamedRoom):
    """Client sends {room}; closes it on this connection (a watched room stays watched)
    and tells the others when this was the user's last connection with it open."""
    _close_room(presence(), request.sid, me, room.name, keep_watching=True)
    return {"room": room.name}


def _close_room(
    presence: Presence, sid: str, me: Connection, room: str, keep_watching: bool
) -> None:
    server = socketio.server
    server.leave_room(sid, open_channel(room), namespace="/")
    if not (keep_watching and room in me.watching):
        server.leave_room(sid, message_channel(room), namespace="/")
        me.watching.discard(room)
    if presence.leave(sid, room):
        socketio.emit(
            "leave_room_announcement",
            {"room": room, "username": me.username},
            to=open_channel(room),
        )


@socketio.on(_REFUSED)
def reserved_event(event: str, *_args):
    """A client emitted an event named like one of the transport's own."""
    return _reply(invalid(f"{event!r} is a reserved event name"), event)


@socketio.on("*")
def unknown_event(event: str, *_args):
    """Any other event is refused, so a client never waits for an ack that cannot come."""
    return _reply(invalid(f"unknown event {event!r}"), event)


def _emit_typing(room: str, username: str, typing: bool) -> None:
    emit(
        "typing_on",
        {"room": room, "username": username, "typing": typing},
        to=open_channel(room),
        include_self=False,
    )


# --- actions on a user's connections in every process --------------------------------


def remove_room(user_id: int, room: str) -> None:
    """After the user's membership ended (committed): room_removed to all their
    connections, which also stop having the room open or watched, on every process."""
    socketio.emit("room_removed", {"room": room}, to=user_channel(user_id))
    current_app.extensions["control"].publish({"do": "drop_room", "user": user_id, "room": room})


@auth.sessions_ended.connect
def _sessions_ended(app, user_id: int, session_id: str | None) -> None:
    """signed_out to the connections of one browser session (or, with None, of every
    session and token of the user), which are then disconnected, on every process."""
    app.extensions["control"].publish({"do": "sign_out", "user": user_id, "session": session_id})


class Control:
    """Actions on connections wherever they are: applied here, and published through
    Redis (when there is one) for every other process to apply to its own connections."""

    def __init__(self, presence: Presence, client, channel: str, identities=None) -> None:
        self.presence = presence
        self.identities = identities  # auth.IdentityCache: sign-outs forget entries
        self._redis = client
        self._channel = f"{channel}:control"
        self._host = uuid.uuid4().hex
        self._started = False

    def publish(self, action: dict) -> None:
        self.apply(action)
        if self._redis is not None:
            try:
                self._redis.publish(self._channel, json.dumps({**action, "host": self._host}))
            except redis.RedisError as error:
                log.warning("control action %s reached this process only: %s", action, error)

    def apply(self, action: dict) -> None:
        if action["do"] == "drop_room":
            for sid in self.presence.sids_of(action["user"]):
                connection = self.presence.identity(sid)
                if connection is not None:
                    _close_room(self.presence, sid, connection, action["room"], False)
        elif action["do"] == "sign_out":
            if self.identities is not None:
                self.identities.forget(action["user"], action.get("session"))
            for sid in self.presence.sids_of(action["user"], action.get("session")):
                socketio.emit("signed_out", {}, to=sid, ignore_queue=True)
                socketio.server.disconnect(sid, namespace="/", ignore_queue=True)

    def start(self) -> None:
        if self._redis is None or self._started:
            return
        self._started = True
        socketio.start_background_task(self._listen)

    def _listen(self) -> None:
        lost = False
        while True:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self._channel)
                lost = False
                for message in pubsub.listen():
                    action = json.loads(message["data"])
                    if action.get("host") != self._host:
                        self.apply(action)
            except redis.RedisError as error:
                if not lost:
                    log.warning("control channel lost; resubscribing: %s", error)
                lost = True
                socketio.sleep(1)
            except Exception:
                log.exception("control action failed")

    def resync(self) -> None:
        """Redis is back: broadcasts from other processes were lost meanwhile, so every
        connection here is closed; clients reconnect and join with their last_id, which
        replays exactly what they missed. Presence is written back at once."""
        sids = self.presence.all_sids()
        log.warning("Redis is back: closing %d connections so they catch up", len(sids))
        if isinstance(self.presence, RedisPresence):
            with contextlib.suppress(redis.RedisError):
                self.presence.heartbeat()
        for sid in sids:
            socketio.server.disconnect(sid, namespace="/", ignore_queue=True)
