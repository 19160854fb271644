"""One Socket.IO connection of a ChatClient: emit and wait for the ack, knowing when the
connection ended. It never reconnects; the client makes a new one (``client.py``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import socketio
import socketio.exceptions


class Dropped(Exception):
    """The connection ended before the answer came."""


class NoAck(Exception):
    """No answer within the ack timeout on a connection that is still up."""


class Link:
    """One Socket.IO connection (python-socketio's Client, which never reconnects)."""

    def __init__(self, on_event: Callable[..., None]) -> None:
        self.sio = socketio.Client(reconnection=False, handle_sigint=False)
        self.dropped = threading.Event()
        self.reason = ""
        self.refusal: str | None = None  # the server's connect_error message
        self._lock = threading.Lock()
        self._closed = False
        self._waiting: set[threading.Event] = set()
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("connect_error", self._on_connect_error)
        self.sio.on("*", on_event)

    def open(self, url: str, token: str, timeout: float) -> None:
        self.sio.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=timeout)

    def call(self, event: str, payload: dict, timeout: float) -> Any:
        """Emit and wait for the ack; Dropped if the connection ends first, NoAck if
        nothing comes within ``timeout``."""
        done = threading.Event()
        answer: list[Any] = []

        def on_ack(*args: Any) -> None:
            answer.append(args[0] if args else None)
            done.set()

        with self._lock:
            if self.dropped.is_set():
                raise Dropped
            self._waiting.add(done)
        try:
            try:
                self.sio.emit(event, payload, callback=on_ack)
            except socketio.exceptions.SocketIOError as error:
                self._on_disconnect("not connected")
                raise Dropped from error
            done.wait(timeout)
        finally:
            with self._lock:
                self._waiting.discard(done)
        if answer:
            return answer[0]
        if self.dropped.is_set():
            raise Dropped
        raise NoAck

    def close(self) -> None:
        """Disconnect, once: python-socketio's disconnect is not safe to run twice at
        once (the second empties the send queue the first just told to stop, and the
        first then waits out a ping timeout)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(Exception):
            self.sio.disconnect()
        # After a transport failure python-socketio leaves the socket to the collector.
        ws = getattr(self.sio.eio, "ws", None)
        if ws is not None:
            with contextlib.suppress(Exception):
                ws.shutdown()
        self._on_disconnect("client disconnect")

    def _on_disconnect(self, *reason: Any) -> None:
        waiting = []
        with self._lock:
            if not self.dropped.is_set():
                self.reason = str(reason[0]) if reason else "disconnected"
            self.dropped.set()
            waiting = list(self._waiting)
        for waiter in waiting:
            waiter.set()

    def _on_connect_error(self, *data: Any) -> None:
        first = data[0] if data else None
        self.refusal = str(first.get("message") if isinstance(first, dict) else first)
