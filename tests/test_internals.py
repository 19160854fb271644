"""Every private internal of a library that this app wraps or reads, named: each test
fails when an upgrade changes the signature or the behaviour the wrapper relies on.

The wrappers: wire.py (python-socketio's event dispatch, packet handling and Redis
listener), ws.py (python-engineio's WebSocket driver slot and the WSGI servers' raw
sockets), serve.py (gevent's listener factory, eventlet.wsgi's "already handled" flag,
Flask-SocketIO's gevent server attribute)."""

from __future__ import annotations

import inspect

import flask_socketio
import socketio
from socketio import base_server

from events import socketio as app_socketio
from tests.helpers import events, join


def _params(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def _source(obj) -> str:
    return inspect.getsource(obj)


# --- python-socketio (wire.py) --------------------------------------------------------


def test_handle_event_internal_is_where_every_event_is_dispatched():
    """wire._track_acks replaces Server._handle_event_internal: it must still be called
    for every event, with the packet's ack id last."""
    assert _params(socketio.Server._handle_event_internal) == [
        "self", "server", "sid", "eio_sid", "data", "namespace", "id",
    ]  # fmt: skip
    dispatch = _source(socketio.Server._handle_event)
    assert "self._handle_event_internal" in dispatch


def test_the_tracked_dispatch_sees_the_ack_id(connect):
    """Behaviour under the wrapper: an event without an ack gets chat_error, with one an
    error ack (so the wrapper saw ack_id), and the handler ran once either way."""
    alice = connect("alice")
    join(alice, "r")
    events(alice)
    alice.emit("typing_status", {"room": "elsewhere", "typing": True})
    assert [name for name, _ in events(alice)] == ["chat_error"]
    ack = alice.emit("typing_status", {"room": "elsewhere", "typing": True}, callback=True)
    assert ack["error"]["code"] == "not_in_room" and events(alice) == []


def test_the_wrapper_is_installed_on_the_apps_server(app):
    tracked = app_socketio.server._handle_event_internal
    assert tracked.__qualname__.startswith("_track_acks")


def test_send_packet_and_packet_class_answer_an_ack_early():
    """wire.answer sends an ACK packet itself for an event refused before dispatch."""
    assert _params(socketio.Server._send_packet) == ["self", "eio_sid", "pkt"]
    assert _params(socketio.packet.Packet.__init__)[:5] == [
        "self", "packet_type", "data", "namespace", "id",
    ]  # fmt: skip


def test_handle_eio_message_is_the_engineio_message_handler(app):
    """wire._guard_packets re-registers Engine.IO's "message" handler around
    Server._handle_eio_message, which python-socketio registers under that name."""
    assert _params(socketio.Server._handle_eio_message) == ["self", "eio_sid", "data"]
    assert "self.eio.on('message', self._handle_eio_message)" in _source(base_server)
    handler = app_socketio.server.eio.handlers["message"]
    assert handler.__qualname__.startswith("_guard_packets")


def test_redis_manager_listens_through_the_loop_we_replace():
    """wire.QueueManager overrides RedisManager._redis_listen_with_retries and uses
    _redis_connect, self.pubsub and self.channel as the library does."""
    assert _params(socketio.RedisManager._redis_listen_with_retries) == ["self"]
    assert _params(socketio.RedisManager._redis_connect) == ["self"]
    source = _source(socketio.RedisManager)
    assert "self._redis_listen_with_retries()" in source
    assert "self.pubsub" in source and "self.channel" in source


def test_every_broadcast_reaches_this_process_through_handle_emit():
    """wire.QueueManager fences broadcasts in PubSubManager._handle_emit(message), where
    both this process's broadcasts and those from Redis meet its clients, reading the
    message's event, data, room and skip_sid; fence.LocalManager in Manager.emit."""
    assert _params(socketio.PubSubManager._handle_emit) == ["self", "message"]
    source = _source(socketio.PubSubManager)
    assert "self._handle_emit(message)" in source
    for key in ("'event'", "'data'", "'room'", "'skip_sid'"):
        assert key in source
    assert _params(socketio.Manager.emit)[:6] == [
        "self",
        "event",
        "data",
        "namespace",
        "room",
        "skip_sid",
    ]


def test_packet_serializer_hooks():
    """wire.WirePacket sets the packet class's json and data_is_binary."""
    assert "json" in vars(socketio.packet.Packet)
    assert inspect.ismethod(socketio.packet.Packet.data_is_binary)
    assert "self.data_is_binary(" in _source(socketio.packet.Packet)


# --- python-engineio and the WSGI servers (ws.py) --------------------------------------


def test_engineio_takes_its_websocket_class_from_async_slot(app):
    """ws.install puts WebSocketWSGI in the server's _async["websocket"], which
    engineio.socket instantiates as (handler, server) for every upgrade."""
    import engineio.socket

    assert "self.server._async['websocket'](" in _source(engineio.socket)
    assert app_socketio.server.eio._async["websocket"].__module__ == "ws"


def test_engineio_hands_the_transport_its_socket_bound_handler():
    """ws.reader_of finds a connection's WebSocket by its Engine.IO Socket:
    WebSocketWSGI records the owner of the handler it is given, which Engine.IO passes as
    the Socket's bound _websocket_handler."""
    import engineio.socket

    assert "self._websocket_handler, self.server)" in _source(engineio.socket)


def test_engineio_socket_close_can_skip_waiting():
    """wire._close closes a connection with Socket.close(wait=False): Engine.IO's own
    disconnect waits for the CLOSE packet to be read, which a polling client may never
    do; the server's service task forgets closed sockets."""
    import engineio.socket

    assert _params(engineio.socket.Socket.close) == ["self", "wait", "abort", "reason"]
    assert "del self.sockets[s.sid]" in _source(engineio.Server._service_task)


def test_engineio_sets_the_read_timeout_through_sock():
    """ws.WebSocket keeps its socket as _sock: Engine.IO sets the read timeout on it."""
    import engineio.socket

    assert "for attr in ['_sock', 'socket']" in _source(engineio.socket)


def test_raw_sockets_of_the_wsgi_servers():
    """ws._raw_socket finds the socket under eventlet.wsgi (eventlet.input.get_socket),
    Werkzeug (werkzeug.socket) and gevent.pywsgi (wsgi.input.rfile.raw._sock)."""
    import eventlet.wsgi
    import gevent.pywsgi
    import werkzeug.serving

    assert "get_socket" in dir(eventlet.wsgi.Input)
    assert '"werkzeug.socket"' in _source(werkzeug.serving) or "'werkzeug.socket'" in _source(
        werkzeug.serving
    )
    assert "rfile" in _source(gevent.pywsgi.Input.__init__)


# --- the async servers (serve.py) -------------------------------------------------------


def test_gevent_tcp_listener_is_a_factory_we_can_wrap():
    """serve._listen_without_nagle wraps gevent.server._tcp_listener, which
    Flask-SocketIO's pywsgi.WSGIServer calls to make the listening socket."""
    import gevent.server

    assert _params(gevent.server._tcp_listener)[:2] == ["address", "backlog"]
    assert "_tcp_listener(" in _source(gevent.server.StreamServer)


def test_gevent_funnels_bad_requests_through_handle_client_error():
    """serve._gevent_handler overrides WSGIHandler._handle_client_error (one log line, no
    traceback) and answers with pywsgi._BAD_REQUEST_RESPONSE."""
    from gevent import pywsgi

    assert _params(pywsgi.WSGIHandler._handle_client_error) == ["self", "ex"]
    assert "return self._handle_client_error(ex)" in _source(pywsgi.WSGIHandler)
    assert pywsgi._BAD_REQUEST_RESPONSE.startswith(b"HTTP/1.1 400")


def test_eventlet_wsgi_reads_already_handled():
    """serve.main's WSGI_MARK_HANDLED sets eventlet.wsgi.WSGI_LOCAL.already_handled after
    ws.py answered an upgrade on the raw socket; eventlet.wsgi must then write nothing."""
    import eventlet.wsgi

    source = _source(eventlet.wsgi)
    assert "WSGI_LOCAL.already_handled = False" in source
    assert "if WSGI_LOCAL.already_handled:" in source


def test_gevent_discards_an_unread_body_through_input_discard():
    """serve._gevent_handler reads a refused body itself in run_application, then sets
    Input._chunked_input_error, which makes the _discard that
    WSGIHandler.handle_one_response calls after run_application read nothing more."""
    from gevent import pywsgi

    assert "_chunked_input_error" in pywsgi.Input.__slots__
    assert "if self._chunked_input_error:" in _source(pywsgi.Input._discard)
    source = _source(pywsgi.WSGIHandler.handle_one_response)
    assert source.index("self.run_application()") < source.index("self.wsgi_input._discard()")
    assert "provided_connection == 'close'" in _source(pywsgi.WSGIHandler.start_response)


def test_flask_socketio_keeps_the_gevent_server_as_wsgi_server():
    """serve._drain stops gevent's server through SocketIO.wsgi_server."""
    assert "self.wsgi_server = pywsgi.WSGIServer(" in _source(flask_socketio.SocketIO.run)


def test_engineio_version_is_one_these_checks_were_written_against():
    """A reminder with a reason: when these versions change, read the tests above."""
    import importlib.metadata as metadata

    assert metadata.version("python-socketio").startswith("5.")
    assert metadata.version("python-engineio").startswith("4.")
