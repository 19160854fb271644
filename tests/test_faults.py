"""The database goes away under live connections: events answer ``unavailable``, change
nothing, and work again once it is back. Uses a private PostgreSQL on a free port, never
the shared one."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

import flask_migrate
import pytest

from app import create_app
from events import socketio
from tests.conftest import base_config
from tests.helpers import events, join, send
from tests.servers import free_port

BINDIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _has_postgres_user() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    not BINDIRS or not shutil.which("runuser") or not _has_postgres_user(),
    reason="needs PostgreSQL server binaries and a postgres user",
)


class PrivatePostgres:
    def __init__(self) -> None:
        self.bindir = BINDIRS[-1]
        # pytest's tmp dirs are private to root; the postgres user needs its own.
        self.root = tempfile.mkdtemp(prefix="chat-test-pg-")
        shutil.chown(self.root, "postgres")
        self.data = os.path.join(self.root, "data")
        self.port = free_port()
        self.url = f"postgresql://root@127.0.0.1:{self.port}/postgres"
        self._as_postgres("initdb", "-D", self.data, "-U", "root", "-A", "trust")

    def _as_postgres(self, tool: str, *args: str) -> None:
        # PostgreSQL refuses to run as root; the Debian package brings a postgres user.
        # No pipes: the server would inherit them and keep run() waiting forever.
        subprocess.run(
            ["runuser", "-u", "postgres", "--", os.path.join(self.bindir, tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}"
        log = os.path.join(self.root, "server.log")
        self._as_postgres("pg_ctl", "-D", self.data, "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")


@pytest.fixture(scope="module")
def postgres():
    server = PrivatePostgres()
    server.start()
    yield server
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def fault_app(postgres):
    app = create_app(base_config(postgres.url))
    with app.app_context():
        flask_migrate.upgrade()
    return app


def _connect(app, username):
    client = app.test_client()
    client.post("/api/register", json={"username": username, "password": "long enough"})
    token = client.post(
        "/api/token", json={"username": username, "password": "long enough"}
    ).get_json()["token"]
    sock = socketio.test_client(app, auth={"token": token})
    assert sock.is_connected()
    return sock


def test_events_answer_unavailable_while_the_database_is_down(fault_app, postgres):
    alice, bob = _connect(fault_app, "alice"), _connect(fault_app, "bob")
    join(alice, "r")
    join(bob, "r")
    first = send(alice, "r", "before the outage", client_id="c1")
    events(alice)
    events(bob)

    postgres.stop()
    try:
        ack = send(alice, "r", "during the outage", client_id="c2")
        assert ack["ok"] is False and ack["error"]["code"] == "unavailable"
        ack = alice.emit("joined_room", {"room": "other"}, callback=True)
        assert ack["error"]["code"] == "unavailable"
        alice.emit("load_history", {"room": "r"})  # no ack: chat_error instead
        assert events(alice) == [
            (
                "chat_error",
                {
                    "event": "load_history",
                    "code": "unavailable",
                    "message": "the database is unavailable, try again",
                },
            )
        ]
        assert events(bob) == []
        # Events that need no database keep working.
        assert alice.emit("typing_status", {"room": "r", "typing": True}, callback=True)["ok"]
        assert fault_app.test_client().get("/healthz").status_code == 503
    finally:
        postgres.start()

    assert alice.is_connected() and bob.is_connected()
    retry = send(alice, "r", "during the outage", client_id="c2")
    assert retry["ok"] is True and retry["id"] > first["id"]
    assert [m["message"] for m in events(bob, "recieve_message")] == ["during the outage"]
    assert fault_app.test_client().get("/healthz").status_code == 200
    page = bob.emit("load_history", {"room": "r"}, callback=True)
    assert [m["message"] for m in page["messages"]] == ["before the outage", "during the outage"]
    alice.disconnect()
    bob.disconnect()
