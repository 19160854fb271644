"""The Socket.IO plumbing under the handlers: the JSON codec, the Redis message queue,
guards that run before python-socketio parses or dispatches a packet, whether an event
asked for an ack, the count of events in flight (SIGTERM), and control actions that reach
a user's connections on every process.

Everything here wraps a private hook of python-socketio, python-engineio or redis-py,
named and checked by ``tests/test_internals.py``: a library upgrade that moves one fails
there, not in production.
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

import orjson
import redis
import socketio as socketio_server
from engineio import payload as engineio_payload
from socketio import packet as socketio_packet
from sqlalchemy.exc import SQLAlchemyError

import fence
import ws
from chat.errors import UNAVAILABLE_DB, UNAVAILABLE_QUEUE, Failure, invalid, rate_limited
from models import database_unavailable

log = logging.getLogger(__name__)

# Names python-socketio dispatches to the transport's own handlers; a client must not
# use them. ("*" is python-socketio's catch-all: an event of that name would reach it
# unwrapped.) Such events are dispatched as REFUSED instead.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error", "__disconnect_final", "*"})
REFUSED = "\x00reserved"

# Whether the event being handled carries an ack id; set around every handler call.
_ack_requested: ContextVar[bool] = ContextVar("ack_requested", default=True)
_in_flight = 0  # events being handled now (a SIGTERM lets them finish)


def ack_requested() -> bool:
    return _ack_requested.get()


def in_flight() -> int:
    return _in_flight


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


class QueueManager(fence.ReplayFence, socketio_server.RedisManager):
    """python-socketio's Redis message queue, with two changes for outages: it
    resubscribes every second (its own back-off grows to a minute, all of it lost
    broadcasts), and once it is back it has this process's clients catch up
    (``on_recovered``), since what other processes broadcast meanwhile never arrived.
    Broadcasts reaching this process's connections are fenced (``ReplayFence``)."""

    on_recovered: Callable[[], None] | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_fences()

    def _handle_emit(self, message):  # where every broadcast meets this process's clients
        data = message.get("data")
        if isinstance(data, list) and len(data) == 1:
            skip = self._fenced(
                message["event"], data[0], message.get("room"), message.get("skip_sid")
            )
            message = {**message, "skip_sid": skip}  # this process's: not for the others
        return super()._handle_emit(message)

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


def client_manager(redis_url: str | None, channel: str):
    """Where broadcasts go: this process, or every process through Redis."""
    return QueueManager(redis_url, channel=channel) if redis_url else fence.LocalManager()


def install(server, handled: set[str]) -> None:
    """Put the guards around ``server`` (a python-socketio Server): polling requests and
    packets checked before they are parsed, events charged to their budget before they
    are dispatched, and whether each asked for an ack recorded. ``handled`` holds the
    events with handlers."""
    _guard_polling(server.eio)
    _track_acks(server, handled)
    _guard_packets(server)


def _guard_polling(eio) -> None:
    """Engine.IO's long-polling requests: every response says nosniff, and a POST of more
    packets than Engine.IO decodes is refused here (400, one log line); Engine.IO would
    raise inside its handler and log a traceback for it."""
    handle = eio.handle_request
    most = engineio_payload.Payload.max_decode_packets

    def guarded(environ, start_response):
        def respond(status, headers, exc_info=None):
            if not any(name.lower() == "x-content-type-options" for name, _ in headers):
                headers = [*headers, ("X-Content-Type-Options", "nosniff")]
            return start_response(status, headers, exc_info)

        if environ.get("REQUEST_METHOD") == "POST":
            length = environ.get("CONTENT_LENGTH") or ""
            if length.isdigit() and 0 < int(length) <= eio.max_http_buffer_size:
                body = environ["wsgi.input"].read(int(length))
                if body.count(b"\x1e") >= most:
                    log.warning("refused a polling request of more than %d packets", most)
                    respond("400 BAD REQUEST", [("Content-Type", "text/plain")])
                    return [b"too many packets in one request"]
                environ["wsgi.input"] = io.BytesIO(body)
        return handle(environ, respond)

    eio.handle_request = guarded


