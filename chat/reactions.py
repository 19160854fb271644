"""Reactions: ``react {room, id, emoji, on}`` adds or takes back one user's emoji on a
message, ``reaction_changed`` tells the room, and every Message carries its reactions.

A reaction is a row per (message, user, emoji), unique, so reacting twice changes nothing.
A message holds at most ``rules.MAX_REACTION_KINDS`` distinct emoji. The reactions of a
whole page of messages are read in one query (``of_messages``).
"""

from __future__ import annotations

import emoji as emoji_data
from pydantic import Field
from sqlalchemy import exists, func, select

from chat import outbox, rules, sql
from chat.errors import Failure, not_found
from chat.fields import MessageId, RoomName
from chat.presence import Connection, OpenRoom
from chat.protocol import Ack, Payload, Shape, client_event, refuse, rule, server_event
from chat.rules import NOT_A_MEMBER
from chat.sql import P, memberships, messages, reactions, users
from models import utcnow

# A bound checked before the emoji library: the longest emoji is 10 code points.
MAX_EMOJI_LENGTH = 16
_COMPONENT = emoji_data.STATUS["component"]  # a bare skin tone or hair style


def canonical_emoji(value: str) -> str | None:
    """The fully-qualified form of ``value`` when it is exactly one emoji (one grapheme
    cluster: skin tones and ZWJ sequences included), else None. ``❤`` and ``❤️`` are
    one emoji, stored and counted as ``❤️``."""
    if not 0 < len(value) <= MAX_EMOJI_LENGTH:
        return None
    if not emoji_data.is_emoji(value) and value.endswith("\ufe0f"):
        # A presentation selector after an emoji that needs none (pickers send "👍\ufe0f").
        value = value[:-1]
    if not emoji_data.is_emoji(value):
        return None
    data = emoji_data.EMOJI_DATA[value]
    if data["status"] == _COMPONENT:
        return None
    return emoji_data.emojize(data["en"])


def _emoji(value: str) -> str:
    found = canonical_emoji(value)
    if found is None:
        raise refuse("must be exactly one emoji")
    return found


Emoji = rule(
    _emoji,
    minLength=1,
    maxLength=MAX_EMOJI_LENGTH,
    description="Exactly one emoji (one grapheme cluster; skin tones and ZWJ sequences "
    "allowed); stored in its fully-qualified form",
)


# --- payload models ------------------------------------------------------------------


@server_event("reaction_changed")
class ReactionChanged(Shape):
    """Someone added or took back a reaction: that emoji's reactions to the message now."""

    room: str
    id: int = Field(description="The message")
    emoji: str
    count: int = Field(description="How many users reacted with it (0: none any more)")
    users: list[str] = Field(
        max_length=rules.MAX_REACTION_USERS,
        description=f"Who reacted with it, oldest first, at most {rules.MAX_REACTION_USERS}",
    )


class ReactAck(Ack):
    id: int
    emoji: str = Field(description="The emoji as stored (its fully-qualified form)")
    count: int
    users: list[str] = Field(max_length=rules.MAX_REACTION_USERS)


@client_event("react", ack=ReactAck, errors=("not_in_room", "not_found", "limit_reached"))
class React(Payload):
    """Add (on: true) or take back (on: false) your reaction to a message of the room;
    the room's open connections get reaction_changed when that changed anything."""

    room: RoomName
    id: MessageId
    emoji: Emoji
    on: bool


# --- reacting ------------------------------------------------------------------------

_LIVE_MESSAGE = exists().where(
    messages.c.id == P("mid"), messages.c.room_id == P("rid"), messages.c.deleted.is_(False)
)
# The reacting user is a member of the room: checked in the statement that writes, so a
# kick or ban on another process has the last word over this connection's open room.
_AM_MEMBER = exists().where(memberships.c.room_id == P("rid"), memberships.c.user_id == P("uid"))
_SAME_EMOJI = (reactions.c.message_id == P("mid"), reactions.c.emoji == P("emoji"))
_MINE = exists().where(*_SAME_EMOJI, reactions.c.user_id == P("uid"))
_KINDS = (
    select(func.count(reactions.c.emoji.distinct()))
    .where(reactions.c.message_id == P("mid"))
    .scalar_subquery()
)
# One statement: the reaction is added when the message is live and the emoji is already
# on it or one more kind fits; a repeat hits the unique key and adds nothing.
_ADD = sql.per_dialect(
    lambda insert: (
        insert(reactions)
        .from_select(
            ["message_id", "user_id", "emoji", "created_at"],
            select(
                P("mid", type_=reactions.c.message_id.type),
                P("uid", type_=reactions.c.user_id.type),
                P("emoji", type_=reactions.c.emoji.type),
                P("now", type_=reactions.c.created_at.type),
            ).where(
                _LIVE_MESSAGE,
                _AM_MEMBER,
                exists().where(*_SAME_EMOJI) | (_KINDS < rules.MAX_REACTION_KINDS),
            ),
        )
        .on_conflict_do_nothing()
    )
)
_REMOVE = reactions.delete().where(
    *_SAME_EMOJI, reactions.c.user_id == P("uid"), _LIVE_MESSAGE, _AM_MEMBER
)
_REMOVE_MINE = reactions.delete().where(*_SAME_EMOJI, reactions.c.user_id == P("uid"))
# Why nothing changed: the message is gone, the reaction was already there (or not), or
# the message holds as many kinds as it may.
_STATE = select(messages.c.deleted, _MINE.label("mine"), _AM_MEMBER.label("member")).where(
    messages.c.id == P("mid"), messages.c.room_id == P("rid")
)
_THIS_EMOJI = reactions.alias("this_emoji")
_OTHER = reactions.alias("other")
# How many other kinds were first used before this emoji was: 20 or more means it is one
# kind too many, which two users adding a 20th and a 21st kind at once could reach (each
# insert counts the kinds before the other's is committed).
_KINDS_BEFORE = (
    select(func.count(_OTHER.c.emoji.distinct()))
    .where(
        _OTHER.c.message_id == P("mid"),
        _OTHER.c.emoji != P("emoji"),
        _OTHER.c.id
        < select(func.min(_THIS_EMOJI.c.id))
        .where(_THIS_EMOJI.c.message_id == P("mid"), _THIS_EMOJI.c.emoji == P("emoji"))
        .scalar_subquery(),
    )
    .scalar_subquery()
)
# The emoji's reactions to the message: who (oldest first), how many, and its rank.
_WHO = (
    select(users.c.username, func.count().over().label("total"), _KINDS_BEFORE.label("before"))
    .join_from(reactions, users, reactions.c.user_id == users.c.id)
    .where(*_SAME_EMOJI)
    .order_by(reactions.c.id)
    .limit(rules.MAX_REACTION_USERS)
)


