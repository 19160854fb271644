"""Accounts: register, sign in and out (pages and JSON API), API tokens, socket identity."""

from __future__ import annotations

import re

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
    # Failed sign-ins per address and username: slows down password guessing.
    cfg = app.config
    app.extensions["signin_limit"] = chat.RateLimit(
        cfg["SIGNIN_RATE_LIMIT"],
        cfg["REDIS_URL"] or "memory://",
        "sign-in",
        cfg["SOCKETIO_CHANNEL"],
    )


def _signin_key(username: str) -> tuple[str, str]:
    return request.remote_addr or "unknown", username.lower()


def sign_in(username: object, password: object) -> User | chat.Failure:
    """The user these credentials belong to, or why not (wrong, or too many failures)."""
    if not isinstance(username, str) or not isinstance(password, str):
        return chat.Failure("unauthorized", "wrong username or password")
    limit = current_app.extensions["signin_limit"]
    key = _signin_key(username)
    if not limit.allows(*key):
        return chat.Failure("rate_limited", "too many failed sign-ins, try again in a few minutes")
    user = authenticate(username, password)
    if user is None:
        limit.hit(*key)
        return chat.Failure("unauthorized", "wrong username or password")
    return user


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
    method = current_app.config["PASSWORD_HASH_METHOD"]
    user = User(username=username, password_hash=generate_password_hash(password, method))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # registered by someone else in the meantime
        db.session.rollback()
        return None
    return user


def authenticate(username: str, password: str) -> User | None:
    # A name that cannot exist is not looked up (NUL in a query is an error on PostgreSQL).
    user = chat.find_user(username) if chat.USERNAME_RE.fullmatch(username) else None
    if user is None or not check_password_hash(user.password_hash, password):
        return None
    return user


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


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        user = create_user(form.username.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.username.errors.append("That username is taken.")
    status = 400 if form.errors else 200
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
        form.password.errors.append(user.message[0].upper() + user.message[1:] + ".")
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
    """{username, password} -> 201 {username}; 409 username_taken; 400 invalid_payload."""
    body = _json_body("{username, password}")
    if isinstance(body, chat.Failure):
        return json_error(body)
    failure = check_credentials(body.get("username"), body.get("password"))
    if failure:
        return json_error(failure)
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
