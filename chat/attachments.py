"""Attachments: files uploaded to a room, put in a message by ``send_message``'s
``attachments``, downloaded by readers of the room, and removed with their message (or 24 h
after an upload no message took).

An upload (``upload``) is read from the request as it arrives into a file of its own,
never whole into memory, and refused once it passes ``MAX_UPLOAD_MB``. Its type is
sniffed from the bytes (Pillow for images, ``filetype`` for the rest), never taken from
the name or the client's header. PNG, JPEG, GIF and WebP images are decoded and encoded
again (EXIF, GPS and every other metadata stay behind) with a WebP thumbnail; anything
else is stored as sent and served as a download. Hashing, decoding and encoding run on the
entry point's OS thread pool (``RUN_IN_THREAD``), never on the event loop. The bytes go to
the storage (``chat/storage.py``) under random keys; the row says who uploaded it to which
room, and which message holds it.

Uploads per user are limited (``UPLOAD_RATE_LIMIT``) as well as their bytes
(``UPLOAD_QUOTA_MB``), and the disk writes of an arriving body run on the thread pool too,
so one person uploading as fast as they can keeps no connection of the process waiting.

A row's ``expires_at`` says when the sweep removes it (files first, then the row): 24 h
after the upload while no message holds it, at once when its message is deleted, never
while a live message holds it. Removing twice is harmless, so every process may sweep.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import logging
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, timedelta
from types import SimpleNamespace
from urllib.parse import quote

import filetype
from flask import current_app
from pydantic import Field
from sqlalchemy import Integer, func, select
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import parse_form_data

from chat import groupcommit, outbox, rooms, rules, sql, storage
from chat.errors import Failure, forbidden, invalid, not_found, rate_limited
from chat.payloads import Attachment as AttachmentModel
from chat.protocol import Shape
from chat.ratelimit import moving_window
from chat.sql import P, attachments, messages
from models import MAX_INTEGER, utcnow

log = logging.getLogger(__name__)

MB = 1024 * 1024
# What a multipart body may hold besides the file: boundaries, part headers, the name.
MULTIPART_SLACK = 16 * 1024
MAX_NAME_LENGTH = 255
UNATTACHED_FOR = timedelta(hours=24)
SWEEP_BATCH = 500
# Pillow formats shown inline, and the types they are served as.
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
THUMB_TYPE = "image/webp"
MAX_FRAMES = 1000  # of an animated GIF or WebP
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


# --- names ---------------------------------------------------------------------------

# Control characters (C0, DEL, C1), lone surrogates, and the invisible marks that reorder
# or hide text (bidirectional overrides and isolates, zero-width characters): a name like
# "invoice<RLO>fdp.exe" must not show as "invoiceexe.pdf".
_UNSHOWN = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]"
)


def display_name(raw: str | None) -> str:
    """The uploader's file name as it may be shown: its last part after any ``/`` or
    ``\\`` (it is never a path here), without control or invisible characters, NFC, at
    most 255 code points (the extension kept), ``file`` when nothing is left."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = " ".join(_UNSHOWN.sub("", name).split())
    if name in ("", ".", ".."):
        return "file"
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 16:
            name = stem[: MAX_NAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_NAME_LENGTH]
    return name


def _thumb_name(name: str) -> str:
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
        found["thumb_url"] = f"/attachments/{row.id}/thumb/{quote(_thumb_name(row.name), safe='')}"
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


# --- processing the bytes (on an OS thread: no app context, no database) -------------


@dataclass
class Processed:
    path: str  # the file to store
    size: int
    content_type: str
    sha256: str
    width: int | None = None
    height: int | None = None
    thumb_path: str | None = None


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def process(path: str, work: str, max_pixels: int) -> Processed | Failure:
    """What to store for the uploaded file at ``path`` (new files go in ``work``): an
    image of ours decoded and encoded again with a thumbnail, anything else as it is with
    its sniffed type; or why it is refused (empty, a broken image, too many pixels)."""
    from PIL import Image, UnidentifiedImageError

    size = os.path.getsize(path)
    if size == 0:
        return invalid("file: is empty")
    try:
        image = Image.open(path, formats=list(IMAGE_TYPES))
    except UnidentifiedImageError:
        kind = filetype.guess(path)
        if kind is not None and kind.mime in IMAGE_TYPES.values():
            return invalid(f"file: a broken {kind.extension.upper()} image")
        content_type = kind.mime if kind is not None else "application/octet-stream"
        return Processed(path, size, content_type, _sha256(path))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return invalid(f"file: an image of more than {max_pixels} pixels")
    except (OSError, ValueError, SyntaxError, EOFError):
        return invalid("file: a broken image")
    with image:
        try:
            return _reencode(image, work, max_pixels)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return invalid(f"file: an image of more than {max_pixels} pixels")
        except (OSError, ValueError, SyntaxError, EOFError, MemoryError):
            return invalid("file: a broken image")


