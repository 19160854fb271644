"""Chat domain operations shared by socket events and HTTP routes.

Plain functions: validate input, resolve rooms, store messages, read history and room
summaries. Expected failures are returned as ``Failure`` values, never raised.

These functions run per message, so they speak SQL through SQLAlchemy Core on one
autocommit connection per event (``db_connection``): a statement is one round trip with
its commit, nothing is loaded into ORM objects, and what the connection already knows
(user id, username, room id) is never read again.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g
from limits import parse as parse_limit
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Connection, bindparam, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from models import (
    EVENTS_BIND,
    Membership,
    Message,
    Room,
    User,
    db,
    isoformat,
    message_dict,
    utcnow,
)

MAX_MESSAGE_LENGTH = 4000
MAX_CLIENT_ID_LENGTH = 64
PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
REPLAY_LIMIT = 1000
# A replay bigger than this (in characters of text) is sent as a reset page instead, so
# no single emit grows without bound (1,000 messages of 4,000 characters would be 4 MB+).
REPLAY_MAX_TEXT = 1_000_000
MAX_ID = 2**31 - 1  # PostgreSQL integer columns stop here
DIRECTORY_SIZE = 50

USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{3,32}")
PUBLIC_ROOM_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
ROOM_PREFIX_RE = re.compile(r"[A-Za-z0-9_.-]{0,64}")
DIRECT_ROOM_RE = re.compile(r"dm:([a-z0-9_.-]{3,32}):([a-z0-9_.-]{3,32})")
# C0 controls except \t and \n, DEL, C1 controls, and lone surrogates (valid in JSON and
# in a Python str, but no database can store them).
FORBIDDEN_CHARS_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# A client_id is an opaque token: no control characters at all.
FORBIDDEN_ID_CHARS_RE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True)
class Failure:
    code: str
    message: str
    retry_after: float | None = None  # seconds, for rate_limited

    def as_dict(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.retry_after is not None:
            error["retry_after"] = self.retry_after
        return error


# Every error code and the HTTP status a route answers it with (sockets send the code).
# An HTTP error with a status is called by the first code listed for it.
HTTP_STATUS = {
    "invalid_payload": 400,
    "too_long": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "username_taken": 409,
    "not_in_room": 409,
    "rate_limited": 429,
    "internal_error": 500,
    "unavailable": 503,
}


def invalid(message: str) -> Failure:
    return Failure("invalid_payload", message)


# --- input rules ---------------------------------------------------------------------


def clean_message(text: object) -> str | Failure:
    """The stored form of a message body, or why it is refused."""
    if not isinstance(text, str):
        return invalid("message must be a string")
    text = text.strip()
    if not text:
        return invalid("message is empty")
    if len(text) > MAX_MESSAGE_LENGTH:
        return Failure("too_long", f"message is longer than {MAX_MESSAGE_LENGTH} characters")
    if FORBIDDEN_CHARS_RE.search(text):
        return invalid("message contains control characters")
    return text


def check_client_id(client_id: object) -> str | Failure | None:
    if client_id is None:
        return None
    if (
        not isinstance(client_id, str)
        or not 1 <= len(client_id) <= MAX_CLIENT_ID_LENGTH
        or FORBIDDEN_ID_CHARS_RE.search(client_id)
    ):
        return invalid(
            f"client_id must be 1-{MAX_CLIENT_ID_LENGTH} characters without control characters"
        )
    return client_id


def check_message_id(value: object, field: str, required: bool = False) -> int | Failure | None:
    """An id from 0 to MAX_ID, None when optional and absent (booleans are not ids)."""
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        return invalid(f"{field} must be an integer from 0 to {MAX_ID}")
    return value


def check_limit(value: object, default: int, largest: int) -> int | Failure:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= largest:
        return invalid(f"limit must be an integer from 1 to {largest}")
    return value


def is_room_name(name: object) -> bool:
    """A public room name, or a direct room's canonical ``dm:<a>:<b>`` name."""
    return isinstance(name, str) and bool(
        PUBLIC_ROOM_RE.fullmatch(name) or direct_participants(name)
    )


def direct_room_name(a: str, b: str) -> str:
    first, second = sorted((a.lower(), b.lower()))
    return f"dm:{first}:{second}"


