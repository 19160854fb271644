"""Who a socket is: its browser session or API token, read once at connect and usually
not even then (``IdentityCache``)."""

from __future__ import annotations

import time
from typing import NamedTuple

from flask import current_app, request, session
from sqlalchemy import bindparam, func, select

from chat import sql
from chat.accounts import session_cutoff, token_claims
from chat.sql import sessions, users

SESSION_KEY = "session_id"  # in the Flask session: the id of this browser's UserSession
# Set in a socket's WSGI environ once its connect found who it is: its later events
# decode no session cookie and match no URL (auth.SocketSessionInterface, app.ChatFlask).
IDENTIFIED_SOCKET = "chat.identified_socket"


class SocketIdentity(NamedTuple):
    id: int
    username: str
    session_id: str | None  # the browser session; None for a token connection


class IdentityCache:
    """Whose a token version or a browser session is, kept ``ttl`` seconds so that a
    socket connect usually costs no database read.

    Sign-outs forget the entries they end at once, in every process (the ``sign_out``
    control action); the ttl bounds how long an entry could outlive a sign-out whose
    news was lost (Redis down).
    """

    def __init__(self, ttl: float = 30.0, size: int = 100_000, clock=time.monotonic) -> None:
        self.ttl, self.size, self._clock = ttl, size, clock
        self._entries: dict[tuple, tuple[int, str, float]] = {}

    def get(self, key: tuple) -> tuple[int, str] | None:
        found = self._entries.get(key)
        if found is None or found[2] < self._clock():
            return None
        return found[0], found[1]

    def put(self, key: tuple, user_id: int, username: str) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (user_id, username, self._clock() + self.ttl)

    def forget(self, user_id: int, session_id: str | None = None) -> None:
        """Forget one browser session, or (None) every session and token of the user."""
        for key, (uid, _name, _expires) in list(self._entries.items()):
            if uid == user_id and (session_id is None or key == ("session", session_id)):
                self._entries.pop(key, None)


def bearer_token(req) -> str | None:
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def socket_user(auth: object) -> SocketIdentity | None:
    """The identity of a connecting socket: ``auth: {token}``, else the browser session,
    else a Bearer header. At most one primary-key read, none while the identity is in
    the cache."""
    if isinstance(auth, dict) and "token" in auth:
        return _token_identity(auth["token"])
    if SESSION_KEY in session:
        return _session_identity(session.get(SESSION_KEY), session.get("_user_id"))
    token = bearer_token(request)
    return _token_identity(token) if token is not None else None


def _identities() -> IdentityCache:
    return current_app.extensions["identity_cache"]


# Socket connects read identities through Core on the event's connection (no ORM
# session to set up for one row).
_SESSION_USER = sql.Prepared(
    select(users.c.id, users.c.username)
    .join_from(sessions, users, sessions.c.user_id == users.c.id)
    .where(
        sessions.c.id == bindparam("sid"),
        func.coalesce(sessions.c.last_used_at, sessions.c.created_at) >= bindparam("cutoff"),
    )
)
_TOKEN_USER = sql.Prepared(
    select(users.c.username, users.c.token_version).where(users.c.id == bindparam("uid"))
)


def _session_identity(session_id: object, user_id: object) -> SocketIdentity | None:
    if not isinstance(session_id, str) or not 0 < len(session_id) <= 64 or user_id is None:
        return None
    cached = _identities().get(("session", session_id))
    if cached is None:
        row = sql.run(_SESSION_USER, sid=session_id, cutoff=session_cutoff()).first()
        if row is None:
            return None
        cached = (row.id, row.username)
        _identities().put(("session", session_id), *cached)
    if str(cached[0]) != str(user_id):
        return None
    return SocketIdentity(cached[0], cached[1], session_id)


def _token_identity(token: object) -> SocketIdentity | None:
    claims = token_claims(token)
    if claims is None:
        return None
    cached = _identities().get(("token", *claims))
    if cached is None:
        uid, version = claims
        row = sql.run(_TOKEN_USER, uid=uid).first()
        if row is None or row.token_version != version:
            return None
        cached = (uid, row.username)
        _identities().put(("token", *claims), *cached)
    return SocketIdentity(cached[0], cached[1], None)
