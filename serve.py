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

import _thread  # noqa: E402
import gc  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import events  # noqa: E402
from app import create_app  # noqa: E402
from events import socketio  # noqa: E402

LISTENERS = []  # the listening sockets socketio.run made (SIGTERM closes them)
WERKZEUG_SERVERS = []  # threading: the server whose serve_forever SIGTERM ends
MAIN_GREENLET = None  # eventlet: where eventlet.wsgi.server accepts (SIGTERM ends it)
SIGTERM_RECEIVED = False
DRAINED = threading.Event()  # green once patched
DRAIN_SECONDS = 10
# gevent: what of a refused request's body is still read (and dropped) before its
# connection closes, so the client sees the answer (see _gevent_handler).
DISCARD_AT_MOST = 16 * 1024 * 1024


def _nodelay(listener):
    """TCP_NODELAY on the listening socket; Linux copies it to every accepted one.

    Without it Nagle's algorithm holds a small frame (an ack right after a broadcast to
    the same client) until the peer's delayed ACK, adding ~40 ms to the round trip.
    """
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    LISTENERS.append(listener)
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


def _keep_werkzeug_server() -> None:
    """threading: app.run makes the server itself; keep it, so SIGTERM can stop it."""
    import werkzeug.serving

    make_server = werkzeug.serving.make_server

    def keep(*args, **kwargs):
        server = make_server(*args, **kwargs)
        WERKZEUG_SERVERS.append(server)
        return server

    werkzeug.serving.make_server = keep


def _run_in_thread():
    """How the app runs CPU-bound work (password hashes) on a real OS thread, so the
    event loop keeps serving meanwhile; threading needs nothing (None: inline)."""
    if ASYNC_MODE == "eventlet":
        from eventlet import tpool

        return tpool.execute
    if ASYNC_MODE == "gevent":
        import gevent

        return lambda fn, *args: gevent.get_hub().threadpool.apply(fn, args)
    return None


def _gevent_handler():
    """gevent.pywsgi's handler, except that

    - a WebSocket upgrade request is the last one its connection carries: left alone,
      pywsgi reads what is left of the stream after the WebSocket ends (an attacker's
      unread frame) as the next HTTP request, answers 400 on a socket already shut, and
      logs a traceback each time;
    - a request it cannot parse is one log line: pywsgi prints a traceback for client
      input it does not classify itself (http.client's "got more than 100 headers");
    - the unread rest of a body the app refused with ``Connection: close`` (an upload
      past its cap or its limit) is read and dropped a little at a time, letting every
      other connection run in between, and no more than ``DISCARD_AT_MOST``: pywsgi would
      read it all in one go (10 MB on loopback stalled everyone ~50 ms)."""
    import gevent
    from gevent import pywsgi

    def discard_politely(body) -> None:
        # Read rather than reset: a client still sending then reads the answer.
        left = DISCARD_AT_MOST
        while left > 0:
            try:
                chunk = body.read(min(left, 64 * 1024))
            except OSError:  # the client hung up once it had the answer: nothing to drop
                return
            if not chunk:
                return
            left -= len(chunk)
            gevent.sleep(0)

    class Handler(pywsgi.WSGIHandler):
        def handle_one_response(self):
            super().handle_one_response()
            if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                self.close_connection = True

        def run_application(self):
            super().run_application()  # the answer is out
            body = self.wsgi_input
            if not self.close_connection or body is None or self.environ.get("HTTP_UPGRADE"):
                return
            if body.content_length or body.chunked_input:
                discard_politely(body)
                # Whatever is left goes unread: the connection closes (pywsgi's own
                # discard skips a body whose state it does not trust).
                body._chunked_input_error = True

        def _handle_client_error(self, ex):
            self.log_error("Invalid request (from %s): %.200s", self.client_address, ex)
            return ("400", pywsgi._BAD_REQUEST_RESPONSE)

    return Handler


def _no_debugger() -> dict:
    """Werkzeug's interactive debugger runs code for whoever reaches it: never serve it,
    whatever FLASK_DEBUG says (socketio.run would wrap the app in it when app.debug)."""
    if ASYNC_MODE == "eventlet":
        import eventlet.wsgi

        # eventlet.wsgi sends tracebacks to the client by default.
        server = eventlet.wsgi.server
        eventlet.wsgi.server = lambda *args, **kwargs: server(*args, **kwargs, debug=False)
    options = {"debug": False, "use_reloader": False}
    if ASYNC_MODE == "threading":
        options["use_debugger"] = False  # app.run re-reads FLASK_DEBUG by itself
    return options


def _drain() -> None:
    """SIGTERM: stop accepting, let the events in flight finish, close every connection
    (clients reconnect, to another process behind the proxy), and exit within 10 s."""
    try:
        started = time.monotonic()
        print("SIGTERM: draining", flush=True)
        _stop_accepting()
        socketio.sleep(0.5)  # events already on the wire arrive, and are answered too
        while events.in_flight() and time.monotonic() - started < DRAIN_SECONDS / 2:
            socketio.sleep(0.05)
        # Side by side, each lingering up to 2 s for its peer's close frame.
        closed = events.close_every_connection(
            max(0.5, DRAIN_SECONDS - 3 - (time.monotonic() - started))
        )
        while events.in_flight() and time.monotonic() - started < DRAIN_SECONDS - 2:
            socketio.sleep(0.05)
        print(f"SIGTERM: closed {closed} connections, exiting", flush=True)
        if ASYNC_MODE == "gevent" and getattr(socketio, "wsgi_server", None) is not None:
            socketio.wsgi_server.stop(timeout=1)  # serve_forever returns
    finally:
        DRAINED.set()  # main() returns once the server has stopped too


