"""docs/protocol.md, Identity and connect refusals; the token routes."""

from __future__ import annotations

import pytest

from conformance import kit
from conformance.kit import Conn, Refused, http


def refusal_code(refused: Refused) -> str:
    """The stable code of a connect refusal: ``connect_error`` carries ``{message: code,
    data: {code, message}}``."""
    data = refused.data
    assert isinstance(data, dict), data
    assert isinstance(data.get("data"), dict), data
    assert set(data["data"]) == {"code", "message"}, data
    assert data["message"] == data["data"]["code"], data
    return data["data"]["code"]


def test_a_token_in_the_handshake_auth_connects(user):
    alice = user()
    conn = alice.connect()
    assert conn.sio.connected


def test_a_bearer_header_connects(user):
    alice = user()
    conn = Conn(alice, auth=None, headers={"Authorization": f"Bearer {alice.token}"})
    assert conn.sio.connected


@pytest.mark.parametrize(
    "auth",
    [None, {}, {"token": ""}, {"token": "forged.token.value"}, {"token": 42}, {"username": "x"}],
    ids=repr,
)
def test_a_connection_without_a_valid_identity_is_refused_unauthorized(auth):
    with pytest.raises(Refused) as refused:
        Conn(auth=auth)
    assert refusal_code(refused.value) == "unauthorized"


def test_a_user_past_the_connection_cap_is_refused_too_many_connections(user):
    alice = user(fresh=True)
    for _ in range(60):
        try:
            alice.connect()
        except Refused as refused:
            assert refusal_code(refused) == "too_many_connections"
            return
    pytest.skip("no refusal within 60 connections (the server's cap is higher)")


def test_a_payload_username_that_is_not_yours_is_forbidden(user, room):
    alice, bob = user(), user()
    conn = alice.connect()
    name = room()
    conn.join(name)
    conn.error("send_message", {"room": name, "message": "hi", "username": bob.name}, "forbidden")
    same = conn.send(name, "hi", username=alice.name.upper())
    assert conn.wait("recieve_message", room=name)[0]["id"] == same["id"]


def test_register_refuses_a_taken_name_ignoring_case_and_a_bad_one():
    taken = kit.User()
    answer = http(
        "POST", "/api/register", json={"username": taken.name.upper(), "password": "x" * 8}
    )
    kit.check_http_error(answer, 409, "username_taken")
    answer = http("POST", "/api/register", json={"username": "a b", "password": "x" * 8})
    kit.check_http_error(answer, 400, "invalid_payload")
    answer = http("POST", "/api/register", json={"username": kit.unique("p"), "password": "short"})
    kit.check_http_error(answer, 400, "invalid_payload")


def test_a_wrong_password_gets_no_token():
    alice = kit.User()
    answer = http("POST", "/api/token", json={"username": alice.name, "password": "wrong password"})
    kit.check_http_error(answer, 401, "unauthorized")


def test_an_api_call_without_a_valid_token_is_unauthorized():
    kit.check_http_error(http("GET", "/api/rooms"), 401, "unauthorized")
    kit.check_http_error(http("GET", "/api/rooms", "not-a-token"), 401, "unauthorized")


def test_token_refresh_gives_a_new_token_and_the_old_one_works_until_it_expires(user):
    alice = user()
    answer = http("POST", "/api/token/refresh", alice.token)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"token", "expires_in"}, body
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert http("GET", "/api/rooms", body["token"]).status_code == 200
    assert http("GET", "/api/rooms", alice.token).status_code == 200
    conn = Conn(alice, token=body["token"])
    assert conn.sio.connected


def test_token_refresh_needs_a_valid_bearer_token():
    kit.check_http_error(http("POST", "/api/token/refresh"), 401, "unauthorized")
    kit.check_http_error(http("POST", "/api/token/refresh", "forged"), 401, "unauthorized")


def test_sign_out_everywhere_sends_signed_out_disconnects_and_ends_every_token(user):
    alice = user(fresh=True)
    conn = alice.connect()
    refreshed = http("POST", "/api/token/refresh", alice.token).json()["token"]
    assert http("POST", "/api/logout-everywhere", alice.token).status_code == 204
    assert conn.wait("signed_out") == [{}]
    assert conn.gone.wait(kit.TIMEOUT)
    kit.check_http_error(http("GET", "/api/rooms", alice.token), 401, "unauthorized")
    kit.check_http_error(http("GET", "/api/rooms", refreshed), 401, "unauthorized")
    with pytest.raises(Refused) as refused:
        Conn(alice)
    assert refusal_code(refused.value) == "unauthorized"


def test_healthz_answers_ok():
    answer = http("GET", "/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "db": "ok"}


def test_a_password_change_ends_every_token_and_connection(user):
    alice = user(fresh=True)
    conn = alice.connect()
    answer = http(
        "POST",
        "/api/password",
        alice.token,
        json={"password": kit.PASSWORD, "new_password": "another passphrase"},
    )
    assert answer.status_code == 204
    assert conn.wait("signed_out") == [{}]
    assert conn.gone.wait(kit.TIMEOUT)
    kit.check_http_error(http("GET", "/api/rooms", alice.token), 401, "unauthorized")
    assert kit.sign_in(alice.name, "another passphrase")
    wrong = http(
        "POST",
        "/api/password",
        kit.sign_in(alice.name, "another passphrase"),
        json={"password": "not it at all", "new_password": "a third passphrase"},
    )
    kit.check_http_error(wrong, 401, "unauthorized")
