"""Database models: users, rooms, memberships and messages."""

from __future__ import annotations

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
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


def use_wal_on_sqlite(engine) -> None:
    """SQLite as the embedded default needs two settings on every connection: write-ahead
    logging (readers never wait for the writer) and foreign keys, which SQLite enforces
    only when asked (else a message could point at no room)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with an explicit offset; SQLite hands back naive datetimes."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # Usernames are unique case-insensitively: "Alice" and "alice" are one account.
    __table_args__ = (Index("uq_users_username_lower", func.lower(username), unique=True),)

    # Flask-Login's user protocol.
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


class Room(db.Model):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Public names are at most 64 chars; "dm:<a>:<b>" is at most 68.
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="public")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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

    # "Which rooms is this user in" (the room picker).
    __table_args__ = (Index("ix_memberships_user_rooms", "user_id", "room_id"),)


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

    __table_args__ = (
        # History pages and replay: WHERE room_id = ? AND id < / > ? ORDER BY id.
        Index("ix_messages_room_history", "room_id", "id"),
        # A client's retry of the same send is stored once.
        UniqueConstraint("room_id", "user_id", "client_id", name="uq_messages_client_id"),
    )


def message_dict(row, room: str, username: str | None = None) -> dict:
    """The wire form of a message (the protocol's Message), the one serializer.

    ``row`` has id, body, client_id, created_at, edited_at, deleted and (unless given
    as ``username``) the author's username.
    """
    return {
        "id": row.id,
        "room": room,
        "username": username if username is not None else row.username,
        "message": None if row.deleted else row.body,
        "created_at": isoformat(row.created_at),
        "edited_at": isoformat(row.edited_at),
        "deleted": row.deleted,
        "client_id": row.client_id,
    }
