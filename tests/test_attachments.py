"""Attachments: uploads (streamed, capped, sniffed, images re-encoded without metadata),
messages that carry them, downloads for readers of the room only, and removal with the
message or after 24 h. Every test runs on each database and, where the storage matters,
on the folder and on a real S3 API (moto's server)."""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from datetime import timedelta

import pytest
import requests
from PIL import Image
from werkzeug.test import EnvironBuilder, run_wsgi_app

from chat import attachments
from conformance.kit import validator
from models import utcnow
from tests.attachments_helpers import (
    HTML,
    PDF,
    bucket_keys,
    image_bytes,
    metadata_of,
    moto_s3,
    new_bucket,
    png_header_bomb,
)
from tests.helpers import csrf_token, events, join, run_sql, send, statements

MB = 1024 * 1024


@pytest.fixture(scope="session")
def s3_endpoint():
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture(params=["folder", "s3"])
def app_settings(request):
    """Each test of this module on the folder (the default) and on an S3 bucket of its
    own."""
    if request.param == "folder":
        return {}
    endpoint = request.getfixturevalue("s3_endpoint")
    return {"S3_BUCKET": new_bucket(endpoint), "S3_ENDPOINT_URL": endpoint}


@pytest.fixture
def stored(app):
    """stored() -> the storage keys that hold files now (whichever the storage)."""

    def keys() -> list[str]:
        if app.config["S3_BUCKET"]:
            return bucket_keys(app.config["S3_ENDPOINT_URL"], app.config["S3_BUCKET"])
        found = []
        for folder, _dirs, files in os.walk(app.config["ATTACHMENTS_FOLDER"]):
            if os.path.basename(folder) != "incoming" and "incoming" not in folder:
                found += files
            elif files:
                found += [f"incoming/{name}" for name in files]
        return sorted(found)

    return keys


class People:
    """alice, bob (both in room r), carol (in no room) with API tokens."""

    def __init__(self, app, client, auth, connect):
        self.app, self.client, self.auth = app, client, auth
        self.socks = {name: connect(name) for name in ("alice", "bob", "carol")}
        self.tokens = {name: auth.token(name) for name in self.socks}
        for name in ("alice", "bob"):
            join(self.socks[name], "r")
            events(self.socks[name])

    def headers(self, name):
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def upload(self, name, data: bytes, filename="f.bin", room="r", content_type=None):
        file = (io.BytesIO(data), filename) + ((content_type,) if content_type else ())
        response = self.client.post(
            f"/api/rooms/{room}/attachments",
            data={"file": file},
            headers=self.headers(name),
            content_type="multipart/form-data",
        )
        # The test client spools a big body to a temporary file, and leaves it open.
        response.request.environ["wsgi.input"].close()
        return response

    def uploaded(self, name, data: bytes, filename="f.bin", room="r") -> dict:
        response = self.upload(name, data, filename, room)
        assert response.status_code == 201, response.get_json()
        answer = response.get_json()
        errors = list(validator("http.upload_attachment").iter_errors(answer))
        assert not errors, errors[0].message  # the published schema of the answer
        return answer["attachment"]

    def get(self, name, url, **headers):
        response = self.client.get(url, headers={**(self.headers(name) if name else {}), **headers})
        response.get_data()  # read, then the file it streamed is closed
        response.close()
        return response

    def fetch(self, name, url, **headers):
        """A download's response, following the S3 store's redirect to its presigned URL
        (a requests.Response then)."""
        response = self.get(name, url, **headers)
        if response.status_code != 302:
            return response
        assert self.app.config["S3_BUCKET"], "only the S3 store redirects"
        return requests.get(response.headers["Location"], headers=headers, timeout=10)


@pytest.fixture
def people(app, client, auth, connect):
    return People(app, client, auth, connect)


def status(response) -> int:
    return getattr(response, "status_code", None)


def body(response) -> bytes:
    return response.content if isinstance(response, requests.Response) else response.data


def rows(app) -> list:
    return run_sql(app, "SELECT id, user_id, message_id, name, size FROM attachments ORDER BY id")


# --- uploads -------------------------------------------------------------------------