def _reencode(image, work: str, max_pixels: int) -> Processed | Failure:
    """The image decoded and written again with no metadata (the colour profile and
    transparency kept), and its thumbnail; pixels are counted before anything is
    decoded."""
    from PIL import ImageOps, ImageSequence

    format_ = image.format
    width, height = image.size
    if width * height > max_pixels:
        return invalid(f"file: an image of more than {max_pixels} pixels")
    frames = getattr(image, "n_frames", 1) if format_ in ("GIF", "WEBP") else 1
    if frames > MAX_FRAMES or frames * width * height > max_pixels:
        return invalid(f"file: an animation of more than {max_pixels} pixels in all")
    out = os.path.join(work, "image")
    icc = image.info.get("icc_profile")
    if frames > 1:
        sequence, durations = [], []
        for frame in ImageSequence.Iterator(image):
            durations.append(frame.info.get("duration", 100))
            sequence.append(_bare(frame.convert("RGBA")))
        first = sequence[0]
        options = {"save_all": True, "append_images": sequence[1:], "duration": durations}
        options["loop"] = image.info.get("loop", 0)
        if format_ == "GIF":
            first.save(out, "GIF", disposal=2, **options)
        else:
            first.save(out, "WEBP", quality=90, **options)
    else:
        image.load()
        if format_ == "JPEG":
            # The EXIF orientation goes with EXIF: applied to the pixels (in place, so an
            # upright photo is not copied whole).
            ImageOps.exif_transpose(image, in_place=True)
        first = _bare(image, keep_transparency=True)
        if format_ == "JPEG":
            if first.mode not in ("RGB", "L"):
                first = _bare(first.convert("RGB"))
            first.save(out, "JPEG", quality=90, icc_profile=icc)
        elif format_ == "PNG":
            first.save(out, "PNG", icc_profile=icc)
        elif format_ == "GIF":
            first.save(out, "GIF")
        else:
            if first.mode not in ("RGB", "RGBA"):
                first = _bare(first.convert("RGBA"))
            first.save(out, "WEBP", quality=90, icc_profile=icc)
    thumb = os.path.join(work, "thumb")
    small = first if first.mode in ("RGB", "RGBA") else first.convert("RGBA")
    scale = min(1.0, rules.THUMBNAIL_SIZE / max(small.size))
    size = (max(1, round(small.width * scale)), max(1, round(small.height * scale)))
    # A new small image (no copy of the big one): halved in steps, then resampled.
    small.resize(size, reducing_gap=2.0).save(thumb, "WEBP", quality=80)
    shown_width, shown_height = first.size
    return Processed(
        out,
        os.path.getsize(out),
        IMAGE_TYPES[format_],
        _sha256(out),
        shown_width,
        shown_height,
        thumb,
    )


def _bare(image, keep_transparency: bool = False):
    """The image without what its file said besides the pixels (EXIF, XMP, text,
    comments): only a palette's transparent entry survives, when asked."""
    if keep_transparency and image.mode == "P" and "transparency" in image.info:
        # Bytes of transparency convert with a warning; RGBA says the same plainly.
        image = image.convert("RGBA")
    kept = {}
    if keep_transparency and "transparency" in image.info:
        kept["transparency"] = image.info["transparency"]
    image.info = kept
    if hasattr(image, "_exif"):
        image._exif = None
    return image


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
    _big_blocks_from_mmap()


# glibc's M_MMAP_THRESHOLD (mallopt's parameter number).
_M_MMAP_THRESHOLD = -3


