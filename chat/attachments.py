"""Attachments: files uploaded to a room, put in a message by ``send_message``'s
``attachments``, downloaded by readers of the room, and removed with their message (or 24 h
after an upload no message took).

An upload (``upload``) is read from the request as it arrives into a file of its own,
never whole into memory, and refused once it passes ``MAX_UPLOAD_MB``
(``chat/multipart.py``). Its type is sniffed from the bytes (Pillow for images,
``filetype`` for the rest), never taken from the name or the client's header. PNG, JPEG,
GIF and WebP images are decoded and encoded again (EXIF, GPS and every other metadata stay
behind) with a WebP thumbnail; anything else is stored as sent and served as a download
(``chat/images.py``; serving: ``chat/downloads.py``). Hashing, decoding and encoding run
on the entry point's OS thread pool (``RUN_IN_THREAD``), never on the event loop. The
bytes go to the storage (``chat/storage.py``) under random keys; the row says who uploaded
it to which room, and which message holds it.

Uploads per user are limited (``UPLOAD_RATE_LIMIT``) as well as their bytes
(``UPLOAD_QUOTA_MB``), and the disk writes of an arriving body run on the thread pool too,
so one person uploading as fast as they can keeps no connection of the process waiting.

A row's ``expires_at`` says when the sweep removes it (files first, then the row): 24 h
after the upload while no message holds it, at once when its message is deleted, never
while a live message holds it. Removing twice is harmless, so every process may sweep.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import quote

from flask import current_app
from pydantic import Field
from sqlalchemy import Integer, func, select

from chat import groupcommit, images, multipart, outbox, rooms, sql, storage
from chat.errors import Failure, forbidden, not_found, rate_limited
from chat.payloads import Attachment as AttachmentModel
from chat.protocol import Shape
from chat.ratelimit import moving_window
from chat.sql import P, attachments
from models import utcnow

log = logging.getLogger(__name__)

UNATTACHED_FOR = timedelta(hours=24)
SWEEP_BATCH = 500
# An upload's own temporary folder; one left behind by a process that died while an
# upload arrived is removed by the sweep after a while.
SPOOL_PREFIX = "chat-upload-"
SPOOL_LEFT_FOR = timedelta(hours=1)


class UploadReply(Shape):
    """The answer to POST /api/rooms/<room>/attachments (201): the stored upload, which
    send_message's attachments then takes by id."""

    attachment: AttachmentModel = Field(
        description="No message holds it yet: only its uploader may read it, and it is "
        "removed 24 h after the upload unless a message takes it"
    )


def thumb_name(name: str) -> str:
    """The file name a thumbnail is served under (always WebP)."""
    stem = name.rpartition(".")[0] or name
    return f"{stem}.webp"


# --- the wire form -------------------------------------------------------------------


def attachment_dict(row) -> dict:
    """The protocol's Attachment of a row (``_COLUMNS``): width, height and thumb_url only
    for images shown inline."""
    found = {
        "id": row.id,
        "name": row.name,
        "size": row.size,
        "type": row.content_type,
        "url": f"/attachments/{row.id}/{quote(row.name, safe='')}",
    }
    if row.width is not None:
        found["width"], found["height"] = row.width, row.height
    if row.thumb_key is not None:
        found["thumb_url"] = f"/attachments/{row.id}/thumb/{quote(thumb_name(row.name), safe='')}"
    return found


_COLUMNS = (
    attachments.c.id,
    attachments.c.message_id,
    attachments.c.name,
    attachments.c.size,
    attachments.c.content_type,
    attachments.c.width,
    attachments.c.height,
    attachments.c.thumb_key,
)
_OF_MESSAGES = (
    select(*_COLUMNS)
    .where(attachments.c.message_id.in_(P("ids", expanding=True)))
    .order_by(attachments.c.message_id, attachments.c.id)
)


def of_messages(message_ids: list[int]) -> dict[int, list[dict]]:
    """The attachments of these messages, in upload order: one query."""
    found: dict[int, list[dict]] = {}
    for row in sql.run(_OF_MESSAGES, ids=message_ids):
        found.setdefault(row.message_id, []).append(attachment_dict(row))
    return found


def init_app(app) -> None:
    """Uploads per user (``UPLOAD_RATE_LIMIT``, counted in Redis when several processes
    serve): a person dropping a folder of photos passes, nobody keeps a server decoding
    for ever."""
    app.extensions["upload_limit"] = moving_window(
        app.config["UPLOAD_RATE_LIMIT"],
        app.extensions["redis"],
        app.config["SOCKETIO_CHANNEL"],
        "upload",
    )
    images.big_blocks_from_mmap()