def test_an_image_is_re_encoded_without_metadata_and_gets_a_thumbnail(people, stored):
    original = image_bytes("PNG", (1200, 600))
    assert {"exif", "Comment"} <= set(metadata_of(original))
    found = people.uploaded("alice", original, "holiday.png")
    assert found["type"] == "image/png"
    assert (found["width"], found["height"]) == (1200, 600)
    assert found["name"] == "holiday.png"
    assert found["url"] == f"/attachments/{found['id']}/holiday.png"
    assert found["thumb_url"] == f"/attachments/{found['id']}/thumb/holiday.webp"
    file = people.fetch("alice", found["url"])
    assert status(file) == 200
    assert len(body(file)) == found["size"]
    assert metadata_of(body(file)) == {}
    with Image.open(io.BytesIO(body(file))) as image:
        assert (image.format, image.size) == ("PNG", (1200, 600))
    thumb = people.fetch("alice", found["thumb_url"])
    with Image.open(io.BytesIO(body(thumb))) as image:
        assert image.format == "WEBP"
        assert image.size == (400, 200)
    assert len(stored()) == 2  # the image and its thumbnail, under random keys
    assert not {"holiday.png", "holiday.webp"} & set(stored())


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_exif_and_gps_are_gone_and_the_orientation_is_applied(people, fmt):
    original = image_bytes(fmt, (300, 100), orientation=6)  # rotated 90 degrees
    assert metadata_of(original)["exif"]
    found = people.uploaded("alice", original, f"camera.{fmt.lower()}")
    data = body(people.fetch("alice", found["url"]))
    assert b"SpyCam" not in data and b"Exif" not in data
    assert "exif" not in metadata_of(data)
    if fmt == "JPEG":
        assert (found["width"], found["height"]) == (100, 300)  # shown upright
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == fmt
        assert image.size == (found["width"], found["height"])


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_an_animation_stays_animated(people, fmt):
    original = image_bytes(fmt, (120, 80), frames=5, exif=False)
    found = people.uploaded("alice", original, f"dance.{fmt.lower()}")
    assert found["type"] == f"image/{fmt.lower()}"
    with Image.open(io.BytesIO(body(people.fetch("alice", found["url"])))) as image:
        assert image.n_frames == 5


def test_the_type_comes_from_the_bytes_never_the_name_or_the_header(people):
    html = people.uploaded("alice", HTML, "cat.png")
    assert html["type"] == "application/octet-stream"
    assert "width" not in html and "thumb_url" not in html
    pdf = people.upload("alice", PDF + b"x" * 100, "notes.txt", content_type="image/png")
    assert pdf.get_json()["attachment"]["type"] == "application/pdf"
    png = people.uploaded("alice", image_bytes("PNG", exif=False), "report.pdf")
    assert png["type"] == "image/png"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        # Werkzeug reads a quoted header's backslash as an escape: "\\\\" is one "\\".
        ("C:\\\\Users\\\\me\\\\secret plan.txt", "secret plan.txt"),
        ("in\x07voice\u202efdp.exe\x1b", "invoicefdp.exe"),
        ("..", "file"),
        ("", "file"),
        ("é" * 300 + ".txt", "é" * 251 + ".txt"),
    ],
)
def test_a_name_is_only_ever_a_display_name(people, stored, raw, shown):
    found = people.uploaded("alice", PDF, raw)
    assert found["name"] == shown
    assert shown not in stored()
    response = people.fetch("alice", found["url"])
    assert status(response) == 200 and body(response) == PDF


def test_a_file_over_the_cap_is_refused_and_nothing_is_stored(people, app, stored):
    app.config["MAX_UPLOAD_MB"] = 1
    response = people.upload("alice", b"%PDF" + os.urandom(MB + 100), "big.pdf")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert rows(app) == [] and stored() == []
    assert people.upload("alice", b"%PDF" + os.urandom(MB - 100), "fits.pdf").status_code == 201


