"""Entry point that serves the app: picks the async server, patches, then imports.

ASYNC_MODE=eventlet (default) or gevent must monkey-patch the standard library before
Flask, SQLAlchemy or psycopg2 are imported, so the patching happens here and nowhere else.
"""

import os
import warnings

from dotenv import load_dotenv

load_dotenv()  # .env may choose ASYNC_MODE; eventlet greens the few locks made so far
ASYNC_MODE = os.environ.get("ASYNC_MODE") or "eventlet"

if ASYNC_MODE == "eventlet":
    # The stack is chosen knowingly (see README); the notice on import is noise here.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()  # psycopg2 blocks the whole process under gevent without it
elif ASYNC_MODE != "threading":
    raise SystemExit(f"ASYNC_MODE must be eventlet, gevent or threading, not {ASYNC_MODE!r}")

import resource  # noqa: E402
import socket  # noqa: E402

from app import create_app  # noqa: E402
from events import socketio  # noqa: E402


def _nodelay(listener):
    """TCP_NODELAY on the listening socket; Linux copies it to every accepted one.

    Without it Nagle's algorithm holds a small frame (an ack right after a broadcast to
    the same client) until the peer's delayed ACK, adding ~40 ms to the round trip.
    """
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


def _listen_without_nagle() -> None:
    # socketio.run makes the listener itself, so wrap the call it makes for each server.
    if ASYNC_MODE == "eventlet":
        listen = eventlet.listen
        eventlet.listen = lambda *args, **kwargs: _nodelay(listen(*args, **kwargs))
    elif ASYNC_MODE == "gevent":
        import gevent.server

        tcp_listener = gevent.server._tcp_listener
        gevent.server._tcp_listener = lambda *args, **kwargs: _nodelay(
            tcp_listener(*args, **kwargs)
        )


def _raise_open_file_limit() -> int:
    """Every connection is a file descriptor: take the soft limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def main() -> None:
    config = {"ASYNC_MODE": ASYNC_MODE}
    if ASYNC_MODE == "eventlet":
        import eventlet.wsgi

        def mark_handled():
            # ws.py answers WebSocket upgrades on the raw socket; eventlet.wsgi must then
            # write no response of its own.
            eventlet.wsgi.WSGI_LOCAL.already_handled = True

        config["WSGI_MARK_HANDLED"] = mark_handled
    app = create_app(config)
    host = os.environ.get("HOST") or "127.0.0.1"
    port = int(os.environ.get("PORT") or 5000)
    _listen_without_nagle()
    files = _raise_open_file_limit()
    options = {}
    if ASYNC_MODE == "eventlet":
        # eventlet.wsgi serves at most max_size connections at once (1,024 by default);
        # leave a few descriptors for the database, Redis and logs.
        options["max_size"] = max(1024, files - 64)
    print(f"chat-on-flask ({ASYNC_MODE}) on http://{host}:{port}", flush=True)
    socketio.run(
        app, host=host, port=port, allow_unsafe_werkzeug=ASYNC_MODE == "threading", **options
    )


if __name__ == "__main__":
    main()