def _off_loop(fn, *args):
    """``fn(*args)`` on the entry point's OS thread pool (inline when it gave none), as
    password hashes are. (Not at a lower CPU priority: a thread that the kernel holds
    back while it holds the GIL would hold back the event loop with it.)"""
    run = current_app.config.get("RUN_IN_THREAD")
    return run(fn, *args) if run is not None else fn(*args)


# --- storing it ----------------------------------------------------------------------

_USED = select(func.coalesce(func.sum(attachments.c.size), 0)).where(
    attachments.c.user_id == P("uid")
)
# One statement: the row is added while the user's files and this one fit the quota (two
# uploads at the same moment may pass it by the one in flight).
_ADD = (
    attachments.insert()
    .from_select(
        [
            "room_id",
            "user_id",
            "name",
            "size",
            "content_type",
            "width",
            "height",
            "key",
            "thumb_key",
            "sha256",
            "created_at",
            "expires_at",
        ],
        select(
            P("rid", type_=Integer),
            P("uid", type_=Integer),
            P("name", type_=attachments.c.name.type),
            P("size", type_=Integer),
            P("content_type", type_=attachments.c.content_type.type),
            P("width", type_=Integer),
            P("height", type_=Integer),
            P("key", type_=attachments.c.key.type),
            P("thumb_key", type_=attachments.c.thumb_key.type),
            P("sha256", type_=attachments.c.sha256.type),
            P("now", type_=attachments.c.created_at.type),
            P("expires", type_=attachments.c.expires_at.type),
        ).where(_USED.scalar_subquery() + P("size", type_=Integer) <= P("quota", type_=Integer)),
    )
    .returning(attachments.c.id)
)
_FORGET = attachments.delete().where(attachments.c.id == P("aid"))


def _limits() -> tuple[int, int]:
    cfg = current_app.config
    return cfg["MAX_UPLOAD_MB"] * multipart.MB, cfg["UPLOAD_QUOTA_MB"] * multipart.MB


def _over_quota(quota: int) -> Failure:
    return Failure(
        "limit_reached", f"your files take {quota // multipart.MB} MB: delete some first"
    )


def upload(user_id: int, username: str, room: str, environ) -> dict | Failure:
    """POST /api/rooms/<room>/attachments: the request's ``file`` stored as an upload of
    this member of the room, waiting for a message: the Attachment, or why not (nothing
    is stored then). Refused before the body is read: not a member, a Content-Length
    past the cap, a full quota, too many uploads lately (``UPLOAD_RATE_LIMIT``; a
    refused upload is not counted)."""
    found = rooms.readable(room, rooms.UserRef(user_id, username))
    if isinstance(found, Failure):
        return found
    room_id = found.id
    if not found.member:
        return forbidden(f"join {room} first")
    cap, quota = _limits()
    length = environ.get("CONTENT_LENGTH")
    if length and length.isdigit() and int(length) > cap + multipart.MULTIPART_SLACK:
        return multipart.too_large(cap)
    if sql.run(_USED, uid=user_id).scalar() >= quota:
        return _over_quota(quota)
    limit = current_app.extensions["upload_limit"]
    hit = limit.hit(user_id)
    if isinstance(hit, float):
        return rate_limited("too many uploads, slow down", hit)
    work = tempfile.mkdtemp(prefix=SPOOL_PREFIX, dir=storage.current().spool_folder())
    try:
        received = multipart.receive(environ, work, cap)
        if isinstance(received, Failure):
            limit.refund(hit)  # a refused upload does not count
            return received
        path, name = received
        max_pixels = current_app.config["MAX_IMAGE_PIXELS"]
        processed = _off_loop(images.process, path, work, max_pixels)
        if isinstance(processed, Failure):
            limit.refund(hit)
            return processed
        stored = _store(user_id, room_id, name, processed, quota)
        if isinstance(stored, Failure):
            limit.refund(hit)
        return stored
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _store(user_id: int, room_id: int, name: str, processed: images.Processed, quota: int):
    """The row first (within the quota), then the files: a failure between leaves a row
    whose files are missing, which the sweep removes, never a file no row names."""
    key = storage.new_key()
    thumb_key = storage.new_key() if processed.thumb_path else None
    now = utcnow()
    row = {
        "rid": room_id,
        "uid": user_id,
        "name": name,
        "size": processed.size,
        "content_type": processed.content_type,
        "width": processed.width,
        "height": processed.height,
        "key": key,
        "thumb_key": thumb_key,
        "sha256": processed.sha256,
        "now": now,
        "expires": now + UNATTACHED_FOR,
    }
    attachment_id = sql.run(_ADD, quota=quota, **row).scalar()
    if attachment_id is None:
        return _over_quota(quota)
    store = storage.current()
    try:
        store.put(key, processed.path, processed.content_type)
        if thumb_key:
            store.put(thumb_key, processed.thumb_path, images.THUMB_TYPE)
    except BaseException:
        sql.run(_FORGET, aid=attachment_id)
        store.delete([k for k in (key, thumb_key) if k])
        raise
    return attachment_dict(SimpleNamespace(id=attachment_id, **row))