def _stop_accepting() -> None:
    """The listening sockets close, and the server's accept loop ends; the connections
    it serves go on until close_every_connection."""
    if ASYNC_MODE == "gevent" and getattr(socketio, "wsgi_server", None) is not None:
        # Not close(): that would end serve_forever (and the process) at once.
        socketio.wsgi_server.stop_accepting()
    elif ASYNC_MODE == "eventlet" and MAIN_GREENLET is not None:
        # eventlet.wsgi.server's accept loop (in the main greenlet) ends on SystemExit,
        # then waits for its connections; closing the listener alone never wakes it.
        eventlet.greenthread.kill(MAIN_GREENLET, SystemExit())
    elif ASYNC_MODE == "threading" and WERKZEUG_SERVERS:
        # From this thread: serve_forever (main thread) ends within its 0.5 s poll, and
        # closes the listener. Request threads are daemons and go on.
        for server in WERKZEUG_SERVERS:
            server.shutdown()
    for listener in LISTENERS:
        listener.close()


def _on_os_thread(fn) -> None:
    """Run ``fn`` on an OS thread of its own, which neither an idle event loop nor a
    greenlet that never yields can hold up."""
    if ASYNC_MODE == "eventlet":
        start = eventlet.patcher.original("_thread").start_new_thread
    elif ASYNC_MODE == "gevent":
        from gevent import monkey

        start = monkey.get_original("_thread", "start_new_thread")
    else:
        start = _thread.start_new_thread
    start(fn, ())


def _real_sleep():
    if ASYNC_MODE == "eventlet":
        return eventlet.patcher.original("time").sleep
    if ASYNC_MODE == "gevent":
        from gevent import monkey

        return monkey.get_original("time", "sleep")
    return time.sleep


def _drain_on_sigterm() -> None:
    """SIGTERM starts the drain at once in every mode, idle or busy, and arms a deadline
    that ends the process 9.5 s later whatever still runs (a handler stuck on a dead
    database). Under eventlet a handler that only spawned a greenlet waited for the idle
    hub's next wake-up (up to 60 s): here the handler writes to a pipe the hub watches."""
    sleep = _real_sleep()

    def deadline():
        sleep(DRAIN_SECONDS - 0.5)
        print("SIGTERM: drain deadline reached", flush=True)
        os._exit(0)

    def first_sigterm() -> bool:
        global SIGTERM_RECEIVED
        if SIGTERM_RECEIVED:
            return False
        SIGTERM_RECEIVED = True
        _on_os_thread(deadline)
        return True

    if ASYNC_MODE == "gevent":
        import gevent

        loop = gevent.get_hub().loop

        def on_sigterm(*_args):
            # A plain handler (not gevent.signal_handler, which runs in the hub): it runs
            # even while a greenlet hogs the loop, and hands the drain to the loop.
            if first_sigterm():
                loop.run_callback_threadsafe(gevent.spawn, _drain)

        signal.signal(signal.SIGTERM, on_sigterm)
    elif ASYNC_MODE == "eventlet":
        wake_read, wake_write = os.pipe()
        write = eventlet.patcher.original("os").write  # the green one would wait on the hub

        def drain_when_woken():
            eventlet.hubs.trampoline(wake_read, read=True)
            _drain()

        eventlet.spawn_n(drain_when_woken)

        def on_sigterm(*_args):
            if first_sigterm():
                write(wake_write, b"!")  # the hub wakes: its epoll sees the pipe readable

        signal.signal(signal.SIGTERM, on_sigterm)
    else:

        def on_sigterm(*_args):
            if first_sigterm():
                threading.Thread(target=_drain, name="drain", daemon=True).start()

        signal.signal(signal.SIGTERM, on_sigterm)


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


def _freeze_what_lives_forever() -> None:
    """Move every object made so far (modules, the app, SQLAlchemy's tables and compiled
    queries: ~120,000) out of the garbage collector's sight: they live as long as the
    process, yet each full collection walked them all (35 ms with the loop stopped,
    measured right after create_app; 0.0 ms after the freeze)."""
    gc.collect()
    gc.freeze()


def main() -> None:
    config = {"ASYNC_MODE": ASYNC_MODE, "RUN_IN_THREAD": _run_in_thread()}
    if ASYNC_MODE == "eventlet":
        import eventlet.wsgi

        def mark_handled():
            # ws.py answers WebSocket upgrades on the raw socket; eventlet.wsgi must then
            # write no response of its own.
            eventlet.wsgi.WSGI_LOCAL.already_handled = True

        config["WSGI_MARK_HANDLED"] = mark_handled
    app = create_app(config)
    _freeze_what_lives_forever()
    host = os.environ.get("HOST") or "127.0.0.1"
    port = int(os.environ.get("PORT") or 5000)
    _listen_without_nagle()
    if ASYNC_MODE == "threading":
        _keep_werkzeug_server()
    elif ASYNC_MODE == "eventlet":
        global MAIN_GREENLET
        MAIN_GREENLET = eventlet.getcurrent()
    _drain_on_sigterm()
    files = _raise_open_file_limit()
    options = {}
    if ASYNC_MODE == "eventlet":
        # eventlet.wsgi serves at most max_size connections at once (1,024 by default);
        # leave a few descriptors for the database, Redis and logs.
        options["max_size"] = max(1024, files - 64)
    if ASYNC_MODE == "gevent":
        options["handler_class"] = _gevent_handler()
    print(f"chat-on-flask ({ASYNC_MODE}) on http://{host}:{port}", flush=True)
    socketio.run(
        app,
        host=host,
        port=port,
        allow_unsafe_werkzeug=ASYNC_MODE == "threading",
        **_no_debugger(),
        **options,
    )
    if SIGTERM_RECEIVED:
        DRAINED.wait()  # the server stopped first (threading, eventlet): the drain ends


if __name__ == "__main__":
    main()