def react(me: Connection, room: OpenRoom, payload: React) -> dict | Failure:
    """Add or take back the user's reaction: {id, emoji, count, users}, the emoji's
    reactions to the message after the call. The room's open connections get
    reaction_changed when something changed; a repeat changes and sends nothing."""
    mine = {"mid": payload.id, "rid": room.id, "uid": me.user_id, "emoji": payload.emoji}
    if payload.on:
        changed = sql.run(_ADD, now=utcnow(), **mine).rowcount == 1
    else:
        changed = sql.run(_REMOVE, **mine).rowcount == 1
    if not changed:
        state = sql.run(_STATE, **mine).first()
        if state is not None and not state.member:
            return NOT_A_MEMBER
        if state is None or state.deleted:
            return not_found(f"no message {payload.id} in this room")
        if payload.on and not state.mine:
            return _too_many()
    rows = sql.run(_WHO, mid=payload.id, emoji=payload.emoji).all()
    if changed and payload.on and rows and rows[0].before >= rules.MAX_REACTION_KINDS:
        sql.run(_REMOVE_MINE, **mine)  # raced past the cap: this kind is the one too many
        return _too_many()
    news = {
        "id": payload.id,
        "emoji": payload.emoji,
        "count": rows[0].total if rows else 0,
        "users": [row.username for row in rows],
    }
    if changed:
        outbox.emit("reaction_changed", {"room": room.name, **news}, outbox.open_channel(room.name))
    return news


def _too_many() -> Failure:
    kinds = rules.MAX_REACTION_KINDS
    return Failure("limit_reached", f"a message holds at most {kinds} different emoji")


# --- reading -------------------------------------------------------------------------

_PER_EMOJI = (reactions.c.message_id, reactions.c.emoji)
_RANKED = (
    select(
        reactions.c.message_id,
        reactions.c.emoji,
        users.c.username,
        func.row_number().over(partition_by=_PER_EMOJI, order_by=reactions.c.id).label("n"),
        func.count().over(partition_by=_PER_EMOJI).label("total"),
        func.min(reactions.c.id).over(partition_by=_PER_EMOJI).label("first"),
    )
    .join_from(reactions, users, reactions.c.user_id == users.c.id)
    .where(reactions.c.message_id.in_(P("ids", expanding=True)))
    .subquery()
)
# Every message's reactions, emoji by first use, users oldest first (at most 100 each).
_OF_MESSAGES = (
    select(_RANKED.c.message_id, _RANKED.c.emoji, _RANKED.c.username, _RANKED.c.total)
    .where(_RANKED.c.n <= rules.MAX_REACTION_USERS)
    .order_by(_RANKED.c.message_id, _RANKED.c.first, _RANKED.c.n)
)


def of_messages(ids: list[int]) -> dict[int, list[dict]]:
    """The reactions of these messages, in one query: {id: [{emoji, count, users}]}
    (messages without any are left out)."""
    if not ids:
        return {}
    found: dict[int, dict[str, dict]] = {}
    for message_id, emoji, username, total in sql.run(_OF_MESSAGES, ids=ids):
        kinds = found.setdefault(message_id, {})
        entry = kinds.get(emoji)
        if entry is None:
            entry = kinds[emoji] = {"emoji": emoji, "count": total, "users": []}
        entry["users"].append(username)
    # A kind past the cap exists only for the moment a racing react takes it back.
    return {mid: list(kinds.values())[: rules.MAX_REACTION_KINDS] for mid, kinds in found.items()}