def _multipart(data: bytes, filename="f.bin") -> EnvironBuilder:
    return EnvironBuilder(
        path="/api/rooms/r/attachments",
        method="POST",
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _raw(app, environ) -> tuple[int, dict, int]:
    """Call the app with this very environ (the test client would fix its length): the
    status, the JSON answer, and how much of the body was read."""
    body_iter, status_line, _headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    read = environ["wsgi.input"].tell()
    environ["wsgi.input"].close()
    return int(status_line.split()[0]), json.loads(b"".join(body_iter)), read


def test_a_lying_content_length_lets_nothing_more_through(people, app, stored):
    app.config["MAX_UPLOAD_MB"] = 1
    big = b"%PDF" + os.urandom(2 * MB)
    bearer = people.headers("alice")["Authorization"]
    # No length at all (chunked, the server ends the stream): refused while streaming.
    environ = _multipart(big).get_environ()
    del environ["CONTENT_LENGTH"]
    environ.update({"wsgi.input_terminated": True, "HTTP_AUTHORIZATION": bearer})
    code, answer, _ = _raw(app, environ)
    assert (code, answer["error"]["code"]) == (413, "too_large")
    # A small length with a big body: no more than the length is read (a cut body: 400).
    environ = _multipart(big).get_environ()
    environ.update({"CONTENT_LENGTH": "5000", "HTTP_AUTHORIZATION": bearer})
    code, answer, read = _raw(app, environ)
    assert (code, answer["error"]["code"]) == (400, "invalid_payload")
    assert read <= 5000
    # A length past the cap with a small body: refused before a byte is read.
    environ = _multipart(b"small").get_environ()
    environ.update({"CONTENT_LENGTH": str(20 * MB), "HTTP_AUTHORIZATION": bearer})
    code, answer, read = _raw(app, environ)
    assert (code, answer["error"]["code"]) == (413, "too_large")
    assert read == 0
    assert rows(app) == [] and stored() == []


def test_the_quota_is_per_user(people, app, stored):
    app.config["UPLOAD_QUOTA_MB"] = 1
    people.uploaded("alice", b"%PDF" + os.urandom(600 * 1024))
    second = people.upload("alice", b"%PDF" + os.urandom(600 * 1024))
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "limit_reached"
    assert len(rows(app)) == 1 and len(stored()) == 1
    people.uploaded("bob", b"%PDF" + os.urandom(600 * 1024))  # bob has his own
    people.uploaded("alice", b"%PDF" + os.urandom(300 * 1024))  # what still fits


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (image_bytes("PNG", exif=False)[:300], "broken"),
        (image_bytes("JPEG", exif=False)[:400], "broken"),
        (b"GIF89a" + b"\0" * 50, "broken"),
        (png_header_bomb(), "pixels"),
        (png_header_bomb(20_000, 20_000), "pixels"),
    ],
    ids=["empty", "cut-png", "cut-jpeg", "bad-gif", "bomb", "over-the-cap"],
)
def test_refused_files_store_nothing(people, app, stored, data, why):
    response = people.upload("alice", data, "x.png")
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_payload"
    assert why in error["message"]
    assert rows(app) == [] and stored() == []


@pytest.mark.app_config(MAX_IMAGE_PIXELS=100 * 100)
def test_the_pixel_cap_is_a_setting(people):
    assert people.upload("alice", image_bytes("PNG", (100, 100))).status_code == 201
    response = people.upload("alice", image_bytes("PNG", (101, 100)))
    assert response.status_code == 400
    assert "pixels" in response.get_json()["error"]["message"]
    animation = image_bytes("GIF", (50, 50), frames=5, exif=False)
    assert people.upload("alice", animation).status_code == 400  # 12,500 pixels in all


def test_who_may_upload_where(people, client, auth):
    assert people.upload("carol", PDF).status_code == 403  # not a member of r
    # As a private room of others: whether a room exists is not told.
    assert people.upload("alice", PDF, room="nowhere").status_code == 403
    assert people.upload("carol", PDF, room="dm:alice:bob").status_code == 403
    assert people.upload("alice", PDF, room="no spaces").status_code in (400, 404)
    anonymous = client.post("/api/rooms/r/attachments", data={"file": (io.BytesIO(PDF), "x")})
    assert anonymous.status_code == 401
    no_file = client.post(
        "/api/rooms/r/attachments", data={"other": "x"}, headers=people.headers("alice")
    )
    assert no_file.status_code == 400
    not_multipart = client.post(
        "/api/rooms/r/attachments", json={"file": "x"}, headers=people.headers("alice")
    )
    assert not_multipart.status_code == 400


