"""The WebSocket layer under Engine.IO: RFC 6455 on the raw socket, the same code under
eventlet, gevent and threading.

It replaces the WebSocket servers those modes bring (eventlet.websocket, simple-websocket
over wsproto) for three reasons, each measured (README, "Benchmarks"):

- cost per delivery: a broadcast hands every recipient's writer the same text; its frame
  is built once and reused (server frames are not masked, so the bytes are the same for
  everyone), and no extension is offered, so nothing is compressed per recipient;
- cost caps before identity: a frame's length is in its header, so a frame or a
  fragmented message bigger than ``max_message`` is refused (close 1009) before its
  payload is read; binary messages are refused (close 1003); unmasking is one C-speed
  integer XOR, not a Python loop over bytes;
- a send writes the whole frame or raises, never a truncated frame;
- the closing handshake follows RFC 6455 (§5.5.1, §7.4): a close frame's body is checked
  (1002 for a 1-byte body or a code not in use, 1007 for a reason that is not UTF-8), and
  the socket closes lingeringly: our close frame, our FIN, then what the peer still sends
  is read and dropped until it closes too (at most ``LINGER_SECONDS``): a socket closed
  with unread bytes is reset, the peer's writes then fail, and a peer that gives up on a
  failed write never reads our close frame (Autobahn under gevent, on a refused 1009);
- a connection that floods is read no faster than ``MESSAGES_PER_SECOND`` (after a burst):
  the reader waits, TCP pushes back on the sender, and the flood costs the server no more
  than that rate, whatever the client sends. (Each event has its own budget above this,
  in events.py; this bounds what even refused events cost.) A connection that goes on
  sending what is refused as too fast is read slower still (``slow_down``): each such
  refusal costs it ``REFUSAL_COST`` reads, so a client that ignores ``retry_after`` is
  read at most ``MESSAGES_PER_SECOND / REFUSAL_COST`` times a second once its burst is
  spent, and its refusals cost the server that much and no more.

Stdlib only: sockets are green when the entry point has monkey-patched. ``install``
plugs it into an Engine.IO server.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import socket
import struct
import threading
import time
import weakref

log = logging.getLogger(__name__)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MESSAGES_PER_SECOND = 500  # per connection, sustained
MESSAGES_BURST = 1000
REFUSAL_COST = 50  # reads a refusal for going too fast costs (10 refusals/s at most)
TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA
NORMAL, PROTOCOL_ERROR, UNSUPPORTED, INVALID_DATA, TOO_BIG = 1000, 1002, 1003, 1007, 1009
LINGER_SECONDS = 2.0  # how long a closing socket waits for the peer to close its side

# Tells the WSGI server that the app answered on the raw socket itself, so it must not
# write a response (eventlet.wsgi wants a flag set; the entry point hands in how).
_mark_handled = None


def install(eio_server, mark_handled=None) -> None:
    """Serve Engine.IO's WebSocket transport with this module."""
    global _mark_handled
    _mark_handled = mark_handled
    eio_server._async = {**eio_server._async, "websocket": WebSocketWSGI}


class WebSocketClosed(Exception):
    pass


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR with the 4-byte mask, as one big-integer operation (C speed)."""
    n = len(payload)
    if not n:
        return payload
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")


def frame(opcode: int, payload: bytes) -> bytes:
    """A final, unmasked frame (the server side never masks)."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return header + payload


