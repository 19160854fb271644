"""Account pages (register, sign in and out, password) and who a request is: the
session cookie (Flask-Login) or a Bearer token.

The work is in ``chat.accounts``; these views put its answers into forms and the cookie.
"""

from __future__ import annotations

import re

from flask import (
    Blueprint,
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
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from chat import accounts, rules
from chat.errors import Failure
from chat.identity import IDENTIFIED_SOCKET, SESSION_KEY, IdentityCache, bearer_token
from models import User

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to chat."


def init_app(app) -> None:
    login_manager.init_app(app)
    app.session_interface = SocketSessionInterface()
    app.extensions["identity_cache"] = IdentityCache()
    accounts.init_app(app)


def client_address() -> str:
    """The client's address; behind TRUSTED_PROXIES proxies, ProxyFix has set it from
    X-Forwarded-For."""
    return request.remote_addr or "unknown"


# --- who is signed in ----------------------------------------------------------------


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith("/api/"):
        failure = Failure("unauthorized", "sign in or send a Bearer token")
        return {"error": failure.as_dict()}, 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    row = accounts.live_session(session.get(SESSION_KEY), user_id)
    if row is None:
        return None
    row.user.session_id = row.id
    return row.user


@login_manager.request_loader
def load_user_from_bearer(req) -> User | None:
    token = bearer_token(req)
    return accounts.user_from_token(token) if token is not None else None


class SocketSessionInterface(SecureCookieSessionInterface):
    """The cookie session, except for socket events after connect: Flask-SocketIO pushes
    a request context per event (which decodes and verifies the session cookie) and then
    swaps in its own copy of the session, so that decode was pure cost (~7% of the
    server's CPU at 1,000 messages/s). Events know their identity from presence."""

    def open_session(self, app, request):
        if request.environ.get(IDENTIFIED_SOCKET):
            return self.null_session_class()
        return super().open_session(app, request)


def start_session(user: User) -> None:
    """Sign this browser in as ``user`` with a new server-side session; a session this
    browser had before ends."""
    session_id = accounts.open_session(user, session.get(SESSION_KEY))
    login_user(user)
    session[SESSION_KEY] = user.session_id = session_id


def end_session() -> None:
    """Sign this browser out: its session row goes, so the cookie is worthless."""
    accounts.close_session(session.pop(SESSION_KEY, None))
    logout_user()


def forget_browser() -> None:
    """This browser's sign-in ended elsewhere (sign out everywhere): drop the cookie's."""
    logout_user()
    session.pop(SESSION_KEY, None)


# --- pages ---------------------------------------------------------------------------


class RegisterForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[
            DataRequired(),
            Regexp(f"^{rules.USERNAME_PATTERN}$", message=rules.USERNAME_RULE),
        ],
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(rules.MIN_PASSWORD_LENGTH, rules.MAX_PASSWORD_LENGTH),
        ],
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
        validators=[
            DataRequired(),
            Length(rules.MIN_PASSWORD_LENGTH, rules.MAX_PASSWORD_LENGTH),
        ],
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


def _sentence(failure: Failure) -> str:
    return failure.message[0].upper() + failure.message[1:] + "."


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    status = 200
    if form.validate_on_submit():
        if not accounts.registration_allowed(client_address()):
            form.username.errors.append(_sentence(accounts.TOO_MANY_ACCOUNTS))
            return render_template("register.html", form=form), 429
        user = accounts.create_user(form.username.data, form.password.data)
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
        user = accounts.sign_in(form.username.data, form.password.data, client_address())
        if not isinstance(user, Failure):
            start_session(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_sentence(user))
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
    accounts.end_every_session(current_user._get_current_object())
    forget_browser()
    flash("Signed out everywhere: every session and API token of yours has ended.")
    return redirect(url_for("views.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        failure = accounts.change_password(
            user, form.password.data, form.new_password.data, client_address()
        )
        if failure is None:
            start_session(user)  # this browser goes on, in a new session
            flash("Password changed. Every other session and API token of yours has ended.")
            return redirect(url_for("views.index"))
        form.password.errors.append(_sentence(failure))
        status = 429 if failure.code == "rate_limited" else 400
    elif form.errors:
        status = 400
    return render_template("password.html", form=form, everywhere=SignOutEverywhereForm()), status
