"""The conformance suite's only link to a server: its URL. HTTP through ``requests``,
sockets through python-socketio's ``Client``; every event and ack received, and the HTTP
bodies that have a schema, are checked against the published JSON Schemas
(``docs/schemas/*.json`` of this repository, or ``SCHEMAS_DIR``)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import socketio
from jsonschema import Draft202012Validator

BASE_URL = os.environ.get("BASE_URL", "").rstrip("/")
SCHEMAS_DIR = Path(
    os.environ.get("SCHEMAS_DIR") or Path(__file__).resolve().parent.parent / "docs" / "schemas"
)
PASSWORD = "conformance passphrase"
TIMEOUT = 10.0
_RUN = secrets.token_hex(3)  # every name of a run is new, so a live server can take many runs
_count = iter(range(1, 10**9))


def unique(prefix: str) -> str:
    """A username or room name no run has used: ``<prefix><run><n>`` (at most 32 chars)."""
    return f"{prefix}{_RUN}{next(_count)}"


# --- schemas -------------------------------------------------------------------------


@functools.cache
def validator(name: str) -> Draft202012Validator | None:
    path = SCHEMAS_DIR / f"{name}.json"
    if not path.exists():
        return None
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_event(name: str, args: tuple) -> None:
    found = validator(name)
    assert found is not None, f"the server sent {name!r}, which no schema describes"
    assert len(args) == 1, f"{name} carries {len(args)} arguments, not one payload"
    errors = sorted(found.iter_errors(args[0]), key=str)
    assert not errors, f"{name} does not match its schema: {errors[0].message} in {args[0]!r}"


def check_ack(event: str, ack: object) -> None:
    found = validator(f"{event}.ack")
    if found is None:  # an event the protocol does not have: an error ack
        found = validator("joined_room.ack")
        assert isinstance(ack, dict) and ack.get("ok") is False, ack
    assert found is not None
    errors = sorted(found.iter_errors(ack), key=str)
    assert not errors, f"the ack of {event} does not match its schema: {errors[0].message}: {ack!r}"


def check_http(name: str, body: object) -> None:
    found = validator(f"http.{name}")
    assert found is not None, f"no schema http.{name}"
    errors = sorted(found.iter_errors(body), key=str)
    assert not errors, f"{name} does not match its schema: {errors[0].message}: {body!r}"


def check_http_error(response: requests.Response, status: int, code: str) -> dict:
    """An HTTP refusal: the status, and ``{error: {code, message}}`` with the code."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str), body
    return body["error"]


# --- HTTP ----------------------------------------------------------------------------


def url(path: str) -> str:
    return BASE_URL + path


def http(method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, url(path), headers=headers, timeout=TIMEOUT, **kwargs)


class User:
    """An account made for this run, with an API token."""

    def __init__(self, prefix: str = "u") -> None:
        self.name = unique(prefix)
        made = http("POST", "/api/register", json={"username": self.name, "password": PASSWORD})
        assert made.status_code == 201, (made.status_code, made.text)
        assert made.json() == {"username": self.name}
        self.token = sign_in(self.name)
        self.conns: list[Conn] = []

    def connect(self, **options: Any) -> Conn:
        return Conn(self, **options)

    def get(self, path: str, **params: Any) -> requests.Response:
        return http("GET", path, self.token, params=params)


def sign_in(username: str, password: str = PASSWORD) -> str:
    answer = http("POST", "/api/token", json={"username": username, "password": password})
    assert answer.status_code == 200, (answer.status_code, answer.text)
    body = answer.json()
    assert set(body) == {"token", "expires_in"}, body
    assert isinstance(body["token"], str) and isinstance(body["expires_in"], int)
    return body["token"]


# --- sockets -------------------------------------------------------------------------


class Refused(Exception):
    """The server refused the connection: ``data`` is what connect_error carried."""

    def __init__(self, data: Any) -> None:
        super().__init__(repr(data))
        self.data = data


