"""Attachments through the real server (serve.py): eventlet on an S3 API (moto's server,
as docker-compose runs it on MinIO) and gevent on the folder; uploads over HTTP, messages
over python-socketio, downloads as a browser follows them, and bodies past the cap,
chunked or with a Content-Length, refused."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.attachments_helpers import image_bytes, metadata_of, moto_s3, new_bucket
from tests.servers import Server
from tests.test_servers import PASSWORD, Client, register

MB = 1024 * 1024


@pytest.fixture(scope="module", params=["eventlet-s3", "gevent-folder"])
def server(request, tmp_path_factory):
    mode, storage = request.param.split("-")
    tmp = tmp_path_factory.mktemp(request.param)
    with moto_s3() as endpoint:
        settings = {"ASYNC_MODE": mode, "MAX_UPLOAD_MB": "1"}
        if storage == "s3":
            settings.update(S3_BUCKET=new_bucket(endpoint), S3_ENDPOINT_URL=endpoint)
        else:
            settings["ATTACHMENTS_FOLDER"] = str(tmp / "files")
        server = Server(f"sqlite:///{tmp}/chat.db", tmp / "server.log", **settings)
        server.migrate()
        server.start()
        yield server
        server.stop()


@pytest.fixture
def people(server):
    """alice and bob (fresh names), each connected, with a Bearer header for HTTP."""
    names = [f"{n}{os.urandom(3).hex()}" for n in ("alice", "bob")]
    clients = []
    for name in names:
        register(server, name)
        client = Client(server, name)
        client.headers = bearer(server, name)
        clients.append(client)
    yield clients
    for client in clients:
        client.close()


def bearer(server: Server, name: str) -> dict:
    response = requests.post(
        server.url + "/api/token", json={"username": name, "password": PASSWORD}, timeout=10
    )
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_an_image_goes_up_into_a_message_and_down_to_a_reader(server, people):
    alice, bob = people
    for client in people:
        assert client.call("joined_room", {"room": "pics"})["ok"]
    headers = alice.headers
    photo = image_bytes("JPEG", (900, 600), orientation=3)
    response = requests.post(
        server.url + "/api/rooms/pics/attachments",
        files={"file": ("photo.jpg", photo, "text/plain")},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    file = response.json()["attachment"]
    assert (file["type"], file["width"], file["height"]) == ("image/jpeg", 900, 600)
    ack = alice.call("send_message", {"room": "pics", "attachments": [file["id"]]})
    assert ack["ok"], ack
    [message] = bob.wait_for("recieve_message")
    assert message["attachments"] == [file]
    download = requests.get(server.url + file["url"], headers=bob.headers)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "image/jpeg"
    assert metadata_of(download.content) == {}
    thumb = requests.get(server.url + file["thumb_url"], headers=bob.headers)
    assert thumb.status_code == 200 and thumb.content[8:12] == b"WEBP"
    assert alice.call("delete_message", {"room": "pics", "id": ack["id"]})["ok"]
    gone = requests.get(server.url + file["url"], headers=bob.headers)
    assert gone.status_code == 404


def test_bodies_past_the_cap_are_refused_chunked_or_not(server, people):
    alice, _ = people
    assert alice.call("joined_room", {"room": "big"})["ok"]
    headers = alice.headers
    boundary = "x" * 20
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()

    def chunks():  # 3 MB, with no Content-Length: Transfer-Encoding: chunked
        yield head
        for _ in range(48):
            yield os.urandom(64 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    multipart = {"Content-Type": f"multipart/form-data; boundary={boundary}", **headers}
    response = requests.post(
        server.url + "/api/rooms/big/attachments", data=chunks(), headers=multipart, timeout=30
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "too_large"
    sized = requests.post(
        server.url + "/api/rooms/big/attachments",
        files={"file": ("b.bin", io.BytesIO(os.urandom(2 * MB)))},
        headers=headers,
        timeout=30,
    )
    assert sized.status_code == 413
    fits = requests.post(
        server.url + "/api/rooms/big/attachments",
        files={"file": ("c.bin", io.BytesIO(os.urandom(MB // 2)))},
        headers=headers,
        timeout=30,
    )
    assert fits.status_code == 201, fits.text
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    assert "Traceback" not in server.log_path.read_text()


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_the_uploads_bench_runs():
    """bench/uploads.py, tiny: it runs to the end (no figure is checked)."""
    root = Path(__file__).resolve().parent.parent
    bench = [sys.executable, "bench/uploads.py", "--pg-url", os.environ["TEST_DATABASE_URL"]]
    result = subprocess.run(
        [*bench, "--seconds", "1.5", "--rate", "10"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "| photos (12 MP JPEG, ~4 MB) |" in result.stdout, result.stdout
