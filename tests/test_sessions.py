"""Signing out ends something: a browser's session on the server, every session and token
at once, a password change; and what sockets learn of who connects."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chat import identity as identities
from events import socketio
from models import User, db
from tests.conftest import PASSWORD
from tests.helpers import csrf_token, statements

NEW_PASSWORD = "a brand new password"


@pytest.fixture
def ended(app, monkeypatch):
    """Every sign_out control action the app publishes (after its commit), as (user_id,
    session_id)."""
    received: list[tuple[int, str | None]] = []
    control = app.extensions["control"]
    publish = control.publish

    def record(action):
        if action["do"] == "sign_out":
            received.append((action["user"], action["session"]))
        publish(action)

    monkeypatch.setattr(control, "publish", record)
    return received


def browser(app, auth, username: str = "alice"):
    """A test client signed in through the form."""
    client = app.test_client()
    assert auth.login(client, username).status_code == 302
    return client


def copy_of_cookie(app, client):
    """Another client holding a saved copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def signed_in(client) -> bool:
    return client.get("/chat?room=r").status_code == 200


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def can_connect(app, **kwargs) -> bool:
    sock = socketio.test_client(app, **kwargs)
    connected = sock.is_connected()
    if connected:
        sock.disconnect()
    return connected


def session_id_of(app, client) -> str:
    with client.session_transaction() as saved:
        return saved[identities.SESSION_KEY]


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


# --- one browser signs out -----------------------------------------------------------


def test_a_cookie_saved_before_sign_out_is_refused_afterwards(app, auth):
    auth.register("alice")
    alice = browser(app, auth)
    saved = copy_of_cookie(app, alice)
    assert signed_in(saved) and can_connect(app, flask_test_client=saved)

    response = alice.post("/logout", data={"csrf_token": csrf_token(alice, "/")})
    assert response.status_code == 302
    assert not signed_in(alice)
    assert not signed_in(saved)
    assert saved.get("/api/rooms").get_json()["error"]["code"] == "unauthorized"
    assert not can_connect(app, flask_test_client=saved)


def test_signing_out_tells_which_session_ended(app, auth, ended):
    auth.register("alice")
    alice = browser(app, auth)
    sid = session_id_of(app, alice)
    alice.post("/logout", data={"csrf_token": csrf_token(alice, "/")})
    assert ended == [(user_id(app, "alice"), sid)]


def test_signing_out_one_browser_leaves_the_others_and_the_tokens(app, auth, ended):
    auth.register("alice")
    token = auth.token("alice")
    phone, laptop = browser(app, auth), browser(app, auth)
    phone.post("/logout", data={"csrf_token": csrf_token(phone, "/")})
    assert not signed_in(phone)
    assert signed_in(laptop) and can_connect(app, flask_test_client=laptop)
    assert app.test_client().get("/api/rooms", headers=bearer(token)).status_code == 200
    assert can_connect(app, auth={"token": token})
    assert len(ended) == 1 and ended[0][1] is not None


def test_signing_in_again_in_the_same_browser_ends_its_previous_session(app, auth, ended):
    auth.register("alice")
    alice = browser(app, auth)
    before = session_id_of(app, alice)
    saved = copy_of_cookie(app, alice)
    assert auth.login(alice, "alice").status_code == 302
    assert session_id_of(app, alice) != before
    assert signed_in(alice) and not signed_in(saved)
    assert ended == [(user_id(app, "alice"), before)]


def test_registering_on_the_page_starts_a_session(app, client):
    token = csrf_token(client, "/register")
    form = {"username": "alice", "password": PASSWORD, "confirm": PASSWORD, "csrf_token": token}
    assert client.post("/register", data=form).status_code == 302
    from models import UserSession

    with app.app_context():
        assert db.session.scalar(select(UserSession.user_id)) == user_id(app, "alice")
    assert signed_in(client) and can_connect(app, flask_test_client=client)


# --- every session and token at once --------------------------------------------------


def test_logout_everywhere_with_a_token_ends_every_session_and_token(app, auth, ended):
    auth.register("alice")
    auth.register("bob")
    first, second = auth.token("alice"), auth.token("alice")
    phone, laptop = browser(app, auth), browser(app, auth)
    bob = browser(app, auth, "bob")

    api = app.test_client()
    assert api.post("/api/logout-everywhere", headers=bearer(first)).status_code == 204
    for token in (first, second):
        assert api.get("/api/rooms", headers=bearer(token)).status_code == 401
        assert not can_connect(app, auth={"token": token})
        assert not can_connect(app, headers=bearer(token))
    for client in (phone, laptop):
        assert not signed_in(client) and not can_connect(app, flask_test_client=client)
    assert signed_in(bob)  # nobody else
    assert ended == [(user_id(app, "alice"), None)]
    assert auth.token("alice")  # the password still works: new tokens are fine


