"""Socket connections: who may connect, and whose name they speak with."""

import pytest
from flask import request
from werkzeug.exceptions import NotFound
from werkzeug.test import EnvironBuilder

from chat import identity
from events import socketio
from tests.helpers import events, join, send


def test_connect_with_a_token(connect):
    alice = connect("alice")
    join(alice, "r")
    send(alice, "r", "hi")
    assert events(alice, "recieve_message")[0]["username"] == "alice"


def test_connect_with_the_session_cookie_of_a_signed_in_browser(app, auth):
    auth.register("alice")
    browser = app.test_client()
    assert auth.login(browser, "alice").status_code == 302
    sock = socketio.test_client(app, flask_test_client=browser)
    assert sock.is_connected()
    assert join(sock, "r")["online"] == ["alice"]
    sock.disconnect()


def test_connect_with_a_bearer_header(app, auth):
    auth.register("alice")
    token = auth.token("alice")
    sock = socketio.test_client(app, headers={"Authorization": f"Bearer {token}"})
    assert sock.is_connected()
    sock.disconnect()


@pytest.mark.parametrize(
    "auth_data",
    [
        None,
        {},
        {"token": ""},
        {"token": "forged.token.value"},
        {"token": 42},
        {"username": "alice"},
    ],
    ids=repr,
)
def test_connections_without_a_valid_identity_are_refused(app, auth, auth_data):
    auth.register("alice")
    sock = socketio.test_client(app, auth=auth_data)
    assert not sock.is_connected()


def test_a_token_signed_with_another_key_is_refused(app, auth):
    from itsdangerous import URLSafeTimedSerializer

    auth.register("alice")
    forged = URLSafeTimedSerializer("not-the-key", salt="api-token").dumps({"uid": 1})
    assert not socketio.test_client(app, auth={"token": forged}).is_connected()


@pytest.mark.app_config(TOKEN_MAX_AGE=-1)
def test_an_expired_token_is_refused(app, auth):
    auth.register("alice")
    token = auth.token("alice")
    assert not socketio.test_client(app, auth={"token": token}).is_connected()


def test_signed_out_browser_cannot_connect(app, auth):
    auth.register("alice")
    browser = app.test_client()
    assert not socketio.test_client(app, flask_test_client=browser).is_connected()


def test_the_payload_username_never_changes_the_author(connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    events(bob)
    ack = send(alice, "r", "I am bob", username="bob")
    assert ack["error"]["code"] == "forbidden"
    assert events(bob) == []
    send(alice, "r", "hello", username="alice")
    assert events(bob, "recieve_message")[0]["username"] == "alice"


def test_socket_event_contexts_skip_url_matching_and_http_requests_keep_it(app):
    environ = EnvironBuilder(path="/socket.io/", query_string="EIO=4").get_environ()
    with app.request_context(environ):  # the connect itself: an ordinary request context
        assert isinstance(request.routing_exception, NotFound)
    environ[identity.IDENTIFIED_SOCKET] = True  # what a connect that found its user sets
    with app.request_context(environ):
        assert request.routing_exception is None and request.url_rule is None
    with app.test_request_context("/login"):
        assert request.endpoint == "auth.login"
