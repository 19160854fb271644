"""Rooms and memberships: finding rooms by name, naming a room by ``room`` or ``peer``,
creating it on first join, members and their read positions."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import DateTime, Integer, bindparam, func, literal, or_, select, text

from chat import rules, sql
from chat.errors import Failure, invalid, not_found
from chat.rules import NOT_YOURS
from chat.sql import P, memberships, rooms, users
from models import utcnow


@dataclass(frozen=True)
class UserRef:
    id: int
    username: str


@dataclass(frozen=True)
class RoomRef:
    name: str
    id: int  # 0 until the room exists
    kind: str  # "public" or "direct"
    peer: UserRef | None = None  # the other user of a direct room


_USER_BY_NAME = select(users.c.id, users.c.username).where(
    func.lower(users.c.username) == func.lower(P("name"))
)
_ROOM_BY_NAME = select(rooms.c.id, rooms.c.kind).where(rooms.c.name == P("name"))
_INSERT_ROOM = sql.per_dialect(
    lambda insert: (
        insert(rooms)
        .values(name=P("name"), kind=P("kind"), created_at=P("now"))
        .on_conflict_do_nothing()
    )
)
# A new membership only while the user holds fewer than :cap (a race of joins may pass
# it by the joins in flight); an existing one is left as it is.
_MEMBERSHIPS_OF_USER = (
    select(func.count()).where(memberships.c.user_id == P("user_id")).scalar_subquery()
)
_ADD_MEMBER = sql.per_dialect(
    lambda insert: (
        insert(memberships)
        .from_select(
            ["room_id", "user_id", "joined_at"],
            select(
                P("room_id", type_=Integer), P("user_id", type_=Integer), P("now", type_=DateTime)
            ).where(P("cap", type_=Integer) > _MEMBERSHIPS_OF_USER),
        )
        .on_conflict_do_nothing()
    )
)
# UPDATE reserves bind names equal to column names, so these say rid/uid.
_THE_MEMBERSHIP = (memberships.c.room_id == P("rid"), memberships.c.user_id == P("uid"))
_REMOVE_MEMBER = memberships.delete().where(*_THE_MEMBERSHIP)
_IS_MEMBER = select(literal(1)).where(*_THE_MEMBERSHIP)
# Members' read positions, and the caller's own membership row whatever its position.
_SEEN_BY = (
    select(users.c.id, users.c.username, memberships.c.last_read_id)
    .join_from(memberships, users, memberships.c.user_id == users.c.id)
    .where(
        memberships.c.room_id == P("room_id"),
        or_(memberships.c.last_read_id.is_not(None), memberships.c.user_id == P("uid")),
    )
)


def lookup_user(username: str) -> UserRef | None:
    """The id and canonical name of the user with this name in any letter case."""
    row = sql.run(_USER_BY_NAME, name=username).first()
    return UserRef(row.id, row.username) if row else None


def users_by_name(names: list[str]) -> dict[str, UserRef]:
    """Users by lower-cased name."""
    if not names:
        return {}
    rows = sql.connection().execute(
        select(users.c.id, users.c.username).where(func.lower(users.c.username).in_(names))
    )
    return {row.username.lower(): UserRef(row.id, row.username) for row in rows}


_NAMES_OF = select(users.c.id, users.c.username).where(users.c.id.in_(P("ids", expanding=True)))
USERNAME_CACHE = 100_000  # entries kept per process (a user's name never changes)


def known_user(user_id: int, username: str) -> None:
    """Keep a user's name, met without a read (a connect), for ``usernames``."""
    current_app.extensions.setdefault("usernames", {})[user_id] = username


def usernames(ids) -> dict[int, str]:
    """The usernames of these user ids: from this process's cache, the missing ones read
    in one query (names never change; an account's removal removes its messages)."""
    cache = current_app.extensions.setdefault("usernames", {})
    missing = [uid for uid in set(ids) if uid not in cache]
    if missing:
        if len(cache) + len(missing) > USERNAME_CACHE:
            cache.clear()
        cache.update(sql.run(_NAMES_OF, ids=missing).all())
    return cache


def _room_cache() -> dict[str, tuple[int, str]]:
    # Rooms are never renamed or deleted, so a name's id can be kept for the process.
    return current_app.extensions.setdefault("room_ids", {})


def find(name: str) -> tuple[int, str] | None:
    """(id, kind) of the named room, or None."""
    cache = _room_cache()
    found = cache.get(name)
    if found is None:
        row = sql.run(_ROOM_BY_NAME, name=name).first()
        if row is None:
            return None
        found = cache[name] = (row.id, row.kind)
    return found


def _get_or_create(name: str, kind: str) -> int:
    found = find(name)
    if found is None:
        # ON CONFLICT: two first joins may race to create it.
        sql.run(_INSERT_ROOM, name=name, kind=kind, now=utcnow())
        found = find(name)
    return found[0]


