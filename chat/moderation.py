"""Rooms with owners: moderation (``moderate``), invitations (``invite``), topics
(``set_topic``, ``room_updated``), each recorded in the room's audit table (read by
``chat/roster.py``).

Roles: the user whose join made a public or private room owns it; the owner promotes
members to moderators and demotes them back; the owner and moderators delete anyone's
message, kick, ban and unban, and set the topic. A moderator never acts on the owner or
another moderator, nobody acts on themselves (but to delete their own message), and nobody
bans the owner. Direct rooms have no roles. Roles are read from the database with each
action (one query gives the actor's and the target's), never from a cache, so a promotion
or demotion counts at once on every process; a kick or ban ends the membership, which the
``drop_room`` control action (``membership.removed``) takes off every connection.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from sqlalchemy import and_, exists, func, select

from chat import membership, messages, outbox, rooms, rules, sql, summaries
from chat.errors import Failure, forbidden, not_found
from chat.fields import MessageId, RoomName, Username
from chat.presence import Connection, OpenRoom
from chat.protocol import Ack, Payload, Shape, client_event, refuse, rule, server_event
from chat.rules import NOT_A_MEMBER
from chat.sql import NEWEST_FIRST, P, audit, bans, in_room, memberships, users
from models import utcnow

# --- payload models ------------------------------------------------------------------


def _short_text(limit: int):
    """A trimmed text of at most ``limit`` code points, the message's character rules
    (no control characters but newline and tab); empty is allowed."""

    def check(value: str) -> str:
        text = value.strip()
        if len(text) > limit:
            raise refuse(f"is longer than {limit} characters", "too_long")
        if rules.FORBIDDEN_CHARS_RE.search(text):
            raise refuse("contains control characters")
        return text

    return check


Reason = rule(
    _short_text(rules.MAX_REASON_LENGTH),
    maxLength=rules.MAX_REASON_LENGTH,
    description=f"Why, for the room's record: trimmed, up to {rules.MAX_REASON_LENGTH} code "
    "points, no control characters but newline and tab (longer: too_long)",
)
Topic = rule(
    _short_text(rules.MAX_TOPIC_LENGTH),
    maxLength=rules.MAX_TOPIC_LENGTH,
    description=f"Trimmed, up to {rules.MAX_TOPIC_LENGTH} code points, no control characters "
    "but newline and tab (longer: too_long); empty clears the topic",
)
Action = Literal["delete", "kick", "ban", "unban", "promote", "demote"]


@client_event("moderate", ack=Ack, errors=("not_in_room", "not_found", "too_long"))
class Moderate(Payload):
    """As the room's owner or a moderator: delete anyone's message (id), kick, ban or
    unban a user (target); as its owner: promote a member to moderator or demote one back
    (target). Recorded in the room's audit."""

    room: RoomName
    action: Action
    target: Username | None = Field(
        None, description="The user acted on (kick, ban, unban, promote, demote)"
    )
    id: MessageId | None = Field(None, description="The message to delete (delete)")
    reason: Reason | None = None

    @model_validator(mode="after")
    def _what(self):
        if self.action == "delete":
            if self.id is None or self.target is not None:
                raise refuse("delete takes the message's id, and no target")
        elif self.target is None or self.id is not None:
            raise refuse(f"{self.action} takes a target, and no id")
        return self


class InviteAck(Ack):
    room: str
    username: str = Field(description="The invited user, as registered")


@client_event("invite", ack=InviteAck, errors=("not_in_room", "not_found", "limit_reached"))
class Invite(Payload):
    """Make a user a member of the room (any member of a private room; the owner or a
    moderator of a public one); they get room_added."""

    room: RoomName
    target: Username


class TopicAck(Ack):
    room: str
    topic: str | None = Field(description="The topic now; null when it has none")


@client_event("set_topic", ack=TopicAck, errors=("not_in_room", "too_long"))
class SetTopic(Payload):
    """As the room's owner or a moderator, set (or, empty, clear) its topic; the room's
    open and watching connections get room_updated."""

    room: RoomName
    topic: Topic


