"""Accounts: registering, checking passwords (throttled), API tokens, and ending sign-ins.

A browser's sign-in is a row in ``user_sessions`` whose id the session cookie carries:
signing out deletes the row, so a copy of the cookie kept from before is refused. API
tokens carry the user's ``token_version``; signing out everywhere or changing the password
raises it (ending every token) and deletes every session row of the user. Whatever ends
sign-ins queues a ``sign_out`` control action: the connections that identified with them
hear ``signed_out`` and are closed, on every process.

Password hashes (scrypt, ~100 ms of CPU) run through ``RUN_IN_THREAD``, which the serving
entry point sets to its async server's OS thread pool, so they never stall the event loop.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from chat import outbox, rules
from chat.errors import Failure
from chat.ratelimit import moving_window
from models import MAX_INTEGER, User, UserSession, db, utcnow


def init_app(app) -> None:
    cfg = app.config
    shared, channel = app.extensions["redis"], cfg["SOCKETIO_CHANNEL"]
    # Failed sign-ins, per address and username (password guessing) and per address
    # (guessing across many names); new accounts per address. Counted in Redis only:
    # while it is down these answer 503 rather than count per process.
    for name, setting, key in (
        ("signin_limit", "SIGNIN_RATE_LIMIT", "sign-in"),
        ("signin_address_limit", "SIGNIN_ADDRESS_RATE_LIMIT", "sign-in-address"),
        ("register_limit", "REGISTER_RATE_LIMIT", "register"),
    ):
        app.extensions[name] = moving_window(cfg[setting], shared, channel, key, False)


# --- hashing off the event loop ------------------------------------------------------


def _in_thread(fn, *args):
    """``fn(*args)`` on the entry point's OS thread pool (inline when it gave none)."""
    run = current_app.config.get("RUN_IN_THREAD")
    return run(fn, *args) if run is not None else fn(*args)


def hash_password(password: str) -> str:
    return _in_thread(generate_password_hash, password, current_app.config["PASSWORD_HASH_METHOD"])


def _password_matches(password_hash: str, password: str) -> bool:
    return _in_thread(check_password_hash, password_hash, password)


def _dummy_hash() -> str:
    """A hash no password matches, made like real ones: checking a name that does not
    exist costs what checking one that does costs, so timing tells nothing."""
    extensions = current_app.extensions
    if "dummy_password_hash" not in extensions:
        extensions["dummy_password_hash"] = hash_password(secrets.token_hex(16))
    return extensions["dummy_password_hash"]


# --- registering and signing in ------------------------------------------------------

TOO_MANY_ACCOUNTS = Failure(
    "rate_limited", "too many new accounts from your address, try again later"
)
TOO_MANY_FAILURES = Failure("rate_limited", "too many failed sign-ins, try again in a few minutes")
WRONG = Failure("unauthorized", "wrong username or password")


def find_user(username: str) -> User | None:
    """The account (an ORM object, for sign-in) with this name in any letter case."""
    return db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def registration_allowed(address: str) -> bool:
    """Count one new account from ``address``; False when over the limit."""
    return not isinstance(current_app.extensions["register_limit"].hit(address), float)


def create_user(username: str, password: str) -> User | None:
    """A new account, committed; None when the name is taken (in any letter case)."""
    if find_user(username) is not None:
        return None
    user = User(username=username, password_hash=hash_password(password))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # registered by someone else in the meantime
        db.session.rollback()
        return None
    return user


def authenticate(username: str, password: str) -> User | None:
    """The user with these credentials, or None; one password hash either way."""
    user = find_user(username) if rules.is_username(username) else None
    matches = _password_matches(user.password_hash if user else _dummy_hash(), password)
    return user if user is not None and matches else None


def sign_in(username: object, password: object, address: str) -> User | Failure:
    """The user these credentials belong to, or why not (wrong, or too many failures).

    Only failures count, per address and username and per address: a right password
    from an address without failures always passes, wherever others guess from. Each
    count is one atomic step of the limiter, and the answer is decided after it, so a
    burst of parallel guesses gets at most the limit's worth of "wrong" answers; the rest
    (the right password among them) are told to wait.
    """
    if not isinstance(username, str) or not isinstance(password, str):
        return WRONG
    name = username.lower() if rules.is_username(username) else "-"
    ext = current_app.extensions
    per_name, per_address = ext["signin_limit"], ext["signin_address_limit"]

    def allowed() -> bool:
        return per_name.allows(name, address) and per_address.allows(address)

    if not allowed():
        return TOO_MANY_FAILURES
    user = authenticate(username, password)
    if user is None:
        over = isinstance(per_name.hit(name, address), float)
        over = isinstance(per_address.hit(address), float) or over
        return TOO_MANY_FAILURES if over else WRONG
    if not allowed():  # failures counted meanwhile reached the limit
        return TOO_MANY_FAILURES
    return user


# --- API tokens ----------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="api-token")


