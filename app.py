"""The application factory: configuration, extensions, blueprints.

Serve it with ``python serve.py`` (which picks the async server first); ``flask --app app``
runs the CLI (``flask db upgrade``). No module imports this one.
"""

from __future__ import annotations

import logging
import os
import secrets

import redis
from flask import Flask, current_app, g, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix

import auth
import events
import views
from chat import HTTP_STATUS, Failure
from models import (
    EVENTS_BIND,
    configure_sqlite,
    database_unavailable,
    db,
    ping_idle_connections,
)

log = logging.getLogger(__name__)
migrate = Migrate(render_as_batch=True)
csrf = CSRFProtect()

# What an HTTP error Werkzeug raises (abort, 404, 405, CSRF, too large) is called: the
# first code of HTTP_STATUS with its status; any other 4xx is invalid_payload.
ERROR_CODES = {status: code for code, status in reversed(HTTP_STATUS.items())}

# No inline script or style, nothing from another origin; sockets to this origin only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def _origins(value: str | None) -> list[str] | str | None:
    """CORS_ALLOWED_ORIGINS: unset means same origin only (python-engineio's None)."""
    if not value or not value.strip():
        return None
    if value.strip() == "*":
        return "*"
    return [origin.strip() for origin in value.split(",") if origin.strip()]


def _database_url(url: str) -> str:
    """Plain postgresql:// URLs use psycopg2: SQLAlchemy 2.1 would pick psycopg 3, which
    eventlet cannot make cooperative."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg2{sep}{rest}"
    return url


def _pool_options(url: str, size: int) -> dict:
    """Enough pooled connections for the events in flight at once, so none is opened and
    closed per event; SQLite (a file) keeps SQLAlchemy's own pool."""
    if url.startswith("sqlite"):
        return {}
    return {"pool_size": size, "max_overflow": size}


def _flag(name: str, value: str | None) -> bool:
    """A yes/no setting: 1/true/yes/on or 0/false/no/off (unset or empty: off)."""
    text = (value or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name} must be 1/true/yes/on or 0/false/no/off, not {value!r}")


def _count(name: str, value: str | None, default: int = 0) -> int:
    """A non-negative whole-number setting (unset or empty: the default)."""
    if value is None or not value.strip():
        return default
    if not value.strip().isdigit():
        raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
    return int(value)


