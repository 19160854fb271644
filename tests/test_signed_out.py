"""Signing out reaches open sockets: signed_out, then the server disconnects them."""

from events import socketio
from tests.helpers import csrf_token, events, join, send


def received_before_disconnect(sock) -> list:
    """What a disconnected test client got (its get_received refuses once disconnected)."""
    return [(p["name"], p["args"][0] if p["args"] else None) for p in sock.queue]


def browser_socket(app, auth, username: str):
    """A browser: an HTTP client signed in through the form, and its socket."""
    client = app.test_client()
    auth.login(client, username)
    sock = socketio.test_client(app, flask_test_client=client)
    assert sock.is_connected()
    return client, sock


def test_signing_out_ends_that_browsers_sockets_only(app, auth, connect):
    auth.register("alice")
    client, tab = browser_socket(app, auth, "alice")
    _, other_browser = browser_socket(app, auth, "alice")
    api = connect("alice", register=False)  # a token connection
    join(tab, "r")
    events(tab), events(other_browser), events(api)  # they learnt of the new room

    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/password")})
    assert response.status_code == 302
    assert not tab.is_connected()
    assert received_before_disconnect(tab)[0] == ("signed_out", {})
    assert other_browser.is_connected() and api.is_connected()
    assert events(other_browser) == [] and events(api) == []
    # The signed-out cookie opens no new socket.
    assert not socketio.test_client(app, flask_test_client=client).is_connected()


def test_logout_everywhere_ends_every_socket_of_the_user(app, auth, connect):
    auth.register("alice")
    _, tab = browser_socket(app, auth, "alice")
    api = connect("alice", register=False)
    bob = connect("bob")
    token = auth.token("alice")
    response = app.test_client().post(
        "/api/logout-everywhere", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 204
    for sock in (tab, api):
        assert not sock.is_connected()
        assert ("signed_out", {}) in received_before_disconnect(sock)
    assert bob.is_connected() and events(bob, "signed_out") == []


def test_a_signed_out_socket_cannot_send(app, auth, connect):
    auth.register("alice")
    client, tab = browser_socket(app, auth, "alice")
    bob = connect("bob")
    join(tab, "r")
    join(bob, "r")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/password")})
    events(bob)
    assert not tab.is_connected()
    assert send(bob, "r", "anyone?")["ok"]
    assert [name for name, _ in events(bob)] == ["recieve_message"]


def test_a_known_identity_connects_without_a_database_read(app, auth, connect):
    from sqlalchemy import event

    from models import db

    auth.register("alice")
    token = auth.token("alice")
    first = socketio.test_client(app, auth={"token": token})
    assert first.is_connected()
    statements = []
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    second = socketio.test_client(app, auth={"token": token})
    assert second.is_connected() and statements == []
    # Signing out everywhere forgets it at once: the same token opens nothing more.
    response = app.test_client().post(
        "/api/logout-everywhere", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 204
    assert not socketio.test_client(app, auth={"token": token}).is_connected()
