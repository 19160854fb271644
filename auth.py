"""Accounts: register, sign in and out (pages and JSON API), API tokens, socket identity.

Password hashes (scrypt, ~100 ms of CPU) run through ``RUN_IN_THREAD``, which the serving
entry point sets to its async server's OS thread pool, so they never stall the event loop.
"""

from __future__ import annotations

import re
import secrets

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

import chat
from models import User, db

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256  # a bound on hashing work, not a policy
MAX_JSON_DEPTH = 8  # the API's bodies are flat objects
# Neither database stores NUL or a lone surrogate (valid in JSON strings and in Python).
UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to chat."


def init_app(app) -> None:
    login_manager.init_app(app)
    cfg = app.config
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


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


@login_manager.request_loader
def load_user_from_bearer(req) -> User | None:
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    return user_from_token(token.strip()) if scheme.lower() == "bearer" else None


# --- credentials and tokens ----------------------------------------------------------


def check_credentials(username: object, password: object) -> chat.Failure | None:
    if not isinstance(username, str) or not chat.USERNAME_RE.fullmatch(username):
        return chat.invalid("username must be 3-32 letters, digits, '_', '.' or '-'")
    if not isinstance(password, str) or not (
        MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
    ):
        return chat.invalid(
            f"password must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters"
        )
    return None


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
    return _serializer().dumps({"uid": user.id})


def user_from_token(token: object) -> User | None:
    if not isinstance(token, str) or not token:
        return None
    try:
        data = _serializer().loads(token, max_age=current_app.config["TOKEN_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        return None
    uid = data.get("uid") if isinstance(data, dict) else None
    return db.session.get(User, uid) if isinstance(uid, int) else None


def socket_user(auth: object) -> User | None:
    """The identity of a connecting socket: ``auth: {token}``, else the session or Bearer."""
    if isinstance(auth, dict) and "token" in auth:
        return user_from_token(auth["token"])
    return current_user if current_user.is_authenticated else None


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


def _safe_next(target: str | None) -> str:
    # Only same-site paths: "//evil.example" and absolute URLs are open redirects.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
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
            login_user(user)
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
            login_user(user)
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
    logout_user()
    flash("Signed out.")
    return redirect(url_for("views.index"))


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
