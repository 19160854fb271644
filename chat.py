"""Chat domain operations shared by socket events and HTTP routes.

Plain functions over the models: validate input, resolve rooms, store messages, read
history. Expected failures are returned as ``Failure`` values, never raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from limits import parse as parse_limit
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from models import Membership, Message, Room, User, db, utcnow

MAX_MESSAGE_LENGTH = 4000
MAX_CLIENT_ID_LENGTH = 64
PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
REPLAY_LIMIT = 1000

USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{3,32}")
PUBLIC_ROOM_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DIRECT_ROOM_RE = re.compile(r"dm:([a-z0-9_.-]{3,32}):([a-z0-9_.-]{3,32})")
# C0 controls except \t and \n, DEL, and C1 controls.
FORBIDDEN_CHARS_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Failure:
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


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
    if not isinstance(client_id, str) or not 1 <= len(client_id) <= MAX_CLIENT_ID_LENGTH:
        return invalid(f"client_id must be a string of 1-{MAX_CLIENT_ID_LENGTH} characters")
    return client_id


def check_message_id(value: object, field: str, required: bool = False) -> int | Failure | None:
    """A non-negative integer id, None when optional and absent (booleans are not ids)."""
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return invalid(f"{field} must be a non-negative integer")
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


# --- users and rooms -----------------------------------------------------------------


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def find_room(name: str) -> Room | None:
    return db.session.scalar(select(Room).where(Room.name == name))


def _insert_ignoring_conflicts(model, **values) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: safe when two joins race to create a row."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(model).values(**values).on_conflict_do_nothing())


def _get_or_create_room(name: str, kind: str) -> Room:
    room = find_room(name)
    if room is None:
        _insert_ignoring_conflicts(Room, name=name, kind=kind)
        room = find_room(name)
    return room


def resolve_room(username: str, room: object, peer: object) -> Room | Failure:
    """The room a client asks to join by ``room`` name or by ``peer``; created if new."""
    if (room is None) == (peer is None):
        return invalid("give either room or peer")
    if peer is not None:
        if not isinstance(peer, str) or not USERNAME_RE.fullmatch(peer):
            return invalid("peer must be a username")
        if peer.lower() == username.lower():
            return invalid("a direct chat needs another user")
        other = find_user(peer)
        if other is None:
            return Failure("not_found", f"no user named {peer}")
        return _direct_room(direct_room_name(username, other.username), other)
    if not is_room_name(room):
        return invalid("room must be 1-64 letters, digits, '-', '_' or '.', or a dm: name")
    participants = direct_participants(room)
    if participants is None:
        return _get_or_create_room(room, "public")
    if username.lower() not in participants:
        return Failure("forbidden", "this direct room belongs to two other users")
    other = find_user(next(p for p in participants if p != username.lower()))
    if other is None:
        return Failure("not_found", "the other user of this direct room does not exist")
    return _direct_room(room, other)


def _direct_room(name: str, other: User) -> Room:
    # Both users are members from the start, so the room shows in the other's list
    # (with its unread messages) before they ever open it.
    room = _get_or_create_room(name, "direct")
    ensure_membership(room, other.id)
    return room


def can_read(room: Room, username: str) -> bool:
    participants = direct_participants(room.name)
    return participants is None or username.lower() in participants


def ensure_membership(room: Room, user_id: int) -> None:
    _insert_ignoring_conflicts(Membership, room_id=room.id, user_id=user_id)


def seen_by(room: Room) -> dict[str, int]:
    """Each member's last read message id, for members that have one."""
    rows = db.session.execute(
        select(User.username, Membership.last_read_id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.room_id == room.id, Membership.last_read_id.is_not(None))
    )
    return {username: last_read_id for username, last_read_id in rows}


def room_summaries(user_id: int) -> list[dict]:
    """The user's rooms with unread counts and their newest message, for the room list.

    Unread: others' undeleted messages newer than the user's last read id. Two queries
    however many rooms: one for rooms and counts, one for their newest messages.
    """
    unread = (
        select(func.count(Message.id))
        .where(
            Message.room_id == Room.id,
            Message.id > func.coalesce(Membership.last_read_id, 0),
            Message.user_id != user_id,
            Message.deleted.is_(False),
        )
        .correlate(Room, Membership)
        .scalar_subquery()
    )
    newest = (
        select(func.max(Message.id))
        .where(Message.room_id == Room.id)
        .correlate(Room)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Room, unread, newest)
        .join(Membership, Membership.room_id == Room.id)
        .where(Membership.user_id == user_id)
        .order_by(newest.desc().nulls_last(), Room.name)  # the most recently active first
    ).all()
    last_ids = [last_id for _, _, last_id in rows if last_id is not None]
    last = {m.id: m for m in db.session.scalars(select(Message).where(Message.id.in_(last_ids)))}
    return [
        {
            "room": room.name,
            "kind": room.kind,
            "unread": count,
            "last_message": last[last_id].to_dict() if last_id is not None else None,
        }
        for room, count, last_id in rows
    ]