def test_a_browser_uploads_with_its_cookie_and_the_csrf_token(app, auth):
    auth.register("dave")
    browser = app.test_client()
    auth.login(browser, "dave")
    from events import socketio

    sock = socketio.test_client(app, flask_test_client=browser)
    join(sock, "r")
    data = {"file": (io.BytesIO(PDF), "a.pdf")}
    refused = browser.post("/api/rooms/r/attachments", data=data)
    assert refused.status_code == 400  # no CSRF token
    token = csrf_token(browser, "/")
    data = {"file": (io.BytesIO(PDF), "a.pdf")}
    response = browser.post("/api/rooms/r/attachments", data=data, headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.get_json()
    url = response.get_json()["attachment"]["url"]
    download = browser.get(url)
    assert download.status_code in (200, 302)  # the cookie reads it too
    download.close()
    sock.disconnect()


# --- messages that carry them --------------------------------------------------------


def test_a_message_carries_its_files_to_everyone_and_in_history(people, app):
    alice, bob = people.socks["alice"], people.socks["bob"]
    photo = people.uploaded("alice", image_bytes("JPEG"), "photo.jpg")
    doc = people.uploaded("alice", PDF, "doc.pdf")
    ack = alice.emit(
        "send_message", {"room": "r", "attachments": [doc["id"], photo["id"]]}, callback=True
    )
    assert ack["ok"], ack
    [message] = events(bob, "recieve_message")
    assert message["message"] == ""
    assert message["attachments"] == [photo, doc]  # in upload order
    assert events(alice, "recieve_message") == [message]
    page = bob.emit("load_history", {"room": "r"}, callback=True)
    assert page["messages"] == [message]
    over_http = people.get("bob", "/api/rooms/r/messages").get_json()
    assert over_http["messages"] == [message]
    [summary] = [s for s in people.get("bob", "/api/rooms").get_json()["rooms"] if s["room"] == "r"]
    assert summary["last_message"]["attachments"] == [photo, doc]
    captioned = people.uploaded("alice", PDF, "more.pdf")
    ack = send(alice, "r", "  see this  ", attachments=[captioned["id"]])
    assert ack["ok"]
    [message] = events(bob, "recieve_message")
    assert (message["message"], message["attachments"]) == ("see this", [captioned])


def test_a_page_reads_attachments_only_when_a_message_has_some(people, app):
    alice = people.socks["alice"]
    for i in range(5):
        send(alice, "r", f"plain {i}")
    with statements(app) as seen:
        alice.emit("load_history", {"room": "r"}, callback=True)
    assert not [s for s in seen if "attachments" in s]
    file = people.uploaded("alice", PDF)
    send(alice, "r", "", attachments=[file["id"]])
    send(alice, "r", "after")
    with statements(app) as seen:
        alice.emit("load_history", {"room": "r"}, callback=True)
    assert len([s for s in seen if "FROM attachments" in s]) == 1


@pytest.mark.parametrize(
    ("whose", "expected"),
    [
        ("bobs", "not_found"),  # someone else's upload
        ("other_room", "not_found"),  # one of another room
        ("used", "not_found"),  # already in a message
        ("missing", "not_found"),
        ("eleven", "invalid_payload"),
        ("twice", "invalid_payload"),
        ("huge_id", "invalid_payload"),
        ("not_ids", "invalid_payload"),
    ],
)
def test_send_message_takes_only_your_waiting_uploads_to_that_room(people, app, whose, expected):
    alice, bob = people.socks["alice"], people.socks["bob"]
    join(alice, "elsewhere")
    mine = people.uploaded("alice", PDF)["id"]
    ids = {
        "bobs": lambda: [people.uploaded("bob", PDF)["id"]],
        "other_room": lambda: [people.uploaded("alice", PDF, room="elsewhere")["id"]],
        "used": lambda: [mine] if send(alice, "r", "", attachments=[mine])["ok"] else None,
        "missing": lambda: [mine + 1000],
        "eleven": lambda: [people.uploaded("alice", PDF)["id"] for _ in range(11)],
        "twice": lambda: [mine, mine],
        "huge_id": lambda: [2**31],
        "not_ids": lambda: ["1"],
    }[whose]()
    events(alice), events(bob)
    before = rows(app)
    ack = send(alice, "r", "look", attachments=ids)
    assert ack["ok"] is False and ack["error"]["code"] == expected, ack
    assert events(bob) == []
    assert rows(app) == before  # nothing changed hands
    count = run_sql(app, "SELECT count(*) FROM messages WHERE body = 'look'")[0][0]
    assert count == 0
    if whose == "eleven":
        assert "at most 10" in ack["error"]["message"]
    # Without an ack: chat_error says the same.
    alice.emit("send_message", {"room": "r", "message": "x", "attachments": ids})
    [error] = events(alice, "chat_error")
    assert error["code"] == expected


def test_ten_files_fit_in_one_message(people):
    ids = [people.uploaded("alice", PDF, f"{i}.pdf")["id"] for i in range(10)]
    ack = send(people.socks["alice"], "r", "", attachments=ids)
    assert ack["ok"], ack
    [message] = events(people.socks["bob"], "recieve_message")
    assert [f["id"] for f in message["attachments"]] == ids


def test_an_empty_text_needs_files(people):
    ack = send(people.socks["alice"], "r", "   ")
    assert ack["error"] == {"code": "invalid_payload", "message": "message: is empty"}
    ack = people.socks["alice"].emit("send_message", {"room": "r"}, callback=True)
    assert ack["error"]["code"] == "invalid_payload"


def test_a_retry_gets_the_first_ack_and_no_second_broadcast(people):
    alice, bob = people.socks["alice"], people.socks["bob"]
    file = people.uploaded("alice", PDF)
    first = send(alice, "r", "", attachments=[file["id"]], client_id="c1")
    again = send(alice, "r", "", attachments=[file["id"]], client_id="c1")
    assert again == first
    assert len(events(bob, "recieve_message")) == 1


def test_an_edit_keeps_the_files(people):
    alice, bob = people.socks["alice"], people.socks["bob"]
    file = people.uploaded("alice", PDF)
    mid = send(alice, "r", "", attachments=[file["id"]])["id"]
    events(bob)
    assert alice.emit(
        "edit_message", {"room": "r", "id": mid, "message": "caption"}, callback=True
    )["ok"]
    [edited] = events(bob, "message_edited")
    assert edited["attachments"] == [file]


# --- downloads -----------------------------------------------------------------------


def test_only_readers_of_the_room_download(people, auth):
    alice = people.socks["alice"]
    file = people.uploaded("alice", image_bytes("PNG", exif=False), "a.png")
    # Waiting for a message: its uploader alone.
    assert status(people.fetch("alice", file["url"])) == 200
    assert people.get("bob", file["url"]).status_code == 404
    send(alice, "r", "", attachments=[file["id"]])
    for name in ("alice", "bob", "carol"):  # a public room: anyone signed in reads it
        assert status(people.fetch(name, file["url"])) == 200
        assert status(people.fetch(name, file["thumb_url"])) == 200
    assert people.get(None, file["url"]).status_code == 404  # signed out
    # A direct room: its two people only, and the same 404 as for nothing at all.
    alice.emit("joined_room", {"peer": "bob"}, callback=True)
    secret = people.uploaded("alice", PDF, room="dm:alice:bob")
    send(alice, "dm:alice:bob", "", attachments=[secret["id"]])
    assert status(people.fetch("bob", secret["url"])) == 200
    refused = people.get("carol", secret["url"])
    missing = people.get("carol", f"/attachments/{secret['id'] + 100}/x")
    huge = people.get("carol", f"/attachments/{2**40}/x")
    assert refused.status_code == missing.status_code == huge.status_code == 404
    assert refused.data == missing.data
    assert people.get("carol", f"/attachments/{secret['id']}/thumb/x").status_code == 404


def test_downloads_are_inert_and_cacheable(people):
    doc = people.uploaded("alice", HTML, "page.html")
    image = people.uploaded("alice", image_bytes("PNG", exif=False), "a.png")
    send(people.socks["alice"], "r", "", attachments=[doc["id"], image["id"]])
    for file, inline in ((doc, False), (image, True)):
        first = people.get("bob", file["url"])
        assert first.headers["X-Content-Type-Options"] == "nosniff"
        assert first.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert "private" in first.headers["Cache-Control"]
        response = people.fetch("bob", file["url"])
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("inline" if inline else "attachment"), disposition
        assert response.headers["Content-Type"].startswith(file["type"])
        etag = response.headers["ETag"]
        again = people.fetch("bob", file["url"], **{"If-None-Match": etag})
        assert status(again) == 304
        part = people.fetch("bob", file["url"], Range="bytes=2-9")
        assert status(part) == 206
        assert body(part) == body(response)[2:10]


def test_a_unicode_name_downloads_under_its_name(people):
    file = people.uploaded("alice", PDF, "résumé 履歴書.pdf")
    send(people.socks["alice"], "r", "", attachments=[file["id"]])
    response = people.fetch("bob", file["url"])
    assert status(response) == 200
    assert (
        "UTF-8''r%C3%A9sum%C3%A9%20%E5%B1%A5%E6%AD%B4%E6%9B%B8.pdf"
        in response.headers["Content-Disposition"]
    )


# --- removal -------------------------------------------------------------------------


def test_deleting_the_message_deletes_its_files(people, app, stored):
    alice, bob = people.socks["alice"], people.socks["bob"]
    image = people.uploaded("alice", image_bytes("PNG", exif=False), "a.png")
    kept = people.uploaded("alice", PDF, "kept.pdf")
    mid = send(alice, "r", "", attachments=[image["id"]])["id"]
    send(alice, "r", "", attachments=[kept["id"]])
    assert len(stored()) == 3
    assert alice.emit("delete_message", {"room": "r", "id": mid}, callback=True)["ok"]
    assert len(stored()) == 1
    assert [row.id for row in rows(app)] == [kept["id"]]
    assert people.get("bob", image["url"]).status_code == 404
    page = bob.emit("load_history", {"room": "r"}, callback=True)["messages"]
    assert page[0]["deleted"] and page[0]["attachments"] == []
    assert page[1]["attachments"] == [kept]


def test_uploads_no_message_took_are_swept_after_24_hours(people, app, stored):
    waiting = people.uploaded("alice", PDF, "waiting.pdf")
    old = people.uploaded("alice", image_bytes("PNG", exif=False), "old.png")
    used = people.uploaded("alice", PDF, "used.pdf")
    send(people.socks["alice"], "r", "", attachments=[used["id"]])
    past = utcnow() - timedelta(hours=25)
    run_sql(app, "UPDATE attachments SET created_at = :past", past=past)
    # What an upload 25 h ago was given: 24 h to be sent.
    gone = past + attachments.UNATTACHED_FOR
    run_sql(app, "UPDATE attachments SET expires_at = :gone WHERE id = :a", gone=gone, a=old["id"])
    with app.app_context():
        assert attachments.sweep() == 1
        assert attachments.sweep() == 0  # a second sweep (another process) finds nothing
    assert [row.id for row in rows(app)] == [waiting["id"], used["id"]]
    assert len(stored()) == 2
    # An expired upload can no longer be sent, nor read.
    run_sql(
        app, "UPDATE attachments SET expires_at = :gone WHERE id = :a", gone=past, a=waiting["id"]
    )
    assert send(people.socks["alice"], "r", "", attachments=[waiting["id"]])["error"]["code"] == (
        "not_found"
    )
    assert people.get("alice", waiting["url"]).status_code == 404


def test_a_failed_removal_is_left_for_the_sweep(people, app, stored, monkeypatch):
    alice = people.socks["alice"]
    file = people.uploaded("alice", PDF)
    mid = send(alice, "r", "", attachments=[file["id"]])["id"]
    store = app.extensions["storage"]

    def broken(keys):
        raise OSError("the store is down")

    monkeypatch.setattr(store, "delete", broken)
    assert alice.emit("delete_message", {"room": "r", "id": mid}, callback=True)["ok"]
    assert len(rows(app)) == 1 and len(stored()) == 1
    monkeypatch.undo()
    with app.app_context():
        assert attachments.sweep() == 1
    assert rows(app) == [] and stored() == []


def test_the_sweep_removes_what_a_dead_upload_left_behind(people, app):
    with app.app_context():
        folder = app.extensions["storage"].spool_folder() or tempfile.gettempdir()
    old = tempfile.mkdtemp(prefix=attachments.SPOOL_PREFIX, dir=folder)
    fresh = tempfile.mkdtemp(prefix=attachments.SPOOL_PREFIX, dir=folder)
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    with app.app_context():
        attachments.sweep()
    assert not os.path.exists(old)
    assert os.path.exists(fresh)  # an upload arriving now
    os.rmdir(fresh)


def test_the_pages_may_show_images_from_the_store(app, client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    image_sources = next(p for p in policy.split("; ") if p.startswith("img-src"))
    if app.config["S3_BUCKET"]:  # downloads redirect there
        assert image_sources == f"img-src 'self' data: {app.config['S3_ENDPOINT_URL']}"
    else:
        assert image_sources == "img-src 'self' data:"


@pytest.mark.app_config(UPLOAD_RATE_LIMIT="2/minute")
def test_uploads_per_user_are_limited_and_refusals_do_not_count(people, app, stored):
    assert people.upload("alice", b"").status_code == 400  # refused: not counted
    people.uploaded("alice", PDF)
    people.uploaded("alice", PDF)
    third = people.upload("alice", PDF)
    assert third.status_code == 429
    error = third.get_json()["error"]
    assert error["code"] == "rate_limited" and error["retry_after"] > 0
    assert len(rows(app)) == 2 and len(stored()) == 2
    people.uploaded("bob", PDF)  # his own count
