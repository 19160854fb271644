"""The database connection of a socket event or request, and statements built once.

Domain functions run per message, so they speak SQL through SQLAlchemy Core on one
autocommit connection per event (``connection()``): a statement is one round trip with its
commit, nothing is loaded into ORM objects, and what the caller already knows (user id,
username, room id) is never read again.
"""

from __future__ import annotations

import re

from flask import g
from sqlalchemy import Connection, bindparam, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from models import (
    EVENTS_BIND,
    Attachment,
    AuditEntry,
    Ban,
    Membership,
    Mention,
    Message,
    Reaction,
    Room,
    User,
    UserSession,
    db,
)

users, sessions, rooms, memberships, messages, mentions, reactions, attachments = (
    User.__table__,
    UserSession.__table__,
    Room.__table__,
    Membership.__table__,
    Message.__table__,
    Mention.__table__,
    Reaction.__table__,
    Attachment.__table__,
)
bans, audit = Ban.__table__, AuditEntry.__table__

P = bindparam  # statements take their values as named parameters


def connection() -> Connection:
    """The autocommit connection of this event or request, opened on first use and
    returned to the pool when its app context ends (``close``)."""
    found = g.get("_chat_connection")
    if found is None:
        found = g._chat_connection = db.engines[EVENTS_BIND].connect()
    return found


def close(_exc=None) -> None:
    found = g.pop("_chat_connection", None)
    if found is not None:
        found.close()


def check_writable(wait_ms: int = 1000) -> None:
    """Raise unless the database takes a write now, as a message needs: on SQLite the
    write lock within ``wait_ms`` (a file another process holds locked reads fine and
    writes nothing), on PostgreSQL a write statement (a read-only server or transaction
    refuses it). Nothing is written; the transaction is rolled back."""
    found = connection()
    if dialect() == "sqlite":
        busy = found.exec_driver_sql("PRAGMA busy_timeout").scalar()
        found.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_ms)}")
        try:
            found.exec_driver_sql("BEGIN IMMEDIATE")
            found.exec_driver_sql("ROLLBACK")
        finally:
            found.exec_driver_sql(f"PRAGMA busy_timeout = {int(busy)}")
        return
    found.exec_driver_sql("BEGIN")
    try:
        found.exec_driver_sql(f"SET LOCAL lock_timeout = {int(wait_ms)}")
        found.exec_driver_sql("UPDATE rooms SET kind = kind WHERE id = -1")
    finally:
        found.exec_driver_sql("ROLLBACK")


def dialect() -> str:
    return connection().dialect.name


def run(statement, **params):
    """Execute a statement built once at import (building one per call costs more than
    running it: ~600 us against ~250 us for a history page on PostgreSQL); a dict holds
    one statement per dialect, a ``Prepared`` one PostgreSQL plans once per connection."""
    if isinstance(statement, dict):
        statement = statement[dialect()]
    if isinstance(statement, Prepared):
        return statement.run(connection(), params)
    return connection().execute(statement, params)


_NO_SUCH_STATEMENT = "26000"  # invalid_sql_statement_name
_ALREADY_PREPARED = "42P05"  # duplicate_prepared_statement


def _code(error: DBAPIError) -> str | None:
    return getattr(error.orig, "pgcode", None)


def _prepare(conn: Connection, prepare: str) -> None:
    try:
        conn.exec_driver_sql(prepare)
    except DBAPIError as error:
        # A pooler between may hand over a server connection that holds it already.
        if _code(error) != _ALREADY_PREPARED:
            raise


