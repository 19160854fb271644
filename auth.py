"""Accounts: register, sign in and out (pages and JSON API), sessions, API tokens, socket
identity.

A browser's sign-in is a row in ``user_sessions`` whose id the session cookie carries:
signing out deletes the row, so a copy of the cookie kept from before is refused. API
tokens carry the user's ``token_version``; signing out everywhere or changing the password
raises it (ending every token) and deletes every session row of the user.

Password hashes (scrypt, ~100 ms of CPU) run through ``RUN_IN_THREAD``, which the serving
entry point sets to its async server's OS thread pool, so they never stall the event loop.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import NamedTuple

from blinker import Namespace
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, validate_csrf
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField, ValidationError
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

import chat
from models import MAX_INTEGER, User, UserSession, db

users_table, sessions_table = User.__table__, UserSession.__table__

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256  # a bound on hashing work, not a policy
SESSION_KEY = "session_id"  # in the Flask session: the id of this browser's UserSession
MAX_JSON_DEPTH = 8  # the API's bodies are flat objects
# Neither database stores NUL or a lone surrogate (valid in JSON strings and in Python).
UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to chat."

signals = Namespace()
sessions_ended = signals.signal("sessions-ended")
"""Sent after the commit that ends sign-ins, with the app as sender and keywords:

- ``user_id`` (int): whose sign-ins ended;
- ``session_id`` (str or None): the one browser session that signed out (the user's API
  tokens and other sessions keep working), or None when every session and every API token
  of the user ended (sign out everywhere, password change).