def mark_read(room_id: int, user_id: int, message_id: int) -> int | None:
    """Move the member's last read id forward to ``message_id`` (never back).

    Returns the new last read id, or None when it did not move. One conditional UPDATE,
    so concurrent marks cannot move it backwards.
    """
    moved = db.session.execute(
        update(Membership)
        .where(
            Membership.room_id == room_id,
            Membership.user_id == user_id,
            or_(Membership.last_read_id.is_(None), Membership.last_read_id < message_id),
        )
        .values(last_read_id=message_id)
    ).rowcount
    return message_id if moved else None


def last_read_id(room_id: int, user_id: int) -> int | None:
    return db.session.scalar(
        select(Membership.last_read_id).where(
            Membership.room_id == room_id, Membership.user_id == user_id
        )
    )


def message_exists(room_id: int, message_id: int) -> bool:
    return (
        db.session.scalar(
            select(Message.id).where(Message.room_id == room_id, Message.id == message_id)
        )
        is not None
    )


# --- messages ------------------------------------------------------------------------


def find_by_client_id(room_id: int, user_id: int, client_id: str) -> Message | None:
    return db.session.scalar(
        select(Message).where(
            Message.room_id == room_id,
            Message.user_id == user_id,
            Message.client_id == client_id,
        )
    )


def post_message(
    room: Room, author: User, body: str, client_id: str | None
) -> tuple[Message, bool]:
    """Store a message (flushed, not committed); returns (message, created).

    A concurrent retry with the same client_id loses the race on the unique constraint
    and gets the first message back with created=False.
    """
    message = Message(room=room, author=author, body=body, client_id=client_id)
    db.session.add(message)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        if client_id is None:
            raise
        return find_by_client_id(room.id, author.id, client_id), False
    return message, True


def own_message(room_id: int, user_id: int, message_id: object) -> Message | Failure:
    """A live message of this room that the user wrote, for editing or deleting."""
    message_id = check_message_id(message_id, "id", required=True)
    if isinstance(message_id, Failure):
        return message_id
    message = db.session.get(Message, message_id)
    if message is None or message.room_id != room_id or message.deleted:
        return Failure("not_found", f"no message {message_id} in this room")
    if message.user_id != user_id:
        return Failure("forbidden", "only its author can change a message")
    return message


def edit(message: Message, body: str) -> bool:
    """Replace the text; False when it is unchanged (nothing to store or announce)."""
    if message.body == body:
        return False
    message.body = body
    message.edited_at = utcnow()
    return True


def soft_delete(message: Message) -> None:
    # The text goes for good; the row stays so ids, history and replay keep their shape.
    message.deleted = True
    message.body = None


def history(
    room: Room, before_id: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Message], bool]:
    """A page of messages older than ``before_id`` (the newest when None), oldest first."""
    query = select(Message).where(Message.room_id == room.id)
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = list(db.session.scalars(query.order_by(Message.id.desc()).limit(limit + 1)))
    has_more = len(rows) > limit
    return rows[:limit][::-1], has_more


def read_page(username: str, name: object, before_id: object, limit: object) -> dict | Failure:
    """A history page as ``load_history`` and the HTTP API give it: {messages, has_more}."""
    if not is_room_name(name):
        return invalid("room must be a room name")
    before_id = check_message_id(before_id, "before_id")
    if isinstance(before_id, Failure):
        return before_id
    if limit is None:
        limit = PAGE_SIZE
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        return invalid(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
    room = find_room(name)
    if room is None:
        return Failure("not_found", f"no room named {name}")
    if not can_read(room, username):
        return Failure("forbidden", "this direct room belongs to two other users")
    messages, has_more = history(room, before_id, limit)
    return {"messages": [m.to_dict() for m in messages], "has_more": has_more}


def replay(room: Room, last_id: int | None) -> dict | None:
    """The ``rejoin_room`` payload for a client that has seen up to ``last_id``, or None.

    Without last_id: the newest page. With it: everything newer, unless there is more
    than REPLAY_LIMIT, in which case the newest page with ``reset`` so the client starts over.
    """
    reset = False
    if last_id is None:
        messages, has_more = history(room)
    else:
        messages = list(
            db.session.scalars(
                select(Message)
                .where(Message.room_id == room.id, Message.id > last_id)
                .order_by(Message.id)
                .limit(REPLAY_LIMIT + 1)
            )
        )
        has_more = False
        if len(messages) > REPLAY_LIMIT:
            messages, has_more = history(room)
            reset = True
    if not messages:
        return None
    return {
        "room": room.name,
        "messages": [m.to_dict() for m in messages],
        "has_more": has_more,
        "reset": reset,
    }


# --- rate limit ----------------------------------------------------------------------


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
