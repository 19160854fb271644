"""Garbage from a stranger costs one log line, never a traceback, and no event goes
unanswered: malformed event packets, undecodable ones, an over-long polling request, a
request with too many headers (real servers)."""

from __future__ import annotations

import contextlib
import json
import logging
import socket

import pytest
import requests
import websocket

from tests.servers import Server

DEEP = "[" * 3000 + "]" * 3000
MALFORMED_EVENTS = ['42{"a":1}', "42", "42[]", "42{}"]


class Polling:
    """An Engine.IO long-polling session through the Flask test client."""

    def __init__(self, client):
        self.client = client
        self.sid = json.loads(self._get("/socket.io/?EIO=4&transport=polling")[1:])["sid"]

    def _get(self, url: str) -> str:
        response = self.client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        return response.get_data(as_text=True)

    def post(self, body: str):
        url = f"/socket.io/?EIO=4&transport=polling&sid={self.sid}"
        return self.client.post(url, data=body)

    def read(self) -> list[str]:
        return self._get(f"/socket.io/?EIO=4&transport=polling&sid={self.sid}").split("\x1e")

    def connect(self, token: str) -> None:
        assert self.post("40" + json.dumps({"token": token})).status_code == 200
        [opened] = self.read()
        assert opened.startswith("40{"), opened


def _noise(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("body", MALFORMED_EVENTS)
def test_a_malformed_event_is_answered_with_one_log_line(app, auth, caplog, body):
    auth.register("alice")
    session = Polling(app.test_client())
    session.connect(auth.token("alice"))
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert session.post(body).status_code == 200
        answered = session.read()
    assert [r for r in caplog.records if r.exc_info] == []
    assert len(_noise(caplog)) == 1
    [packet] = answered
    name, payload = json.loads(packet[2:])
    assert name == "chat_error" and payload["code"] == "invalid_payload"
    # The connection stays: a good event still works.
    assert session.post('420["joined_room",{"room":"r"}]').status_code == 200
    assert any(p.startswith("430[") and '"ok":true' in p for p in session.read())


@pytest.mark.parametrize("body", ["421[]", "422{}", "423"])
def test_a_malformed_event_with_an_ack_id_gets_an_error_ack(app, auth, body):
    auth.register("alice")
    session = Polling(app.test_client())
    session.connect(auth.token("alice"))
    assert session.post(body).status_code == 200
    [ack] = session.read()
    assert ack.startswith("43" + body[2]), ack
    [reply] = json.loads(ack[3:])
    assert reply["ok"] is False and reply["error"]["code"] == "invalid_payload"


@pytest.mark.parametrize("body", [*MALFORMED_EVENTS, "42" + DEEP, "40" + DEEP])
def test_garbage_before_any_connect_logs_one_line(app, caplog, body):
    session = Polling(app.test_client())
    caplog.clear()
    assert session.post(body).status_code == 200
    assert [r for r in caplog.records if r.exc_info] == []
    assert len(_noise(caplog)) <= 1


def test_a_polling_request_of_more_packets_than_engineio_decodes_is_a_400(app, caplog):
    session = Polling(app.test_client())
    caplog.clear()
    response = session.post("\x1e".join(['42["x"]'] * 17))
    assert response.status_code == 400
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert [r for r in caplog.records if r.exc_info] == []
    assert len(_noise(caplog)) == 1


def test_a_flood_of_malformed_events_meets_the_refused_budget(app, auth):
    auth.register("alice")
    session = Polling(app.test_client())
    session.connect(auth.token("alice"))
    codes = []
    for _ in range(4):
        assert session.post("\x1e".join(["42[]"] * 16)).status_code == 200
        codes += [json.loads(p[2:])[1]["code"] for p in session.read()]
    assert codes[:30] == ["invalid_payload"] * 30
    assert codes[-1] == "rate_limited"


# --- real servers: the WebSocket transport, and gevent's HTTP parser -------------------


@pytest.fixture(params=["eventlet", "gevent"])
def server(request, tmp_path):
    server = Server(
        f"sqlite:///{tmp_path}/chat.db", tmp_path / "server.log", ASYNC_MODE=request.param
    )
    server.migrate()
    server.start()
    yield server
    server.stop()


def _token(server) -> str:
    account = {"username": "alice", "password": "correct horse battery"}
    requests.post(server.url + "/api/register", json=account, timeout=10).raise_for_status()
    return requests.post(server.url + "/api/token", json=account, timeout=10).json()["token"]


def test_garbage_over_websocket_costs_a_line_each_on_a_real_server(server):
    token = _token(server)
    url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(url, timeout=10)
    assert ws.recv().startswith("0{")
    for frame in MALFORMED_EVENTS:  # before the namespace connect
        ws.send(frame)
    ws.send("40" + json.dumps({"token": token}))
    assert ws.recv().startswith("40{")
    for frame in MALFORMED_EVENTS:
        ws.send(frame)
        assert json.loads(ws.recv()[2:])[1]["code"] == "invalid_payload"
    ws.send('421["joined_room",{"room":"r"}]')
    replies = [ws.recv() for _ in range(1)]
    assert replies[0].startswith("431[") and '"ok":true' in replies[0]
    ws.send("42" + DEEP)  # closes this connection, with one line
    with contextlib.suppress(websocket.WebSocketConnectionClosedException, OSError):
        while ws.recv():  # the server's Engine.IO close, then its close frame ("")
            pass
    assert not ws.connected or ws.recv_data_frame(True)[0] == websocket.ABNF.OPCODE_CLOSE
    ws.shutdown()
    log = server.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]


def test_a_request_with_too_many_headers_is_refused_without_a_traceback(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        headers = "".join(f"X-Junk-{i}: {i}\r\n" for i in range(150))
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 4"), answer[:100]
    assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
    log = server.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]
