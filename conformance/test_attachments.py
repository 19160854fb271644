"""docs/protocol.md, Attachments: uploads, sending them, downloads."""

from __future__ import annotations

import http.client
import struct
import zlib
from urllib.parse import urlsplit

import pytest

from conformance import kit


def png(width: int = 3, height: int = 2) -> bytes:
    """A small valid PNG, made without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def upload(account: kit.User, room: str, name: str, data: bytes, kind: str = "text/plain"):
    return kit.http(
        "POST",
        f"/api/rooms/{room}/attachments",
        account.token,
        files={"file": (name, data, kind)},
    )


def uploaded(account: kit.User, room: str, name: str, data: bytes, kind: str = "text/plain"):
    answer = upload(account, room, name, data, kind)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    kit.check_http("upload_attachment", body)
    return body["attachment"]


def test_a_file_goes_up_into_a_message_and_down_to_readers_as_an_inert_download(user, room):
    alice, bob = user(), user()
    a, b = alice.connect(), bob.connect()
    name = room()
    a.join(name)
    b.join(name)
    file = uploaded(alice, name, "notes.png", b"<html><script>alert(1)</script>")
    assert file["type"] == "application/octet-stream"  # sniffed, not from the name
    assert file["name"] == "notes.png" and "thumb_url" not in file
    a.send(name, "", attachments=[file["id"]])
    message = b.wait("recieve_message", room=name)[0]
    assert message["message"] == "" and message["attachments"] == [file]
    down = kit.http("GET", file["url"], bob.token, allow_redirects=True)
    assert down.status_code == 200
    assert down.content == b"<html><script>alert(1)</script>"
    if down.url.startswith(kit.BASE_URL):  # served by the server, not by an S3 store
        assert down.headers["X-Content-Type-Options"] == "nosniff"
        assert down.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert down.headers["Content-Disposition"].startswith("attachment")


def test_an_image_is_reencoded_with_a_thumbnail_and_served_inline(user, room):
    alice = user()
    a = alice.connect()
    name = room()
    a.join(name)
    file = uploaded(alice, name, "dot.txt", png(), "text/plain")
    assert file["type"] == "image/png"
    assert (file["width"], file["height"]) == (3, 2) and file["thumb_url"]
    a.send(name, "look", attachments=[file["id"]])
    down = kit.http("GET", file["url"], alice.token)
    assert down.status_code == 200 and down.content.startswith(b"\x89PNG")
    if down.url.startswith(kit.BASE_URL):
        assert not down.headers.get("Content-Disposition", "inline").startswith("attachment")
    assert kit.http("GET", file["thumb_url"], alice.token).status_code == 200


def test_only_readers_of_the_room_download(user, room):
    alice, eve = user(), user()
    a = alice.connect()
    name = room("priv")
    a.join(name, private=True)
    file = uploaded(alice, name, "secret.txt", b"secret")
    a.send(name, "x", attachments=[file["id"]])
    assert kit.http("GET", file["url"], eve.token).status_code == 404
    assert kit.http("GET", file["url"]).status_code == 404


def test_an_upload_waits_for_its_uploader_only(user, room):
    alice, bob = user(), user()
    a, b = alice.connect(), bob.connect()
    name = room()
    a.join(name)
    b.join(name)
    file = uploaded(alice, name, "draft.txt", b"draft")
    assert kit.http("GET", file["url"], bob.token).status_code == 404
    b.error(
        "send_message", {"room": name, "message": "x", "attachments": [file["id"]]}, "not_found"
    )
    a.send(name, "x", attachments=[file["id"]])
    a.error(
        "send_message", {"room": name, "message": "y", "attachments": [file["id"]]}, "not_found"
    )


def test_upload_refusals(user, room):
    alice, bob = user(), user()
    a = alice.connect()
    name = room()
    a.join(name)
    kit.check_http_error(upload(bob, name, "x.txt", b"x"), 403, "forbidden")
    kit.check_http_error(upload(alice, room(), "x.txt", b"x"), 403, "forbidden")
    kit.check_http_error(upload(alice, name, "x.txt", b""), 400, "invalid_payload")
    answer = kit.http("POST", f"/api/rooms/{name}/attachments", alice.token, data={"x": "y"})
    kit.check_http_error(answer, 400, "invalid_payload")
    broken = png()[:40]
    kit.check_http_error(
        upload(alice, name, "cut.png", broken, "image/png"), 400, "invalid_payload"
    )


def test_a_deleted_messages_files_are_gone(user, room):
    alice = user()
    a = alice.connect()
    name = room()
    a.join(name)
    file = uploaded(alice, name, "gone.txt", b"bye")
    sent = a.send(name, "x", attachments=[file["id"]])["id"]
    a.ok("delete_message", {"room": name, "id": sent})
    assert kit.http("GET", file["url"], alice.token).status_code == 404


@pytest.mark.parametrize("ids", [[1, 1], list(range(1, 12)), ["1"]], ids=repr)
def test_attachment_ids_rules(user, room, ids):
    conn = user().connect()
    name = room()
    conn.join(name)
    conn.error(
        "send_message", {"room": name, "message": "x", "attachments": ids}, "invalid_payload"
    )


def test_a_file_over_the_upload_cap_is_too_large_before_its_body_is_read(user, room):
    """Refused from Content-Length (here 1 GB, past any sensible MAX_UPLOAD_MB): the
    answer comes while the body is still unsent."""
    alice = user()
    conn = alice.connect()
    name = room()
    conn.join(name)
    where = urlsplit(kit.BASE_URL)
    link = http.client.HTTPConnection(where.hostname, where.port, timeout=kit.TIMEOUT)
    link.putrequest("POST", f"/api/rooms/{name}/attachments")
    link.putheader("Authorization", f"Bearer {alice.token}")
    link.putheader("Content-Type", "multipart/form-data; boundary=x")
    link.putheader("Content-Length", str(1024**3))
    link.endheaders()
    answer = link.getresponse()
    body = kit.json.loads(answer.read())
    link.close()
    assert answer.status == 413, body
    assert body["error"]["code"] == "too_large", body
