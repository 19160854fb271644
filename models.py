"""Database models: users, their browser sessions, rooms, memberships, messages, what
conversations add to messages (mentions, reactions), the files attached to them, and
what rooms with owners add (roles, bans, the moderation record)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    text,
)
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names keep migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Each socket event and request has its own short session; keeping loaded values after
# commit lets a handler serialize what it just stored without reading it back.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


# The bind of the autocommit engine that socket events use (app.py configures it).
EVENTS_BIND = "events"


def ping_idle_connections(engine, idle: float = 0.2) -> None:
    """Check a pooled connection with a round trip only when it sat unused for ``idle``
    seconds: one that was just used is alive, so busy events pay nothing (pool_pre_ping
    would ping before every event), while after an outage (which lasts longer than that)
    every stale connection is found and replaced before an event uses it."""

    @event.listens_for(engine, "checkin")
    def _used(_dbapi_connection, record):
        record.info["last_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy):
        last = record.info.get("last_used")
        if last is None or time.monotonic() - last < idle:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as error:
            # The pool throws this connection away and checks out a fresh one.
            raise DisconnectionError("stale pooled connection") from error


# Per-connection settings, run once when the pool opens a connection.
CONNECTION_SETTINGS = {
    # Write-ahead logging, so readers never wait for the writer; and foreign keys, which
    # SQLite enforces only when each connection asks (ON DELETE CASCADE included).
    "sqlite": ("PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON"),
    # No JIT compilation: it pays off for long analytic scans, never for these statements
    # of a few ms, yet a correlated subquery's estimate over a table holding one huge room
    # crosses jit_above_cost: a user's 1,000 room summaries then spent ~450 ms compiling
    # for ~40 ms of work (bench: a user listing them raised others' ack p99 x20-x28).
    "postgresql": ("SET jit = off",),
}


def configure_connections(engine) -> None:
    """Apply CONNECTION_SETTINGS of the engine's database to each new connection."""
    statements = CONNECTION_SETTINGS.get(engine.dialect.name)
    if not statements:
        return

    @event.listens_for(engine, "connect")
    def _settings(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()  # a SET in a transaction the pool rolls back is undone


# The largest value an `Integer` column holds on PostgreSQL (SQLite's are 64-bit): ids and
# counts from clients are bounded by it before they reach a query.
MAX_INTEGER = 2**31 - 1


def database_unavailable(error: BaseException) -> bool:
    """Whether a database error means the database cannot be reached (an outage, 503)
    rather than a bug or a refused statement (500)."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeoutError | DisconnectionError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with an explicit offset; SQLite hands back naive datetimes."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Search's index, made by migration 0005_search and declared nowhere in the models: on
# PostgreSQL a GIN index over an expression, on SQLite an FTS5 table (with its shadow
# tables and triggers), which autogenerate cannot compare or make.
# Autogenerate and tests/test_migrations.py leave these names alone.
SEARCH_INDEX_NAMES = ("ix_messages_search", "messages_fts")


def declared_in_models(name: str | None, _type: str, _parents: dict) -> bool:
    """Alembic's ``include_name``: whether a database object is the models' to compare."""
    return not (name or "").startswith(SEARCH_INDEX_NAMES)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Carried in every API token; raising it ends every token issued before.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Usernames are unique case-insensitively: "Alice" and "alice" are one account.
    __table_args__ = (Index("uq_users_username_lower", func.lower(username), unique=True),)

    # Flask-Login's user protocol.
    is_authenticated = True
    is_active = True
    is_anonymous = False
    # The browser session this request signed in with (set by the session loader), or None.
    session_id = None

    def get_id(self) -> str:
        return str(self.id)


class UserSession(db.Model):
    """A signed-in browser. The session cookie carries the id; signing out deletes the row,
    so a copy of the cookie kept from before stops working."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the browser last used it (kept to the hour; null: not since created_at). A row
    # unused for SESSION_MAX_AGE is refused and swept.
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    # One primary-key read gives the session and its user.
    user: Mapped[User] = relationship(lazy="joined")

    # "End every session of this user" (sign out everywhere, password change).
    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"),)


class Room(db.Model):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Public names are at most 64 chars; "dm:<a>:<b>" is at most 68.
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # "public", "private" or "direct"; a room never changes kind.
    kind: Mapped[str] = mapped_column(String(16), default="public")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Up to 250 code points (chat.rules.MAX_TOPIC_LENGTH); null: none.
    topic: Mapped[str | None] = mapped_column(String(250), nullable=True)


class Membership(db.Model):
    __tablename__ = "memberships"

    room_id: Mapped[int] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_read_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # "owner", "moderator" or "member" (chat.rules.ROLES); a direct room's two members
    # are stored as "member" and have no role (their room's kind says so).
    role: Mapped[str] = mapped_column(String(16), default="member", server_default="member")

    __table_args__ = (
        # "Which rooms is this user in" (the room picker).
        Index("ix_memberships_user_rooms", "user_id", "room_id"),
        # A room has at most one owner (and "who owns this room" reads this index).
        Index(
            "uq_memberships_owner",
            "room_id",
            unique=True,
            sqlite_where=text("role = 'owner'"),
            postgresql_where=text("role = 'owner'"),
        ),
    )


class Ban(db.Model):
    """A user who may not join, read, send to, react in or be mentioned in a room until
    unbanned. A banned user holds no membership of the room."""

    __tablename__ = "bans"

    room_id: Mapped[int] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(db.Model):
    """One moderation action or topic change in a room (GET /api/rooms/<room>/audit)."""

    __tablename__ = "room_audit"

    # Grows with every entry: the record's order, newest first.
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # delete, kick, ban, unban, promote, demote, set_topic
    action: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    # The message a delete removed (no foreign key: messages are deleted softly).
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(250), nullable=True)
    # set_topic: the new topic (null: cleared).
    topic: Mapped[str | None] = mapped_column(String(250), nullable=True)
    # kick: the room's newest message id when it happened. A join that would make the
    # user a member again while resuming from an older last_id is refused: that client
    # has not heard of the kick (a reconnect in flight), see chat.rooms.add_member.
    newest_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        # The room's record, newest first.
        Index("ix_room_audit_newest", "room_id", "id"),
        # Kicks of a user from a room (a join resuming from before one).
        Index("ix_room_audit_target", "target_id", "room_id"),
    )


