"""Writing messages: the whole send (limit, idempotency, insert, broadcast), edits,
deletes and read marks.

Every function takes what the connection already knows (``Connection``, ``OpenRoom``)
and a validated payload (``payloads.py``), returns the ack's body or a ``Failure``, and
queues what the room must hear in the outbox.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import exists, or_, select

from chat import groupcommit, outbox, presence, rooms, rules, sql, summaries
from chat.errors import Failure, not_found, rate_limited
from chat.groupcommit import find_by_client_id
from chat.history import message_dict
from chat.payloads import DeleteMessage, EditMessage, MarkSeen, SendMessage
from chat.presence import Connection, OpenRoom
from chat.search import document
from chat.sql import P, memberships, messages
from models import isoformat, utcnow

# --- sending -------------------------------------------------------------------------


def send(me: Connection, room: OpenRoom, payload: SendMessage) -> dict | Failure:
    """Store the message once per client_id and broadcast it to the room's open and
    watching connections: {id, created_at}.

    The per-user limit counts stored messages only: a refused, failed or repeated send is
    refunded, and a retry of a stored message is answered even over the limit.
    """
    limit = current_app.extensions["message_limit"]
    hit = limit.hit(me.user_id)
    if isinstance(hit, float):
        earlier = payload.client_id and find_by_client_id(room.id, me.user_id, payload.client_id)
        if earlier:
            return {"id": earlier[0], "created_at": isoformat(earlier[1])}
        return rate_limited("too many messages, slow down", hit)
    try:
        message_id, created_at, created = groupcommit.store(
            room.id, me.user_id, payload.message, payload.client_id
        )
    except BaseException:
        limit.refund(hit)  # a failed send does not count
        raise
    ack = {"id": message_id, "created_at": isoformat(created_at)}
    if not created:  # a retry: the first ack, no second broadcast, not counted
        limit.refund(hit)
        return ack
    message = {
        **ack,
        "room": room.name,
        "username": me.username,
        "message": payload.message,
        "edited_at": None,
        "deleted": False,
        "client_id": payload.client_id,
    }
    outbox.emit("recieve_message", message, outbox.message_channel(room.name))
    presence.typing(me, room.name, False)  # a sent message ends typing
    if room.peer_id is not None and rooms.add_member(room.id, room.peer_id):
        # The peer had removed this direct room: it comes back with this message.
        peer = rules.other_participant(room.name, me.username)
        summaries.room_added(room.peer_id, peer, room.id)
    return ack


# --- editing and deleting your own ---------------------------------------------------

_MESSAGE_IN_ROOM = (messages.c.id == P("mid"), messages.c.room_id == P("rid"))
_OWN_LIVE = (*_MESSAGE_IN_ROOM, messages.c.user_id == P("uid"), messages.c.deleted.is_(False))
_AUTHOR_AND_STATE = select(messages.c.user_id, messages.c.deleted).where(*_MESSAGE_IN_ROOM)
_EDITED_COLUMNS = (
    messages.c.id,
    messages.c.body,
    messages.c.client_id,
    messages.c.created_at,
    messages.c.edited_at,
    messages.c.deleted,
)
_EDIT = (
    messages.update()
    .where(*_OWN_LIVE, messages.c.body != P("new_body"))
    .values(body=P("new_body"), edited_at=P("now"), search_text=P("new_search_text"))
    .returning(*_EDITED_COLUMNS)
)
_OWN_MESSAGE = select(*_EDITED_COLUMNS).where(*_OWN_LIVE)
_DELETE = messages.update().where(*_OWN_LIVE).values(deleted=True, body=None, search_text=None)


def _why_not_own(room_id: int, user_id: int, message_id: int) -> Failure:
    row = sql.run(_AUTHOR_AND_STATE, rid=room_id, mid=message_id).first()
    if row is None or row.deleted:
        return not_found(f"no message {message_id} in this room")
    if row.user_id != user_id:
        return Failure("forbidden", "only its author can change a message")
    return Failure("internal_error", "the message changed meanwhile")


def edit(me: Connection, room: OpenRoom, payload: EditMessage) -> dict | Failure:
    """Replace the text of the user's own live message: {id, edited_at}; the room gets
    message_edited when the text changed."""
    mine = {"rid": room.id, "uid": me.user_id, "mid": payload.id}
    text = payload.message
    row = sql.run(
        _EDIT, new_body=text, new_search_text=document(text), now=utcnow(), **mine
    ).first()
    if row is not None:
        message = message_dict(row, room.name, me.username)
        outbox.emit("message_edited", message, outbox.message_channel(room.name))
    else:  # not yours, gone, or the same text: which?
        row = sql.run(_OWN_MESSAGE, **mine).first()
        if row is None:
            return _why_not_own(room.id, me.user_id, payload.id)
    return {"id": row.id, "edited_at": isoformat(row.edited_at)}


def delete(me: Connection, room: OpenRoom, payload: DeleteMessage) -> dict | Failure:
    """Soft-delete the user's own live message: the text goes for good; the row stays so
    ids, history and replay keep their shape. The room gets message_deleted."""
    deleted = sql.run(_DELETE, rid=room.id, uid=me.user_id, mid=payload.id).rowcount
    if deleted != 1:
        return _why_not_own(room.id, me.user_id, payload.id)
    outbox.emit(
        "message_deleted", {"room": room.name, "id": payload.id}, outbox.message_channel(room.name)
    )
    return {"id": payload.id}


# --- read marks ----------------------------------------------------------------------

_THE_MEMBERSHIP = (memberships.c.room_id == P("rid"), memberships.c.user_id == P("uid"))
_LAST_READ = select(memberships.c.last_read_id).where(*_THE_MEMBERSHIP)
_MESSAGE_EXISTS = select(messages.c.id).where(*_MESSAGE_IN_ROOM)
# One conditional UPDATE, so concurrent marks cannot move it backwards, that also checks
# the message exists.
_MARK_READ = (
    memberships.update()
    .where(
        *_THE_MEMBERSHIP,
        or_(memberships.c.last_read_id.is_(None), memberships.c.last_read_id < P("mid")),
        exists().where(*_MESSAGE_IN_ROOM),
    )
    .values(last_read_id=P("mid"))
)


def mark_seen(me: Connection, room: OpenRoom, payload: MarkSeen) -> dict | Failure:
    """Move the reader's last read id forward to message_id (never back): {room,
    message_id} with the stored position; the others get messages_seen when it moved."""
    mid = payload.message_id
    if sql.run(_MARK_READ, rid=room.id, uid=me.user_id, mid=mid).rowcount:
        seen = {"room": room.name, "username": me.username, "message_id": mid}
        outbox.emit("messages_seen", seen, outbox.open_channel(room.name), skip_sender=True)
        return {"room": room.name, "message_id": mid}
    if sql.run(_MESSAGE_EXISTS, rid=room.id, mid=mid).first() is None:
        return not_found(f"no message {mid} in this room")
    # An older id: the stored position stays, and is the answer.
    return {
        "room": room.name,
        "message_id": sql.run(_LAST_READ, rid=room.id, uid=me.user_id).scalar(),
    }