def issue_token(user: User) -> dict:
    """{token, expires_in} for ``user``."""
    token = _serializer().dumps({"uid": user.id, "tv": user.token_version})
    return {"token": token, "expires_in": current_app.config["TOKEN_MAX_AGE"]}


def token_claims(token: object) -> tuple[int, int] | None:
    """(user id, token version) of a token whose signature holds and that has not
    expired; no database read."""
    if not isinstance(token, str) or not token:
        return None
    try:
        data = _serializer().loads(token, max_age=current_app.config["TOKEN_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    uid, version = data.get("uid"), data.get("tv", 0)
    if type(uid) is not int or type(version) is not int or not 0 < uid <= MAX_INTEGER:
        return None
    return uid, version


def user_from_token(token: object) -> User | None:
    """The user of a valid, unexpired token issued since their last sign-out everywhere
    (tokens from before token versions count as version 0)."""
    claims = token_claims(token)
    if claims is None:
        return None
    uid, version = claims
    user = db.session.get(User, uid)
    return user if user is not None and user.token_version == version else None


# --- browser sessions ----------------------------------------------------------------


# How often a session's last use is written (a page load reads it; an hour's precision is
# plenty for an expiry counted in days), and how often a process sweeps expired rows.
SESSION_TOUCH = timedelta(hours=1)
SWEEP_EVERY = 3600.0


def live_session(session_id: object, user_id: object) -> UserSession | None:
    """The session row a cookie names, if it still exists, is this user's and was used
    within SESSION_MAX_AGE: one primary-key read, which also loads the user (and, once an
    hour, a write of its last use)."""
    if not isinstance(session_id, str) or not 0 < len(session_id) <= 64 or user_id is None:
        return None
    row = db.session.get(UserSession, session_id)
    if row is None or str(row.user_id) != str(user_id):
        return None
    now = utcnow()
    used = _aware(row.last_used_at or row.created_at)
    if used < session_cutoff(now):
        return None
    if now - used > SESSION_TOUCH:
        row.last_used_at = now
        db.session.commit()
    return row


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def session_cutoff(now: datetime | None = None) -> datetime:
    """Sessions last used before this have expired."""
    return (now or utcnow()) - timedelta(seconds=current_app.config["SESSION_MAX_AGE"])


def sweep_sessions() -> int:
    """Delete the session rows that expired (at most once per SWEEP_EVERY in a process;
    any number of processes may sweep at once). Returns how many went."""
    ext = current_app.extensions
    if time.monotonic() - ext.get("sessions_swept_at", -SWEEP_EVERY) < SWEEP_EVERY:
        return 0
    ext["sessions_swept_at"] = time.monotonic()
    used = func.coalesce(UserSession.last_used_at, UserSession.created_at)
    gone = db.session.execute(delete(UserSession).where(used < session_cutoff())).rowcount
    db.session.commit()
    return gone


def _signed_out(user_id: int, session_id: str | None) -> None:
    """The connections of one browser session (or, with None, of every session and token
    of the user) hear signed_out and are closed, on every process, after the commit."""
    outbox.control({"do": "sign_out", "user": user_id, "session": session_id})


def _delete_session(session_id: object) -> int | None:
    """Delete one session row (not committed); the user it belonged to, or None."""
    if not isinstance(session_id, str):
        return None
    user_id = db.session.execute(
        delete(UserSession).where(UserSession.id == session_id).returning(UserSession.user_id)
    ).scalar()
    if user_id is not None:
        _signed_out(user_id, session_id)
    return user_id


def open_session(user: User, previous: object = None) -> str:
    """A new browser session for ``user`` (committed), ending ``previous`` (the session
    this browser had before, if any); returns its id."""
    _delete_session(previous)
    row = UserSession(id=secrets.token_urlsafe(32), user_id=user.id)
    db.session.add(row)
    db.session.commit()
    sweep_sessions()
    return row.id


def close_session(session_id: object) -> None:
    """End one browser session (committed): the cookie that names it is worthless."""
    _delete_session(session_id)
    db.session.commit()


def end_every_session(user: User, new_password_hash: str | None = None) -> None:
    """End every session and API token of ``user`` (committed), optionally setting a new
    password hash in the same transaction."""
    values = {"token_version": User.token_version + 1}
    if new_password_hash is not None:
        values["password_hash"] = new_password_hash
    db.session.execute(update(User).where(User.id == user.id).values(**values))
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    _signed_out(user.id, None)
    db.session.commit()


def change_password(
    user: User, password: object, new_password: object, address: str
) -> Failure | None:
    """Check the current password, store the new one and end every session and token
    of the user (the caller may open a new session for the browser that asked)."""
    failure = rules.check_password(new_password, "new_password")
    if failure:
        return failure
    checked = sign_in(user.username, password, address)
    if isinstance(checked, Failure):
        return checked
    end_every_session(user, hash_password(new_password))
    return None