@server_event("room_updated")
class RoomUpdated(Shape):
    """The room's topic changed (set or cleared)."""

    room: str
    topic: str | None = Field(description="null: the room has no topic any more")


@server_event("role_changed")
class RoleChanged(Shape):
    """The owner promoted a member to moderator or demoted a moderator (to the room's
    open and watching connections: the member lists, and the user's own actions, follow
    at once)."""

    room: str
    username: str = Field(description="Whose role changed")
    role: Literal["moderator", "member"]
    by: str = Field(description="The owner who changed it")


# --- who may do what -----------------------------------------------------------------


def refusal(
    action: str, my_role: str | None, target_role: str | None, myself: bool
) -> Failure | None:
    """Why a user of ``my_role`` may not take ``action`` on a user of ``target_role``
    (None: no member), or None. ``myself``: the target is the actor."""
    if my_role is None:
        return NOT_A_MEMBER
    if action in ("promote", "demote"):
        if my_role != "owner":
            return forbidden("only the room's owner promotes and demotes")
    elif not rules.can_moderate(my_role):
        return forbidden("only the room's owner and moderators moderate it")
    if myself:
        if action == "delete":
            return None  # your own message
        return forbidden(f"you cannot {action} yourself")
    if target_role == "owner":
        return forbidden("nobody acts on the room's owner")
    if target_role == "moderator" and my_role != "owner":
        return forbidden("a moderator cannot act on another moderator")
    return None


def _no_roles(room: OpenRoom) -> Failure | None:
    if room.peer_id is not None:
        return forbidden("a direct room has no roles: it is for its two users")
    return None


# --- statements ----------------------------------------------------------------------

_MINE = memberships.alias("mine")
_MY_ROLE = (
    select(_MINE.c.role)
    .where(_MINE.c.room_id == P("rid"), _MINE.c.user_id == P("uid"))
    .scalar_subquery()
)
# The target by name, with their role in the room (null: no member), whether they are
# banned from it, and the actor's role: one query for every check of an action.
_TARGET = (
    select(
        users.c.id,
        users.c.username,
        memberships.c.role,
        exists().where(bans.c.room_id == P("rid"), bans.c.user_id == users.c.id).label("banned"),
        _MY_ROLE.label("my_role"),
    )
    .select_from(
        users.outerjoin(
            memberships,
            and_(memberships.c.room_id == P("rid"), memberships.c.user_id == users.c.id),
        )
    )
    .where(func.lower(users.c.username) == func.lower(P("name")))
)
_MY_ROLE_ALONE = select(_MY_ROLE)
_MESSAGES = sql.messages
# A message of the room, its author's role there (null: no member now) and the actor's.
_MESSAGE_AND_ROLES = (
    select(
        _MESSAGES.c.user_id,
        _MESSAGES.c.deleted,
        memberships.c.role.label("author_role"),
        _MY_ROLE.label("my_role"),
    )
    .select_from(
        _MESSAGES.outerjoin(
            memberships,
            and_(
                memberships.c.room_id == _MESSAGES.c.room_id,
                memberships.c.user_id == _MESSAGES.c.user_id,
            ),
        )
    )
    .where(_MESSAGES.c.id == P("mid"), _MESSAGES.c.room_id == P("rid"))
)
_NEWEST_ID = func.coalesce(
    select(_MESSAGES.c.id)
    .where(*in_room(P("rid")))
    .order_by(*NEWEST_FIRST)
    .limit(1)
    .scalar_subquery(),
    0,
)
_RECORD_VALUES = {
    "room_id": P("rid"),
    "created_at": P("now"),
    "actor_id": P("actor"),
    "action": P("what"),
    "target_id": P("target"),
    "message_id": P("mid"),
    "reason": P("why"),
    "topic": P("new_topic"),
}
_RECORD = audit.insert().values(**_RECORD_VALUES)
# A kick notes the room's newest message: a join resuming from before it is refused.
_RECORD_KICK = audit.insert().values(**_RECORD_VALUES, newest_id=_NEWEST_ID)
_BAN = sql.per_dialect(
    lambda insert: (
        insert(bans)
        .values(room_id=P("rid"), user_id=P("uid"), created_at=P("now"))
        .on_conflict_do_nothing()
    )
)
_UNBAN = bans.delete().where(bans.c.room_id == P("rid"), bans.c.user_id == P("uid"))
_SET_ROLE = (
    memberships.update()
    .where(
        memberships.c.room_id == P("rid"),
        memberships.c.user_id == P("uid"),
        memberships.c.role == P("from_role"),
    )
    .values(role=P("to_role"))
)
_SET_TOPIC = (
    sql.rooms.update()
    .where(sql.rooms.c.id == P("rid"), sql.rooms.c.topic.is_distinct_from(P("new_topic")))
    .values(topic=P("new_topic"))
)