class _FrameCache:
    """The frames of the last few texts sent: a broadcast hands each recipient an equal
    string, so its frame is built once, whoever sends it next."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._frames: dict[str, bytes] = {}

    def __call__(self, text: str) -> bytes:
        found = self._frames.get(text)
        if found is None:
            if len(self._frames) >= self.size:
                self._frames.clear()
            found = self._frames[text] = frame(TEXT, text.encode())
        return found


text_frame = _FrameCache()


class WebSocket:
    """One server-side connection, with the interface Engine.IO's drivers give it:
    ``wait()`` the next message (None once closed), ``send(message)``, ``close()``."""

    def __init__(
        self, sock, max_message: int, environ: dict | None = None, owns_socket: bool = True
    ) -> None:
        self._sock = sock  # Engine.IO sets its read timeout through this name
        self.environ = environ or {}
        self.owns_socket = owns_socket
        self.max_message = max_message
        self._send_lock = threading.Lock()
        self._read_lock = threading.Lock()  # held by whoever reads the socket
        self._close_sent = False  # our close frame is out: nothing else may follow it
        self.closed = False  # the socket is shut: nothing more is read or written
        self._gone = threading.Event()  # set once closed
        self._tokens, self._since = float(MESSAGES_BURST), time.monotonic()

    # --- reading ----------------------------------------------------------------------

    def _read(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self._sock.recv(min(n - len(data), 65536))
            if not chunk:
                raise WebSocketClosed("connection closed")
            data += chunk
        return bytes(data)

    def _read_frame(self) -> tuple[bool, int, bytes]:
        first, second = self._read(2)
        fin, rsv, opcode = first & 0x80, first & 0x70, first & 0x0F
        if rsv or not second & 0x80:  # no extension was agreed; clients must mask
            raise _Refuse(PROTOCOL_ERROR, "unexpected reserved bits or unmasked frame")
        length = second & 0x7F
        if opcode >= CLOSE:
            if length > 125 or not fin:
                raise _Refuse(PROTOCOL_ERROR, "bad control frame")
        elif length == 126:
            (length,) = struct.unpack("!H", self._read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read(8))
        if length > self.max_message:  # refused before a byte of it is read
            raise _Refuse(TOO_BIG, f"frame of {length} bytes")
        mask = self._read(4)
        return bool(fin), opcode, unmask(self._read(length), mask)

    def wait(self) -> str | None:
        """The next text message; None when the connection is closed or broke."""
        with self._read_lock:
            if self.closed:
                return None
            self._pace()
            try:
                while True:
                    message = self._next_message()
                    if message is None:  # the peer's close frame, a valid one
                        self._send_close(NORMAL)
                        self._linger()
                        return None
                    if not self._close_sent:  # after ours, messages are dropped
                        return message
            except _Refuse as refusal:
                log.info("websocket closed: %s", refusal.reason)
                self._send_close(refusal.code)
                self._linger()
            except (WebSocketClosed, OSError, ValueError):
                self._abort()
            return None

    def _pace(self) -> None:
        """One token per message read; with none left, wait for the next one (longer if
        ``slow_down`` takes more meanwhile: its handlers run while we wait)."""
        while True:
            now = time.monotonic()
            self._tokens = min(
                MESSAGES_BURST, self._tokens + (now - self._since) * MESSAGES_PER_SECOND
            )
            self._since = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            time.sleep((1 - self._tokens) / MESSAGES_PER_SECOND)

    def slow_down(self, reads: float = REFUSAL_COST) -> None:
        """Take ``reads`` from this connection's read budget (``_pace`` may then wait)."""
        self._tokens -= reads

    def _next_message(self) -> str | None:
        parts: list[bytes] = []
        size = 0
        kind = None
        while True:
            fin, opcode, payload = self._read_frame()
            if opcode == PING:
                self._send_frame(frame(PONG, payload), control=True)
                continue
            if opcode == PONG:
                continue
            if opcode == CLOSE:
                _check_close(payload)
                return None
            if opcode == CONTINUATION:
                if kind is None:
                    raise _Refuse(PROTOCOL_ERROR, "continuation without a message")
            elif opcode in (TEXT, BINARY):
                if kind is not None:
                    raise _Refuse(PROTOCOL_ERROR, "new message inside a fragmented one")
                kind = opcode
            else:
                raise _Refuse(PROTOCOL_ERROR, f"unknown opcode {opcode}")
            if kind == BINARY:  # the protocol is JSON text; attachments are refused
                raise _Refuse(UNSUPPORTED, "binary messages are not accepted")
            size += len(payload)
            if size > self.max_message:
                raise _Refuse(TOO_BIG, f"fragmented message over {self.max_message} bytes")
            parts.append(payload)
            if fin:
                try:
                    return b"".join(parts).decode()
                except UnicodeDecodeError:
                    raise _Refuse(INVALID_DATA, "text is not UTF-8") from None

    # --- writing ----------------------------------------------------------------------

    def send(self, message: str | bytes) -> None:
        """Write one message whole, or raise (OSError) and close."""
        if self.closed:
            raise OSError("websocket is closed")
        data = text_frame(message) if isinstance(message, str) else frame(BINARY, message)
        self._send_frame(data)

    def _send_frame(self, data: bytes, control: bool = False) -> None:
        # The writer task and the reader (answering pings) share the socket.
        with self._send_lock:
            if self._close_sent:  # a pong after our close frame is dropped
                if control:
                    return
                raise OSError("websocket is closing")
            try:
                # send() first: a small frame fits the socket buffer at once, and gevent's
                # sendall asks the kernel for the buffer size (getsockopt) on every call.
                sent = self._sock.send(data)
                if sent < len(data):
                    self._sock.sendall(data[sent:])
            except OSError:
                self._abort()
                raise

    def close(self) -> None:
        """Our closing handshake: the close frame, then the socket closes once the peer
        has closed its side, or after ``LINGER_SECONDS``. A reader blocked in ``wait()``
        reads the peer's answer and closes; with none, this reads it itself."""
        if self.closed:
            return
        self._send_close(NORMAL)
        if self._read_lock.acquire(blocking=False):
            try:
                self._linger()
            finally:
                self._read_lock.release()
        elif not self._gone.wait(LINGER_SECONDS):
            self._abort()  # wakes the reader: its recv returns b""

    def _send_close(self, code: int) -> None:
        """Our close frame, once, then our FIN (the peer reads EOF after the frame)."""
        with self._send_lock:
            if self._close_sent or self.closed:
                return
            self._close_sent = True
            with contextlib.suppress(OSError):
                self._sock.sendall(frame(CLOSE, struct.pack("!H", code)))
                self._sock.shutdown(socket.SHUT_WR)

    def _linger(self) -> None:
        """Read and drop what the peer still sends (the rest of a refused frame, its own
        close frame) until it closes its side or ``LINGER_SECONDS`` pass, then close.
        Closing with unread bytes makes the kernel send a reset: the peer's writes then
        fail, and a peer that stops there never reads our close frame."""
        deadline = time.monotonic() + LINGER_SECONDS
        with contextlib.suppress(OSError):  # a timeout is one too
            while not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._sock.settimeout(left)
                if not self._sock.recv(65536):
                    break
        self._abort()

    def _abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        if self.owns_socket:
            self._sock.close()
        self._gone.set()