def direct_participants(name: str) -> tuple[str, str] | None:
    """The two lower-cased usernames of a canonical direct room name (sorted, distinct)."""
    match = DIRECT_ROOM_RE.fullmatch(name)
    return (match[1], match[2]) if match and match[1] < match[2] else None


def can_read(room: str, username: str) -> bool:
    """Whether this user may read the room: any public room, or a direct room of theirs.
    The one rule sockets, routes and pages call."""
    participants = direct_participants(room)
    return participants is None or username.lower() in participants


# --- the database connection of an event ---------------------------------------------


def db_connection() -> Connection:
    """The autocommit connection of this event or request, opened on first use and
    returned to the pool when its app context ends."""
    connection = g.get("_chat_connection")
    if connection is None:
        connection = g._chat_connection = db.engines[EVENTS_BIND].connect()
    return connection


def close_db_connection(_exc=None) -> None:
    connection = g.pop("_chat_connection", None)
    if connection is not None:
        connection.close()


def _dialect_insert(table):
    """INSERT that can say ON CONFLICT, for the dialect of this app's database."""
    name = db_connection().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)


def _run(statement, **params):
    """Execute a statement built once at import (building one per call costs more than
    running it: ~600 us against ~250 us for a history page on PostgreSQL)."""
    if isinstance(statement, dict):  # per dialect
        statement = statement[db_connection().dialect.name]
    return db_connection().execute(statement, params)


def _per_dialect(build) -> dict:
    return {"postgresql": build(postgresql.insert), "sqlite": build(sqlite.insert)}


users, rooms, memberships, messages = (
    User.__table__,
    Room.__table__,
    Membership.__table__,
    Message.__table__,
)

MESSAGE_COLUMNS = (
    messages.c.id,
    users.c.username,
    messages.c.body,
    messages.c.client_id,
    messages.c.created_at,
    messages.c.edited_at,
    messages.c.deleted,
)


def _messages_query():
    return select(*MESSAGE_COLUMNS).join_from(messages, users, messages.c.user_id == users.c.id)


P = bindparam  # statements below take their values as named parameters
_USER_BY_NAME = select(users.c.id, users.c.username).where(
    func.lower(users.c.username) == func.lower(P("name"))
)
_ROOM_BY_NAME = select(rooms.c.id, rooms.c.kind).where(rooms.c.name == P("name"))
_INSERT_ROOM = _per_dialect(
    lambda insert: (
        insert(rooms)
        .values(name=P("name"), kind=P("kind"), created_at=P("now"))
        .on_conflict_do_nothing()
    )
)
_ADD_MEMBER = _per_dialect(
    lambda insert: (
        insert(memberships)
        .values(room_id=P("room_id"), user_id=P("user_id"), joined_at=P("now"))
        .on_conflict_do_nothing()
    )
)
# UPDATE reserves bind names equal to column names, so these say rid/uid/mid.
_THE_MEMBERSHIP = (memberships.c.room_id == P("rid"), memberships.c.user_id == P("uid"))
_REMOVE_MEMBER = memberships.delete().where(*_THE_MEMBERSHIP)
_IS_MEMBER = select(literal(1)).where(*_THE_MEMBERSHIP)
_LAST_READ = select(memberships.c.last_read_id).where(*_THE_MEMBERSHIP)
_SEEN_BY = (
    select(users.c.username, memberships.c.last_read_id)
    .join_from(memberships, users, memberships.c.user_id == users.c.id)
    .where(memberships.c.room_id == P("room_id"), memberships.c.last_read_id.is_not(None))
)


def _in_room(room_id):
    """room_id = :room, said as a range and ordered by (room_id, id), so PostgreSQL walks
    ix_messages_room_history: told room_id = x, it may walk the primary key backwards
    instead, filtering, when x holds most of the table (it assumes the room's messages are
    spread evenly) — for the newest page of a room of a million messages written before
    the others' that read every newer message of every other room (1.4 ms, not 0.07)."""
    return messages.c.room_id >= room_id, messages.c.room_id <= room_id


