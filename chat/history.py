"""Reading: the one serializer of a Message, history pages, and the replay a join sends.

A page is one query however big the room: every read walks the (room_id, id) index.
"""

from __future__ import annotations

from chat import rooms, rules, sql
from chat.errors import Failure, not_found
from chat.payloads import LoadHistory
from chat.rules import NOT_YOURS
from chat.sql import NEWEST_FIRST, P, in_room, messages, messages_query
from models import isoformat

# A replay bigger than this (in characters of text) is sent as a reset page instead, so
# no single emit grows without bound (1,000 messages of 4,000 characters would be 4 MB+).
REPLAY_MAX_TEXT = 1_000_000


def message_dict(row, room: str, username: str | None = None) -> dict:
    """The wire form of a message (the protocol's Message): the one serializer.

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


def payload_size(page: list[dict]) -> int:
    """About how many characters these messages take on the wire."""
    return sum(len(m["message"] or "") + 200 for m in page)


# --- pages -------------------------------------------------------------------------

_NEWEST_PAGE = (
    messages_query().where(*in_room(P("room_id"))).order_by(*NEWEST_FIRST).limit(P("limit"))
)
_PAGE_BEFORE = (
    messages_query()
    .where(*in_room(P("room_id")), messages.c.id < P("before_id"))
    .order_by(*NEWEST_FIRST)
    .limit(P("limit"))
)
_NEWER_THAN = (
    messages_query()
    .where(*in_room(P("room_id")), messages.c.id > P("last_id"))
    .order_by(messages.c.room_id, messages.c.id)
    .limit(P("limit"))
)


def page(
    room_id: int, room: str, before_id: int | None = None, limit: int = rules.PAGE_SIZE
) -> tuple[list[dict], bool]:
    """A page of messages older than ``before_id`` (the newest when None), oldest first.
    One query, whatever the size of the room (the (room_id, id) index)."""
    if before_id is None:
        rows = sql.run(_NEWEST_PAGE, room_id=room_id, limit=limit + 1).all()
    else:
        rows = sql.run(_PAGE_BEFORE, room_id=room_id, before_id=before_id, limit=limit + 1).all()
    return [message_dict(row, room) for row in reversed(rows[:limit])], len(rows) > limit


def readable_room(username: str, room: str) -> tuple[int, str] | Failure:
    """(id, kind) of a room this user may read (history, search), or why not."""
    if not rules.can_read(room, username):
        return NOT_YOURS
    found = rooms.find(room)
    if found is None:
        return not_found(f"no room named {room}")
    return found


def history(username: str, payload: LoadHistory) -> dict | Failure:
    """A history page as ``load_history`` and the HTTP API give it: {messages, has_more}."""
    found = readable_room(username, payload.room)
    if isinstance(found, Failure):
        return found
    limit = payload.limit or rules.PAGE_SIZE
    found_page, has_more = page(found[0], payload.room, payload.before_id, limit)
    return {"messages": found_page, "has_more": has_more}


def replay(room_id: int, room: str, last_id: int | None) -> dict | None:
    """The ``rejoin_room`` payload for a client that has seen up to ``last_id``, or None.

    Without last_id: the newest page. With it: everything newer, unless there is more
    than REPLAY_LIMIT, in which case the newest page with ``reset`` so the client starts over.
    """
    reset = False
    if last_id is None:
        found, has_more = page(room_id, room)
    else:
        limit = rules.REPLAY_LIMIT
        rows = sql.run(_NEWER_THAN, room_id=room_id, last_id=last_id, limit=limit + 1).all()
        found, has_more = [message_dict(row, room) for row in rows], False
        if len(rows) > limit or payload_size(found) > REPLAY_MAX_TEXT:
            found, has_more = page(room_id, room)
            reset = True
    if not found:
        return None
    return {"room": room, "messages": found, "has_more": has_more, "reset": reset}