class JSONProvider(DefaultJSONProvider):
    """JSON nested too deeply to parse is bad JSON (400), not a crash (500)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError as error:
            raise ValueError("JSON nested too deeply") from error


def _instance_secret_key(app: Flask) -> str:
    """A random key made once and kept in instance/, so sessions survive restarts."""
    path = os.path.join(app.instance_path, "secret_key")
    try:
        with open(path) as f:
            key = f.read().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    log.warning(
        "SECRET_KEY is not set: made one in %s; processes serving one deployment "
        "together must be given the same SECRET_KEY",
        path,
    )
    return key


class ChatFlask(Flask):
    """Flask, except that the request context Flask-SocketIO pushes for each socket event
    after connect matches no URL: its path is the Socket.IO endpoint, which no route
    serves, so matching it (werkzeug's router, then a NotFound built and kept) was ~8 % of
    the server's CPU at 1,000 messages/s. Socket handlers use no url_for or endpoint."""

    def create_url_adapter(self, request):
        if request is not None and request.environ.get(auth.IDENTIFIED_SOCKET):
            return None
        return super().create_url_adapter(request)


def create_app(test_config: dict | None = None) -> Flask:
    app = ChatFlask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    env = os.environ.get
    app.config.from_mapping(
        SECRET_KEY=env("SECRET_KEY") or None,
        SQLALCHEMY_DATABASE_URI=env("DATABASE_URL")
        or "sqlite:///" + os.path.join(app.instance_path, "chat.db"),
        # No pre-ping (a round trip per event): ping_idle_connections checks only
        # connections that sat idle, which is what an outage leaves behind.
        SQLALCHEMY_ENGINE_OPTIONS={},
        DB_POOL_SIZE=int(env("DB_POOL_SIZE") or 20),
        MAX_PACKET_SIZE=64 * 1024,
        MAX_ROOMS_PER_CONNECTION=int(env("MAX_ROOMS_PER_CONNECTION") or 200),
        MAX_CONNECTIONS_PER_USER=int(env("MAX_CONNECTIONS_PER_USER") or 50),
        PING_INTERVAL=int(env("PING_INTERVAL") or 25),
        PING_TIMEOUT=int(env("PING_TIMEOUT") or 20),
        ASYNC_MODE=env("ASYNC_MODE") or "eventlet",
        REDIS_URL=env("REDIS_URL") or None,
        SOCKETIO_CHANNEL=env("SOCKETIO_CHANNEL") or "chat-on-flask",
        RATE_LIMIT=env("RATE_LIMIT") or "20/10seconds",
        CORS_ALLOWED_ORIGINS=_origins(env("CORS_ALLOWED_ORIGINS")),
        TOKEN_MAX_AGE=24 * 3600,
        # Failed sign-ins per address and username, and per address; accounts made per
        # address. "off" disables one.
        SIGNIN_RATE_LIMIT="10/5minutes",
        SIGNIN_ADDRESS_RATE_LIMIT="50/5minutes",
        REGISTER_RATE_LIMIT="20/hour",
        PASSWORD_HASH_METHOD="scrypt",
        # fn(callable, *args) running it on an OS thread; the serving entry point sets it
        # for its async server (unset: inline, right for threading and the CLI).
        RUN_IN_THREAD=None,
        # How many proxies in front set X-Forwarded-For (and -Proto): 0 trusts none.
        TRUSTED_PROXIES=_count("TRUSTED_PROXIES", env("TRUSTED_PROXIES")),
        SESSION_COOKIE_SECURE=_flag("SESSION_COOKIE_SECURE", env("SESSION_COOKIE_SECURE")),
        # Strict-Transport-Security max-age in seconds; 0 sends no header.
        HSTS_MAX_AGE=_count("HSTS_MAX_AGE", env("HSTS_MAX_AGE")),
        MAX_CONTENT_LENGTH=64 * 1024,
        SESSION_COOKIE_SAMESITE="Lax",
        # CSRF is checked by _check_csrf: a Bearer request carries no cookie to abuse.
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    app.config.from_prefixed_env()
    if test_config:
        app.config.from_mapping(test_config)
    url = app.config["SQLALCHEMY_DATABASE_URI"] = _database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    # Socket events run on their own pool of autocommit connections: a statement is one
    # round trip with its commit, and no connection changes its isolation level per event.
    app.config.setdefault(
        "SQLALCHEMY_BINDS",
        {
            EVENTS_BIND: {
                "url": url,
                "isolation_level": "AUTOCOMMIT",
                **_pool_options(url, app.config["DB_POOL_SIZE"]),
            }
        },
    )
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret_key(app)
    if app.config.get("PROPAGATE_EXCEPTIONS") is None and not app.testing:
        # FLASK_DEBUG=1 would otherwise let exceptions escape to the server, which shows
        # them to the client; failures are answered as internal_error instead.
        app.config["PROPAGATE_EXCEPTIONS"] = False
    app.json = JSONProvider(app)

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_sqlite(engine)
            ping_idle_connections(engine)
    migrate.init_app(app, db)
    csrf.init_app(app)
    auth.init_app(app)
    events.init_app(app)
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # Outside the Socket.IO middleware, so sockets see the client's address too.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.before_request(_check_csrf)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(redis.RedisError, _redis_error)
    return app


# Authenticated by the password in the body, not by a cookie.
CSRF_FREE_ENDPOINTS = {"auth.api_register", "auth.api_token"}


def _check_csrf() -> None:
    """Every write with the session cookie needs the CSRF token (a form field, or the
    X-CSRFToken header for the JSON API); a Bearer-authenticated API call does not."""
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
        return
    if request.endpoint in CSRF_FREE_ENDPOINTS:
        return
    if request.path.startswith("/api/") and (
        request.headers.get("Authorization", "").lower().startswith("bearer ")
        or current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
    ):
        return  # no cookie authenticates this call, so no other site can ride on one
    csrf.protect()


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if max_age := current_app.config["HSTS_MAX_AGE"]:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={max_age}")
    return response


def _error_response(failure: Failure, error: HTTPException):
    """JSON errors under /api/, an error page elsewhere."""
    if request.path.startswith("/api/"):
        return jsonify(error=failure.as_dict()), error.code
    try:
        return render_template("error.html", error=error), error.code
    except Exception:  # the page itself failed (its header reads the signed-in user)
        log.exception("error page for %s failed", error.code)
        return f"{error.code} {error.name}", error.code, {"Content-Type": "text/plain"}


def _http_error(error: HTTPException):
    code = ERROR_CODES.get(error.code, "invalid_payload" if error.code < 500 else "internal_error")
    return _error_response(Failure(code, error.description), error)


def _database_error(error: SQLAlchemyError):
    """An outage is 503 unavailable; any other database error is a bug: 500."""
    if database_unavailable(error):
        log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
        # The page's header must not ask the database who is signed in.
        g.setdefault("_login_user", auth.login_manager.anonymous_user())
        message = "the database is unavailable, try again"
        return _error_response(Failure("unavailable", message), ServiceUnavailable(message))
    log.exception("%s %s failed", request.method, request.path)
    db.session.rollback()
    message = "the server failed to handle this request"
    return _error_response(Failure("internal_error", message), InternalServerError(message))


def _redis_error(error: redis.RedisError):
    log.warning("message service unavailable on %s %s: %s", request.method, request.path, error)
    message = "the message service is unavailable, try again"
    return _error_response(Failure("unavailable", message), ServiceUnavailable(message))
