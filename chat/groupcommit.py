"""Messages sent at the same moment share one INSERT and one commit.

A commit costs one WAL flush (~3 ms on this machine's disk), which would otherwise cap a
process at ~300 messages/s. No background task: the first sender to arrive commits, and
whoever arrives while that commit is in flight waits and goes into the next batch, which
the first waiter then commits. Idle, a message is one INSERT of one row, committed at once.

The INSERT stores a row only while its author is a member of its room: a connection may
still have a room open for a moment after a kick or a ban on another process (until the
``drop_room`` control action reaches it), and the database, not that cache, has the last
word. That check is part of the one statement (a probe of the memberships key per row).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from chat import sql
from chat.searchtext import document
from chat.sql import P, messages
from models import utcnow

_BY_CLIENT_ID = select(messages.c.id, messages.c.created_at).where(
    messages.c.room_id == P("room_id"),
    messages.c.user_id == P("user_id"),
    messages.c.client_id == P("client_id"),
)


def find_by_client_id(room_id: int, user_id: int, client_id: str) -> tuple[int, datetime] | None:
    row = sql.run(_BY_CLIENT_ID, room_id=room_id, user_id=user_id, client_id=client_id).first()
    return (row.id, row.created_at) if row else None


def store(
    room_id: int,
    user_id: int,
    body: str,
    client_id: str | None,
    *,
    mention_names: str | None = None,
    reply_to_id: int | None = None,
) -> tuple[int, datetime, bool]:
    """Store a message through this app's group commit: (id, created_at, created); id is
    None when the author is not a member of the room (any more): nothing was stored."""
    writer = current_app.extensions.get("group_commit")
    if writer is None:
        writer = current_app.extensions["group_commit"] = GroupCommit()
    return writer.submit(
        NewMessage(room_id, user_id, body, client_id, utcnow(), mention_names, reply_to_id)
    )


@dataclass(eq=False)
class NewMessage:
    room_id: int
    user_id: int
    body: str
    client_id: str | None
    created_at: datetime
    mention_names: str | None = None
    reply_to_id: int | None = None
    attachment_count: int | None = None
    # Filled in by the commit that stores it:
    id: int | None = None
    created: bool = False
    refused: bool = False  # the author is no member of the room: not stored
    error: BaseException | None = None
    lead: bool = False  # woken to commit the next batch rather than with an outcome
    search_text: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.done = threading.Event()  # green under eventlet/gevent (monkey-patched)
        # By the sender, before it queues: the batch's leader only writes it.
        self.search_text = document(self.body)

    @property
    def key(self) -> tuple | None:
        return (self.room_id, self.user_id, self.client_id) if self.client_id else None


class GroupCommit:
    """Stores messages through one multi-row INSERT per batch (see the module's text)."""

    def __init__(self, max_batch: int = 256) -> None:
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[NewMessage] = []
        self._leading = False

    def submit(self, item: NewMessage) -> tuple[int, datetime, bool]:
        """Store ``item``; returns (id, created_at, created). The same client_id from the
        same user in the same room is stored once: the first message's id and time come
        back with created=False. A message whose author is not a member of its room is
        not stored: (None, created_at, False)."""
        with self._lock:
            self._queue.append(item)
            lead = not self._leading
            self._leading = True
        if not lead:
            item.done.wait()
        if item.id is None and item.error is None and not item.refused:  # handed the lead
            with self._lock:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            try:
                self._store(batch)
            finally:
                with self._lock:
                    if self._queue:
                        self._queue[0].lead = True
                        self._queue[0].done.set()
                    else:
                        self._leading = False
        if item.error is not None:
            raise item.error
        return item.id, item.created_at, item.created

    def _store(self, batch: list[NewMessage]) -> None:
        try:
            insert_messages(batch)
        except BaseException as error:
            if len(batch) == 1 or not isinstance(error, Exception):
                for item in batch:
                    item.error = error
            else:  # one bad row must not fail the others: each on its own
                for item in batch:
                    try:
                        insert_messages([item])
                    except Exception as own:
                        item.error = own
        for item in batch:
            if item.id is None and item.error is None and item.key is not None:
                try:  # a retry of a message stored before: its first id and time
                    earlier = find_by_client_id(*item.key)
                except Exception as error:
                    item.error = error
                else:
                    if earlier is not None:
                        item.id, item.created_at = earlier
            if item.id is None and item.error is None:
                item.refused = True  # no member of the room: the INSERT left it out
            item.done.set()


_MESSAGE_FIELDS = (
    "room_id",
    "user_id",
    "body",
    "client_id",
    "created_at",
    "mention_names",
    "reply_to_id",
    "attachment_count",
    "search_text",
)


def insert_messages(batch: list[NewMessage]) -> None:
    """One INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING for the batch, of the
    rows whose author is a member of their room (see the module's text).

    Rows that hit the client_id constraint, or whose author is no member, return nothing.
    The others return their id; ids are assigned in the batch's order (``n``), so rows
    without a client_id (which never conflict) are matched to their items by the order of
    their ids per author and room (a membership keeps or drops all of theirs alike), the
    rest by their key.
    """
    connection = sql.connection()
    dialect = connection.dialect
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    # A row's n, then its _MESSAGE_FIELDS. PostgreSQL types a VALUES column by its
    # values (an all-NULL one is text), so the integers that may be null say they are.
    values = [marker] * (1 + len(_MESSAGE_FIELDS))
    for nullable in ("reply_to_id", "attachment_count"):
        values[1 + _MESSAGE_FIELDS.index(nullable)] = f"CAST({marker} AS INTEGER)"
    row = f"({', '.join(values)})"
    columns = ", ".join(_MESSAGE_FIELDS)
    statement = (
        f"INSERT INTO messages ({columns}, deleted)"
        f" WITH batch (n, {columns}) AS (VALUES "
        + ", ".join([row] * len(batch))
        + f") SELECT {columns}, FALSE FROM batch"
        " WHERE EXISTS (SELECT 1 FROM memberships"
        " WHERE memberships.room_id = batch.room_id AND memberships.user_id = batch.user_id)"
        " ORDER BY n"
        " ON CONFLICT (room_id, user_id, client_id) DO NOTHING"
        " RETURNING id, room_id, user_id, client_id"
    )
    # How the DateTime column wants a value on this dialect (SQLite stores text).
    to_db = messages.c.created_at.type.bind_processor(dialect)
    params = []
    for n, item in enumerate(batch):
        created_at = to_db(item.created_at) if to_db else item.created_at
        params += [n, item.room_id, item.user_id, item.body, item.client_id, created_at]
        params += [item.mention_names, item.reply_to_id, item.attachment_count, item.search_text]
    rows = connection.exec_driver_sql(statement, tuple(params)).all()
    by_key = {}
    anonymous: dict[tuple[int, int], list[int]] = {}
    for message_id, room_id, user_id, client_id in rows:
        if client_id is None:
            anonymous.setdefault((room_id, user_id), []).append(message_id)
        else:
            by_key[(room_id, user_id, client_id)] = message_id
    for ids in anonymous.values():
        ids.sort(reverse=True)
    for item in batch:
        if item.key is None:
            ids = anonymous.get((item.room_id, item.user_id))
            if ids:
                item.id, item.created = ids.pop(), True
        elif item.key in by_key:  # the first item with this key is the one stored
            item.id, item.created = by_key.pop(item.key), True