_NEWEST_FIRST = (messages.c.room_id.desc(), messages.c.id.desc())
_NEWEST_PAGE = (
    _messages_query().where(*_in_room(P("room_id"))).order_by(*_NEWEST_FIRST).limit(P("limit"))
)
_PAGE_BEFORE = (
    _messages_query()
    .where(*_in_room(P("room_id")), messages.c.id < P("before_id"))
    .order_by(*_NEWEST_FIRST)
    .limit(P("limit"))
)
_NEWER_THAN = (
    _messages_query()
    .where(*_in_room(P("room_id")), messages.c.id > P("last_id"))
    .order_by(messages.c.room_id, messages.c.id)
    .limit(P("limit"))
)
_BY_CLIENT_ID = select(messages.c.id, messages.c.created_at).where(
    messages.c.room_id == P("room_id"),
    messages.c.user_id == P("user_id"),
    messages.c.client_id == P("client_id"),
)
_MESSAGE_IN_ROOM = (messages.c.id == P("mid"), messages.c.room_id == P("rid"))
_MESSAGE_EXISTS = select(messages.c.id).where(*_MESSAGE_IN_ROOM)
_MARK_READ = (
    memberships.update()
    .where(
        *_THE_MEMBERSHIP,
        or_(
            memberships.c.last_read_id.is_(None),
            memberships.c.last_read_id < P("mid"),
        ),
        exists().where(*_MESSAGE_IN_ROOM),
    )
    .values(last_read_id=P("mid"))
)
_AUTHOR_AND_STATE = select(messages.c.user_id, messages.c.deleted).where(*_MESSAGE_IN_ROOM)
_OWN_LIVE = (*_MESSAGE_IN_ROOM, messages.c.user_id == P("uid"), messages.c.deleted.is_(False))
_EDITED_COLUMNS = (
    messages.c.id,
    messages.c.body,
    messages.c.client_id,
    messages.c.created_at,
    messages.c.edited_at,
    messages.c.deleted,
)
_EDIT = (
    messages.update()
    .where(*_OWN_LIVE, messages.c.body != P("new_body"))
    .values(body=P("new_body"), edited_at=P("now"))
    .returning(*_EDITED_COLUMNS)
)
_OWN_MESSAGE = select(*_EDITED_COLUMNS).where(*_OWN_LIVE)
_DELETE = messages.update().where(*_OWN_LIVE).values(deleted=True, body=None)

UNREAD_CAP = 1000
_UNREAD = (
    select(func.count())
    .select_from(
        select(literal(1))
        .where(
            *_in_room(rooms.c.id),
            messages.c.id > func.coalesce(memberships.c.last_read_id, 0),
            messages.c.user_id != P("uid"),
            messages.c.deleted.is_(False),
        )
        .correlate(rooms, memberships)
        .limit(UNREAD_CAP)
        .subquery()
    )
    .correlate(rooms, memberships)
    .scalar_subquery()
)
_NEWEST_ID = (
    select(messages.c.id)
    .where(*_in_room(rooms.c.id))
    .order_by(*_NEWEST_FIRST)
    .limit(1)
    .correlate(rooms)
    .scalar_subquery()
)
_SUMMARIES = (
    select(rooms.c.name, rooms.c.kind, _UNREAD, _NEWEST_ID)
    .join_from(rooms, memberships, memberships.c.room_id == rooms.c.id)
    .where(memberships.c.user_id == P("uid"))
    .order_by(_NEWEST_ID.desc().nulls_last(), rooms.c.name)  # the most recently active first
)
_SUMMARY_OF_ONE = _SUMMARIES.where(rooms.c.id == P("rid"))


# --- users and rooms -----------------------------------------------------------------


@dataclass(frozen=True)
class UserRef:
    id: int
    username: str


@dataclass(frozen=True)
class RoomRef:
    name: str
    id: int
    kind: str  # "public" or "direct"
    peer: UserRef | None = None  # the other user of a direct room


def find_user(username: str) -> User | None:
    """The account (an ORM object, for sign-in) with this name in any letter case."""
    return db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def lookup_user(username: str) -> UserRef | None:
    """The id and canonical name of the user with this name in any letter case."""
    row = _run(_USER_BY_NAME, name=username).first()
    return UserRef(row.id, row.username) if row else None


def _room_cache() -> dict[str, tuple[int, str]]:
    # Rooms are never renamed or deleted, so a name's id can be kept for the process.
    return current_app.extensions.setdefault("room_ids", {})


def find_room(name: str) -> tuple[int, str] | None:
    """(id, kind) of the named room, or None."""
    cache = _room_cache()
    found = cache.get(name)
    if found is None:
        row = _run(_ROOM_BY_NAME, name=name).first()
        if row is None:
            return None
        found = cache[name] = (row.id, row.kind)
    return found