# --- putting uploads in a message ----------------------------------------------------

# The sender's uploads to this room that no message holds and that have not expired,
# taken by the message in the same transaction as its insert.
_CLAIM = (
    attachments.update()
    .where(
        attachments.c.id.in_(P("ids", expanding=True)),
        attachments.c.user_id == P("uid"),
        attachments.c.room_id == P("rid"),
        attachments.c.message_id.is_(None),
        attachments.c.expires_at > P("now"),
    )
    .values(message_id=P("mid"), expires_at=None)
    .returning(*_COLUMNS)
)


def _begin(connection) -> None:
    # The events' connections commit every statement; a message and its files are one
    # transaction (SQLite: take the write lock at once).
    immediate = " IMMEDIATE" if connection.dialect.name == "sqlite" else ""
    connection.exec_driver_sql("BEGIN" + immediate)


def store_message(item: groupcommit.NewMessage, ids: list[int]):
    """Store the message ``item`` holding the sender's uploads ``ids``, in one
    transaction: (id, created_at, created, [Attachment]), or not_found (nothing stored)
    when any is not the sender's upload to this room waiting for a message. A retry of a
    stored message (same client_id) gets its first id and time, created False."""
    connection = sql.connection()
    item.attachment_count = len(ids)
    _begin(connection)
    try:
        groupcommit.insert_messages([item])
        if not item.created:
            connection.exec_driver_sql("ROLLBACK")
            first = groupcommit.find_by_client_id(*item.key)
            return first[0], first[1], False, []
        claimed = sql.run(
            _CLAIM, ids=ids, uid=item.user_id, rid=item.room_id, now=utcnow(), mid=item.id
        ).all()
        if len(claimed) != len(ids):  # nothing is stored: the message goes too
            connection.exec_driver_sql("ROLLBACK")
            missing = sorted(set(ids) - {row.id for row in claimed})
            return not_found(
                f"attachments: {missing[0]} is no upload of yours to this room waiting for "
                "a message"
            )
        connection.exec_driver_sql("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):  # a connection that died rolled back itself
            connection.exec_driver_sql("ROLLBACK")
        raise
    files = [attachment_dict(row) for row in sorted(claimed, key=lambda row: row.id)]
    return item.id, item.created_at, True, files


# --- removing files ------------------------------------------------------------------

_RELEASE = (
    attachments.update()
    .where(attachments.c.message_id == P("mid"), attachments.c.expires_at.is_(None))
    .values(expires_at=P("now"))
    .returning(attachments.c.id, attachments.c.key, attachments.c.thumb_key)
)
_EXPIRED = (
    select(attachments.c.id, attachments.c.key, attachments.c.thumb_key)
    .where(attachments.c.expires_at <= P("now"))
    .order_by(attachments.c.expires_at)
    .limit(P("limit"))
)
_REMOVE = attachments.delete().where(
    attachments.c.id.in_(P("ids", expanding=True)), attachments.c.expires_at <= P("now")
)


def release(message_id: int) -> None:
    """The message was deleted: its files are removed once that is committed (and, should
    that fail, by the next sweep). Call it for any deletion of a message that had
    attachments."""
    now = utcnow()
    rows = sql.run(_RELEASE, mid=message_id, now=now).all()
    if rows:
        outbox.after_commit(lambda: _purge(rows, now, quietly=True))


def _purge(rows, now, quietly: bool = False) -> None:
    """Remove these expired rows' files, then the rows. A failure leaves the rows (they
    stay expired) for the next sweep."""
    keys = [key for row in rows for key in (row.key, row.thumb_key) if key]
    try:
        storage.current().delete(keys)
        sql.run(_REMOVE, ids=[row.id for row in rows], now=now)
    except Exception:
        if not quietly:
            raise
        log.warning("removing %d files failed; the sweep tries again", len(keys), exc_info=True)


def sweep(batch: int = SWEEP_BATCH) -> int:
    """Remove every expired upload (files, then rows): those no message took within 24 h
    and those of deleted messages; and uploads' temporary folders left behind. Safe to
    run in every process at once. Returns how many rows went."""
    _sweep_spool(storage.current().spool_folder() or tempfile.gettempdir())
    removed = 0
    while True:
        now = utcnow()
        rows = sql.run(_EXPIRED, now=now, limit=batch).all()
        if rows:
            _purge(rows, now)
            removed += len(rows)
        if len(rows) < batch:
            return removed


def _sweep_spool(folder: str) -> None:
    cutoff = (utcnow() - SPOOL_LEFT_FOR).timestamp()
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(SPOOL_PREFIX) and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry.path, ignore_errors=True)
