"""Writing messages: the whole send (limit, idempotency, reply and mentions, insert,
broadcast), edits, deletes and read marks.

Every function takes what the connection already knows (``Connection``, ``OpenRoom``)
and a validated payload (``payloads.py``), returns the ack's body or a ``Failure``, and
queues what the room must hear in the outbox.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import exists, or_, select

from chat import (
    attachments,
    groupcommit,
    history,
    mentions,
    outbox,
    presence,
    rooms,
    rules,
    sql,
    summaries,
)
from chat.errors import Failure, not_found, rate_limited
from chat.groupcommit import find_by_client_id
from chat.history import Row, message_dict
from chat.payloads import DeleteMessage, EditMessage, MarkSeen, SendMessage
from chat.presence import Connection, OpenRoom
from chat.rules import NOT_A_MEMBER
from chat.searchtext import document
from chat.sql import P, memberships, messages, messages_query
from models import isoformat, utcnow

# --- sending -------------------------------------------------------------------------


def send(me: Connection, room: OpenRoom, payload: SendMessage) -> dict | Failure:
    """Store the message once per client_id and broadcast it to the room's open and
    watching connections: {id, created_at}.

    The per-user limit counts stored messages only: a refused, failed or repeated send is
    refunded, and a retry of a stored message is answered even over the limit.

    The Message is built from what the send knows, never read back: a text without ``@``
    and without ``reply_to`` costs the insert alone; a reply reads its original first,
    and a possible mention the members it may name (and then stores who it mentions,
    each of whom gets ``mentioned``).
    """
    limit = current_app.extensions["message_limit"]
    hit = limit.hit(me.user_id)
    if isinstance(hit, float):
        earlier = payload.client_id and find_by_client_id(room.id, me.user_id, payload.client_id)
        if earlier:
            return {"id": earlier[0], "created_at": isoformat(earlier[1])}
        return rate_limited("too many messages, slow down", hit)
    try:
        reply = None
        if payload.reply_to is not None:
            reply = history.original(room.id, payload.reply_to)
            if isinstance(reply, Failure):
                limit.refund(hit)  # a refused send does not count
                return reply
        mentioned = mentions.resolve(me, room, payload.message)
        names = mentions.names(mentioned)
        files = []
        if payload.attachments:
            item = groupcommit.NewMessage(
                room.id, me.user_id, payload.message, payload.client_id, utcnow(), names
            )
            item.reply_to_id = payload.reply_to
            stored = attachments.store_message(item, payload.attachments)
            if isinstance(stored, Failure):
                limit.refund(hit)
                return stored
            message_id, created_at, created, files = stored
        else:
            message_id, created_at, created = groupcommit.store(
                room.id,
                me.user_id,
                payload.message,
                payload.client_id,
                mention_names=names,
                reply_to_id=payload.reply_to,
            )
    except BaseException:
        limit.refund(hit)  # a failed send does not count
        raise
    if message_id is None:  # no member (any more): kicked or banned on another process
        limit.refund(hit)
        return NOT_A_MEMBER
    ack = {"id": message_id, "created_at": isoformat(created_at)}
    if not created:  # a retry: the first ack, no second broadcast, not counted
        limit.refund(hit)
        return ack
    row = Row(
        id=message_id,
        user_id=me.user_id,
        body=payload.message,
        client_id=payload.client_id,
        created_at=created_at,
        mention_names=names,
        reply_to_id=payload.reply_to,
        attachment_count=len(files) or None,
    )
    message = message_dict(row, room.name, me.username, (), reply, files)
    outbox.emit("recieve_message", message, outbox.message_channel(room.name))
    mentions.record(room, message, mentioned)
    presence.typing(me, room.name, False)  # a sent message ends typing
    if room.peer_id is not None and rooms.add_member(room.id, room.peer_id):
        # The peer had removed this direct room: it comes back with this message.
        peer = rules.other_participant(room.name, me.username)
        summaries.room_added(room.peer_id, peer, room.id)
    return ack


# --- editing and deleting your own ---------------------------------------------------

_MESSAGE_IN_ROOM = (messages.c.id == P("mid"), messages.c.room_id == P("rid"))
# Checked in the statement that writes, so a kick or ban elsewhere has the last word.
_AM_MEMBER = exists().where(memberships.c.room_id == P("rid"), memberships.c.user_id == P("uid"))
_OWN_LIVE = (
    *_MESSAGE_IN_ROOM,
    messages.c.user_id == P("uid"),
    messages.c.deleted.is_(False),
    _AM_MEMBER,
)
_AUTHOR_AND_STATE = select(
    messages.c.user_id, messages.c.deleted, _AM_MEMBER.label("member")
).where(*_MESSAGE_IN_ROOM)
_AM_MEMBER_ALONE = select(_AM_MEMBER)
_OWN_MESSAGE = messages_query().where(*_OWN_LIVE)
_EDIT = (
    messages.update()
    .where(*_OWN_LIVE, messages.c.body != P("new_body"))
    .values(
        body=P("new_body"),
        edited_at=P("now"),
        mention_names=P("names"),
        search_text=P("new_search_text"),
    )
    .returning(messages.c.edited_at)
)
_DELETE = (
    messages.update()
    .where(*_OWN_LIVE)
    .values(deleted=True, body=None, mention_names=None, search_text=None)
    .returning(messages.c.attachment_count)
)


def _why_not_own(room_id: int, user_id: int, message_id: int) -> Failure:
    row = sql.run(_AUTHOR_AND_STATE, rid=room_id, uid=user_id, mid=message_id).first()
    if row is None:
        if not sql.run(_AM_MEMBER_ALONE, rid=room_id, uid=user_id).scalar():
            return NOT_A_MEMBER
        return not_found(f"no message {message_id} in this room")
    if not row.member:
        return NOT_A_MEMBER
    if row.deleted:
        return not_found(f"no message {message_id} in this room")
    if row.user_id != user_id:
        return Failure("forbidden", "only its author can change a message")
    return Failure("internal_error", "the message changed meanwhile")


def edit(me: Connection, room: OpenRoom, payload: EditMessage) -> dict | Failure:
    """Replace the text of the user's own live message: {id, edited_at}. When the text
    changed, the room gets message_edited, who it mentions is worked out again, and users
    it newly mentions get ``mentioned``."""
    mine = {"rid": room.id, "uid": me.user_id, "mid": payload.id}
    before = sql.run(_OWN_MESSAGE, **mine).first()
    if before is None:
        return _why_not_own(room.id, me.user_id, payload.id)
    if before.body == payload.message:
        return {"id": before.id, "edited_at": isoformat(before.edited_at)}
    earlier = tuple(before.mention_names.split(" ")) if before.mention_names else ()
    mentioned = mentions.resolve(me, room, payload.message, earlier)
    names = mentions.names(mentioned)
    row = sql.run(
        _EDIT,
        new_body=payload.message,
        new_search_text=document(payload.message),
        now=utcnow(),
        names=names,
        **mine,
    ).first()
    if row is None:  # deleted, or given this very text, meanwhile
        again = sql.run(_OWN_MESSAGE, **mine).first()
        if again is None:
            return _why_not_own(room.id, me.user_id, payload.id)
        return {"id": again.id, "edited_at": isoformat(again.edited_at)}
    edited = before._asdict() | {
        "body": payload.message,
        "edited_at": row.edited_at,
        "mention_names": names,
    }
    [message] = history.message_dicts([Row(**edited)], room.name)
    outbox.emit("message_edited", message, outbox.message_channel(room.name))
    mentions.rerecord(room, message, mentioned, earlier)
    return {"id": payload.id, "edited_at": isoformat(row.edited_at)}


def delete(me: Connection, room: OpenRoom, payload: DeleteMessage) -> dict | Failure:
    """Soft-delete the user's own live message: the text goes for good; the row stays so
    ids, history and replay keep their shape, and its files are removed. The room gets
    message_deleted."""
    deleted = sql.run(_DELETE, rid=room.id, uid=me.user_id, mid=payload.id).first()
    if deleted is None:
        return _why_not_own(room.id, me.user_id, payload.id)
    _deleted(room.name, payload.id, me.username, deleted.attachment_count)
    return {"id": payload.id}


_ANYONES_LIVE = (*_MESSAGE_IN_ROOM, messages.c.deleted.is_(False))
_DELETE_ANYONES = (
    messages.update()
    .where(*_ANYONES_LIVE)
    .values(deleted=True, body=None, mention_names=None, search_text=None)
    .returning(messages.c.attachment_count)
)


def erase(room: OpenRoom, message_id: int, by: str) -> bool:
    """Soft-delete a live message of the room whoever wrote it (a moderator's delete, as
    ``delete`` does its author's): False when there is none. The room gets
    message_deleted, saying ``by`` whom."""
    deleted = sql.run(_DELETE_ANYONES, rid=room.id, mid=message_id).first()
    if deleted is None:
        return False
    _deleted(room.name, message_id, by, deleted.attachment_count)
    return True


def _deleted(room: str, message_id: int, by: str, attachment_count: int) -> None:
    """A message went: its files are removed once that commits, the room hears it."""
    if attachment_count:
        attachments.release(message_id)
    gone = {"room": room, "id": message_id, "by": by}
    outbox.emit("message_deleted", gone, outbox.message_channel(room))


# --- read marks ----------------------------------------------------------------------

_THE_MEMBERSHIP = (memberships.c.room_id == P("rid"), memberships.c.user_id == P("uid"))
_LAST_READ = select(memberships.c.last_read_id).where(*_THE_MEMBERSHIP)
_MESSAGE_EXISTS = select(messages.c.id).where(*_MESSAGE_IN_ROOM)
# One conditional UPDATE, so concurrent marks cannot move it backwards, that also checks
# the message exists.
_MARK_READ = sql.Prepared(
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
    stored = sql.run(_LAST_READ, rid=room.id, uid=me.user_id).first()
    if stored is None:  # no membership to mark (it ended on another process)
        return NOT_A_MEMBER
    return {"room": room.name, "message_id": stored.last_read_id}