class Conn:
    """One socket connection; records every server event (checked against its schema)."""

    def __init__(
        self,
        user: User | None = None,
        *,
        token: str | None = None,
        auth: Any = ...,
        headers: dict | None = None,
        connect: bool = True,
    ) -> None:
        self.user = user
        self.token = token if token is not None else (user.token if user else None)
        self.got: list[tuple[str, Any]] = []
        self.changed = threading.Condition()
        self.refusal: Any = None
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", self._record)
        self.sio.on("connect_error", self._refused)
        self.sio.on("disconnect", self._gone)
        self.gone = threading.Event()
        if user is not None:
            user.conns.append(self)  # closed after the test
        if connect:
            self.open(auth=auth, headers=headers)

    def open(self, auth: Any = ..., headers: dict | None = None) -> Conn:
        if auth is ...:
            auth = {"token": self.token} if self.token else None
        try:
            self.sio.connect(
                BASE_URL,
                auth=auth,
                headers=headers or {},
                transports=["websocket"],
                wait_timeout=TIMEOUT,
            )
        except socketio.exceptions.ConnectionError as error:
            raise Refused(self.refusal) from error
        return self

    @property
    def name(self) -> str:
        assert self.user is not None
        return self.user.name

    def _record(self, event: str, *args: Any) -> None:
        check_event(event, args)
        with self.changed:
            self.got.append((event, args[0]))
            self.changed.notify_all()

    def _refused(self, *data: Any) -> None:
        self.refusal = data[0] if len(data) == 1 else data

    def _gone(self, *_reason: Any) -> None:
        self.gone.set()
        with self.changed:
            self.changed.notify_all()

    # requests

    def call(self, event: str, payload: Any = None, timeout: float = TIMEOUT) -> dict:
        """Emit with an ack callback; the ack, checked against its schema."""
        args = () if payload is None else (payload,)
        ack = self.sio.call(event, *args, timeout=timeout) if args else self.sio.call(event)
        check_ack(event, ack)
        return ack

    def ok(self, event: str, payload: Any = None) -> dict:
        ack = self.call(event, payload)
        assert ack["ok"] is True, (event, payload, ack)
        return ack

    def error(self, event: str, payload: Any, code: str) -> dict:
        ack = self.call(event, payload)
        assert ack["ok"] is False, (event, payload, ack)
        assert ack["error"]["code"] == code, (event, payload, ack)
        assert isinstance(ack["error"]["message"], str) and ack["error"]["message"]
        return ack["error"]

    def emit(self, event: str, payload: Any) -> None:
        self.sio.emit(event, payload)

    def join(self, room: str | None = None, **payload: Any) -> dict:
        if room is not None:
            payload["room"] = room
        return self.ok("joined_room", payload)

    def send(self, room: str, text: str, **payload: Any) -> dict:
        return self.ok("send_message", {"room": room, "message": text, **payload})

    # what arrived

    def events(self, name: str, room: str | None = None) -> list:
        with self.changed:
            return [
                data
                for event, data in self.got
                if event == name
                and (room is None or (isinstance(data, dict) and data.get("room") == room))
            ]

    def wait_for(self, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = check()
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; the last events: {self.got[-10:]}")
                self.changed.wait(left)

    def wait(self, name: str, count: int = 1, room: str | None = None, **match: Any) -> list:
        def found():
            got = [
                e for e in self.events(name, room) if all(e.get(k) == v for k, v in match.items())
            ]
            return got if len(got) >= count else None

        return self.wait_for(found)

    def quiet(self, seconds: float = 0.4) -> None:
        """Let events that could still be on their way arrive (before asserting none)."""
        time.sleep(seconds)

    def ids(self, room: str) -> list[int]:
        return [m["id"] for m in self.events("recieve_message", room)]

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()
        # After a server-side close python-socketio leaves the socket to the collector.
        ws = getattr(self.sio.eio, "ws", None)
        sock = getattr(ws, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