def _big_blocks_from_mmap(threshold: int = 4 * MB) -> None:
    """Allocations of ``threshold`` bytes or more always from fresh mappings (glibc).

    Pillow asks for an image's memory zeroed (calloc), with the GIL held. Fresh pages
    come zeroed from the kernel for free, but glibc raises its mmap threshold as big
    blocks are freed, and then serves them from the heap, which calloc must zero itself:
    measured here, ~120 ms of every second spent decoding 12-megapixel photos held the
    GIL that way, and the event loop (which needs the GIL) waited. A fixed threshold
    keeps them mapped; the zeroing then happens as the decoder, which lets go of the
    GIL, first writes each page. Elsewhere than glibc this does nothing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, threshold)


def _off_loop(fn, *args):
    """``fn(*args)`` on the entry point's OS thread pool (inline when it gave none), as
    password hashes are. (Not at a lower CPU priority: a thread that the kernel holds
    back while it holds the GIL would hold back the event loop with it.)"""
    run = current_app.config.get("RUN_IN_THREAD")
    return run(fn, *args) if run is not None else fn(*args)


# --- receiving an upload -------------------------------------------------------------


class _Spool(io.FileIO):
    """The file part of a multipart body, written to disk as it arrives and refused
    (413) the moment it passes the cap, whatever the request's Content-Length said.

    The disk writes run on the thread pool, ``FLUSH_EVERY`` bytes at a time (``run``):
    written on the event loop, a body that arrives faster than the disk takes it would
    stall every connection of the process while the kernel throttles the writer. Each
    hand-over also lets the loop serve the others between two stretches of parsing."""

    FLUSH_EVERY = 1024 * 1024

    def __init__(self, path: str, cap: int, run) -> None:
        super().__init__(path, "w+")
        self.cap, self.written, self.run = cap, 0, run
        self.pending = bytearray()

    def write(self, data) -> int:
        self.written += len(data)
        if self.written > self.cap:
            raise RequestEntityTooLarge(f"a file is at most {self.cap // MB} MB")
        self.pending += data
        if len(self.pending) >= self.FLUSH_EVERY:
            self.flush_pending()
        return len(data)

    def flush_pending(self) -> None:
        if self.pending:
            pending, self.pending = self.pending, bytearray()
            self.run(super().write, pending)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.flush_pending()  # the parser seeks to the start once the part is complete
        return super().seek(offset, whence)


def _too_large(cap: int) -> Failure:
    return Failure("too_large", f"a file is at most {cap // MB} MB")


def _receive(environ, work: str, cap: int) -> tuple[str, str] | Failure:
    """(path, name) of the multipart body's ``file``, spooled into ``work``."""
    spooled: list[_Spool] = []
    run = current_app.config.get("RUN_IN_THREAD") or (lambda fn, *args: fn(*args))
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        # A chunked body has no length: the server de-chunks it and ends the stream
        # (gevent and Werkzeug say so, eventlet does it without saying), and Werkzeug
        # then reads it up to the cap rather than not at all.
        environ.setdefault("wsgi.input_terminated", True)

    def spool(total_content_length, content_type, filename, content_length=None):
        found = _Spool(os.path.join(work, f"part{len(spooled)}"), cap, run)
        spooled.append(found)
        return found

    try:
        _, _form, files = parse_form_data(
            environ,
            stream_factory=spool,
            # Werkzeug checks this against its read buffer too (64 KiB at a time).
            max_form_memory_size=256 * 1024,
            max_content_length=cap + MULTIPART_SLACK,
            silent=False,
            max_form_parts=8,
        )
    except RequestEntityTooLarge:
        return _too_large(cap)
    except ValueError as error:  # not multipart, or broken
        return invalid(f"send the file as multipart/form-data field 'file' ({error})")
    finally:
        for part in spooled:
            part.close()
    upload = files.get("file")
    if upload is None or not isinstance(upload.stream, _Spool):
        return invalid("send the file as multipart/form-data field 'file'")
    return upload.stream.name, display_name(upload.filename)


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
    return cfg["MAX_UPLOAD_MB"] * MB, cfg["UPLOAD_QUOTA_MB"] * MB


def _over_quota(quota: int) -> Failure:
    return Failure("limit_reached", f"your files take {quota // MB} MB: delete some first")


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
    if length and length.isdigit() and int(length) > cap + MULTIPART_SLACK:
        return _too_large(cap)
    if sql.run(_USED, uid=user_id).scalar() >= quota:
        return _over_quota(quota)
    limit = current_app.extensions["upload_limit"]
    hit = limit.hit(user_id)
    if isinstance(hit, float):
        return rate_limited("too many uploads, slow down", hit)
    work = tempfile.mkdtemp(prefix=SPOOL_PREFIX, dir=storage.current().spool_folder())
    try:
        received = _receive(environ, work, cap)
        if isinstance(received, Failure):
            limit.refund(hit)  # a refused upload does not count
            return received
        path, name = received
        max_pixels = current_app.config["MAX_IMAGE_PIXELS"]
        processed = _off_loop(process, path, work, max_pixels)
        if isinstance(processed, Failure):
            limit.refund(hit)
            return processed
        stored = _store(user_id, room_id, name, processed, quota)
        if isinstance(stored, Failure):
            limit.refund(hit)
        return stored
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _store(user_id: int, room_id: int, name: str, processed: Processed, quota: int):
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
            store.put(thumb_key, processed.thumb_path, THUMB_TYPE)
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


# --- downloads -----------------------------------------------------------------------

_DOWNLOAD = (
    select(
        attachments.c.id,
        attachments.c.user_id,
        attachments.c.message_id,
        attachments.c.name,
        attachments.c.content_type,
        attachments.c.width,
        attachments.c.key,
        attachments.c.thumb_key,
        attachments.c.sha256,
        attachments.c.expires_at,
        sql.rooms.c.name.label("room"),
        messages.c.deleted,
    )
    .join_from(attachments, sql.rooms, sql.rooms.c.id == attachments.c.room_id)
    .outerjoin(messages, messages.c.id == attachments.c.message_id)
    .where(attachments.c.id == P("aid"))
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
        key, content_type, etag = row.thumb_key, THUMB_TYPE, f"t{row.sha256}"
        name = _thumb_name(row.name)
    else:
        key, content_type, etag, name = row.key, row.content_type, row.sha256, row.name
    response = storage.current().response(
        key, name=name, content_type=content_type, etag=etag, inline=inline
    )
    if response is not None:
        response.headers.update(DOWNLOAD_HEADERS)
    return response