def _record(
    room: OpenRoom,
    actor: int,
    action: str,
    target: int | None = None,
    message_id: int | None = None,
    reason: str | None = None,
    topic: str | None = None,
) -> None:
    """Add an entry to the room's record."""
    sql.run(
        _RECORD_KICK if action == "kick" else _RECORD,
        rid=room.id,
        now=utcnow(),
        actor=actor,
        what=action,
        target=target,
        mid=message_id,
        why=reason or None,
        new_topic=topic,
    )


# --- moderate ------------------------------------------------------------------------


def moderate(me: Connection, room: OpenRoom, payload: Moderate) -> dict | Failure:
    """``moderate``: {} once done. Each action that changes something is recorded; one
    that changes nothing (a ban of the banned, a promotion of a moderator) is answered
    alike and records nothing."""
    refused = _no_roles(room)
    if refused is not None:
        return refused
    if payload.action == "delete":
        return _delete(me, room, payload)
    target = sql.run(_TARGET, rid=room.id, uid=me.user_id, name=payload.target).first()
    if target is None:
        my_role = sql.run(_MY_ROLE_ALONE, rid=room.id, uid=me.user_id).scalar()
        return refusal(payload.action, my_role, None, False) or not_found(
            f"no user named {payload.target}"
        )
    refused = refusal(payload.action, target.my_role, target.role, target.id == me.user_id)
    if refused is not None:
        return refused
    act = {"kick": _kick, "ban": _ban, "unban": _unban, "promote": _promote, "demote": _demote}
    return act[payload.action](me, room, payload, target)


def _delete(me: Connection, room: OpenRoom, payload: Moderate) -> dict | Failure:
    found = sql.run(_MESSAGE_AND_ROLES, rid=room.id, uid=me.user_id, mid=payload.id).first()
    if found is None:
        my_role = sql.run(_MY_ROLE_ALONE, rid=room.id, uid=me.user_id).scalar()
        return refusal("delete", my_role, None, False) or not_found(
            f"no message {payload.id} in this room"
        )
    refused = refusal("delete", found.my_role, found.author_role, found.user_id == me.user_id)
    if refused is not None:
        return refused
    if found.deleted or not messages.erase(room, payload.id, me.username):
        return not_found(f"no message {payload.id} in this room")
    _record(room, me.user_id, "delete", found.user_id, payload.id, payload.reason)
    return {}


def _not_a_member(target, room: OpenRoom) -> Failure:
    return not_found(f"{target.username} is not a member of {room.name}")


def _kick(me: Connection, room: OpenRoom, payload: Moderate, target) -> dict | Failure:
    """End the target's membership as DELETE …/membership does: room_removed, and their
    connections stop having the room open or watched, on every process. They may join
    again (afresh: a join resuming from before the kick is refused)."""
    if target.role is None:
        return _not_a_member(target, room)
    # Recorded first: a join that reads no membership any more then reads the kick too.
    _record(room, me.user_id, "kick", target.id, reason=payload.reason)
    if rooms.remove_member(room.id, target.id) is not None:
        membership.removed(target.id, target.username, room.name, by=me.username)
    return {}


