"""The run's private PostgreSQL database: created beside the local server's, migrated,
seeded with SQL (users sharing one precomputed password hash, histories and a hoarder's
rooms by ``generate_series``), and dropped at the end; tokens minted by the app itself."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

from processes import ROOT

PASSWORD = "bench password"
USER_PREFIX = "bench"
# The abuse scenario's user of many rooms, and its room of long messages.
ROOMS_USER, ROOMS_PREFIX, HISTORY_ROOM = "roomhoarder", "hoard-", "abuse-history"


class Database:
    """A private PostgreSQL database for this run, seeded with users and histories."""

    def __init__(self, admin_url: str) -> None:
        import psycopg2

        self.psycopg2 = psycopg2
        self.admin_url = admin_url
        self.name = f"chat_bench_{os.getpid()}"
        base = admin_url.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"
        self.created = False

    def connect(self, url: str | None = None):
        connection = self.psycopg2.connect(
            (url or self.url).replace("postgresql+psycopg2://", "postgresql://")
        )
        connection.autocommit = True
        return connection

    def create(self, secret_key: str) -> None:
        with contextlib.closing(self.connect(self.admin_url)) as admin, admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{self.name}"')
        self.created = True
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
            cwd=ROOT,
            # With a SECRET_KEY the app makes no instance/secret_key file.
            env={
                **os.environ,
                "DATABASE_URL": self.url,
                "ASYNC_MODE": "threading",
                "SECRET_KEY": secret_key,
            },
            check=True,
            capture_output=True,
        )

    def drop(self) -> None:
        if not self.created:
            return
        with contextlib.closing(self.connect(self.admin_url)) as admin, admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.created = False

    def version(self) -> str:
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            cur.execute("SHOW server_version")
            return cur.fetchone()[0]

    def seed_users(self, count: int) -> None:
        from werkzeug.security import generate_password_hash

        password_hash = generate_password_hash(PASSWORD, "scrypt")  # once, reused by all
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            cur.execute(
                "INSERT INTO users (username, password_hash, created_at) "
                "SELECT %s || lpad(g::text, 5, '0'), %s, now() "
                "FROM generate_series(0, %s - 1) AS g",
                (USER_PREFIX, password_hash, count),
            )

    def seed_room(self, name: str, messages: int) -> None:
        """A public room holding ``messages`` messages by 100 of the users, inserted with
        generate_series (not through the app)."""
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            room_id, first_user = _public_room(cur, name)
            cur.execute(
                "INSERT INTO messages (room_id, user_id, body, client_id, created_at, "
                "edited_at, deleted) "
                "SELECT %s, %s + g %% 100, 'history message ' || g, NULL, "
                "now() - make_interval(secs => (%s - g) / 1000.0), NULL, false "
                "FROM generate_series(1, %s) AS g",
                (room_id, first_user, messages, messages),
            )

    def seed_hoarder(self, username: str, rooms: int) -> None:
        """A user who is a member of ``rooms`` public rooms, each with a message from
        someone else that the user has not read."""
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            cur.execute(
                "INSERT INTO users (username, password_hash, created_at) "
                "VALUES (%s, 'x', now()) RETURNING id",
                (username,),
            )
            hoarder = cur.fetchone()[0]
            cur.execute("SELECT min(id) FROM users")
            someone = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO rooms (name, kind, created_at) "
                "SELECT %s || g, 'public', now() FROM generate_series(1, %s) AS g",
                (ROOMS_PREFIX, rooms),
            )
            cur.execute(
                "INSERT INTO memberships (room_id, user_id, joined_at) "
                "SELECT id, %s, now() FROM rooms WHERE name LIKE %s",
                (hoarder, ROOMS_PREFIX + "%"),
            )
            cur.execute(
                "INSERT INTO messages (room_id, user_id, body, created_at, deleted) "
                "SELECT id, %s, 'unread in ' || name, now(), false FROM rooms "
                "WHERE name LIKE %s",
                (someone, ROOMS_PREFIX + "%"),
            )

    def seed_long_messages(self, name: str, messages: int) -> None:
        """A public room of ``messages`` messages of 4,000 characters."""
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            room_id, someone = _public_room(cur, name)
            cur.execute(
                "INSERT INTO messages (room_id, user_id, body, created_at, deleted) "
                "SELECT %s, %s, repeat('x', 4000), now(), false FROM generate_series(1, %s)",
                (room_id, someone, messages),
            )

    def analyze(self) -> None:
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            cur.execute("ANALYZE users, rooms, memberships, messages")

    def forget_memberships(self, rooms: list[str]) -> None:
        """So that every mode's app joins these rooms as a first-time member."""
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            cur.execute(
                "DELETE FROM memberships WHERE room_id IN "
                "(SELECT id FROM rooms WHERE name = ANY(%s))",
                (rooms,),
            )

    def tokens(self, secret_key: str, special: tuple[str, ...] = ()) -> tuple[list, dict]:
        """API tokens for every bench user, and for the ``special`` users by name, minted
        by the app's own accounts.issue_token."""
        sys.path.insert(0, str(ROOT))
        from sqlalchemy import select

        from app import create_app
        from chat import accounts
        from models import User, db

        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": self.url, "SECRET_KEY": secret_key,
             "ASYNC_MODE": "threading", "RATE_LIMIT": "off"}
        )  # fmt: skip
        with app.app_context():
            users = db.session.scalars(
                select(User).where(User.username.like(f"{USER_PREFIX}%")).order_by(User.id)
            ).all()
            tokens = [accounts.issue_token(user)["token"] for user in users]
            named = db.session.scalars(select(User).where(User.username.in_(special))).all()
            by_name = {user.username: accounts.issue_token(user)["token"] for user in named}
            db.session.remove()
            db.engine.dispose()
        return tokens, by_name


def _public_room(cur, name: str) -> tuple[int, int]:
    """A new public room called ``name``: its id, and the first user's (who writes in it)."""
    cur.execute(
        "INSERT INTO rooms (name, kind, created_at) VALUES (%s, 'public', now()) RETURNING id",
        (name,),
    )
    room_id = cur.fetchone()[0]
    cur.execute("SELECT min(id) FROM users")
    return room_id, cur.fetchone()[0]
