"""Real server processes for tests: serve.py in a subprocess on a free port, each on a
database of its own."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.parse
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


def launch(
    argv: list[str], env: dict, log_path: Path, url: str, seconds: float = 20, what: str = "server"
) -> subprocess.Popen:
    """``argv`` run from the project's root, its output appended to ``log_path``, once
    ``url``'s /healthz answers; RuntimeError with the log's tail when it exits first or is
    not up within ``seconds`` (then it is stopped)."""
    port = urllib.parse.urlsplit(url).port
    # eventlet listens with SO_REUSEPORT: a leftover server on this port would silently
    # share it, and answer half of our requests.
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"something already listens on port {port}")
    with open(log_path, "ab") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"{what} did not start: {log_path.read_text(errors='replace')[-2000:]}")


def stop(process: subprocess.Popen | None) -> None:
    """SIGTERM, then SIGKILL after 10 s: a process started by ``launch``, stopped by PID."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
        self.process = launch([sys.executable, "serve.py"], self.env, self.log_path, self.url)
        return self

    def stop(self) -> None:
        stop(self.process)
