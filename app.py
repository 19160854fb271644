"""The application factory: configuration, extensions, blueprints, errors.

Serve it with ``python serve.py`` (which picks the async server first); ``flask --app app``
runs the CLI (``flask db upgrade``). No module imports this one but the entry points.
"""

from __future__ import annotations

import logging
import os
import secrets
import time

import redis
from flask import Flask, current_app, g, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix

import api
import auth
import config
import events
import views
from chat import attachments, outbox, search, storage, summaries
from chat.errors import CODE_OF_STATUS, UNAVAILABLE_DB, UNAVAILABLE_QUEUE, Failure
from chat.identity import IDENTIFIED_SOCKET
from models import (
    EVENTS_BIND,
    configure_connections,
    database_unavailable,
    db,
    ping_idle_connections,
)

log = logging.getLogger(__name__)
migrate = Migrate(render_as_batch=True)
csrf = CSRFProtect()

# No inline script or style, nothing from another origin; sockets to this origin only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def content_security_policy(image_origin: str | None) -> str:
    """The pages' CSP; images may also come from the attachment store's origin (S3
    downloads redirect to presigned URLs there)."""
    if not image_origin:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace(
        "img-src 'self' data:;", f"img-src 'self' data: {image_origin};"
    )


class JSONProvider(DefaultJSONProvider):
    """JSON nested too deeply to parse is bad JSON (400), not a crash (500)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError as error:
            raise ValueError("JSON nested too deeply") from error


class ChatFlask(Flask):
    """Flask, except that the request context Flask-SocketIO pushes for each socket event
    after connect matches no URL: its path is the Socket.IO endpoint, which no route
    serves, so matching it (werkzeug's router, then a NotFound built and kept) was ~8 % of
    the server's CPU at 1,000 messages/s. Socket handlers use no url_for or endpoint."""

    def create_url_adapter(self, request):
        if request is not None and request.environ.get(IDENTIFIED_SOCKET):
            return None
        return super().create_url_adapter(request)


def create_app(test_config: dict | None = None) -> Flask:
    app = ChatFlask(__name__, instance_relative_config=True)
    _configure(app, test_config)
    _extensions(app)
    _blueprints(app)
    _errors(app)
    return app


def _configure(app: Flask, test_config: dict | None) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(config.from_environment(app.instance_path))
    app.config.from_prefixed_env()
    if test_config:
        app.config.from_mapping(test_config)
    url = app.config["SQLALCHEMY_DATABASE_URI"] = config.database_url(
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
                **config.pool_options(url, app.config["DB_POOL_SIZE"]),
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


def _extensions(app: Flask) -> None:
    redis_url = app.config["REDIS_URL"]
    app.extensions["redis"] = redis.Redis.from_url(redis_url) if redis_url else None
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_connections(engine)
            ping_idle_connections(engine)
    migrate.init_app(app, db)
    csrf.init_app(app)
    auth.init_app(app)
    summaries.init_app(app)
    events.init_app(app)
    search.init_app(app)
    storage.init_app(app)
    attachments.init_app(app)
    app.config["CONTENT_SECURITY_POLICY"] = content_security_policy(
        app.extensions["storage"].origin
    )
    app.wsgi_app = SlowRefusals(app.wsgi_app, app.config["REFUSAL_DELAY"])
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # Outside the Socket.IO middleware, so sockets see the client's address too.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)


class SlowRefusals:
    """WSGI middleware: a 429 (rate_limited) is answered ``delay`` seconds late. The
    request is over by then (its database connection back in the pool); only the answer
    waits, so a client that loops on refusals without honouring Retry-After is answered
    a few times a second per connection, however fast it asks. (Sockets: wire.refused,
    ws.slow_down.)"""

    def __init__(self, wsgi_app, delay: float) -> None:
        self.wsgi_app = wsgi_app
        self.delay = delay

    def __call__(self, environ, start_response):
        refused = False

        def respond(status, headers, exc_info=None):
            nonlocal refused
            refused = status.startswith("429")
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, respond)
        if refused and self.delay:
            time.sleep(self.delay)  # a green sleep under eventlet and gevent
        return body


def _blueprints(app: Flask) -> None:
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.before_request(_check_csrf)
    app.after_request(_security_headers)


def _errors(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(redis.RedisError, _redis_error)


def _check_csrf() -> None:
    """Every form post carries the CSRF token; the JSON API has its own rule (api.py)."""
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE") or request.blueprint == "api":
        return
    csrf.protect()


def _security_headers(response):
    response.headers.setdefault(
        "Content-Security-Policy", current_app.config["CONTENT_SECURITY_POLICY"]
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if max_age := current_app.config["HSTS_MAX_AGE"]:
        response.headers.setdefault("Strict-Transport-Security", f"max-age={max_age}")
    return response


def _error_response(failure: Failure, error: HTTPException):
    """JSON errors under /api/, an error page elsewhere. Nothing queued is sent."""
    outbox.drop()
    if request.path.startswith("/api/"):
        return jsonify(error=failure.as_dict()), error.code
    try:
        return render_template("error.html", error=error), error.code
    except Exception:  # the page itself failed (its header reads the signed-in user)
        log.exception("error page for %s failed", error.code)
        return f"{error.code} {error.name}", error.code, {"Content-Type": "text/plain"}


def _http_error(error: HTTPException):
    code = CODE_OF_STATUS.get(
        error.code, "invalid_payload" if error.code < 500 else "internal_error"
    )
    return _error_response(Failure(code, error.description), error)


def _database_error(error: SQLAlchemyError):
    """An outage is 503 unavailable; any other database error is a bug: 500."""
    if database_unavailable(error):
        log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
        # The page's header must not ask the database who is signed in.
        g.setdefault("_login_user", auth.login_manager.anonymous_user())
        return _error_response(UNAVAILABLE_DB, ServiceUnavailable(UNAVAILABLE_DB.message))
    log.exception("%s %s failed", request.method, request.path)
    db.session.rollback()
    message = "the server failed to handle this request"
    return _error_response(Failure("internal_error", message), InternalServerError(message))


def _redis_error(error: redis.RedisError):
    log.warning("message service unavailable on %s %s: %s", request.method, request.path, error)
    return _error_response(UNAVAILABLE_QUEUE, ServiceUnavailable(UNAVAILABLE_QUEUE.message))