def _track_acks(server, handled: set[str]) -> None:
    """Record whether each incoming event asked for an ack, refuse reserved names, and
    charge the connection's budget first.

    Neither Flask-SocketIO nor python-socketio tells a handler whether an ack was asked
    for, and the protocol answers ack-less failures with ``chat_error``. python-socketio
    runs every event through ``_handle_event_internal`` (in the task that runs the
    handler), which sees the packet's ack id.
    """
    handle = server._handle_event_internal

    def tracked(srv, sid, eio_sid, data, namespace, ack_id):
        global _in_flight
        if not isinstance(data[0], str) or data[0] in RESERVED_EVENTS:
            data = [REFUSED, str(data[0])]
        over = _over_budget(srv, sid, eio_sid, data[0], handled)
        if over is not None:
            return answer(srv, sid, eio_sid, namespace, ack_id, data[0], over)
        token = _ack_requested.set(ack_id is not None)
        _in_flight += 1
        try:
            return handle(srv, sid, eio_sid, data, namespace, ack_id)
        finally:
            _in_flight -= 1
            _ack_requested.reset(token)

    server._handle_event_internal = tracked


def _over_budget(server, sid: str, eio_sid: str, event: str, handled) -> Failure | None:
    """Spend one of the connection's budget for the event (garbage pays too: unknown and
    reserved names share one budget). Checked before Flask-SocketIO sets up the event's
    request context, so a flood refused costs as little as it can."""
    app = server.environ.get(eio_sid, {}).get("flask.app")
    me = app and app.extensions["presence"].identity(sid)
    if not me:
        return None  # not connected yet: the handler answers unauthorized
    name = event if event in handled else "refused"
    wait = app.extensions["budgets"].spend(me.budgets, name)
    if wait is None:
        return None
    return rate_limited(f"too many {name} events, slow down", wait)


def refused(server, eio_sid: str, failure: Failure) -> None:
    """An event of this connection was refused: when for going too fast, read its next
    events later (``ws.REFUSAL_COST``), so a client that ignores retry_after costs
    little. Both kinds of refusal pass here: before dispatch (``answer``) and by a
    handler (events.py)."""
    if failure.code != "rate_limited":
        return
    reader = ws.reader_of(server.eio.sockets.get(eio_sid))
    if reader is not None:
        reader.slow_down()


def answer(server, sid, eio_sid, namespace, ack_id, event: str, failure: Failure) -> None:
    """Refuse an event before it reaches a handler: an error ack, or chat_error."""
    refused(server, eio_sid, failure)
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


# Errors a packet's decoding or python-socketio's handling of a malformed packet raises.
_MALFORMED = (ValueError, TypeError, KeyError, IndexError, RecursionError)


def _guard_packets(server) -> None:
    """Check every Socket.IO packet before python-socketio parses or dispatches it, so
    that nothing a client sends costs more than one log line (never a traceback):

    - binary events and their attachments, and packets that do not decode (bad JSON,
      nesting deeper than the decoder allows): the connection is closed;
    - an event that is not ``[name, ...]`` (``42``, ``42[]``, ``42{}``, ``42{"a":1}``):
      refused with invalid_payload (an error ack, or chat_error once connected), charged
      to the connection's budget for refused events, and the connection stays up.

    An event is decoded once, here, and handed to python-socketio's event dispatch.
    """
    handle = server._handle_eio_message
    dispatch_event = server._handle_event

    def guarded(eio_sid, data):
        if not isinstance(data, str) or data[:1] in ("5", "6"):  # binary event or ack
            return _close(server, eio_sid, "binary Socket.IO packets are not accepted")
        if data[:1] != "2":  # connect, disconnect, ack: python-socketio's own handling
            try:
                return handle(eio_sid, data)
            except _MALFORMED as error:
                return _close(server, eio_sid, f"malformed Socket.IO packet ({error!r:.80})")
        try:
            packet = server.packet_class(encoded_packet=data)
        except _MALFORMED as error:  # the packet's JSON or framing did not decode
            return _close(server, eio_sid, f"malformed Socket.IO packet ({error!r:.80})")
        if not isinstance(packet.data, list) or not packet.data:
            return _refuse_event(server, eio_sid, packet)
        return dispatch_event(eio_sid, packet.namespace, packet.id, packet.data)

    server.eio.on("message", guarded)