def _get_or_create_room(name: str, kind: str) -> int:
    found = find_room(name)
    if found is None:
        # ON CONFLICT: two first joins may race to create it.
        _run(_INSERT_ROOM, name=name, kind=kind, now=utcnow())
        found = find_room(name)
    return found[0]


def add_member(room_id: int, user_id: int) -> bool:
    """Make the user a member; True when they were not one before."""
    return _run(_ADD_MEMBER, room_id=room_id, user_id=user_id, now=utcnow()).rowcount == 1


def remove_member(room_id: int, user_id: int) -> bool:
    return _run(_REMOVE_MEMBER, rid=room_id, uid=user_id).rowcount == 1


def resolve_room(me: UserRef, room: object, peer: object) -> RoomRef | Failure:
    """The room a client names by ``room`` or by ``peer``; nothing is created."""
    if (room is None) == (peer is None):
        return invalid("give either room or peer")
    if peer is not None:
        if not isinstance(peer, str) or not USERNAME_RE.fullmatch(peer):
            return invalid("peer must be a username")
        if peer.lower() == me.username.lower():
            return invalid("a direct chat needs another user")
        other = lookup_user(peer)
        if other is None:
            return Failure("not_found", f"no user named {peer}")
        return RoomRef(direct_room_name(me.username, other.username), 0, "direct", other)
    if not is_room_name(room):
        return invalid("room must be 1-64 letters, digits, '-', '_' or '.', or a dm: name")
    participants = direct_participants(room)
    if participants is None:
        found = find_room(room)
        return RoomRef(room, found[0] if found else 0, "public")
    if me.username.lower() not in participants:
        return Failure("forbidden", "this direct room belongs to two other users")
    other = lookup_user(next(p for p in participants if p != me.username.lower()))
    if other is None:
        return Failure("not_found", "the other user of this direct room does not exist")
    return RoomRef(room, 0, "direct", other)


def enter_room(me: UserRef, room: RoomRef) -> tuple[RoomRef, bool, bool]:
    """Create the room if new and make ``me`` (and a direct room's peer) members.

    Returns the room with its id, whether ``me`` is a new member, and whether the peer
    of a direct room is (again) a member by this action.
    """
    room_id = room.id or _get_or_create_room(room.name, room.kind)
    joined = add_member(room_id, me.id)
    peer_added = room.peer is not None and add_member(room_id, room.peer.id)
    return RoomRef(room.name, room_id, room.kind, room.peer), joined, peer_added


def seen_by(room_id: int) -> dict[str, int]:
    """Each member's last read message id, for members that have one."""
    return dict(_run(_SEEN_BY, room_id=room_id).all())


def is_member(room_id: int, user_id: int) -> bool:
    return _run(_IS_MEMBER, rid=room_id, uid=user_id).first() is not None


# --- room summaries and the directory ------------------------------------------------


def room_summaries(user_id: int, username: str, room_id: int | None = None) -> list[dict]:
    """The user's rooms (or one of them) with unread counts, their newest message and, for
    a direct room, the peer: [{room, kind, unread, last_message, peer?}], plus ``peer_id``
    for the caller's presence lookup (not part of the wire format).

    Unread: others' undeleted messages newer than the user's last read id, counted up to
    UNREAD_CAP (so a room with a million unread costs what one with a thousand does). At
    most three queries however many rooms: rooms with counts, their newest messages, the
    peers.
    """
    if room_id is None:
        rows = _run(_SUMMARIES, uid=user_id).all()
    else:
        rows = _run(_SUMMARY_OF_ONE, uid=user_id, rid=room_id).all()
    newest_ids = [newest_id for *_, newest_id in rows if newest_id is not None]
    last = {}
    if newest_ids:
        query = _messages_query().where(messages.c.id.in_(newest_ids))
        last = {row.id: row for row in db_connection().execute(query)}
    # The peer comes from the room's name, so a peer who removed the room still shows.
    me = username.lower()
    peer_names = {name: other_participant(name, me) for name, kind, *_ in rows if kind == "direct"}
    peers = _users_by_name(list(peer_names.values()))
    summaries = []
    for name, kind, count, newest_id in rows:
        summary = {
            "room": name,
            "kind": kind,
            "unread": count,
            "last_message": message_dict(last[newest_id], name) if newest_id else None,
        }
        if kind == "direct":
            peer = peers.get(peer_names[name])
            summary["peer"] = peer.username if peer else peer_names[name]
            summary["peer_id"] = peer.id if peer else None
        summaries.append(summary)
    return summaries


