"""Fixtures: an app per test on SQLite (and PostgreSQL when TEST_DATABASE_URL is set),
HTTP clients, and Socket.IO test clients that sign in the way real clients do."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time

import flask_migrate
import pytest
import redis
from sqlalchemy import text

from app import create_app
from events import socketio
from models import db
from tests.helpers import csrf_token
from tests.servers import free_port, scratch_postgres

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
PASSWORD = "correct horse battery"
TABLES = [
    "attachments",
    "reactions",
    "mentions",
    "messages",
    "room_audit",
    "bans",
    "memberships",
    "rooms",
    "user_sessions",
    "users",
]


def base_config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "ASYNC_MODE": "threading",
        # The production hash is scrypt; a cheap one keeps the suite fast.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "RATE_LIMIT": "off",
        # Tests list rooms far faster than a person (tests/test_room_lists.py turns it on).
        "ROOM_LIST_RATE_LIMIT": "off",
        # Tests sweep expired uploads themselves (no thread per app).
        "ATTACHMENT_SWEEP_SECONDS": 0,
    }


@contextlib.contextmanager
def private_postgres_database(url: str):
    """A fresh database beside TEST_DATABASE_URL's, dropped afterwards. Without the right
    to create databases, TEST_DATABASE_URL itself is used."""
    with scratch_postgres(f"chat_test_{os.getpid()}", url) as found:
        yield found or url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A database migrated to head once per backend; tests empty it after themselves."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('db')}/chat.db"
        else:
            url = stack.enter_context(private_postgres_database(os.environ["TEST_DATABASE_URL"]))
        _migrate_fresh(url)
        yield url


def _migrate_fresh(url: str) -> None:
    app = create_app(base_config(url))
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        flask_migrate.upgrade()
        db.engine.dispose()


@pytest.fixture
def app_settings() -> dict:
    """Configuration a module gives every app of its tests (a module may override it,
    parametrized: tests/test_attachments.py runs on each storage)."""
    return {}


@pytest.fixture
def app(request, database_url, tmp_path, app_settings):
    marker = request.node.get_closest_marker("app_config")
    files = {"ATTACHMENTS_FOLDER": str(tmp_path / "attachments")}
    config = {**base_config(database_url), **files, **app_settings}
    app = create_app({**config, **(marker.kwargs if marker else {})})
    yield app
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                db.session.execute(text(f"DELETE FROM {table}"))
        db.session.commit()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(autouse=True)
def protocol_checked(monkeypatch):
    """Every event and ack a Socket.IO test client receives matches its published schema."""
    from flask_socketio import SocketIOTestClient

    from conformance.kit import check_ack, check_event

    emit, get_received = SocketIOTestClient.emit, SocketIOTestClient.get_received

    def checked_emit(self, event, *args, **kwargs):
        result = emit(self, event, *args, **kwargs)
        if kwargs.get("callback"):
            check_ack(event, result)
        return result

    def checked_received(self, *args, **kwargs):
        received = get_received(self, *args, **kwargs)
        for packet in received:
            check_event(packet["name"], packet["args"])
        return received

    monkeypatch.setattr(SocketIOTestClient, "emit", checked_emit)
    monkeypatch.setattr(SocketIOTestClient, "get_received", checked_received)


@pytest.fixture
def client(app):
    return app.test_client()


class Auth:
    """Accounts through the public HTTP API, as another platform would make them."""

    def __init__(self, app, client):
        self.app = app
        self.client = client

    def register(self, username: str, password: str = PASSWORD):
        return self.client.post("/api/register", json={"username": username, "password": password})

    def token(self, username: str, password: str = PASSWORD) -> str:
        response = self.client.post("/api/token", json={"username": username, "password": password})
        assert response.status_code == 200, response.get_json()
        return response.get_json()["token"]

    def login(self, client, username: str, password: str = PASSWORD):
        """Sign a browser-like client in through the form (with its CSRF token)."""
        token = csrf_token(client, "/login")
        return client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )


@pytest.fixture
def auth(app, client):
    return Auth(app, client)


@pytest.fixture
def connect(app, auth):
    """connect("alice") -> a Socket.IO test client signed in as alice (registered first).

    Every client is disconnected at the end of the test.
    """
    clients = []

    def _connect(username: str, *, register: bool = True):
        if register:
            auth.register(username)
        sock = socketio.test_client(app, auth={"token": auth.token(username)})
        assert sock.is_connected()
        clients.append(sock)
        return sock

    yield _connect
    for sock in clients:
        if sock.is_connected():
            sock.disconnect()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A private redis-server on a free port (never the shared one)."""
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server")
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        cwd=tmp_path_factory.mktemp("redis"),
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


# --- browser tests: a real server per module, Chromium, people in their own contexts --


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """A real server for the module, with the module's ``SERVER_ENV`` if it has one."""
    from tests.browser import running_server

    name = request.module.__name__.rsplit(".", 1)[-1]
    env = getattr(request.module, "SERVER_ENV", {})
    with running_server(tmp_path_factory.mktemp(name), **env) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    from tests.browser import chromium

    with chromium() as browser:
        yield browser


@pytest.fixture
def people(browser, server):
    """people("alice") -> a Person with a fresh name in a browser context of their own."""
    from tests.browser import person, unique

    met = []

    def meet(name, **options):
        someone = person(browser, server, unique(name), **options)
        met.append(someone)
        return someone

    yield meet
    for someone in met:
        someone.close()
