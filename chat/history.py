"""Reading: the one serializer of a Message, history pages (older, newer, or around a
message), the replay a join sends, and the original a reply answers.

A page is one query however big the room (every read walks the (room_id, id) index), plus
one for the reactions of the page and one for the originals of its replies when it has
any. The page's query also checks the part of the read rule (``rules.can_read``) that only
the database knows, a ban or a membership (``_MAY_READ``), so reading adds no query for it.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import NamedTuple

from flask import current_app
from sqlalchemy import String, and_, exists, func, or_, select

from chat import attachments, reactions, rooms, rules, sql
from chat.errors import Failure, not_found, rate_limited
from chat.payloads import LoadHistory
from chat.presence import Connection
from chat.rules import NOT_YOURS
from chat.sql import NEWEST_FIRST, P, bans, in_room, memberships, messages, messages_query
from models import isoformat

# A replay bigger than this (in characters of text) is sent as a reset page instead, so
# no single emit grows without bound (1,000 messages of 4,000 characters would be 4 MB+).
REPLAY_MAX_TEXT = 1_000_000


class Row(NamedTuple):
    """A message as ``sql.MESSAGE_COLUMNS`` reads it, for one known without reading it
    back (a send, an edit)."""

    id: int
    user_id: int
    body: str | None
    client_id: str | None
    created_at: datetime
    edited_at: datetime | None = None
    deleted: bool = False
    mention_names: str | None = None
    reply_to_id: int | None = None
    attachment_count: int | None = None
    reacted: bool = False


def message_dict(
    row, room: str, username: str, reactions_=(), reply: dict | None = None, files=()
) -> dict:
    """The wire form of a message (the protocol's Message): the one serializer.

    ``row`` has the columns of ``sql.MESSAGE_COLUMNS``; ``username`` is its author's,
    ``reactions_`` its reactions (``reactions.of_messages``), ``reply`` its ``reply_to``
    (``reply_dict``) and ``files`` its attachments (``attachments.of_messages``). A
    deleted message shows no text, mentions, reactions, original or files.
    """
    deleted = row.deleted
    return {
        "id": row.id,
        "room": room,
        "username": username,
        "message": None if deleted else row.body,
        "created_at": isoformat(row.created_at),
        "edited_at": isoformat(row.edited_at),
        "deleted": deleted,
        "client_id": row.client_id,
        "mentions": row.mention_names.split(" ") if row.mention_names and not deleted else [],
        "reactions": [] if deleted else list(reactions_),
        "reply_to": None if deleted else reply,
        "attachments": [] if deleted else list(files),
    }


def reply_dict(original_id: int, username: str, excerpt: str | None, deleted: bool) -> dict:
    """Message.reply_to: the original's id, author, the start of its current text (null
    once it is deleted) and whether it is."""
    return {
        "id": original_id,
        "username": username,
        "excerpt": None if deleted else excerpt,
        "deleted": bool(deleted),
    }


_ORIGINALS = select(
    messages.c.id,
    messages.c.user_id,
    func.substr(messages.c.body, 1, rules.EXCERPT_LENGTH).label("excerpt"),  # code points
    messages.c.deleted,
).where(messages.c.id.in_(P("ids", expanding=True)))


def message_dicts(rows, room: str | None = None) -> list[dict]:
    """Messages of ``MESSAGE_COLUMNS`` rows (of ``room``, or of each row's ``room``). The
    authors' names come from the process cache; the originals of the replies among them,
    and the reactions and attachments of those that have any, are read in one query
    each, and only then."""
    if not rows:
        return []
    rooms_of = [room] * len(rows) if room is not None else [row.room for row in rows]
    rows = _as_rows(rows)
    live = [row for row in rows if not row.deleted]
    answered = {row.reply_to_id for row in live if row.reply_to_id is not None}
    originals = {o.id: o for o in sql.run(_ORIGINALS, ids=list(answered))} if answered else {}
    names = rooms.usernames([row.user_id for row in rows] + [o.user_id for o in originals.values()])
    reacted = [row.id for row in live if row.reacted]
    found = reactions.of_messages(reacted) if reacted else {}
    attached = [row.id for row in live if row.attachment_count]
    files = attachments.of_messages(attached) if attached else {}
    dicts = []
    for row, room_of in zip(rows, rooms_of, strict=True):
        original = originals.get(row.reply_to_id) if row.reply_to_id is not None else None
        reply = original and reply_dict(
            original.id, names[original.user_id], original.excerpt, original.deleted
        )
        dicts.append(
            message_dict(
                row,
                room_of,
                names[row.user_id],
                found.get(row.id, ()),
                reply,
                files.get(row.id, ()),
            )
        )
    return dicts


def _as_rows(rows) -> list[Row]:
    """The rows as ``Row`` tuples: a column of a SQLAlchemy row costs ~0.5 us by name
    (~0.05 us by position, a tuple's ~0.03), and serializing a page of 50 reads ~15 of
    each (0.56 ms, against 0.16 ms)."""
    if isinstance(rows[0], Row):
        return rows
    fields = rows[0]._fields
    pick = operator.itemgetter(*(fields.index(name) for name in Row._fields))
    return [Row._make(pick(row)) for row in rows]


def payload_size(page: list[dict]) -> int:
    """About how many characters these messages take on the wire."""
    size = 0
    for m in page:
        size += 200 + len(m["message"] or "") + sum(len(name) + 3 for name in m["mentions"])
        for r in m["reactions"]:
            size += 40 + sum(len(name) + 3 for name in r["users"])
        if m["reply_to"] is not None:
            size += 80 + len(m["reply_to"]["excerpt"] or "")
        for f in m["attachments"]:
            size += 200 + 3 * len(f["name"])
    return size


# --- pages -------------------------------------------------------------------------


class Reader(NamedTuple):
    """Who reads a room of which kind: what a page's query checks (``_MAY_READ``)."""

    kind: str  # the room's: "public", "private" or "direct"
    user_id: int


# The read rule's part that only the database knows, in every page's query: a public
# room's reader is not banned from it, a private room's is a member (a direct room's two
# readers are known by its name: ``rules.can_read``). It holds for the whole query or not
# at all, so a refused read is an empty page (``history`` then says why: one more query,
# for empty pages only).
_KIND = P("kind", type_=String)
_MAY_READ = or_(
    _KIND == "direct",
    and_(
        _KIND == "public",
        ~exists().where(bans.c.room_id == P("room_id"), bans.c.user_id == P("uid")),
    ),
    and_(
        _KIND == "private",
        exists().where(memberships.c.room_id == P("room_id"), memberships.c.user_id == P("uid")),
    ),
)
_IN_ROOM = (*in_room(P("room_id")), _MAY_READ)
OLDEST_FIRST = (messages.c.room_id, messages.c.id)
_OTHER = messages.alias("other")


def _next_id(condition, *order):
    """The first id of the room's messages meeting ``condition`` on ``_OTHER`` in
    ``order``, or null: one probe of ix_messages_room_history (said as in ``in_room``, so
    PostgreSQL never walks the primary key instead, which a far ``before_id`` in a room
    of few messages would make a scan of every newer message)."""
    return (
        select(_OTHER.c.id)
        .where(_OTHER.c.room_id >= P("room_id"), _OTHER.c.room_id <= P("room_id"), condition)
        .order_by(*order)
        .limit(1)
    )


_NEWEST_PAGE = sql.Prepared(
    messages_query().where(*_IN_ROOM).order_by(*NEWEST_FIRST).limit(P("limit"))
)
# Nothing lies between a page older than before_id and before_id: newer messages than the
# page exist when any is at or after before_id (and older than a page after after_id,
# when any is at or before after_id).
_NEXT_FROM = _next_id(_OTHER.c.id >= P("before_id"), _OTHER.c.room_id, _OTHER.c.id)
_LAST_UP_TO = _next_id(_OTHER.c.id <= P("after_id"), _OTHER.c.room_id.desc(), _OTHER.c.id.desc())
_PAGE_BEFORE = sql.Prepared(
    messages_query()
    .add_columns(_NEXT_FROM.scalar_subquery().label("beyond"))
    .where(*_IN_ROOM, messages.c.id < P("before_id"))
    .order_by(*NEWEST_FIRST)
    .limit(P("limit"))
)
_PAGE_AFTER = (
    messages_query()
    .add_columns(_LAST_UP_TO.scalar_subquery().label("beyond"))
    .where(*_IN_ROOM, messages.c.id > P("after_id"))
    .order_by(*OLDEST_FIRST)
    .limit(P("limit"))
)
_AT_OR_AFTER = (
    messages_query()
    .where(*_IN_ROOM, messages.c.id >= P("from_id"))
    .order_by(*OLDEST_FIRST)
    .limit(P("limit"))
)
_NEWER_THAN = sql.Prepared(
    messages_query()
    .where(*_IN_ROOM, messages.c.id > P("last_id"))
    .order_by(*OLDEST_FIRST)
    .limit(P("limit"))
)


def page(
    room_id: int,
    room: str,
    reader: Reader,
    before_id: int | None = None,
    limit: int = rules.PAGE_SIZE,
) -> tuple[list[dict], bool, bool]:
    """A page of messages older than ``before_id`` (the newest when None), oldest first;
    whether older ones exist, and newer ones. One query, whatever the size of the room
    (the (room_id, id) index), and one for the page's reactions. Empty when ``reader``
    may not read the room."""
    who = {"kind": reader.kind, "uid": reader.user_id}
    if before_id is None:
        rows = sql.run(_NEWEST_PAGE, room_id=room_id, limit=limit + 1, **who).all()
        newer = None
    else:
        rows = sql.run(
            _PAGE_BEFORE, room_id=room_id, before_id=before_id, limit=limit + 1, **who
        ).all()
        if rows:
            newer = rows[0].beyond
        else:
            newer = sql.run(_NEXT_FROM, room_id=room_id, before_id=before_id).scalar()
    older = len(rows) > limit
    return message_dicts(list(reversed(rows[:limit])), room), older, newer is not None


def load(me: Connection, payload: LoadHistory) -> dict | Failure:
    """``load_history``: a page (below), paid for in bytes by the connection that reads
    it (its read_bytes budget: refused while in debt)."""
    budgets = current_app.extensions["budgets"]
    wait = budgets.reading(me.budgets)
    if wait is not None:
        return rate_limited("too much history sent lately, slow down", wait)
    found = history(rooms.UserRef(me.user_id, me.username), payload)
    if not isinstance(found, Failure):
        budgets.read(me.budgets, payload_size(found["messages"]))
    return found


def history(user: rooms.UserRef, payload: LoadHistory) -> dict | Failure:
    """A history page as ``load_history`` and the HTTP API give it: {messages, has_more,
    has_newer}: older than before_id (the newest when no id is given), newer than
    after_id, or around around_id (up to half the page older, that message, the rest
    newer), oldest first; has_more: older messages exist, has_newer: newer ones do.

    For a room this user may not read (``rules.can_read``), forbidden: the same answer
    for a private room, one they are banned from and one that does not exist. The room's
    id and kind come from the process's cache; the ban or membership is checked by the
    page's own query.
    """
    room = payload.room
    participants = rules.direct_participants(room)
    if participants is not None and user.username.lower() not in participants:
        return NOT_YOURS
    found = rooms.find(room)
    if found is None:
        return rules.not_readable(room)
    room_id, reader = found[0], Reader(found[1], user.id)
    limit = payload.limit or rules.PAGE_SIZE
    if payload.after_id is not None:
        after = {"room_id": room_id, "after_id": payload.after_id}
        who = {"kind": reader.kind, "uid": user.id}
        rows = sql.run(_PAGE_AFTER, **after, **who, limit=limit + 1).all()
        if rows:
            older = rows[0].beyond
        else:
            refused = _refused(room, user)
            if refused is not None:
                return refused
            older = sql.run(_LAST_UP_TO, **after).scalar()
        return {
            "messages": message_dicts(rows[:limit], room),
            "has_more": older is not None,
            "has_newer": len(rows) > limit,
        }
    if payload.around_id is not None:
        return _around(room_id, room, reader, user, payload.around_id, limit)
    found_page, has_more, has_newer = page(room_id, room, reader, payload.before_id, limit)
    if not found_page:
        refused = _refused(room, user)
        if refused is not None:
            return refused
    return {"messages": found_page, "has_more": has_more, "has_newer": has_newer}


def _refused(room: str, user: rooms.UserRef) -> Failure | None:
    """Why an empty page is empty when the user may not read the room, or None (it is)."""
    found = rooms.readable(room, user)
    return found if isinstance(found, Failure) else None


def _around(
    room_id: int, room: str, reader: Reader, user: rooms.UserRef, around_id: int, limit: int
) -> dict | Failure:
    """The message ``around_id``, up to limit // 2 older ones before it and the rest of
    the page newer: two queries (each way from the message) and the reactions."""
    who = {"room_id": room_id, "kind": reader.kind, "uid": reader.user_id}
    rows = sql.run(_AT_OR_AFTER, **who, from_id=around_id, limit=limit + 1).all()
    if not rows or rows[0].id != around_id:
        return _refused(room, user) or not_found(f"no message {around_id} in this room")
    older_limit = limit // 2
    older = sql.run(_PAGE_BEFORE, **who, before_id=around_id, limit=older_limit + 1)
    older = older.all()
    has_more = len(older) > older_limit
    older = list(reversed(older[:older_limit]))
    newer_limit = limit - len(older)
    return {
        "messages": message_dicts(older + rows[:newer_limit], room),
        "has_more": has_more,
        "has_newer": len(rows) > newer_limit,
    }


def replay(room_id: int, room: str, reader: Reader, last_id: int | None) -> dict | None:
    """The ``rejoin_room`` payload for a client that has seen up to ``last_id``, or None.

    Without last_id: the newest page. With it: everything newer, unless there is more
    than REPLAY_LIMIT, in which case the newest page with ``reset`` so the client starts over.
    """
    reset = False
    if last_id is None:
        found, has_more, _ = page(room_id, room, reader)
    else:
        limit = rules.REPLAY_LIMIT
        who = {"kind": reader.kind, "uid": reader.user_id}
        rows = sql.run(_NEWER_THAN, room_id=room_id, last_id=last_id, limit=limit + 1, **who).all()
        if len(rows) > limit:
            found, has_more, _ = page(room_id, room, reader)
            reset = True
        else:
            found, has_more = message_dicts(rows, room), False
            if payload_size(found) > REPLAY_MAX_TEXT:
                found, has_more, _ = page(room_id, room, reader)
                reset = True
    if not found:
        return None
    return {"room": room, "messages": found, "has_more": has_more, "reset": reset}


# --- the original a reply answers ----------------------------------------------------

_ORIGINAL = select(
    messages.c.id,
    messages.c.user_id,
    func.substr(messages.c.body, 1, rules.EXCERPT_LENGTH).label("excerpt"),
).where(messages.c.id == P("mid"), messages.c.room_id == P("rid"), messages.c.deleted.is_(False))


def original(room_id: int, message_id: int) -> dict | Failure:
    """The ``reply_to`` of a message answering ``message_id``, a live message of the room
    (else not_found)."""
    row = sql.run(_ORIGINAL, rid=room_id, mid=message_id).first()
    if row is None:
        return not_found(f"no message {message_id} in this room to reply to")
    return reply_dict(row.id, rooms.usernames([row.user_id])[row.user_id], row.excerpt, False)
