"""ChatClient: one user's connection to a chat server, kept up.

It signs in (``POST /api/token``), connects with the token over WebSocket, and from then
on keeps a connection open: when one ends (the network, the server closing it, a server
restart) it connects again with backoff, joins every open room again with the id to
resume from, and watches again if it watched. Requests wait for a connection and retry
until they get an answer; incoming messages reach the handlers once each, by id.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import socketio
import socketio.exceptions

from chatclient import events, http
from chatclient.errors import ChatClosed, ChatError, ChatTimeout
from chatclient.events import (
    Ack,
    DeleteAck,
    EditAck,
    HistoryAck,
    JoinAck,
    LeaveAck,
    Message,
    ReactAck,
    SeenAck,
    SendAck,
    Summary,
)
from chatclient.link import Dropped, Link, NoAck
from chatclient.stream import SETTLE, RoomLog

log = logging.getLogger("chatclient")

# What the client itself tells its handlers, besides the server's events.
CONNECTED = "connected"  # {reconnect: bool}: connected, rooms joined again, watching again
DISCONNECTED = "disconnected"  # {reason}: the connection ended; the client reconnects
RECONNECTING = "reconnecting"  # {delay, error}: connecting failed; next try in delay s
REJOIN_FAILED = "rejoin_failed"  # {room, code, message}: a room could not be joined again
WATCHED = "watched"  # {rooms: [Summary]}: watching again (after a reconnect or room_added)
CLOSED = "closed"  # {code, message}: the client stopped for good
LIFECYCLE_EVENTS = (CONNECTED, DISCONNECTED, RECONNECTING, REJOIN_FAILED, WATCHED, CLOSED)

Handler = Callable[..., Any]
# Refusals a reconnect may get past; any other one (a wrong password) stops the client.
TRANSIENT = frozenset({"unavailable", "rate_limited", "internal_error", "timeout"})


class ChatClient:
    """A user's connection to the chat server at ``url``, reconnecting by itself.

    Give ``username`` and ``password`` (``register=True`` makes the account first if it
    does not exist), or a ``token`` from ``POST /api/token``. ``connect()`` returns once
    connected. Requests (``join``, ``send``, …) return the success ack as a dict, or raise
    ChatError with the server's ``code``; they wait for a connection and retry on a
    timeout, a dropped connection, ``unavailable`` and ``rate_limited`` (after its
    ``retry_after``) until ``deadline`` seconds have passed (then ChatTimeout).

    Handlers (``on``) run one at a time on the client's own thread, in the order events
    arrived; they may call the client. ``recieve_message`` handlers get every message of
    the rooms open or watched exactly once, whether it came live or in a replay
    (``rejoin_room``); arrival order is not id order, so sort by ``id`` where it matters.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        register: bool = False,
        ack_timeout: float = 10.0,
        deadline: float = 60.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        settle: float = SETTLE,
    ) -> None:
        if token is None and (username is None or password is None):
            raise ValueError("give a token, or a username and a password")
        self.url = url.rstrip("/")
        self.username = username
        self._password = password
        self._token = token
        self._register = register
        self.ack_timeout = ack_timeout
        self.deadline = deadline
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.settle = settle

        self._lock = threading.RLock()
        self._logs: dict[str, RoomLog] = {}
        self._open: dict[str, None] = {}  # rooms to join again, in joining order
        self._watching = False
        self._rewatching = False
        self._signed_out = False
        self._link: Link | None = None
        self._ready = threading.Event()
        self._closing = threading.Event()
        self._closed = threading.Event()
        self._stopped = False
        self._fatal: ChatError | None = None
        self._handlers: dict[str, list[Handler]] = {}
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    # --- lifecycle ------------------------------------------------------------------

    def connect(self, timeout: float | None = None) -> ChatClient:
        """Sign in if needed and connect, trying again until ``timeout`` (default: the
        deadline). Raises ChatError when refused for good (a wrong password:
        ``unauthorized``), ChatTimeout when no connection could be made in time."""
        if self._threads:
            raise RuntimeError("connect() was already called")
        for target, name in ((self._dispatch, "dispatch"), (self._supervise, "connection")):
            thread = threading.Thread(target=target, name=f"chatclient-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()
        end = time.monotonic() + (self.deadline if timeout is None else timeout)
        while not self._ready.is_set():
            if self._fatal is not None:
                error = self._fatal
                self.close()
                raise error
            if time.monotonic() >= end:
                self.close()
                raise ChatTimeout(f"could not connect to {self.url} in time")
            self._ready.wait(0.05)
        return self

    def close(self) -> None:
        """Disconnect and stop; handlers already queued still run. Safe to call twice,
        and from a handler."""
        if self._closing.is_set():
            return
        self._closing.set()
        with self._lock:
            link = self._link
        if link is not None:
            link.close()
        current = threading.current_thread()
        for thread in self._threads[1:]:
            if thread is not current:
                thread.join(timeout=10)
        self._stop(None)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the client stops (``close()``, a sign-out, a refusal); True if it
        did within ``timeout``. Raises the ChatError that stopped it, if one did."""
        stopped = self._closed.wait(timeout)
        if stopped and self._fatal is not None:
            raise self._fatal
        return stopped

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    def __enter__(self) -> ChatClient:
        if not self._threads:
            self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- handlers -------------------------------------------------------------------

    def on(self, event: str, handler: Handler | None = None) -> Any:
        """Call ``handler(data)`` for each ``event`` (a server event, or one of the
        client's: connected, disconnected, reconnecting, rejoin_failed, watched, closed);
        ``"*"`` gets ``handler(event, data)`` for every one. Usable as a decorator."""

        def register(function: Handler) -> Handler:
            with self._lock:
                self._handlers.setdefault(event, []).append(function)
            return function

        return register if handler is None else register(handler)

    # --- rooms ----------------------------------------------------------------------

    def join(
        self,
        room: str | None = None,
        *,
        peer: str | None = None,
        last_id: int | None = None,
        history: bool = True,
    ) -> JoinAck:
        """Open a room (or the direct room with ``peer``): its messages then reach the
        ``recieve_message`` handlers, starting with a replay of the newest page, or of
        everything after ``last_id``. ``history=False`` replays nothing older than the
        join. The room is joined again after every reconnect."""
        if (room is None) == (peer is None):
            raise ValueError("give either room or peer")
        if room is None and not history and last_id is None:
            room = self._direct_room(cast(str, peer))
            peer = None
        with self._lock:
            if room is not None and room in self._open and last_id is None:
                last_id = self._logs[room].top  # open already: nothing to replay
        if room is not None and not history and last_id is None:
            last_id = self._newest_id(room)
        if room is not None:
            with self._lock:
                self._log(room).note_base(last_id)
        payload: dict[str, Any] = {"room": room} if room is not None else {"peer": peer}
        if last_id is not None:
            payload["last_id"] = last_id
        ack = cast(JoinAck, self.request(events.JOINED_ROOM, payload))
        with self._lock:
            self._log(ack["room"]).note_base(last_id)
            self._open[ack["room"]] = None
        return ack

    def leave(self, room: str) -> LeaveAck:
        """Close the room; it is no longer joined again after a reconnect."""
        with self._lock:
            self._open.pop(room, None)
            if not self._watching:
                self._logs.pop(room, None)
        try:
            return cast(LeaveAck, self.request(events.LEAVE_ROOM, {"room": room}))
        except ChatError as error:
            if error.code == "not_in_room":  # a reconnect came in between: closed already
                return {"ok": True, "room": room}
            raise

    def watch(self) -> list[Summary]:
        """Receive the messages, edits and deletes of every room you are a member of
        (``watch_rooms``), now and after every reconnect; the rooms at a glance."""
        ack = self.request(events.WATCH_ROOMS, {})
        with self._lock:
            self._watching = True
        return ack["rooms"]

    def refresh_token(self) -> dict:
        """Trade the current token for a new one (``POST /api/token/refresh``), used
        from then on (the next reconnect included); ``{token, expires_in}``. The old
        token keeps working until it expires. ChatError ``unauthorized`` when the
        token no longer works (sign in again)."""
        with self._lock:
            token = self._token
        if token is None:
            raise ChatError("unauthorized", "no token yet: connect first")
        fresh = http.refresh_token(self.url, token)
        with self._lock:
            self._token = fresh["token"]
        return fresh

    @property
    def rooms(self) -> list[str]:
        """The rooms open on this client, in joining order."""
        with self._lock:
            return list(self._open)

    def last_id(self, room: str) -> int | None:
        """The newest message id of ``room`` delivered so far."""
        with self._lock:
            found = self._logs.get(room)
            return None if found is None else found.top

    # --- messages -------------------------------------------------------------------

    def send(
        self,
        room: str,
        text: str,
        *,
        reply_to: int | None = None,
        client_id: str | None = None,
    ) -> SendAck:
        """Send a message (``reply_to``: the id of the message it answers). Retries carry
        the same ``client_id`` (a fresh one unless given), so it is stored once."""
        payload: dict[str, Any] = {
            "room": room,
            "message": text,
            "client_id": client_id or uuid.uuid4().hex,
        }
        if reply_to is not None:
            payload["reply_to"] = reply_to
        return cast(SendAck, self.request(events.SEND_MESSAGE, payload))

    def reply(self, message: Message, text: str, *, client_id: str | None = None) -> SendAck:
        """Answer ``message`` in its room."""
        return self.send(message["room"], text, reply_to=message["id"], client_id=client_id)

    def react(self, room: str, message_id: int, emoji: str, on: bool = True) -> ReactAck:
        """Add (or with ``on=False`` take back) your reaction ``emoji`` to a message."""
        payload = {"room": room, "id": message_id, "emoji": emoji, "on": on}
        return cast(ReactAck, self.request(events.REACT, payload))

    def typing(self, room: str, typing: bool = True) -> Ack:
        """Tell the room you are typing (send it again every ~2 s) or stopped."""
        return cast(Ack, self.request(events.TYPING_STATUS, {"room": room, "typing": typing}))

    def mark_seen(self, room: str, message_id: int) -> SeenAck:
        """Move your last read id in the room forward to ``message_id``."""
        payload = {"room": room, "message_id": message_id}
        return cast(SeenAck, self.request(events.MARK_SEEN, payload))

    def edit(self, room: str, message_id: int, text: str) -> EditAck:
        """Replace the text of your message."""
        payload = {"room": room, "id": message_id, "message": text}
        return cast(EditAck, self.request(events.EDIT_MESSAGE, payload))

    def delete(self, room: str, message_id: int) -> DeleteAck:
        """Delete your message. A retry that finds it gone already counts as done."""
        payload = {"room": room, "id": message_id}
        return cast(DeleteAck, self.request(events.DELETE_MESSAGE, payload, gone_is_done=True))

    def history(
        self,
        room: str,
        *,
        before_id: int | None = None,
        after_id: int | None = None,
        around_id: int | None = None,
        limit: int | None = None,
    ) -> HistoryAck:
        """One page of ``room``, oldest first, with ``has_more`` (older ones exist) and
        ``has_newer``: the newest page; older than ``before_id``; newer than
        ``after_id``; or ``around_id`` in context. Needs no join."""
        payload: dict[str, Any] = {"room": room}
        for key, value in (
            ("before_id", before_id),
            ("after_id", after_id),
            ("around_id", around_id),
            ("limit", limit),
        ):
            if value is not None:
                payload[key] = value
        return cast(HistoryAck, self.request(events.LOAD_HISTORY, payload))

    def pages(
        self,
        room: str,
        *,
        before_id: int | None = None,
        after_id: int | None = None,
        limit: int | None = None,
    ) -> Iterator[list[Message]]:
        """Page through ``room``: older and older pages from ``before_id`` (or the
        newest), or, given ``after_id``, newer and newer ones. Each page oldest first."""
        if before_id is not None and after_id is not None:
            raise ValueError("give before_id or after_id, not both")
        newer = after_id is not None
        anchor = after_id if newer else before_id
        while True:
            if newer:
                page = self.history(room, after_id=anchor, limit=limit)
            else:
                page = self.history(room, before_id=anchor, limit=limit)
            found = page["messages"]
            if found:
                yield found
            if not found or not (page["has_newer"] if newer else page["has_more"]):
                return
            anchor = found[-1]["id"] if newer else found[0]["id"]

    # --- requests -------------------------------------------------------------------

    def request(self, event: str, payload: dict, *, gone_is_done: bool = False) -> dict:
        """Emit ``event`` and return its success ack. Waits for a connection; retries
        after a timeout, a dropped connection or ``unavailable`` (with backoff) and after
        ``rate_limited``'s ``retry_after``, until the deadline (ChatTimeout). Other
        refusals raise ChatError."""
        if not self._threads:
            raise RuntimeError("connect() first")
        end = time.monotonic() + self.deadline
        pause = self.backoff / 2
        unanswered = False  # an attempt may have reached the server
        while True:
            link = self._wait_link(end, event)
            try:
                ack = link.call(event, payload, max(0.05, min(self.ack_timeout, end - _now())))
            except (Dropped, NoAck):
                unanswered = True
                if _now() >= end:
                    raise ChatTimeout(f"{event}: no answer in time", event=event) from None
                continue
            if not isinstance(ack, dict):
                raise ChatError("internal_error", f"{event}: unexpected ack {ack!r}", event=event)
            if ack.get("ok") is True:
                return ack
            error = ChatError.from_error(ack.get("error"), event=event)
            if error.code == "not_found" and gone_is_done and unanswered:
                return {"ok": True, "id": payload.get("id")}
            wait = None
            if error.code == "rate_limited" and error.retry_after is not None:
                wait = error.retry_after + random.uniform(0, 0.05)
            elif error.code == "unavailable":
                wait, pause = pause, min(pause * 2, self.max_backoff)
            if wait is None or _now() + wait >= end:
                raise error
            if self._closing.wait(wait):
                raise ChatClosed(event=event)

    def _wait_link(self, end: float, event: str) -> Link:
        while True:
            if self._closing.is_set() or self._closed.is_set():
                raise self._fatal or ChatClosed(event=event)
            if self._ready.is_set():
                with self._lock:
                    link = self._link
                if link is not None and not link.dropped.is_set():
                    return link
            if _now() >= end:
                raise ChatTimeout(f"{event}: not connected in time", event=event)
            self._ready.wait(min(0.1, max(0.0, end - _now())))

    # --- connecting -----------------------------------------------------------------

    def _supervise(self) -> None:
        """Keep a connection: connect, join the open rooms again, watch again; when it
        ends, do it again, with backoff while it fails."""
        failures = 0
        dropped_at: float | None = None
        reconnect = False
        while not self._closing.is_set():
            link: Link | None = None
            try:
                link = self._connect()
                self._restore(link, dropped_at)
            except ChatError as error:
                if link is not None:
                    link.close()
                if error.code not in TRANSIENT:
                    self._stop(error)
                    return
                failures += 1
                delay = self._delay(failures)
                self._post(RECONNECTING, {"delay": delay, "error": str(error)})
                log.info("connecting to %s failed (%s); again in %.1f s", self.url, error, delay)
                self._closing.wait(delay)
                continue
            except Exception as error:  # a bug or a transport failure: keep trying
                if link is not None:
                    link.close()
                failures += 1
                delay = self._delay(failures)
                self._post(RECONNECTING, {"delay": delay, "error": repr(error)})
                log.warning("connecting failed (%r); again in %.1f s", error, delay)
                self._closing.wait(delay)
                continue
            failures = 0
            with self._lock:
                self._link = link
            self._ready.set()
            self._post(CONNECTED, {"reconnect": reconnect})
            reconnect = True
            while not link.dropped.wait(0.5):
                if self._closing.is_set():
                    link.close()
            link.close()  # whatever python-socketio still thinks
            dropped_at = _now()
            self._ready.clear()
            with self._lock:
                self._link = None
            if self._closing.is_set():
                break
            self._post(DISCONNECTED, {"reason": link.reason})
            log.info("disconnected (%s); reconnecting", link.reason)
            if self._signed_out:
                self._stop(ChatClosed("signed out: this sign-in ended"))
                return
            # Everyone a server drops reconnects at once: spread them out.
            self._closing.wait(random.uniform(0, self.backoff))

    def _delay(self, failures: int) -> float:
        delay = min(self.max_backoff, self.backoff * 2 ** (failures - 1))
        return delay * random.uniform(0.5, 1.0)

    def _connect(self) -> Link:
        """A new connection, signing in first when there is no token, and again when the
        server refuses the token (it expired) and there is a password."""
        for fresh in (False, True):
            if self._token is None or fresh:
                if self._password is None:
                    raise ChatError("unauthorized", "the server refused the token")
                self._sign_in()
            link = Link(self._incoming)
            try:
                link.open(self.url, cast(str, self._token), self.ack_timeout)
                return link
            except socketio.exceptions.ConnectionError as error:
                link.close()
                if link.refusal != "unauthorized":
                    why = link.refusal or str(error)
                    raise ChatError("unavailable", f"cannot connect: {why}") from error
        raise ChatError("unauthorized", "the server refused a fresh token")

    def _sign_in(self) -> None:
        username, password = cast(str, self.username), cast(str, self._password)
        if self._register:
            http.register(self.url, username, password)
            self._register = False
        try:
            self._token = http.sign_in(self.url, username, password)["token"]
        except ChatError as error:
            if error.code == "rate_limited":
                self._closing.wait(error.retry_after or self.backoff)
            raise

    def _restore(self, link: Link, dropped_at: float | None) -> None:
        """Join the open rooms again, each from where its stream can resume, and watch
        again; before anyone else may use the connection."""
        with self._lock:
            rooms = list(self._open)
        for room in rooms:
            with self._lock:
                found = self._logs.get(room)
                last_id = found.resume_id(dropped_at) if found else None
            payload: dict[str, Any] = {"room": room}
            if last_id is not None:
                payload["last_id"] = last_id
            ack = self._call_on(link, events.JOINED_ROOM, payload)
            if ack.get("ok") is not True:
                error = ChatError.from_error(ack.get("error"), event=events.JOINED_ROOM)
                with self._lock:
                    self._open.pop(room, None)
                self._post(
                    REJOIN_FAILED, {"room": room, "code": error.code, "message": error.message}
                )
        if self._watching:
            ack = self._call_on(link, events.WATCH_ROOMS, {})
            if ack.get("ok") is True:
                self._post(WATCHED, {"rooms": ack["rooms"]})

    def _call_on(self, link: Link, event: str, payload: dict) -> dict:
        """One request on ``link``, waiting out rate limits; ChatError when it drops."""
        for _ in range(20):
            try:
                ack = link.call(event, payload, self.ack_timeout)
            except (Dropped, NoAck) as error:
                raise ChatError("unavailable", f"{event}: no answer") from error
            if not isinstance(ack, dict):
                raise ChatError("internal_error", f"{event}: unexpected ack {ack!r}")
            error = ack.get("error") or {}
            if error.get("code") == "rate_limited" and error.get("retry_after") is not None:
                if self._closing.wait(float(error["retry_after"]) + 0.05):
                    raise ChatClosed()
                continue
            if error.get("code") == "unavailable":
                raise ChatError("unavailable", error.get("message", ""))
            return ack
        raise ChatError("rate_limited", f"{event}: still limited")

    def _direct_room(self, peer: str) -> str:
        if self.username is None:
            raise ValueError("history=False with a peer needs the client's username")
        a, b = sorted((self.username.lower(), peer.lower()))
        return f"dm:{a}:{b}"

    def _newest_id(self, room: str) -> int:
        """The id of the room's newest message (0: none, or no such room yet)."""
        try:
            found = self.history(room, limit=1)["messages"]
        except ChatError as error:
            if error.code == "not_found":
                return 0
            raise
        return found[-1]["id"] if found else 0

    # --- incoming -------------------------------------------------------------------

    def _log(self, room: str) -> RoomLog:
        found = self._logs.get(room)
        if found is None:
            found = self._logs[room] = RoomLog(settle=self.settle)
        return found

    def _incoming(self, event: str, *args: Any) -> None:
        """A server event (on one of python-socketio's threads): de-duplicate messages,
        keep the rooms' logs, queue it for the handlers."""
        data = args[0] if args else None
        if self._closing.is_set():
            return  # closed: nobody is listening any more
        try:
            with self._lock:
                if event == events.RECIEVE_MESSAGE:
                    if self._log(data["room"]).add(data["id"]):
                        self._post(event, data)
                    return
                if event == events.REJOIN_ROOM:
                    stream = self._log(data["room"])
                    if data.get("reset"):
                        stream.reset()
                    self._post(event, data)
                    for message in data["messages"]:
                        if stream.add(message["id"]):
                            self._post(events.RECIEVE_MESSAGE, message)
                    return
                if event == events.ROOM_REMOVED:
                    self._open.pop(data["room"], None)
                elif event == events.SIGNED_OUT:
                    self._signed_out = True
                elif event == events.ROOM_ADDED and self._watching:
                    self._rewatch()
                self._post(event, data)
        except Exception:
            log.exception("could not take in %s %r", event, data)

    def _rewatch(self) -> None:
        """watch_rooms again (a new room to take in), on a thread of its own."""
        if self._rewatching:
            return
        self._rewatching = True

        def run() -> None:
            try:
                rooms = self.request(events.WATCH_ROOMS, {})["rooms"]
                self._post(WATCHED, {"rooms": rooms})
            except ChatError as error:
                log.warning("could not watch the new room: %s", error)
            finally:
                self._rewatching = False

        threading.Thread(target=run, name="chatclient-rewatch", daemon=True).start()

    def _post(self, event: str, data: Any) -> None:
        self._queue.put((event, data))

    def _dispatch(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            event, data = item
            with self._lock:
                handlers = list(self._handlers.get(event, ()))
                everything = list(self._handlers.get("*", ()))
            for handler in handlers:
                self._call(handler, event, data)
            for handler in everything:
                self._call(handler, event, event, data)

    def _call(self, handler: Handler, event: str, *args: Any) -> None:
        try:
            handler(*args)
        except Exception:
            log.exception("a handler of %s failed", event)

    def _stop(self, error: ChatError | None) -> None:
        """Stop for good, by ``close()`` (None) or because of ``error``: the waiting
        ends, the handlers hear ``closed`` last."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._fatal = error
            self._closing.set()
            reason = error or ChatClosed()
            self._post(CLOSED, {"code": reason.code, "message": reason.message})
            self._queue.put(None)
        dispatcher = self._threads[0] if self._threads else None
        if dispatcher is not None and dispatcher is not threading.current_thread():
            dispatcher.join(timeout=10)  # the handlers have heard it all
        self._closed.set()


def _now() -> float:
    return time.monotonic()