def _close_code_in_use(code: int) -> bool:
    """A code a peer may send (RFC 6455 §7.4.1, IANA registry): 1004-1006 and 1015 are
    reserved for reports, never sent; 1016-2999 are unassigned; 3000-4999 are for
    libraries, frameworks and applications."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def _check_close(payload: bytes) -> None:
    """A close frame's body (RFC 6455 §5.5.1): empty, or a code in use and a UTF-8
    reason. Refused otherwise; a valid one is answered with 1000."""
    if not payload:
        return
    if len(payload) == 1:
        raise _Refuse(PROTOCOL_ERROR, "close frame with a 1-byte body")
    (code,) = struct.unpack("!H", payload[:2])
    if not _close_code_in_use(code):
        raise _Refuse(PROTOCOL_ERROR, f"close code {code} is not in use")
    try:
        payload[2:].decode()
    except UnicodeDecodeError:
        raise _Refuse(INVALID_DATA, "close reason is not UTF-8") from None


class _Refuse(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def _raw_socket(environ: dict):
    """The connection's socket under the WSGI server that runs us."""
    if "eventlet.input" in environ:
        return environ["eventlet.input"].get_socket(), "eventlet"
    if "werkzeug.socket" in environ:
        return environ["werkzeug.socket"], "werkzeug"
    wsgi_input = environ.get("wsgi.input")
    rfile = getattr(wsgi_input, "rfile", wsgi_input)
    raw = getattr(rfile, "raw", None)
    if raw is not None and hasattr(raw, "_sock"):  # gevent.pywsgi
        return raw._sock, "gevent"
    raise RuntimeError("cannot find the connection's socket in this WSGI server")


# Each Engine.IO socket's WebSocket, while it has one (``reader_of``).
_READERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def reader_of(eio_socket) -> WebSocket | None:
    """The WebSocket an Engine.IO socket reads from (None: polling, or gone)."""
    return _READERS.get(eio_socket) if eio_socket is not None else None


class WebSocketWSGI:
    """What Engine.IO instantiates per upgrade: ``WebSocketWSGI(handler, eio_server)``,
    then calls it as a WSGI app; ``handler(ws)`` runs for the life of the connection."""

    def __init__(self, handler, server) -> None:
        self.handler = handler
        self.max_message = int(server.max_http_buffer_size)

    def __call__(self, environ, start_response):
        key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "")
        if (
            environ.get("HTTP_UPGRADE", "").lower() != "websocket"
            or environ.get("HTTP_SEC_WEBSOCKET_VERSION") != "13"
            or len(key) != 24
        ):
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"a WebSocket (version 13) handshake was expected"]
        sock, server = _raw_socket(environ)
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
        # No extension is offered, so permessage-deflate is never on.
        sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        # gevent's server closes its own socket once we return.
        ws = WebSocket(sock, self.max_message, environ, owns_socket=server != "gevent")
        owner = getattr(self.handler, "__self__", None)  # Engine.IO's Socket
        if owner is not None:
            _READERS[owner] = ws
        try:
            self.handler(ws)
        finally:
            ws.close()
        if server == "werkzeug":
            raise ConnectionError()  # tells Werkzeug the connection is gone, not an error

        if server == "eventlet" and _mark_handled is not None:
            _mark_handled()
        return []