def test_logout_everywhere_from_the_browser_needs_the_csrf_token(app, auth, ended):
    auth.register("alice")
    token = auth.token("alice")
    alice, other = browser(app, auth), browser(app, auth)
    refused = alice.post("/api/logout-everywhere")
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "invalid_payload"
    assert ended == [] and signed_in(other)

    header = {"X-CSRFToken": csrf_token(alice, "/")}
    assert alice.post("/api/logout-everywhere", headers=header).status_code == 204
    assert not signed_in(alice) and not signed_in(other)
    assert app.test_client().get("/api/rooms", headers=bearer(token)).status_code == 401
    assert ended == [(user_id(app, "alice"), None)]


def test_logout_everywhere_needs_someone_signed_in(client):
    response = client.post("/api/logout-everywhere", headers=bearer("not a token"))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert client.post("/api/logout-everywhere").status_code == 401


def test_the_page_button_signs_out_everywhere(app, auth, ended):
    auth.register("alice")
    token = auth.token("alice")
    alice, other = browser(app, auth), browser(app, auth)
    page = alice.get("/password")
    assert page.status_code == 200 and "Sign out everywhere" in page.get_data(as_text=True)
    response = alice.post("/logout-everywhere", data={"csrf_token": csrf_token(alice, "/password")})
    assert response.status_code == 302
    assert not signed_in(alice) and not signed_in(other)
    assert not can_connect(app, auth={"token": token})
    assert ended == [(user_id(app, "alice"), None)]


# --- password change -----------------------------------------------------------------


def change(client, password: str, new_password: str, **headers):
    return client.post(
        "/api/password", json={"password": password, "new_password": new_password}, headers=headers
    )


