"""Downloads of attachments: ``GET /attachments/<id>/<name>`` and its thumbnail, for
readers of the room whose live message holds the file, and for its uploader while no
message holds it yet; 404 for anyone else, whether the file exists or not. Images are
served inline, anything else as an attachment, each with headers that keep a browser
from running what it was sent (``DOWNLOAD_HEADERS``)."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select

from chat import attachments, images, rooms, sql, storage
from chat.errors import Failure
from chat.sql import P, messages
from models import MAX_INTEGER, utcnow

_DOWNLOAD = (
    select(
        sql.attachments.c.id,
        sql.attachments.c.user_id,
        sql.attachments.c.message_id,
        sql.attachments.c.name,
        sql.attachments.c.content_type,
        sql.attachments.c.width,
        sql.attachments.c.key,
        sql.attachments.c.thumb_key,
        sql.attachments.c.sha256,
        sql.attachments.c.expires_at,
        sql.rooms.c.name.label("room"),
        messages.c.deleted,
    )
    .join_from(sql.attachments, sql.rooms, sql.rooms.c.id == sql.attachments.c.room_id)
    .outerjoin(messages, messages.c.id == sql.attachments.c.message_id)
    .where(sql.attachments.c.id == P("aid"))
)


def _readable(attachment_id: int, user_id: int, username: str):
    """The row of an attachment this user may download, or None: one in a live message
    of a room they may read, or their own upload that no message holds yet."""
    if not 0 < attachment_id <= MAX_INTEGER:
        return None
    row = sql.run(_DOWNLOAD, aid=attachment_id).first()
    if row is None:
        return None
    if row.message_id is None:
        mine = row.user_id == user_id and row.expires_at is not None
        return row if mine and _aware(row.expires_at) > utcnow() else None
    if row.deleted or row.expires_at is not None:
        return None
    readable = rooms.readable(row.room, rooms.UserRef(user_id, username))
    return None if isinstance(readable, Failure) else row


def _aware(value):
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def download(attachment_id: int, user_id: int, username: str, thumb: bool = False):
    """GET /attachments/<id>/<name> (and …/thumb/<name>): the file for a reader of its
    room, or None (404: the same whether it exists or not). Images shown inline are
    served inline, anything else as an attachment."""
    row = _readable(attachment_id, user_id, username)
    if row is None:
        return None
    inline = row.width is not None
    if thumb:
        if row.thumb_key is None:
            return None
        key, content_type, etag = row.thumb_key, images.THUMB_TYPE, f"t{row.sha256}"
        name = attachments.thumb_name(row.name)
    else:
        key, content_type, etag, name = row.key, row.content_type, row.sha256, row.name
    response = storage.current().response(
        key, name=name, content_type=content_type, etag=etag, inline=inline
    )
    if response is not None:
        response.headers.update(DOWNLOAD_HEADERS)
    return response
