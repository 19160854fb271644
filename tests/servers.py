"""Real server processes for tests: serve.py in a subprocess on a free port, each on a
database of its own."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from config import database_url

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def scratch_postgres(name: str, url: str | None = None):
    """An empty PostgreSQL database called ``name`` beside ``url``'s (TEST_DATABASE_URL's),
    dropped afterwards, so two runs (a developer's and CI's) never empty each other's
    tables; None without the right to create databases."""
    base = database_url(url or os.environ["TEST_DATABASE_URL"])
    server = create_engine(base, isolation_level="AUTOCOMMIT")

    def drop(connection) -> None:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    try:
        with server.connect() as connection:
            drop(connection)
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError:
        server.dispose()
        yield None
        return
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            drop(connection)
        server.dispose()


@contextlib.contextmanager
def own_database(tmp: Path, label: str, backend: str | None = None):
    """A fresh database for one server: a SQLite file in ``tmp``, or (``backend``
    postgresql; by default whenever TEST_DATABASE_URL is set) a PostgreSQL database of its
    own. Skips the test without the right to create one."""
    if backend is None:
        backend = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    if backend == "sqlite":
        yield f"sqlite:///{tmp}/chat.db"
        return
    with scratch_postgres(f"chat_{label}_{os.getpid()}") as url:
        if url is None:
            pytest.skip("no right to create a PostgreSQL database")
        yield url


class Server:
    """``python serve.py`` with its own environment; stopped by PID."""

    def __init__(self, database_url: str, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "browser-test",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "ASYNC_MODE": "eventlet",
            "RATE_LIMIT": "off",
            # Tests and benchmarks make many accounts from one address.
            "FLASK_REGISTER_RATE_LIMIT": "off",
            **env,
        }
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
            cwd=ROOT,
            env={**self.env, "ASYNC_MODE": "threading"},
            check=True,
            capture_output=True,
        )

    def start(self) -> Server:
        # eventlet listens with SO_REUSEPORT: a leftover server on this port would
        # silently share it, and answer half of our requests.
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"something already listens on port {self.port}")
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "serve.py"], cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()