class Prepared:
    """A statement of a per-event path that PostgreSQL parses and plans once per pooled
    connection (``PREPARE``), then only runs (``EXECUTE``): a join's three statements took
    ~0.35 ms each from the socket, of which ~0.19 ms went to parsing and planning them
    again. Elsewhere (SQLite, whose driver keeps its statements compiled already) the
    statement runs as it is. Only statements built once at import: each is one named
    statement on each connection for as long as the connection lives.
    """

    named: dict[str, Prepared] = {}  # every one, by its name on the server
    _PARAM = re.compile(r"%\(([^)]+)\)s")

    def __init__(self, statement) -> None:  # a statement, or one per dialect
        self.statement = statement
        self.name = f"chat_{len(Prepared.named) + 1}"
        Prepared.named[self.name] = self
        self.text = None  # the SQL PostgreSQL prepared, once it did
        self._compiled = None  # (compiled, PREPARE text, EXECUTE text, parameter names)

    def run(self, conn: Connection, params: dict):
        if conn.dialect.name != "postgresql":
            return conn.execute(self._of("sqlite"), params)
        if self._compiled is None:
            self._compiled = self._compile(conn)
        compiled, prepare, execute, names = self._compiled
        values = compiled.construct_params(params)
        arguments = tuple(values[name] for name in names)
        # What this connection has prepared (the dict lives and dies with the DBAPI
        # connection: a replaced one starts empty).
        prepared = conn.connection.info.setdefault("chat_prepared", set())
        if self.name not in prepared:
            _prepare(conn, prepare)
            prepared.add(self.name)
        try:
            return conn.exec_driver_sql(execute, arguments)
        except DBAPIError as error:
            # Gone from the server's session (DISCARD ALL, a restarted pooler's server
            # connection): prepared there, then run once more.
            if _code(error) != _NO_SUCH_STATEMENT:
                raise
            prepared.clear()
            _prepare(conn, prepare)
            prepared.add(self.name)
            return conn.exec_driver_sql(execute, arguments)

    def _of(self, dialect: str):
        return self.statement[dialect] if isinstance(self.statement, dict) else self.statement

    def _compile(self, conn: Connection):
        dialect = conn.dialect
        compiled = self._of("postgresql").compile(dialect=dialect)
        # An expanding IN, or a value its type converts before it is sent: not as it is.
        converted = any(
            bind.type.dialect_impl(dialect).bind_processor(dialect) is not None
            for bind in compiled.binds.values()
        )
        if "POSTCOMPILE" in compiled.string or converted:
            raise TypeError(f"{self.name}: a statement PostgreSQL cannot take as it is")
        names: list[str] = []

        def positional(match) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        # Sent with no parameters, which psycopg2 still formats: "%%" stays a literal %.
        body = self._PARAM.sub(positional, compiled.string)
        arguments = ", ".join(["%s"] * len(names))
        execute = f"EXECUTE {self.name}({arguments})" if names else f"EXECUTE {self.name}"
        self.text = body
        return compiled, f"PREPARE {self.name} AS {body}", execute, names


def per_dialect(build) -> dict:
    """One statement per dialect, for INSERT ... ON CONFLICT."""
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}


def in_room(room_id):
    """room_id = :room, said as a range and ordered by (room_id, id), so PostgreSQL walks
    ix_messages_room_history: told room_id = x, it may walk the primary key backwards
    instead, filtering, when x holds most of the table (it assumes the room's messages are
    spread evenly) — for the newest page of a room of a million messages written before
    the others' that read every newer message of every other room (1.4 ms, not 0.07)."""
    return messages.c.room_id >= room_id, messages.c.room_id <= room_id


NEWEST_FIRST = (messages.c.room_id.desc(), messages.c.id.desc())

# What a Message is made of, from the messages table alone (a plain index walk that
# PostgreSQL plans in ~0.08 ms; with the author and a reply's original joined in it took
# ~0.36 ms to plan, on every page): the authors' names come from a process cache
# (``rooms.usernames``), and a page's reply originals, reactions and attachments are read
# only when it has any (``reacted``: whether the message has reactions, one probe of their
# index; ``attachment_count`` is on the row).
MESSAGE_COLUMNS = (
    messages.c.id,
    messages.c.user_id,
    messages.c.body,
    messages.c.client_id,
    messages.c.created_at,
    messages.c.edited_at,
    messages.c.deleted,
    messages.c.mention_names,
    messages.c.reply_to_id,
    messages.c.attachment_count,
    exists().where(reactions.c.message_id == messages.c.id).label("reacted"),
)


def messages_query():
    return select(*MESSAGE_COLUMNS)
