"""The application factory: configuration, extensions, blueprints.

Serve it with ``python serve.py`` (which picks the async server first); ``flask --app app``
runs the CLI (``flask db upgrade``). No module imports this one.
"""

from __future__ import annotations

import logging
import os
import secrets

from flask import Flask, jsonify, render_template, request
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

import auth
import events
import views
from models import EVENTS_BIND, db, use_wal_on_sqlite

log = logging.getLogger(__name__)
migrate = Migrate(render_as_batch=True)
csrf = CSRFProtect()

ERROR_CODES = {
    400: "invalid_payload",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid_payload",
    409: "username_taken",
    413: "invalid_payload",
    429: "rate_limited",
    503: "unavailable",
}

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


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    env = os.environ.get
    app.config.from_mapping(
        SECRET_KEY=env("SECRET_KEY") or None,
        SQLALCHEMY_DATABASE_URI=env("DATABASE_URL")
        or "sqlite:///" + os.path.join(app.instance_path, "chat.db"),
        # No pre-ping: it costs a round trip per event. A connection that broke is
        # detected when used; that event answers unavailable and the pool is refreshed.
        SQLALCHEMY_ENGINE_OPTIONS={},
        DB_POOL_SIZE=int(env("DB_POOL_SIZE") or 20),
        MAX_PACKET_SIZE=64 * 1024,
        PING_INTERVAL=int(env("PING_INTERVAL") or 25),
        PING_TIMEOUT=int(env("PING_TIMEOUT") or 20),
        ASYNC_MODE=env("ASYNC_MODE") or "eventlet",
        REDIS_URL=env("REDIS_URL") or None,
        SOCKETIO_CHANNEL=env("SOCKETIO_CHANNEL") or "chat-on-flask",
        RATE_LIMIT=env("RATE_LIMIT") or "20/10seconds",
        CORS_ALLOWED_ORIGINS=_origins(env("CORS_ALLOWED_ORIGINS")),
        TOKEN_MAX_AGE=24 * 3600,
        SIGNIN_RATE_LIMIT="10/5minutes",
        PASSWORD_HASH_METHOD="scrypt",
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

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            use_wal_on_sqlite(engine)
    migrate.init_app(app, db)
    csrf.init_app(app)
    auth.init_app(app)
    events.init_app(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.before_request(_check_csrf)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
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
    if request.path.startswith("/api/") and request.headers.get(
        "Authorization", ""
    ).lower().startswith("bearer "):
        return
    csrf.protect()


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _http_error(error: HTTPException):
    """JSON errors under /api/, an error page elsewhere."""
    code = ERROR_CODES.get(error.code, "invalid_payload" if error.code < 500 else "unavailable")
    if request.path.startswith("/api/"):
        return jsonify(error={"code": code, "message": error.description}), error.code
    return render_template("error.html", error=error), error.code
