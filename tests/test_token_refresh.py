"""POST /api/token/refresh: a Bearer token buys a new one; the old one works until it
expires; signing out everywhere ends both (docs/protocol.md, HTTP API)."""

from __future__ import annotations

import pytest

from conformance.kit import validator
from events import socketio
from tests.helpers import csrf_token


def refresh(client, token: str | None, **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post("/api/token/refresh", headers=headers)


def test_a_refresh_gives_a_new_token_and_the_old_one_keeps_working(app, client, auth):
    auth.register("alice")
    old = auth.token("alice")
    answer = refresh(client, old)
    assert answer.status_code == 200
    body = answer.get_json()
    assert not list(validator("http.token_refresh").iter_errors(body))
    assert body["expires_in"] == app.config["TOKEN_MAX_AGE"]
    for token in (old, body["token"]):
        rooms = client.get("/api/rooms", headers={"Authorization": f"Bearer {token}"})
        assert rooms.status_code == 200
        sock = socketio.test_client(app, auth={"token": token})
        assert sock.is_connected()
        sock.disconnect()


def test_a_refreshed_token_can_be_refreshed_again(client, auth):
    auth.register("alice")
    token = auth.token("alice")
    for _ in range(3):
        answer = refresh(client, token)
        assert answer.status_code == 200
        token = answer.get_json()["token"]


@pytest.mark.parametrize("token", [None, "", "forged.token", "x" * 300])
def test_a_refresh_without_a_valid_bearer_token_is_unauthorized(client, token):
    answer = refresh(client, token)
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "unauthorized"


def test_a_browser_session_does_not_refresh(client, auth):
    auth.register("alice")
    assert auth.login(client, "alice").status_code == 302
    answer = refresh(client, None, **{"X-CSRFToken": csrf_token(client, "/")})
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.app_config(TOKEN_MAX_AGE=-1)
def test_an_expired_token_does_not_refresh(client, auth):
    auth.register("alice")
    assert refresh(client, auth.token("alice")).status_code == 401


def test_signing_out_everywhere_ends_the_old_and_the_refreshed_token(client, auth):
    auth.register("alice")
    old = auth.token("alice")
    new = refresh(client, old).get_json()["token"]
    gone = client.post("/api/logout-everywhere", headers={"Authorization": f"Bearer {new}"})
    assert gone.status_code == 204
    for token in (old, new):
        assert refresh(client, token).status_code == 401
        assert (
            client.get("/api/rooms", headers={"Authorization": f"Bearer {token}"}).status_code
            == 401
        )