def test_password_change_by_token_ends_every_session_and_token(app, auth, client, ended):
    auth.register("alice")
    token = auth.token("alice")
    other_token = auth.token("alice")
    laptop = browser(app, auth)

    wrong = change(client, "not my password", NEW_PASSWORD, **bearer(token))
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "unauthorized"
    short = change(client, PASSWORD, "short", **bearer(token))
    assert short.status_code == 400 and short.get_json()["error"]["code"] == "invalid_payload"
    assert ended == [] and signed_in(laptop)

    assert change(client, PASSWORD, NEW_PASSWORD, **bearer(token)).status_code == 204
    assert ended == [(user_id(app, "alice"), None)]
    for old in (token, other_token):
        assert client.get("/api/rooms", headers=bearer(old)).status_code == 401
        assert not can_connect(app, auth={"token": old})
    assert not signed_in(laptop)
    response = client.post("/api/token", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 401
    assert auth.token("alice", NEW_PASSWORD)


def test_password_change_in_the_browser_keeps_this_browser_only(app, auth, ended):
    auth.register("alice")
    token = auth.token("alice")
    alice, other = browser(app, auth), browser(app, auth)
    saved = copy_of_cookie(app, alice)
    before = session_id_of(app, alice)

    header = {"X-CSRFToken": csrf_token(alice, "/")}
    assert change(alice, PASSWORD, NEW_PASSWORD).status_code == 400  # no CSRF token
    assert change(alice, PASSWORD, NEW_PASSWORD, **header).status_code == 204
    assert signed_in(alice) and can_connect(app, flask_test_client=alice)
    assert session_id_of(app, alice) != before  # a new session, not the old one kept
    assert not signed_in(other) and not signed_in(saved)
    assert not can_connect(app, auth={"token": token})
    assert ended == [(user_id(app, "alice"), None)]


def test_the_password_page_changes_the_password(app, auth, ended):
    auth.register("alice")
    alice, other = browser(app, auth), browser(app, auth)

    def submit(current: str, new: str, confirm: str):
        form = {
            "password": current,
            "new_password": new,
            "confirm": confirm,
            "csrf_token": csrf_token(alice, "/password"),
        }
        return alice.post("/password", data=form)

    response = submit("not my password", NEW_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 400
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert submit(PASSWORD, NEW_PASSWORD, "something else").status_code == 400
    assert ended == []

    response = submit(PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Password changed" in alice.get("/").get_data(as_text=True)
    assert signed_in(alice) and not signed_in(other)
    assert auth.token("alice", NEW_PASSWORD)
    assert ended == [(user_id(app, "alice"), None)]


def test_password_page_needs_a_signed_in_user(client):
    response = client.get("/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.app_config(SIGNIN_RATE_LIMIT="3/5minutes")
def test_guessing_the_current_password_is_throttled_like_sign_in(app, auth, client):
    auth.register("alice")
    token = auth.token("alice")
    codes = [change(client, f"guess {i}", NEW_PASSWORD, **bearer(token)) for i in range(4)]
    codes = [response.status_code for response in codes]
    assert codes == [401, 401, 401, 429]


# --- what sockets get ----------------------------------------------------------------


def test_socket_user_gives_id_username_and_session_in_one_primary_key_read(app, auth):
    auth.register("alice")
    token = auth.token("alice")
    alice = browser(app, auth)
    sid = session_id_of(app, alice)
    uid = user_id(app, "alice")

    with app.test_request_context():
        with statements(app) as seen:
            identity = identities.socket_user({"token": token})
        assert (identity.id, identity.username, identity.session_id) == (uid, "alice", None)
        assert len(seen) == 1
        with statements(app) as seen:  # known now: no read at all
            assert identities.socket_user({"token": token}).id == uid
        assert seen == []

    cookie = alice.get_cookie("session").value
    with app.test_request_context(headers={"Cookie": f"session={cookie}"}):
        with statements(app) as seen:
            identity = identities.socket_user(None)
        assert (identity.id, identity.username, identity.session_id) == (uid, "alice", sid)
        assert len(seen) == 1

    with app.test_request_context(headers=bearer(token)):
        identity = identities.socket_user({})
        assert (identity.id, identity.session_id) == (uid, None)
    with app.test_request_context():
        with statements(app) as seen:
            assert identities.socket_user({"token": "forged"}) is None
            assert identities.socket_user(None) is None
        assert seen == []


def test_a_token_from_before_token_versions_still_works_until_revoked(app, auth, client):
    from itsdangerous import URLSafeTimedSerializer

    auth.register("alice")
    old = URLSafeTimedSerializer("test-secret", salt="api-token").dumps(
        {"uid": user_id(app, "alice")}
    )
    assert client.get("/api/rooms", headers=bearer(old)).status_code == 200
    assert client.post("/api/logout-everywhere", headers=bearer(old)).status_code == 204
    assert client.get("/api/rooms", headers=bearer(old)).status_code == 401


@pytest.mark.parametrize("uid", [2**31, 2**63, -1, True, "1"], ids=repr)
def test_a_signed_token_with_an_impossible_user_id_is_refused(app, client, uid):
    from itsdangerous import URLSafeTimedSerializer

    token = URLSafeTimedSerializer("test-secret", salt="api-token").dumps({"uid": uid, "tv": 0})
    assert client.get("/api/rooms", headers=bearer(token)).status_code == 401


# --- sessions expire when unused ------------------------------------------------------


def _age_session(app, session_id: str, days: int) -> None:
    from datetime import timedelta

    from models import UserSession, utcnow

    with app.app_context():
        row = db.session.get(UserSession, session_id)
        row.created_at = row.last_used_at = utcnow() - timedelta(days=days)
        db.session.commit()


@pytest.mark.app_config(SESSION_MAX_AGE=7 * 24 * 3600)
def test_a_session_unused_for_longer_than_its_max_age_is_refused(app, auth):
    auth.register("alice")
    client = browser(app, auth)
    sid = session_id_of(app, client)
    _age_session(app, sid, days=6)
    assert signed_in(client)  # used within the week: still good, and now touched
    with app.app_context():
        from models import UserSession

        assert db.session.get(UserSession, sid).last_used_at is not None
    _age_session(app, sid, days=8)
    assert not signed_in(client)
    assert not can_connect(app, flask_test_client=client)


@pytest.mark.app_config(SESSION_MAX_AGE=7 * 24 * 3600)
def test_expired_sessions_are_swept_when_someone_signs_in(app, auth):
    from models import UserSession

    auth.register("alice")
    auth.register("bob")
    old = browser(app, auth, "alice")
    kept = browser(app, auth, "alice")
    _age_session(app, session_id_of(app, old), days=30)
    app.extensions.pop("sessions_swept_at", None)  # as if the last sweep was long ago
    browser(app, auth, "bob")
    with app.app_context():
        ids = set(db.session.scalars(select(UserSession.id)))
    assert session_id_of(app, old) not in ids
    assert session_id_of(app, kept) in ids
    assert signed_in(kept)


def test_a_bearer_header_authenticates_alone_even_beside_a_session_cookie(app, auth):
    """A cookie plus any Authorization: Bearer header skipped the CSRF check on writes;
    now the header decides who calls, and a bad token is 401 whatever the cookie says."""
    auth.register("alice")
    client = browser(app, auth)
    client.application.test_client()
    sock = socketio.test_client(app, flask_test_client=client)
    assert sock.emit("joined_room", {"room": "r"}, callback=True)["ok"]
    junk = client.delete("/api/rooms/r/membership", headers=bearer("junk"))
    assert junk.status_code == 401
    assert client.delete("/api/rooms/r/membership").status_code == 400  # cookie: no CSRF token
    assert [r["room"] for r in client.get("/api/rooms").json["rooms"]] == ["r"]
    sock.disconnect()