def _ban(me: Connection, room: OpenRoom, payload: Moderate, target) -> dict | Failure:
    """Ban the target (a member or not): removed as with a kick, room_removed saying
    banned, and then no join, read, send, reaction or mention there until unbanned."""
    # The ban first: a join that reads no membership any more then reads the ban too.
    banned = sql.run(_BAN[sql.dialect()], rid=room.id, uid=target.id, now=utcnow()).rowcount
    if rooms.remove_member(room.id, target.id) is not None:
        membership.removed(target.id, target.username, room.name, banned=True, by=me.username)
    if banned:
        _record(room, me.user_id, "ban", target.id, reason=payload.reason)
    return {}


def _unban(me: Connection, room: OpenRoom, payload: Moderate, target) -> dict | Failure:
    """The target may join (a public room) or be invited (a private one) again."""
    if sql.run(_UNBAN, rid=room.id, uid=target.id).rowcount:
        _record(room, me.user_id, "unban", target.id, reason=payload.reason)
    return {}


def _promote(me: Connection, room: OpenRoom, payload: Moderate, target) -> dict | Failure:
    return _change_role(me, room, payload, target, "member", "moderator")


def _demote(me: Connection, room: OpenRoom, payload: Moderate, target) -> dict | Failure:
    return _change_role(me, room, payload, target, "moderator", "member")


def _change_role(
    me: Connection, room: OpenRoom, payload: Moderate, target, from_role: str, to_role: str
) -> dict | Failure:
    if target.role is None:
        return _not_a_member(target, room)
    changed = sql.run(
        _SET_ROLE, rid=room.id, uid=target.id, from_role=from_role, to_role=to_role
    ).rowcount
    if changed:
        _record(room, me.user_id, payload.action, target.id, reason=payload.reason)
        news = {"room": room.name, "username": target.username, "role": to_role, "by": me.username}
        outbox.emit("role_changed", news, outbox.message_channel(room.name))
    return {}


# --- invite --------------------------------------------------------------------------


def invite(me: Connection, room: OpenRoom, payload: Invite) -> dict | Failure:
    """``invite``: make the target a member, who gets room_added: {room, username}. Any
    member of a private room invites; in a public room, its owner and moderators. A
    member already: nothing changes. A banned user cannot be invited (forbidden)."""
    refused = _no_roles(room)
    if refused is not None:
        return refused
    target = sql.run(_TARGET, rid=room.id, uid=me.user_id, name=payload.target).first()
    if target is None:
        return not_found(f"no user named {payload.target}")
    if target.my_role is None:
        return NOT_A_MEMBER
    private = (rooms.find(room.name) or (0, "public"))[1] == "private"
    if not private and not rules.can_moderate(target.my_role):
        return forbidden("in a public room, its owner and moderators invite")
    done = {"room": room.name, "username": target.username}
    if target.role is not None:
        return done
    if target.banned:
        return forbidden(f"{target.username} is banned from {room.name}")
    if not rooms.add_member(room.id, target.id):  # at MAX_ROOMS_PER_USER (or just banned)
        return Failure("limit_reached", f"{target.username} is a member of too many rooms")
    summaries.room_added(target.id, target.username, room.id)
    return done


# --- topics --------------------------------------------------------------------------


def set_topic(me: Connection, room: OpenRoom, payload: SetTopic) -> dict | Failure:
    """``set_topic``: the owner or a moderator sets (empty: clears) the topic; when it
    changed, it is recorded and the room's open and watching connections get
    room_updated. {room, topic}."""
    refused = _no_roles(room)
    if refused is not None:
        return refused
    my_role = sql.run(_MY_ROLE_ALONE, rid=room.id, uid=me.user_id).scalar()
    if my_role is None:
        return NOT_A_MEMBER
    if not rules.can_moderate(my_role):
        return forbidden("only the room's owner and moderators set its topic")
    topic = payload.topic or None
    if sql.run(_SET_TOPIC, rid=room.id, new_topic=topic).rowcount:
        _record(room, me.user_id, "set_topic", topic=topic)
        news = {"room": room.name, "topic": topic}
        outbox.emit("room_updated", news, outbox.message_channel(room.name))
    return {"room": room.name, "topic": topic}