def _close(server, eio_sid: str, why: str) -> None:
    """Close the connection without waiting for its CLOSE packet to be read: a polling
    client that never comes back for it would otherwise hold the request that sent the
    garbage (Engine.IO's disconnect waits). Engine.IO forgets the closed socket itself."""
    log.warning("closing %s: %s", eio_sid, why)
    socket = server.eio.sockets.get(eio_sid)
    if socket is not None:
        socket.close(wait=False)


def _refuse_event(server, eio_sid: str, packet) -> None:
    """An event packet without [name, ...]: invalid_payload, or rate_limited once the
    connection's budget for refused events is spent."""
    namespace = packet.namespace or "/"
    sid = server.manager.sid_from_eio_sid(eio_sid, namespace)
    log.warning("refused a malformed event from %s: %.60r", eio_sid, packet.data)
    failure = invalid("an event is [name, payload]")
    if sid is not None:
        failure = _over_budget(server, sid, eio_sid, "refused", ()) or failure
    if packet.id is not None or (sid is not None and server.manager.is_connected(sid, namespace)):
        answer(server, sid, eio_sid, namespace, packet.id, "", failure)


def refusal(event: str) -> Failure:
    return invalid(f"{event!r} is a reserved event name")


def close_every_connection(server, seconds: float) -> int:
    """Close every Engine.IO connection of this process (SIGTERM), all at once: each
    client's disconnect runs as usual, and the clients reconnect, to another process.
    Each close waits for its closing handshake (ws.py lingers up to 2 s for the peer), so
    they run side by side, and this returns after ``seconds`` at most."""
    eio = server.eio
    sids = list(eio.sockets)
    pending = set(sids)

    def close(eio_sid: str) -> None:
        try:
            eio.disconnect(eio_sid)
        finally:
            pending.discard(eio_sid)

    for eio_sid in sids:
        server.start_background_task(close, eio_sid)
    deadline = time.monotonic() + seconds
    while pending and time.monotonic() < deadline:
        server.sleep(0.05)
    return len(sids)


# --- outages ------------------------------------------------------------------------


def outage_of(error: Exception) -> Failure | None:
    """The answer for a database or Redis that cannot be reached, or None (a bug)."""
    if isinstance(error, SQLAlchemyError) and database_unavailable(error):
        return UNAVAILABLE_DB
    if isinstance(error, redis.RedisError):
        return UNAVAILABLE_QUEUE
    return None


# One traceback per outage: the first failure logs it, the ones that follow within
# OUTAGE_QUIET seconds of the previous one a line each (every event fails alike then).
OUTAGE_QUIET = 30.0
_last_outage = {"at": -OUTAGE_QUIET}


def log_outage(logger, event: str | None, error: Exception) -> None:
    now = time.monotonic()
    quiet = now - _last_outage["at"] > OUTAGE_QUIET
    _last_outage["at"] = now
    if quiet:
        logger.exception("event %r failed: the database or Redis is unreachable", event)
    else:
        logger.warning("event %r failed: still unreachable (%s)", event, type(error).__name__)


class Control:
    """Actions on a user's connections wherever they are: applied here by the handler
    registered for the action (``on``), and published through Redis (when there is one)
    for every other process to apply to its own connections."""

    def __init__(self, client, channel: str, start_task, sleep) -> None:
        self._redis = client
        self._channel = f"{channel}:control"
        self._host = uuid.uuid4().hex
        self._started = False
        self._start_task, self._sleep = start_task, sleep
        self._handlers: dict[str, Callable[[dict], None]] = {}

    def on(self, name: str, handler: Callable[[dict], None]) -> None:
        self._handlers[name] = handler

    def publish(self, action: dict) -> None:
        self.apply(action)
        if self._redis is not None:
            try:
                self._redis.publish(self._channel, json.dumps({**action, "host": self._host}))
            except redis.RedisError as error:
                log.warning("control action %s reached this process only: %s", action, error)

    def apply(self, action: dict) -> None:
        self._handlers[action["do"]](action)

    def start(self) -> None:
        if self._redis is None or self._started:
            return
        self._started = True
        self._start_task(self._listen)

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
                self._sleep(1)
            except Exception:
                log.exception("control action failed")