def other_participant(room: str, username: str) -> str:
    """The other (lower-cased) username of a direct room's name."""
    first, second = direct_participants(room) or (room, room)
    return second if first == username.lower() else first


def _users_by_name(names: list[str]) -> dict[str, UserRef]:
    """Users by lower-cased name."""
    if not names:
        return {}
    rows = db_connection().execute(
        select(users.c.id, users.c.username).where(func.lower(users.c.username).in_(names))
    )
    return {row.username.lower(): UserRef(row.id, row.username) for row in rows}


def directory(prefix: object, limit: object) -> dict | Failure:
    """Public rooms whose name starts with ``prefix`` (case-insensitive), most recently
    active first: {rooms: [{room, members, last_message_at}]}."""
    if prefix is None:
        prefix = ""
    if not isinstance(prefix, str) or not ROOM_PREFIX_RE.fullmatch(prefix):
        return invalid("q must be the start of a room name (letters, digits, '-', '_', '.')")
    limit = check_limit(limit, DIRECTORY_SIZE, MAX_PAGE_SIZE)
    if isinstance(limit, Failure):
        return limit
    # LIKE wildcards in a name are literal here: "_" matches only "_".
    pattern = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    members = (
        select(func.count())
        .where(memberships.c.room_id == rooms.c.id)
        .correlate(rooms)
        .scalar_subquery()
    )
    newest = _NEWEST_ID.label("newest")
    ranked = (
        select(rooms.c.name, members.label("members"), newest)
        .where(rooms.c.kind == "public", func.lower(rooms.c.name).like(pattern, escape="\\"))
        .order_by(newest.desc().nulls_last(), rooms.c.name)
        .limit(limit)
        .subquery()
    )
    rows = db_connection().execute(
        select(ranked.c.name, ranked.c.members, messages.c.created_at)
        .outerjoin(messages, messages.c.id == ranked.c.newest)
        .order_by(ranked.c.newest.desc().nulls_last(), ranked.c.name)
    )
    return {
        "rooms": [
            {"room": name, "members": count, "last_message_at": isoformat(created)}
            for name, count, created in rows
        ]
    }


# --- messages ------------------------------------------------------------------------


def store_message(
    room_id: int, user_id: int, body: str, client_id: str | None
) -> tuple[int, datetime, bool]:
    """Store a message; returns (id, created_at, created).

    The same client_id from the same user in the same room is stored once: the insert
    then does nothing (ON CONFLICT) and the first message's id and time come back with
    created=False. Sends that arrive together share one INSERT and one commit
    (``GroupCommit``); alone, a message is one round trip.
    """
    writer = current_app.extensions.get("group_commit")
    if writer is None:
        writer = current_app.extensions["group_commit"] = GroupCommit()
    return writer.submit(NewMessage(room_id, user_id, body, client_id, utcnow()))


@dataclass(eq=False)
class NewMessage:
    room_id: int
    user_id: int
    body: str
    client_id: str | None
    created_at: datetime
    # Filled in by the commit that stores it:
    id: int | None = None
    created: bool = False
    error: BaseException | None = None
    lead: bool = False  # woken to commit the next batch rather than with an outcome

    def __post_init__(self) -> None:
        self.done = threading.Event()  # green under eventlet/gevent (monkey-patched)

    @property
    def key(self) -> tuple | None:
        return (self.room_id, self.user_id, self.client_id) if self.client_id else None


class GroupCommit:
    """Messages sent at the same moment are stored by one multi-row INSERT, so they
    share one commit (one WAL flush, ~3 ms on this machine's disk, which would otherwise
    cap a process at ~300 messages/s).

    No background task: the first sender to arrive commits, and whoever arrives while
    that commit is in flight waits and goes into the next batch, which the first waiter
    then commits. Idle, a message is one INSERT of one row, committed at once.
    """

    def __init__(self, max_batch: int = 256) -> None:
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[NewMessage] = []
        self._leading = False

    def submit(self, item: NewMessage) -> tuple[int, datetime, bool]:
        with self._lock:
            self._queue.append(item)
            lead = not self._leading
            self._leading = True
        if not lead:
            item.done.wait()
        if item.id is None and item.error is None:  # handed the lead: commit a batch
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
            _insert_messages(batch)
        except BaseException as error:
            if len(batch) == 1 or not isinstance(error, Exception):
                for item in batch:
                    item.error = error
            else:  # one bad row must not fail the others: each on its own
                for item in batch:
                    try:
                        _insert_messages([item])
                    except Exception as own:
                        item.error = own
        for item in batch:
            if item.id is None and item.error is None:
                try:  # a retry of a message stored before: its first id and time
                    earlier = find_by_client_id(*item.key)
                    item.id, item.created_at = earlier
                except Exception as error:
                    item.error = error
            item.done.set()


