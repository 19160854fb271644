"""A bare Flask-SocketIO relay: the ceiling of this stack, the denominator of the benchmarks.

No database, no authentication, no validation. It speaks the two events the benchmark
uses, with the app's payload shapes:

- ``joined_room {room}`` -> joins the Socket.IO room, acks ``{ok: true, room}``;
- ``send_message {room, message, client_id}`` -> emits ``recieve_message {id, room,
  username, message, created_at, client_id}`` to the room (sender included), acks
  ``{ok: true, id, created_at}``.

It is served the way ``serve.py`` serves the app: ``ASYNC_MODE`` picks eventlet, gevent
or threading, the standard library is monkey-patched first (psycogreen too under gevent,
as serve.py does, though nothing here uses psycopg2), the listener gets ``TCP_NODELAY``,
and ``socketio.run`` picks whatever WebSocket layer stock Flask-SocketIO picks with the
installed packages. So that the relay is never the one that runs out of connections, it
raises its open-file soft limit to the hard limit and, under eventlet, serves up to
``MAX_CONNECTIONS`` (20,000) connections instead of eventlet.wsgi's 1,024.

    ASYNC_MODE=gevent PORT=5001 .venv/bin/python bench/bare_relay.py
"""

import os
import warnings

ASYNC_MODE = os.environ.get("ASYNC_MODE") or "eventlet"

if ASYNC_MODE == "eventlet":
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()
elif ASYNC_MODE != "threading":
    raise SystemExit(f"ASYNC_MODE must be eventlet, gevent or threading, not {ASYNC_MODE!r}")

import itertools  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from flask import Flask  # noqa: E402
from flask_socketio import SocketIO, emit, join_room, leave_room  # noqa: E402

MAX_CONNECTIONS = 20_000

app = Flask(__name__)
socketio = SocketIO(app, async_mode=ASYNC_MODE)
_ids = itertools.count(1)


@app.get("/healthz")
def healthz():
    return {"status": "ok", "async_mode": ASYNC_MODE}


@socketio.on("connect")
def connect(auth=None):
    return True


@socketio.on("joined_room")
def on_joined_room(data):
    room = data["room"]
    join_room(room)
    return {"ok": True, "room": room}


@socketio.on("leave_room")
def on_leave_room(data):
    room = data["room"]
    leave_room(room)
    return {"ok": True, "room": room}


@socketio.on("send_message")
def on_send_message(data):
    message_id = next(_ids)
    created_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    room = data["room"]
    emit(
        "recieve_message",
        {
            "id": message_id,
            "room": room,
            "username": "relay",
            "message": data["message"],
            "created_at": created_at,
            "client_id": data.get("client_id"),
        },
        to=room,
    )
    return {"ok": True, "id": message_id, "created_at": created_at}


def _raise_open_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _nodelay(listener):
    # As serve.py: Linux copies TCP_NODELAY from the listener to every accepted socket.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


def _listen_without_nagle() -> None:
    if ASYNC_MODE == "eventlet":
        listen = eventlet.listen
        eventlet.listen = lambda *args, **kwargs: _nodelay(listen(*args, **kwargs))
    elif ASYNC_MODE == "gevent":
        import gevent.server

        tcp_listener = gevent.server._tcp_listener
        gevent.server._tcp_listener = lambda *args, **kwargs: _nodelay(
            tcp_listener(*args, **kwargs)
        )


def main() -> None:
    host = os.environ.get("HOST") or "127.0.0.1"
    port = int(os.environ.get("PORT") or 5001)
    _raise_open_file_limit()
    _listen_without_nagle()
    options = {"max_size": MAX_CONNECTIONS} if ASYNC_MODE == "eventlet" else {}
    print(f"bare relay ({ASYNC_MODE}) on http://{host}:{port}", flush=True)
    socketio.run(
        app, host=host, port=port, allow_unsafe_werkzeug=ASYNC_MODE == "threading", **options
    )


if __name__ == "__main__":
    main()
