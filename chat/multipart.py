"""Reading an upload off the request: the multipart body's ``file`` written to disk as it
arrives (never whole into memory, the writes on the thread pool) and refused the moment it
passes the cap, and the uploader's file name made fit to show.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata

from flask import current_app
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import parse_form_data

from chat.errors import Failure, invalid

MB = 1024 * 1024
# What a multipart body may hold besides the file: boundaries, part headers, the name.
MULTIPART_SLACK = 16 * 1024
MAX_NAME_LENGTH = 255

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


def too_large(cap: int) -> Failure:
    return Failure("too_large", f"a file is at most {cap // MB} MB")


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


def receive(environ, work: str, cap: int) -> tuple[str, str] | Failure:
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
        return too_large(cap)
    except ValueError as error:  # not multipart, or broken
        return invalid(f"send the file as multipart/form-data field 'file' ({error})")
    finally:
        for part in spooled:
            part.close()
    upload = files.get("file")
    if upload is None or not isinstance(upload.stream, _Spool):
        return invalid("send the file as multipart/form-data field 'file'")
    return upload.stream.name, display_name(upload.filename)