def add_member(room_id: int, user_id: int) -> bool:
    """Make the user a member, unless they hold MAX_ROOMS_PER_USER memberships already;
    True when they were not one before and are now."""
    cap = current_app.config["MAX_ROOMS_PER_USER"]
    added = sql.run(_ADD_MEMBER, room_id=room_id, user_id=user_id, now=utcnow(), cap=cap)
    return added.rowcount == 1


def remove_member(room_id: int, user_id: int) -> bool:
    return sql.run(_REMOVE_MEMBER, rid=room_id, uid=user_id).rowcount == 1


def is_member(room_id: int, user_id: int) -> bool:
    return sql.run(_IS_MEMBER, rid=room_id, uid=user_id).first() is not None


# PostgreSQL does the join's two statements in one round trip: the membership INSERT (as
# _ADD_MEMBER) and the read positions (as _SEEN_BY). The SELECT sees the table as it was
# before the INSERT, so whether the user is a member now is "was one, or was just added".
_JOIN_PG = text(
    """
    WITH added AS (
        INSERT INTO memberships (room_id, user_id, joined_at)
        SELECT :room_id, :user_id, :now
        WHERE (SELECT count(*) FROM memberships WHERE user_id = :user_id) < :cap
        ON CONFLICT DO NOTHING
        RETURNING user_id
    )
    SELECT (SELECT count(*) FROM added) AS joined, seen.id, seen.username, seen.last_read_id
    FROM (SELECT 1) AS one
    LEFT JOIN (
        SELECT users.id, users.username, memberships.last_read_id
        FROM memberships JOIN users ON users.id = memberships.user_id
        WHERE memberships.room_id = :room_id
          AND (memberships.last_read_id IS NOT NULL OR memberships.user_id = :user_id)
    ) AS seen ON true
    """
).bindparams(bindparam("now", type_=DateTime(timezone=True)))


def join_membership(room_id: int, user_id: int) -> tuple[bool, dict[str, int], bool]:
    """Make the user a member (as ``add_member``) and read the members' read positions:
    (joined now, {username: last read id}, member now). One round trip on PostgreSQL."""
    if sql.dialect() != "postgresql":
        joined = add_member(room_id, user_id)
        seen, member = seen_by(room_id, user_id)
        return joined, seen, member
    cap = current_app.config["MAX_ROOMS_PER_USER"]
    rows = sql.run(_JOIN_PG, room_id=room_id, user_id=user_id, now=utcnow(), cap=cap).all()
    joined = bool(rows[0].joined)
    seen = {row.username: row.last_read_id for row in rows if row.last_read_id is not None}
    return joined, seen, joined or any(row.id == user_id for row in rows)


def seen_by(room_id: int, user_id: int) -> tuple[dict[str, int], bool]:
    """Each member's last read message id, for members that have one, and whether
    ``user_id`` is a member (one query: a join needs both)."""
    seen, member = {}, False
    for uid, username, last_read_id in sql.run(_SEEN_BY, room_id=room_id, uid=user_id):
        member = member or uid == user_id
        if last_read_id is not None:
            seen[username] = last_read_id
    return seen, member


def resolve(me: UserRef, room: str | None, peer: str | None) -> RoomRef | Failure:
    """The room a client names by ``room`` or by ``peer`` (valid names); nothing is
    created."""
    if peer is not None:
        if peer.lower() == me.username.lower():
            return invalid("peer: a direct chat needs another user")
        other = lookup_user(peer)
        if other is None:
            return not_found(f"no user named {peer}")
        return RoomRef(rules.direct_room_name(me.username, other.username), 0, "direct", other)
    participants = rules.direct_participants(room)
    if participants is None:
        found = find(room)
        return RoomRef(room, found[0] if found else 0, "public")
    if me.username.lower() not in participants:
        return NOT_YOURS
    other = lookup_user(rules.other_participant(room, me.username))
    if other is None:
        return not_found("the other user of this direct room does not exist")
    return RoomRef(room, 0, "direct", other)


@dataclass(frozen=True)
class Entered:
    room: RoomRef  # with its id
    joined: bool  # ``me`` is a new member
    peer_added: bool  # a direct room's peer is (again) a member by this action
    seen: dict[str, int]  # members' last read ids


def enter(me: UserRef, room: RoomRef) -> Entered | Failure:
    """Create the room if new and make ``me`` (and a direct room's peer) members, unless
    ``me`` holds MAX_ROOMS_PER_USER memberships already (limit_reached)."""
    room_id = room.id or _get_or_create(room.name, room.kind)
    joined, seen, member = join_membership(room_id, me.id)
    if not member:
        cap = current_app.config["MAX_ROOMS_PER_USER"]
        return Failure("limit_reached", f"you are a member of {cap} rooms: leave one first")
    peer_added = room.peer is not None and add_member(room_id, room.peer.id)
    return Entered(RoomRef(room.name, room_id, room.kind, room.peer), joined, peer_added, seen)