events.py listens to emit ``signed_out`` to the connections that identified with what
ended and disconnect them; a connection's ``session_id`` is the one ``socket_user`` gave.
"""


def init_app(app) -> None:
    login_manager.init_app(app)
    app.session_interface = SocketSessionInterface()
    cfg = app.config
    app.extensions["identity_cache"] = IdentityCache()
    storage, prefix = cfg["REDIS_URL"] or "memory://", cfg["SOCKETIO_CHANNEL"]
    # Failed sign-ins, per address and username (password guessing) and per address
    # (guessing across many names); new accounts per address.
    app.extensions["signin_limit"] = chat.RateLimit(
        cfg["SIGNIN_RATE_LIMIT"], storage, "sign-in", prefix
    )
    app.extensions["signin_address_limit"] = chat.RateLimit(
        cfg["SIGNIN_ADDRESS_RATE_LIMIT"], storage, "sign-in-address", prefix
    )
    app.extensions["register_limit"] = chat.RateLimit(
        cfg["REGISTER_RATE_LIMIT"], storage, "register", prefix
    )


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


# --- throttles -----------------------------------------------------------------------


def client_address() -> str:
    """The client's address; behind TRUSTED_PROXIES proxies, ProxyFix has set it from
    X-Forwarded-For."""
    return request.remote_addr or "unknown"


def _signin_keys(username: str) -> tuple[str, str]:
    name = username.lower() if chat.USERNAME_RE.fullmatch(username) else "-"
    return client_address(), name


def _signin_allowed(address: str, name: str) -> bool:
    ext = current_app.extensions
    return ext["signin_limit"].allows(address, name) and ext["signin_address_limit"].allows(address)


def _count_failure(address: str, name: str) -> bool:
    """Count a failed sign-in; False when it went over a limit (then it is not an answer)."""
    ext = current_app.extensions
    per_name = ext["signin_limit"].hit(address, name)
    per_address = ext["signin_address_limit"].hit(address)
    return per_name and per_address


def sign_in(username: object, password: object) -> User | chat.Failure:
    """The user these credentials belong to, or why not (wrong, or too many failures).

    Only failures count, per address and username and per address: a right password
    from an address without failures always passes, wherever others guess from. Each
    count is one atomic step of the limiter, and the answer is decided after it, so a
    burst of parallel guesses gets at most the limit's worth of "wrong" answers; the rest
    (the right password among them) are told to wait.
    """
    if not isinstance(username, str) or not isinstance(password, str):
        return chat.Failure("unauthorized", "wrong username or password")
    address, name = _signin_keys(username)
    too_many = chat.Failure("rate_limited", "too many failed sign-ins, try again in a few minutes")
    if not _signin_allowed(address, name):
        return too_many
    user = authenticate(username, password)
    if user is None:
        if not _count_failure(address, name):
            return too_many
        return chat.Failure("unauthorized", "wrong username or password")
    if not _signin_allowed(address, name):  # failures counted meanwhile reached the limit
        return too_many
    return user


def _registration_allowed() -> bool:
    return current_app.extensions["register_limit"].hit(client_address())


TOO_MANY_ACCOUNTS = chat.Failure(
    "rate_limited", "too many new accounts from your address, try again later"
)


# --- who is signed in ----------------------------------------------------------------


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith("/api/"):
        return json_error(chat.Failure("unauthorized", "sign in or send a Bearer token"))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def live_session(session_id: object, user_id: object) -> UserSession | None:
    """The session row this cookie names, if it still exists and is this user's: one
    primary-key read, which also loads the user."""
    if not isinstance(session_id, str) or not 0 < len(session_id) <= 64 or user_id is None:
        return None
    row = db.session.get(UserSession, session_id)
    return row if row is not None and str(row.user_id) == str(user_id) else None


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    row = live_session(session.get(SESSION_KEY), user_id)
    if row is None:
        return None
    row.user.session_id = row.id
    return row.user


def _bearer_token(req) -> str | None:
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


@login_manager.request_loader
def load_user_from_bearer(req) -> User | None:
    token = _bearer_token(req)
    return user_from_token(token) if token is not None else None


class SocketIdentity(NamedTuple):
    id: int
    username: str
    session_id: str | None  # the browser session; None for a token connection


# Set in a socket's WSGI environ once its connect found who it is.
IDENTIFIED_SOCKET = "chat.identified_socket"


class SocketSessionInterface(SecureCookieSessionInterface):
    """The cookie session, except for socket events after connect: Flask-SocketIO pushes
    a request context per event (which decodes and verifies the session cookie) and then
    swaps in its own copy of the session, so that decode was pure cost (~7% of the
    server's CPU at 1,000 messages/s). Events know their identity from presence."""

    def open_session(self, app, request):
        if request.environ.get(IDENTIFIED_SOCKET):
            return self.null_session_class()
        return super().open_session(app, request)


class IdentityCache:
    """Whose a token version or a browser session is, kept ``ttl`` seconds so that a
    socket connect usually costs no database read.

    Sign-outs forget the entries they end at once, in every process (events.py applies
    them through its control channel); the ttl bounds how long an entry could outlive a
    sign-out whose news was lost (Redis down).
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


def socket_user(auth: object) -> SocketIdentity | None:
    """The identity of a connecting socket: ``auth: {token}``, else the browser session,
    else a Bearer header. At most one primary-key read, none while the identity is in
    the cache."""
    if isinstance(auth, dict) and "token" in auth:
        return _token_identity(auth["token"])
    if SESSION_KEY in session:
        return _session_identity(session.get(SESSION_KEY), session.get("_user_id"))
    token = _bearer_token(request)
    return _token_identity(token) if token is not None else None


def _identities() -> IdentityCache:
    return current_app.extensions["identity_cache"]


# Socket connects read identities through Core on the event's connection (no ORM
# session to set up for one row).
_SESSION_USER = (
    select(users_table.c.id, users_table.c.username)
    .join_from(sessions_table, users_table, sessions_table.c.user_id == users_table.c.id)
    .where(sessions_table.c.id == bindparam("sid"))
)
_TOKEN_USER = select(users_table.c.username, users_table.c.token_version).where(
    users_table.c.id == bindparam("uid")
)


def _session_identity(session_id: object, user_id: object) -> SocketIdentity | None:
    if not isinstance(session_id, str) or not 0 < len(session_id) <= 64 or user_id is None:
        return None
    cached = _identities().get(("session", session_id))
    if cached is None:
        row = chat.db_connection().execute(_SESSION_USER, {"sid": session_id}).first()
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
        row = chat.db_connection().execute(_TOKEN_USER, {"uid": uid}).first()
        if row is None or row.token_version != version:
            return None
        cached = (uid, row.username)
        _identities().put(("token", *claims), *cached)
    return SocketIdentity(cached[0], cached[1], None)


# --- credentials and tokens ----------------------------------------------------------


def check_password_rules(password: object, field: str = "password") -> chat.Failure | None:
    if not isinstance(password, str) or not (
        MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
    ):
        return chat.invalid(
            f"{field} must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters"
        )
    return None


def check_credentials(username: object, password: object) -> chat.Failure | None:
    if not isinstance(username, str) or not chat.USERNAME_RE.fullmatch(username):
        return chat.invalid("username must be 3-32 letters, digits, '_', '.' or '-'")
    return check_password_rules(password)


def create_user(username: str, password: str) -> User | None:
    """A new account, committed; None when the name is taken (in any letter case)."""
    if chat.find_user(username) is not None:
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
    user = chat.find_user(username) if chat.USERNAME_RE.fullmatch(username) else None
    matches = _password_matches(user.password_hash if user else _dummy_hash(), password)
    return user if user is not None and matches else None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="api-token")


def issue_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "tv": user.token_version})


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


# --- sessions ------------------------------------------------------------------------


def _ended(user_id: int, session_id: str | None) -> None:
    sessions_ended.send(current_app._get_current_object(), user_id=user_id, session_id=session_id)


def _delete_session(session_id: object) -> int | None:
    """Delete one session row (not committed); the user it belonged to, or None."""
    if not isinstance(session_id, str):
        return None
    return db.session.execute(
        delete(UserSession).where(UserSession.id == session_id).returning(UserSession.user_id)
    ).scalar()


def start_session(user: User) -> None:
    """Sign this browser in as ``user`` with a new server-side session (committed). A
    session this browser had before ends."""
    previous = session.get(SESSION_KEY)
    previous_user = _delete_session(previous)
    row = UserSession(id=secrets.token_urlsafe(32), user_id=user.id)
    db.session.add(row)
    db.session.commit()
    if previous_user is not None:
        _ended(previous_user, previous)
    login_user(user)
    session[SESSION_KEY] = row.id
    user.session_id = row.id


def end_session() -> None:
    """Sign this browser out: its session row goes, so the cookie is worthless."""
    session_id = session.pop(SESSION_KEY, None)
    user_id = _delete_session(session_id)
    db.session.commit()
    if user_id is not None:
        _ended(user_id, session_id)
    logout_user()


def end_every_session(user: User, new_password_hash: str | None = None) -> None:
    """End every session and API token of ``user`` (committed), optionally setting a new
    password hash in the same transaction."""
    values = {"token_version": User.token_version + 1}
    if new_password_hash is not None:
        values["password_hash"] = new_password_hash
    db.session.execute(update(User).where(User.id == user.id).values(**values))
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    db.session.commit()
    _ended(user.id, None)


def change_password(
    user: User, password: object, new_password: object, *, keep_browser: bool
) -> chat.Failure | None:
    """Check the current password, store the new one and end every session and token
    of the user; with ``keep_browser``, this browser goes on in a new session."""
    failure = check_password_rules(new_password, "new_password")
    if failure:
        return failure
    checked = sign_in(user.username, password)
    if isinstance(checked, chat.Failure):
        return checked
    end_every_session(user, hash_password(new_password))
    if keep_browser:
        start_session(user)
    return None


# --- pages ---------------------------------------------------------------------------


class RegisterForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[
            DataRequired(),
            Regexp(chat.USERNAME_RE.pattern + "$", message="3-32 letters, digits, '_', '.' or '-'"),
        ],
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH)],
    )
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ.")]
    )


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class PasswordForm(FlaskForm):
    password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH)],
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("new_password", "Passwords differ.")],
    )


class SignOutEverywhereForm(FlaskForm):
    pass


# What a browser removes from a URL before reading it (WHATWG URL): every tab and newline,
# then C0 controls and spaces at either end. It also reads "\" as "/".
_URL_NOISE_RE = re.compile("[\t\n\r]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_CONTROL_RE = re.compile("[\x00-\x1f\x7f]")


def _safe_next(target: str | None) -> str:
    """A same-site path to go to after signing in, judged as the browser will read it
    ("/\\t/evil.example" is "//evil.example" to a browser: another site)."""
    if isinstance(target, str):
        path = _URL_NOISE_RE.sub("", target).strip(_C0_AND_SPACE).replace("\\", "/")
        if path.startswith("/") and not path.startswith("//") and not _CONTROL_RE.search(path):
            return path
    return url_for("views.index")


def _first_letter_up(failure: chat.Failure) -> str:
    return failure.message[0].upper() + failure.message[1:] + "."


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    status = 200
    if form.validate_on_submit():
        if not _registration_allowed():
            form.username.errors.append(_first_letter_up(TOO_MANY_ACCOUNTS))
            return render_template("register.html", form=form), 429
        user = create_user(form.username.data, form.password.data)
        if user is not None:
            start_session(user)
            return redirect(_safe_next(request.args.get("next")))
        form.username.errors.append("That username is taken.")
    if form.errors:
        status = 400
    return render_template("register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = sign_in(form.username.data, form.password.data)
        if not isinstance(user, chat.Failure):
            start_session(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_first_letter_up(user))
        status = 429 if user.code == "rate_limited" else 400
    elif form.errors:
        status = 400
    return render_template("login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    # CSRFProtect has checked the form's token before this runs.
    end_session()
    flash("Signed out.")
    return redirect(url_for("views.index"))


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    """The page's "sign out everywhere" button (a form with its CSRF token)."""
    end_every_session(current_user._get_current_object())
    logout_user()
    session.pop(SESSION_KEY, None)
    flash("Signed out everywhere: every session and API token of yours has ended.")
    return redirect(url_for("views.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        failure = change_password(
            current_user._get_current_object(),
            form.password.data,
            form.new_password.data,
            keep_browser=True,
        )
        if failure is None:
            flash("Password changed. Every other session and API token of yours has ended.")
            return redirect(url_for("views.index"))
        form.password.errors.append(_first_letter_up(failure))
        status = 429 if failure.code == "rate_limited" else 400
    elif form.errors:
        status = 400
    return render_template("password.html", form=form, everywhere=SignOutEverywhereForm()), status


# --- JSON API ------------------------------------------------------------------------


def json_error(failure: chat.Failure, status: int | None = None):
    return {"error": failure.as_dict()}, status or chat.HTTP_STATUS[failure.code]


def unstorable(value: object) -> str | None:
    """Why a parsed JSON value is refused before it reaches a query or a hash (nested
    too deep, NUL or a lone surrogate in a string), or None. Iterative: a deep value
    cannot exhaust the stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return "the JSON is nested too deeply"
        if isinstance(item, str):
            if UNSTORABLE_RE.search(item):
                return "strings must not contain NUL or lone surrogates"
        elif isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


def _json_body(shape: str) -> dict | chat.Failure:
    body = request.get_json(silent=True)  # malformed or too deep to parse: None
    if not isinstance(body, dict):
        return chat.invalid(f"send a JSON object {shape}")
    problem = unstorable(body)
    return chat.invalid(problem) if problem else body


def _require_csrf_header() -> None:
    """Cookie-authenticated writes need the CSRF token in a header (as the forms do)."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    names = current_app.config.get("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
    token = next((request.headers[name] for name in names if name in request.headers), None)
    try:
        validate_csrf(token)
    except ValidationError as error:
        raise CSRFError(error.args[0]) from error


def _api_caller() -> tuple[User | None, bool]:
    """(the caller, whether by session cookie): a Bearer token needs no CSRF token (no
    other site can set the header); the cookie needs ``X-CSRFToken``."""
    token = _bearer_token(request)
    if token is not None:
        return user_from_token(token), False
    if not current_user.is_authenticated:
        return None, False
    _require_csrf_header()
    return current_user._get_current_object(), True


@bp.post("/api/register")
def api_register():
    """{username, password} -> 201 {username}; 409 username_taken; 400 invalid_payload;
    429 after too many new accounts from one address."""
    body = _json_body("{username, password}")
    if isinstance(body, chat.Failure):
        return json_error(body)
    failure = check_credentials(body.get("username"), body.get("password"))
    if failure:
        return json_error(failure)
    if not _registration_allowed():
        return json_error(TOO_MANY_ACCOUNTS)
    user = create_user(body["username"], body["password"])
    if user is None:
        return json_error(chat.Failure("username_taken", "that username is taken"))
    return {"username": user.username}, 201


@bp.post("/api/token")
def api_token():
    """{username, password} -> 200 {token, expires_in}; 401 unauthorized; 429."""
    body = _json_body("{username, password}")
    if isinstance(body, chat.Failure):
        return json_error(body)
    user = sign_in(body.get("username"), body.get("password"))
    if isinstance(user, chat.Failure):
        return json_error(user)
    return {"token": issue_token(user), "expires_in": current_app.config["TOKEN_MAX_AGE"]}


@bp.post("/api/logout-everywhere")
def api_logout_everywhere():
    """-> 204: every session and API token of the caller ends (this one too)."""
    user, by_cookie = _api_caller()
    if user is None:
        return unauthorized()
    end_every_session(user)
    if by_cookie:
        logout_user()
        session.pop(SESSION_KEY, None)
    return "", 204


@bp.post("/api/password")
def api_password():
    """{password, new_password} -> 204: the password changes and every session and API
    token of the caller ends; a browser that asked goes on in a new session. 401 on a
    wrong password, 400 on a new password that breaks the rules."""
    user, by_cookie = _api_caller()
    if user is None:
        return unauthorized()
    body = _json_body("{password, new_password}")
    if isinstance(body, chat.Failure):
        return json_error(body)
    failure = change_password(
        user, body.get("password"), body.get("new_password"), keep_browser=by_cookie
    )
    return json_error(failure) if failure else ("", 204)