class Message(db.Model):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Message.mentions as sent: the usernames the text mentions, as registered, in order of
    # first appearance, space-separated (no username has a space), or null; kept on the
    # row so a page needs no read of ``mentions`` to say whom a message mentions.
    mention_names: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The message of the same room this one answers. No foreign key: messages are only
    # ever deleted softly (a room's or user's go all at once, and a reply whose original
    # is gone just shows none), and without one, removing rows checks no reply for each.
    reply_to_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The body's words as search indexes them (chat/search.py's ``document``: folded,
    # split, unspaced scripts as bigrams), written with the body; NULL once deleted. Its
    # index is not declared here: see SEARCH_INDEX_NAMES.
    search_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    # How many files the message carries, or null for none: a page reads ``attachments``
    # only when one of its messages has any (as ``mention_names``, kept on the row).
    attachment_count: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        # History pages and replay: WHERE room_id = ? AND id < / > ? ORDER BY id. On
        # PostgreSQL it also holds the author and the deleted flag, so counting a room's
        # unread messages for a room list reads the index alone.
        Index(
            "ix_messages_room_history", "room_id", "id", postgresql_include=["user_id", "deleted"]
        ),
        # A client's retry of the same send is stored once.
        UniqueConstraint("room_id", "user_id", "client_id", name="uq_messages_client_id"),
    )


class Mention(db.Model):
    """A user a message mentions (a member of its room when it was written)."""

    __tablename__ = "mentions"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # The message's room, so counting a user's unread mentions per room reads this index
    # alone (and the message, to skip deleted ones).
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))

    __table_args__ = (
        # Summary.mentions: a user's mentions in one room newer than their last read id.
        Index("ix_mentions_unread", "user_id", "room_id", "message_id"),
        # GET /api/mentions: a user's mentions across rooms, newest first.
        Index("ix_mentions_newest", "user_id", "message_id"),
    )


class Reaction(db.Model):
    """One user's reaction to a message with one emoji (its fully-qualified form)."""

    __tablename__ = "reactions"

    # Grows with every reaction: the order of users ("oldest first") and of emoji ("first
    # use") on a message.
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The longest emoji (a ZWJ sequence with skin tones) is 10 code points.
    emoji: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        # Reacting is idempotent per (message, user, emoji).
        UniqueConstraint("message_id", "user_id", "emoji", name="uq_reactions_once"),
        # The reactions of a page of messages, in the order they were made.
        Index("ix_reactions_page", "message_id", "id"),
    )


class Attachment(db.Model):
    """A file uploaded to a room: waiting for its message (``expires_at`` set), or in one
    (``message_id`` set, ``expires_at`` null). The bytes live in the storage
    (``chat/storage.py``) under random keys; the name is only ever shown."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    # The uploader: only they may put it in a message (and count it against their quota).
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), nullable=True
    )
    # The name the uploader gave, cleaned for display (no path, no control characters).
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)  # bytes, as stored and served
    content_type: Mapped[str] = mapped_column(String(100))  # sniffed from the bytes
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)  # images only
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # in the storage
    thumb_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))  # of the stored bytes: the ETag
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the sweep removes it, files and row: 24 h after the upload while no message
    # holds it; at once when its message is deleted; null while a live message holds it.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        # The attachments of a page of messages.
        Index("ix_attachments_message", "message_id"),
        # A user's quota: the sum of their files' sizes.
        Index("ix_attachments_user", "user_id"),
        # The sweep: what expired.
        Index("ix_attachments_expires", "expires_at"),
    )