_MESSAGE_FIELDS = ("room_id", "user_id", "body", "client_id", "created_at")


def _insert_messages(batch: list[NewMessage]) -> None:
    """One INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING RETURNING for the batch.

    Rows that hit the client_id constraint return nothing. The others return their id;
    ids are assigned in VALUES order, so rows without a client_id (which never conflict)
    are matched to their items by the order of their ids, the rest by their key.
    """
    connection = db_connection()
    dialect = connection.dialect
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    row = f"({', '.join([marker] * len(_MESSAGE_FIELDS))}, {'FALSE'})"
    sql = (
        f"INSERT INTO messages ({', '.join(_MESSAGE_FIELDS)}, deleted) VALUES "
        + ", ".join([row] * len(batch))
        + " ON CONFLICT (room_id, user_id, client_id) DO NOTHING"
        " RETURNING id, room_id, user_id, client_id"
    )
    to_db = _created_at_processor(dialect)
    params = []
    for item in batch:
        created_at = to_db(item.created_at) if to_db else item.created_at
        params += [item.room_id, item.user_id, item.body, item.client_id, created_at]
    rows = connection.exec_driver_sql(sql, tuple(params)).all()
    by_key = {}
    anonymous = []
    for message_id, room_id, user_id, client_id in rows:
        if client_id is None:
            anonymous.append(message_id)
        else:
            by_key[(room_id, user_id, client_id)] = message_id
    anonymous.sort()
    anonymous.reverse()
    for item in batch:
        if item.key is None:
            item.id, item.created = anonymous.pop(), True
        elif item.key in by_key:  # the first item with this key is the one stored
            item.id, item.created = by_key.pop(item.key), True


def _created_at_processor(dialect):
    """How the DateTime column wants a value on this dialect (SQLite stores text)."""
    return messages.c.created_at.type.bind_processor(dialect)


def find_by_client_id(room_id: int, user_id: int, client_id: str) -> tuple[int, datetime] | None:
    row = _run(_BY_CLIENT_ID, room_id=room_id, user_id=user_id, client_id=client_id).first()
    return (row.id, row.created_at) if row else None


def mark_read(room_id: int, user_id: int, message_id: int) -> int | Failure | None:
    """Move the member's last read id forward to ``message_id`` (never back).

    Returns the new last read id, or None when it did not move. One conditional UPDATE
    (so concurrent marks cannot move it backwards) that also checks the message exists.
    """
    moved = _run(_MARK_READ, rid=room_id, uid=user_id, mid=message_id).rowcount
    if moved:
        return message_id
    if not message_exists(room_id, message_id):
        return Failure("not_found", f"no message {message_id} in this room")
    return None


def last_read_id(room_id: int, user_id: int) -> int | None:
    return _run(_LAST_READ, rid=room_id, uid=user_id).scalar()


def message_exists(room_id: int, message_id: int) -> bool:
    return _run(_MESSAGE_EXISTS, rid=room_id, mid=message_id).first() is not None


def _why_not_own(room_id: int, user_id: int, message_id: int) -> Failure:
    row = _run(_AUTHOR_AND_STATE, rid=room_id, mid=message_id).first()
    if row is None or row.deleted:
        return Failure("not_found", f"no message {message_id} in this room")
    if row.user_id != user_id:
        return Failure("forbidden", "only its author can change a message")
    return Failure("internal_error", "the message changed meanwhile")


def edit_message(
    room_id: int, room: str, username: str, user_id: int, message_id: object, body: str
) -> tuple[dict, bool] | Failure:
    """Replace the text of the user's own live message; returns (Message, changed)."""
    message_id = check_message_id(message_id, "id", required=True)
    if isinstance(message_id, Failure):
        return message_id
    mine = {"rid": room_id, "uid": user_id, "mid": message_id}
    row = _run(_EDIT, new_body=body, now=utcnow(), **mine).first()
    changed = row is not None
    if row is None:  # not yours, gone, or the same text: which?
        row = _run(_OWN_MESSAGE, **mine).first()
        if row is None:
            return _why_not_own(room_id, user_id, message_id)
    return message_dict(row, room, username), changed


