"""Connections refused at connect carry a stable code: connect_error's data is
``{message: code, data: {code, message}}`` (docs/protocol.md, Identity), matching the
published schema (docs/schemas/connect_error.json)."""

from __future__ import annotations

import pytest
from socketio import packet
from sqlalchemy.exc import OperationalError

import events
from conformance.kit import validator
from events import socketio


@pytest.fixture
def refusals(app, auth, monkeypatch):
    """The data of every CONNECT_ERROR packet the server sends (the test client keeps
    none of it): ``watch()`` gives a disconnected test client whose next connects are
    recorded."""
    sent: list = []
    server = socketio.server
    auth.register("probe")

    def watch():
        # The test client installs its packet hook when made (and connects then).
        test_client = socketio.test_client(app, auth={"token": auth.token("probe")})
        assert test_client.is_connected()
        test_client.disconnect()
        send = server._send_packet

        def recording(eio_sid, pkt):
            if pkt.packet_type == packet.CONNECT_ERROR:
                sent.append(pkt.data)
            return send(eio_sid, pkt)

        monkeypatch.setattr(server, "_send_packet", recording)
        return test_client

    return sent, watch


def refused(app, refusals, then=None, **options) -> dict:
    """The {code, message} of the refusal of a connect with ``options`` (``then()``
    runs just before it)."""
    sent, watch = refusals
    sock = watch()
    if then is not None:
        then()
    sock.connect(**options)
    assert not sock.is_connected()
    assert len(sent) == 1, sent
    data = sent[0]
    errors = list(validator("connect_error").iter_errors(data))
    assert not errors, (errors[0].message, data)
    assert data["message"] == data["data"]["code"]
    return data["data"]


@pytest.mark.parametrize(
    "auth_data", [None, {}, {"token": ""}, {"token": "forged"}, {"token": 7}], ids=repr
)
def test_no_or_an_invalid_identity_is_refused_unauthorized(app, refusals, auth_data):
    assert refused(app, refusals, auth=auth_data)["code"] == "unauthorized"


@pytest.mark.app_config(MAX_CONNECTIONS_PER_USER=2)
def test_a_connection_past_the_cap_is_refused_too_many_connections(app, auth, connect, refusals):
    connect("alice")
    connect("alice", register=False)
    found = refused(app, refusals, auth={"token": auth.token("alice")})
    assert found == {"code": "too_many_connections", "message": "at most 2 connections per user"}


def test_a_database_that_cannot_be_reached_at_connect_is_refused_unavailable(
    app, auth, refusals, monkeypatch
):
    auth.register("alice")
    token = auth.token("alice")

    def down(_auth):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    def break_it():
        monkeypatch.setattr(events, "socket_user", down)

    found = refused(app, refusals, break_it, auth={"token": token})
    assert found["code"] == "unavailable"


def test_a_bug_at_connect_is_refused_internal_error(app, auth, refusals, monkeypatch):
    auth.register("alice")
    token = auth.token("alice")

    def broken(_auth):
        raise RuntimeError("a bug")

    def break_it():
        monkeypatch.setattr(events, "socket_user", broken)

    found = refused(app, refusals, break_it, auth={"token": token})
    assert found["code"] == "internal_error"
