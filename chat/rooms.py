"""Rooms and memberships: finding rooms by name, naming a room by ``room`` or ``peer``,
creating it on first join (its creator owns it), members, their roles and read
positions, and what a user may do with a room (``access``: the facts the one read rule,
``rules.can_read``, decides on, in one query)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import DateTime, Integer, String, and_, case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from chat import rules, sql
from chat.errors import Failure, forbidden, invalid, not_found
from chat.rules import NOT_YOURS
from chat.sql import P, audit, bans, memberships, rooms, users
from models import utcnow


@dataclass(frozen=True)
class UserRef:
    id: int
    username: str


@dataclass(frozen=True)
class RoomRef:
    name: str
    id: int  # 0 until the room exists
    kind: str  # "public", "private" or "direct" ("public" for a name not taken yet)
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
_MEMBERSHIPS_OF_USER = (
    select(func.count()).where(memberships.c.user_id == P("user_id")).scalar_subquery()
)
_BANNED = exists().where(bans.c.room_id == P("room_id"), bans.c.user_id == P("user_id"))
# A kick after message :last_id: a join resuming from it comes from a client that has not
# heard of the kick (null :last_id, a fresh join: none).
_KICKED_SINCE = exists().where(
    audit.c.target_id == P("user_id"),
    audit.c.room_id == P("room_id"),
    audit.c.action == "kick",
    audit.c.newest_id >= P("last_id", type_=Integer),
)
# A new membership only while the user holds fewer than :cap (a race of joins may pass
# it by the joins in flight), is not banned, and does not resume from before a kick; an
# existing one is left as it is.
_ADD_MEMBER = sql.Prepared(
    sql.per_dialect(
        lambda insert: (
            insert(memberships)
            .from_select(
                ["room_id", "user_id", "joined_at", "role"],
                select(
                    P("room_id", type_=Integer),
                    P("user_id", type_=Integer),
                    P("now", type_=DateTime),
                    P("role", type_=String),
                ).where(P("cap", type_=Integer) > _MEMBERSHIPS_OF_USER, ~_BANNED, ~_KICKED_SINCE),
            )
            .on_conflict_do_nothing()
        )
    )
)
# Why a join made nobody a member (a refusal's reason, read only then).
_WHY_NOT = select(
    _BANNED.label("banned"), _KICKED_SINCE.label("kicked"), _MEMBERSHIPS_OF_USER.label("rooms")
)
# UPDATE reserves bind names equal to column names, so these say rid/uid.
_THE_MEMBERSHIP = (memberships.c.room_id == P("rid"), memberships.c.user_id == P("uid"))
_REMOVE_MEMBER = memberships.delete().where(*_THE_MEMBERSHIP).returning(memberships.c.role)
_OWNER = memberships.alias("owner")
_HAS_OWNER = exists().where(_OWNER.c.room_id == P("rid"), _OWNER.c.role == "owner")
# A room whose owner left passes to its longest-standing moderator, else member.
_SUCCESSOR = (
    select(_OWNER.c.user_id)
    .where(_OWNER.c.room_id == P("rid"))
    .order_by(
        case((_OWNER.c.role == "moderator", 0), else_=1), _OWNER.c.joined_at, _OWNER.c.user_id
    )
    .limit(1)
    .scalar_subquery()
)
_PASS_OWNERSHIP = (
    memberships.update()
    .where(memberships.c.room_id == P("rid"), memberships.c.user_id == _SUCCESSOR, ~_HAS_OWNER)
    .values(role="owner")
)
_CLAIM = memberships.update().where(*_THE_MEMBERSHIP, ~_HAS_OWNER).values(role="owner")
# Members' read positions and the caller's own membership row whatever its position,
# with the caller's role, whether they are banned (a ban that beat their join) and
# whether the room has an owner: everything a join needs, in one query.
_SEEN_BY = sql.Prepared(
    select(
        users.c.id,
        users.c.username,
        memberships.c.last_read_id,
        memberships.c.role,
        exists().where(bans.c.room_id == P("room_id"), bans.c.user_id == P("uid")).label("banned"),
        exists().where(_OWNER.c.room_id == P("room_id"), _OWNER.c.role == "owner").label("owned"),
    )
    .join_from(memberships, users, memberships.c.user_id == users.c.id)
    .where(
        memberships.c.room_id == P("room_id"),
        or_(memberships.c.last_read_id.is_not(None), memberships.c.user_id == P("uid")),
    )
)
# What the read rule needs to know of a room and a user (rules.can_read).
_ACCESS = sql.Prepared(
    select(
        rooms.c.id,
        rooms.c.kind,
        memberships.c.role,
        exists().where(bans.c.room_id == rooms.c.id, bans.c.user_id == P("uid")).label("banned"),
    )
    .select_from(
        rooms.outerjoin(
            memberships,
            and_(memberships.c.room_id == rooms.c.id, memberships.c.user_id == P("uid")),
        )
    )
    .where(rooms.c.name == P("name"))
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
    # Rooms are never renamed, deleted or change kind, so a name's id and kind can be
    # kept for the process (who may read or join one never is: see ``access``).
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


def _get_or_create(name: str, kind: str) -> tuple[int, str, bool]:
    """(id, kind, created): the named room, made of ``kind`` if it did not exist; created
    says whether this call made it (two first joins may race: one makes it)."""
    found = find(name)
    created = False
    if found is None:
        # ON CONFLICT: two first joins may race to create it.
        created = sql.run(_INSERT_ROOM, name=name, kind=kind, now=utcnow()).rowcount == 1
        found = find(name)
    return found[0], found[1], created


def add_member(
    room_id: int, user_id: int, role: str = "member", last_id: int | None = None
) -> bool:
    """Make the user a member (of ``role``) unless they hold MAX_ROOMS_PER_USER
    memberships already, are banned from the room, or resume from a ``last_id`` older
    than a kick of theirs; True when they were not one before and are now."""
    cap = current_app.config["MAX_ROOMS_PER_USER"]
    added = sql.run(
        _ADD_MEMBER,
        room_id=room_id,
        user_id=user_id,
        now=utcnow(),
        role=role,
        cap=cap,
        last_id=last_id,
    )
    return added.rowcount == 1


def remove_member(room_id: int, user_id: int) -> str | None:
    """End the membership: the role it had, or None when there was none. A room whose
    owner left passes to its longest-standing moderator, else member."""
    role = sql.run(_REMOVE_MEMBER, rid=room_id, uid=user_id).scalar()
    if role == "owner":
        sql.run(_PASS_OWNERSHIP, rid=room_id)
    return role


@dataclass(frozen=True)
class Seen:
    """What a join reads back in one query once it recorded the membership."""

    seen: dict[str, int]  # members' last read ids, for members that have one
    role: str | None  # the joiner's (None: not a member)
    banned: bool  # the joiner is banned (a ban that beat the join); False when no role
    owned: bool  # the room has an owner


def seen_by(room_id: int, user_id: int) -> Seen:
    """Each member's last read message id, for members that have one, and the caller's
    role, ban and whether the room has an owner (one query: a join needs them all)."""
    seen, role, banned, owned = {}, None, False, True
    for row in sql.run(_SEEN_BY, room_id=room_id, uid=user_id):
        banned, owned = bool(row.banned), bool(row.owned)
        if row.id == user_id:
            role = row.role
        if row.last_read_id is not None:
            seen[row.username] = row.last_read_id
    return Seen(seen, role, banned, owned)


@dataclass(frozen=True)
class Access:
    """What the read rule knows of a room for one user (``rules.can_read``)."""

    id: int
    kind: str
    role: str | None  # the user's role (None: not a member)
    banned: bool

    @property
    def member(self) -> bool:
        return self.role is not None


def access(room: str, user_id: int) -> Access | None:
    """The room's id and kind, the user's role there and whether they are banned from it,
    in one query; None when there is no such room."""
    row = sql.run(_ACCESS, name=room, uid=user_id).first()
    if row is None:
        return None
    _room_cache()[room] = (row.id, row.kind)
    return Access(row.id, row.kind, row.role, bool(row.banned))


def readable(room: str, user: UserRef) -> Access | Failure:
    """The room, if this user may read it (``rules.can_read``), or forbidden: the same
    answer for a private room, a room they are banned from and a room that does not
    exist."""
    participants = rules.direct_participants(room)
    if participants is not None and user.username.lower() not in participants:
        return NOT_YOURS
    found = access(room, user.id)
    if found is None or not rules.can_read(
        room, user.username, found.kind, found.member, found.banned
    ):
        return rules.not_readable(room)
    return found


def may_open(room: str, user: UserRef) -> bool:
    """Whether ``joined_room`` would open the room for this user (a page asks before it
    shows one): ``rules.can_open``."""
    if rules.direct_participants(room):
        return rules.can_open(room, user.username, None, False, False)
    found = access(room, user.id)
    if found is None:
        return True
    return rules.can_open(room, user.username, found.kind, found.member, found.banned)


def readable_clause(room_id, kind, user_id):
    """``rules.can_read`` in SQL, for lists across rooms (a user's mentions): a direct
    room (a list holds only the user's: only its two users are mentioned there), a
    public room the user is not banned from, a private room they are a member of (and
    not banned from: a ban ends the membership, and a race could leave both a moment)."""
    member = exists().where(memberships.c.room_id == room_id, memberships.c.user_id == user_id)
    banned = exists().where(bans.c.room_id == room_id, bans.c.user_id == user_id)
    return or_(
        kind == "direct", and_(kind == "public", ~banned), and_(kind == "private", member, ~banned)
    )


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
        return RoomRef(room, found[0], found[1]) if found else RoomRef(room, 0, "public")
    if me.username.lower() not in participants:
        return NOT_YOURS
    other = lookup_user(rules.other_participant(room, me.username))
    if other is None:
        return not_found("the other user of this direct room does not exist")
    return RoomRef(room, 0, "direct", other)


@dataclass(frozen=True)
class Entered:
    room: RoomRef  # with its id and kind
    joined: bool  # ``me`` is a new member
    peer_added: bool  # a direct room's peer is (again) a member by this action
    seen: dict[str, int]  # members' last read ids
    role: str | None  # ``me``'s role (None in a direct room)


def _limit_reached() -> Failure:
    cap = current_app.config["MAX_ROOMS_PER_USER"]
    return Failure("limit_reached", f"you are a member of {cap} rooms: leave one first")


def enter(
    me: UserRef, room: RoomRef, private: bool = False, last_id: int | None = None
) -> Entered | Failure:
    """Open the room for ``me``: create it if new (``private``: as a private room; its
    creator owns it) and make ``me`` (and a direct room's peer) members. Refused: a
    private room ``me`` is no member of, a room ``me`` is banned from (forbidden), a
    resume (``last_id``) from before a kick of ``me`` (forbidden), ``private`` for a
    public room (invalid_payload), and a membership past MAX_ROOMS_PER_USER
    (limit_reached).

    The role and the ban are read with the membership (``seen_by``): no query is added
    to a join by them.
    """
    if room.kind == "direct":
        room_id, kind, _ = _get_or_create(room.name, "direct")
        joined = add_member(room_id, me.id)
    else:
        created = False
        if room.id:
            room_id, kind = room.id, room.kind
        else:
            if private and not _below_cap(me.id):
                return _limit_reached()  # before a private room is made that none could join
            room_id, kind, created = _get_or_create(room.name, "private" if private else "public")
        if private and kind != "private":
            return invalid(f"private: {room.name} is a public room already; pick another name")
        if kind == "public" or created:
            joined = add_member(room_id, me.id, "owner" if created else "member", last_id)
        else:
            joined = False  # a private room: its members only, added by invitation
    found = seen_by(room_id, me.id)
    if found.role is None or found.banned:
        if found.role is not None:  # a ban committed between the insert and this read
            remove_member(room_id, me.id)
        return _why_not(room.name, room_id, kind, me.id, last_id)
    role = found.role
    if kind == "public" and not found.owned and _claim(room_id, me.id):
        role = "owner"  # a room nobody owns (its members all left) goes to its next joiner
    peer_added = room.peer is not None and add_member(room_id, room.peer.id)
    return Entered(
        RoomRef(room.name, room_id, kind, room.peer),
        joined,
        peer_added,
        found.seen,
        None if kind == "direct" else role,
    )


def _below_cap(user_id: int) -> bool:
    rooms_held = sql.run(select(_MEMBERSHIPS_OF_USER), user_id=user_id).scalar()
    return rooms_held < current_app.config["MAX_ROOMS_PER_USER"]


def _why_not(room: str, room_id: int, kind: str, user_id: int, last_id: int | None) -> Failure:
    """Why a join left the user no member (read only on that path)."""
    if kind == "private":  # its members only: the answer a read gets, whatever the reason
        return rules.not_readable(room)
    why = sql.run(_WHY_NOT, room_id=room_id, user_id=user_id, last_id=last_id).one()
    if why.banned:
        return forbidden(f"you are banned from {room}")
    if why.kicked:
        return forbidden(
            f"you were removed from {room} after message {last_id}: "
            "join without last_id to come back"
        )
    if why.rooms >= current_app.config["MAX_ROOMS_PER_USER"]:
        return _limit_reached()
    return forbidden(f"you were removed from {room} meanwhile")


def _claim(room_id: int, user_id: int) -> bool:
    """Make the user the owner of a room that has none; False when someone else won."""
    try:
        return sql.run(_CLAIM, rid=room_id, uid=user_id).rowcount == 1
    except IntegrityError:  # a racing claim made another owner first (one per room)
        return False