def delete_message(room_id: int, user_id: int, message_id: object) -> int | Failure:
    """Soft-delete the user's own live message: the text goes for good; the row stays so
    ids, history and replay keep their shape."""
    message_id = check_message_id(message_id, "id", required=True)
    if isinstance(message_id, Failure):
        return message_id
    if _run(_DELETE, rid=room_id, uid=user_id, mid=message_id).rowcount != 1:
        return _why_not_own(room_id, user_id, message_id)
    return message_id


def history(
    room_id: int, room: str, before_id: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[dict], bool]:
    """A page of messages older than ``before_id`` (the newest when None), oldest first.
    One query, whatever the size of the room (the (room_id, id) index)."""
    if before_id is None:
        rows = _run(_NEWEST_PAGE, room_id=room_id, limit=limit + 1).all()
    else:
        rows = _run(_PAGE_BEFORE, room_id=room_id, before_id=before_id, limit=limit + 1).all()
    has_more = len(rows) > limit
    return [message_dict(row, room) for row in reversed(rows[:limit])], has_more


def read_page(username: str, name: object, before_id: object, limit: object) -> dict | Failure:
    """A history page as ``load_history`` and the HTTP API give it: {messages, has_more}."""
    if not is_room_name(name):
        return invalid("room must be a room name")
    before_id = check_message_id(before_id, "before_id")
    if isinstance(before_id, Failure):
        return before_id
    limit = check_limit(limit, PAGE_SIZE, MAX_PAGE_SIZE)
    if isinstance(limit, Failure):
        return limit
    if not can_read(name, username):
        return Failure("forbidden", "this direct room belongs to two other users")
    found = find_room(name)
    if found is None:
        return Failure("not_found", f"no room named {name}")
    messages_, has_more = history(found[0], name, before_id, limit)
    return {"messages": messages_, "has_more": has_more}


def payload_size(messages_: list[dict]) -> int:
    """About how many characters these messages take on the wire."""
    return sum(len(m["message"] or "") + 200 for m in messages_)


def replay(room_id: int, room: str, last_id: int | None) -> dict | None:
    """The ``rejoin_room`` payload for a client that has seen up to ``last_id``, or None.

    Without last_id: the newest page. With it: everything newer, unless there is more
    than REPLAY_LIMIT, in which case the newest page with ``reset`` so the client starts over.
    """
    reset = False
    if last_id is None:
        page, has_more = history(room_id, room)
    else:
        rows = _run(_NEWER_THAN, room_id=room_id, last_id=last_id, limit=REPLAY_LIMIT + 1).all()
        page, has_more = [message_dict(row, room) for row in rows], False
        if len(rows) > REPLAY_LIMIT or payload_size(page) > REPLAY_MAX_TEXT:
            page, has_more = history(room_id, room)
            reset = True
    if not page:
        return None
    return {"room": room, "messages": page, "has_more": has_more, "reset": reset}


# --- rate limit of sign-ins ----------------------------------------------------------


class RateLimit:
    """A moving-window limit per key (a user, an address); ``off`` disables it."""

    def __init__(
        self,
        spec: str,
        storage_uri: str = "memory://",
        namespace: str = "messages",
        key_prefix: str = "chat-on-flask",
    ):
        self.item = None if spec.strip().lower() == "off" else parse_limit(spec)
        # Redis keys start with the deployment's channel name: two deployments on one
        # Redis never share budgets (the memory storage ignores the prefix).
        storage = storage_from_string(storage_uri, key_prefix=f"{key_prefix}:limits")
        self.limiter = MovingWindowRateLimiter(storage)
        self.namespace = namespace

    def hit(self, *key: object) -> bool:
        """Count one event; False (and nothing counted) when over the limit."""
        if self.item is None:
            return True
        return self.limiter.hit(self.item, self.namespace, *map(str, key))

    def allows(self, *key: object) -> bool:
        """Whether one more event would be within the limit (counts nothing)."""
        return self.item is None or self.limiter.test(self.item, self.namespace, *map(str, key))
