"""Who is in a room and what was done there, for the room's readers: the member list
(``GET /api/rooms/<room>/members``: role and online per member, by username) and, for its
owner and moderators alone, the record of every moderation action and topic change
(``GET /api/rooms/<room>/audit``, written by ``chat/moderation.py``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sqlalchemy import func, select

from chat import presence, rooms, rules, sql
from chat.errors import Failure, forbidden, invalid
from chat.moderation import Action
from chat.protocol import Shape
from chat.sql import P, audit, memberships, users
from models import isoformat


class AuditEntryOut(Shape):
    """One moderation action or topic change."""

    id: int = Field(description="Grows with every entry of every room")
    at: str = Field(json_schema_extra={"format": "date-time"})
    actor: str
    action: Literal[Action, "set_topic"]
    target: str | None = Field(description="The user acted on (a delete: the author)")
    message_id: int | None = Field(description="delete: the message")
    reason: str | None
    topic: str | None = Field(description="set_topic: the new topic (null: cleared)")


class AuditPage(Shape):
    """What ``GET /api/rooms/<room>/audit`` answers: newest first."""

    entries: list[AuditEntryOut]


class Member(Shape):
    username: str
    role: Literal["owner", "moderator", "member"] | None = Field(
        description="null in a direct room"
    )
    online: bool = Field(description="Whether they have any connection at all")


class MembersPage(Shape):
    """What ``GET /api/rooms/<room>/members`` answers: by username."""

    members: list[Member]
    has_more: bool = Field(description="more follow: ask again with after= the last username")


_ENTRIES = (
    select(
        audit.c.id,
        audit.c.created_at,
        audit.c.actor_id,
        audit.c.action,
        audit.c.target_id,
        audit.c.message_id,
        audit.c.reason,
        audit.c.topic,
    )
    .where(audit.c.room_id == P("rid"), audit.c.id < P("before_id"))
    .order_by(audit.c.room_id.desc(), audit.c.id.desc())
    .limit(P("limit"))
)


def audit_page(user: rooms.UserRef, room: str, before_id: object, limit: object) -> dict | Failure:
    """The room's record, newest first, older than ``before_id`` when given: {entries}
    (``AuditPage``). Its owner and moderators only: anyone else, for any room or none,
    forbidden."""
    before_id = rules.check_id(before_id, "before_id")
    if isinstance(before_id, Failure):
        return before_id
    limit = rules.check_limit(limit, rules.PAGE_SIZE, rules.MAX_PAGE_SIZE)
    if isinstance(limit, Failure):
        return limit
    if not rules.is_room_name(room):
        return invalid(f"room: must be a room name ({rules.ROOM_RULE})")
    found = rooms.access(room, user.id)
    if found is None or found.kind == "direct" or not rules.can_moderate(found.role):
        return forbidden(f"only the owner and moderators of a room {room} read its record")
    up_to = rules.MAX_ID if before_id is None else before_id
    rows = sql.run(_ENTRIES, rid=found.id, before_id=up_to, limit=limit).all()
    names = rooms.usernames(
        [row.actor_id for row in rows] + [row.target_id for row in rows if row.target_id]
    )
    return {
        "entries": [
            {
                "id": row.id,
                "at": isoformat(row.created_at),
                "actor": names[row.actor_id],
                "action": row.action,
                "target": names[row.target_id] if row.target_id else None,
                "message_id": row.message_id,
                "reason": row.reason,
                "topic": row.topic,
            }
            for row in rows
        ]
    }


_MEMBERS = (
    select(users.c.id, users.c.username, memberships.c.role)
    .join_from(memberships, users, memberships.c.user_id == users.c.id)
    .where(memberships.c.room_id == P("rid"), func.lower(users.c.username) > P("after"))
    .order_by(func.lower(users.c.username))
    .limit(P("limit"))
)


def members(room_id: int, direct: bool, after: str, limit: int) -> tuple[list[dict], bool]:
    """The room's members by username (case-insensitively), after ``after``: [{username,
    role, user_id}] (role None in a direct room) and whether more follow."""
    rows = sql.run(_MEMBERS, rid=room_id, after=after.lower(), limit=limit + 1).all()
    found = [
        {"username": row.username, "role": None if direct else row.role, "user_id": row.id}
        for row in rows[:limit]
    ]
    return found, len(rows) > limit


def members_page(user: rooms.UserRef, room: str, after: object, limit: object) -> dict | Failure:
    """The room's members by username (case-insensitively), after ``after`` when given:
    {members: [{username, role, online}], has_more} (``MembersPage``), for whoever may
    read the room (``rules.can_read``). ``online``: they have any connection."""
    if after is not None and not rules.is_username(after):
        return invalid(f"after: must be a username ({rules.USERNAME_RULE})")
    limit = rules.check_limit(limit, rules.PAGE_SIZE, rules.MAX_PAGE_SIZE)
    if isinstance(limit, Failure):
        return limit
    if not rules.is_room_name(room):
        return invalid(f"room: must be a room name ({rules.ROOM_RULE})")
    found = rooms.readable(room, user)
    if isinstance(found, Failure):
        return found
    listed, more = members(found.id, found.kind == "direct", after or "", limit)
    online = presence.current().users_online([m["user_id"] for m in listed])
    for member in listed:
        member["online"] = member.pop("user_id") in online
    return {"members": listed, "has_more": more}
