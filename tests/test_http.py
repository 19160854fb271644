"""HTTP: account pages with CSRF, the JSON API, pages, headers and the health check."""

import pytest

from tests.helpers import csrf_token


def test_register_page_creates_an_account_and_signs_in(client):
    token = csrf_token(client, "/register")
    response = client.post(
        "/register",
        data={
            "username": "alice",
            "password": "longenough",
            "confirm": "longenough",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Join a room" in page and "alice" in page


def test_forms_without_a_csrf_token_are_refused(client, auth):
    response = client.post(
        "/register", data={"username": "alice", "password": "longenough", "confirm": "longenough"}
    )
    assert response.status_code == 400
    auth.register("bob")
    response = client.post("/login", data={"username": "bob", "password": "correct horse battery"})
    assert response.status_code == 400
    assert "Join a room" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"username": "al", "password": "longenough", "confirm": "longenough"}, "3-32 letters"),
        (
            {"username": "bad name", "password": "longenough", "confirm": "longenough"},
            "3-32 letters",
        ),
        ({"username": "alice", "password": "short", "confirm": "short"}, "between 8 and 256"),
        (
            {"username": "alice", "password": "longenough", "confirm": "different"},
            "Passwords differ",
        ),
    ],
)
def test_register_form_errors_are_shown(client, form, error):
    response = client.post(
        "/register", data={**form, "csrf_token": csrf_token(client, "/register")}
    )
    assert response.status_code == 400
    assert error in response.get_data(as_text=True)


def test_register_page_refuses_a_taken_name_in_any_case(client, auth):
    auth.register("Alice")
    form = {"username": "alice", "password": "longenough", "confirm": "longenough"}
    response = client.post(
        "/register", data={**form, "csrf_token": csrf_token(client, "/register")}
    )
    assert response.status_code == 400 and "taken" in response.get_data(as_text=True)


def test_login_and_logout(client, auth):
    auth.register("alice")
    response = auth.login(client, "alice", "wrong password")
    assert response.status_code == 400 and "Wrong username or password" in response.get_data(
        as_text=True
    )
    assert auth.login(client, "ALICE").status_code == 302  # usernames are case-insensitive
    assert client.get("/chat?room=42").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert client.get("/chat?room=42").status_code == 302  # to the sign-in page


def test_logout_without_csrf_is_refused(client, auth):
    auth.register("alice")
    auth.login(client, "alice")
    assert client.post("/logout").status_code == 400
    assert client.get("/chat?room=1").status_code == 200


def test_login_redirects_only_to_local_paths(client, auth):
    auth.register("alice")
    token = csrf_token(client, "/login")
    form = {"username": "alice", "password": "correct horse battery", "csrf_token": token}
    response = client.post("/login?next=//evil.example/x", data=form)
    assert response.headers["Location"] == "/"


def test_api_register(client):
    response = client.post("/api/register", json={"username": "alice", "password": "longenough"})
    assert response.status_code == 201 and response.get_json() == {"username": "alice"}
    response = client.post("/api/register", json={"username": "ALICE", "password": "longenough"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "username_taken"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "al", "password": "longenough"},
        {"username": "x" * 33, "password": "longenough"},
        {"username": "a b c", "password": "longenough"},
        {"username": "alice", "password": "short"},
        {"username": "alice"},
        {"username": 5, "password": "longenough"},
        ["alice", "longenough"],
        "alice",
    ],
    ids=repr,
)
def test_api_register_refuses_bad_input(client, body):
    response = client.post("/api/register", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_payload"


def test_api_register_refuses_non_json(client):
    response = client.post("/api/register", data="username=alice", content_type="text/plain")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_payload"


def test_api_token(client, auth):
    auth.register("alice")
    response = client.post(
        "/api/token", json={"username": "alice", "password": "correct horse battery"}
    )
    body = response.get_json()
    assert response.status_code == 200 and body["expires_in"] == 86400 and body["token"]
    for wrong in (
        {"username": "alice", "password": "nope nope"},
        {"username": "bob", "password": "x"},
    ):
        response = client.post("/api/token", json=wrong)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_password_is_stored_as_a_salted_hash(app, auth):
    from models import User, db

    auth.register("alice", "same password")
    auth.register("bob", "same password")
    with app.app_context():
        hashes = [u.password_hash for u in db.session.scalars(db.select(User))]
    assert all("same password" not in h for h in hashes)
    assert hashes[0] != hashes[1]


def test_production_hash_is_scrypt(database_url):
    from app import create_app

    assert (
        create_app({"SECRET_KEY": "x", "ASYNC_MODE": "threading"}).config["PASSWORD_HASH_METHOD"]
        == "scrypt"
    )


def test_unknown_api_route_answers_json(client):
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_pages_need_a_signed_in_user(client):
    response = client.get("/chat?room=42")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_chat_page_carries_the_room_as_data_and_loads_scripts_from_here(client, auth):
    auth.register("alice")
    auth.login(client, "alice")
    response = client.get("/chat?room=42")
    page = response.get_data(as_text=True)
    assert 'data-room="42"' in page and 'data-username="alice"' in page
    assert "/static/vendor/socket.io.min.js" in page and "/static/js/main.js" in page
    assert "<script>" not in page  # no inline script
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("room=bad%20name", 400),
        ("room=" + "x" * 65, 400),
        ("with=nobody", 404),
        ("with=alice", 400),
    ],
)
def test_chat_page_refuses_bad_rooms(client, auth, query, status):
    auth.register("alice")
    auth.login(client, "alice")
    assert client.get(f"/chat?{query}").status_code == status


def test_direct_chat_page(client, auth):
    auth.register("alice")
    auth.register("Bob")
    auth.login(client, "alice")
    page = client.get("/chat?with=bob").get_data(as_text=True)
    assert 'data-room="dm:alice:bob"' in page
    assert client.get("/chat?room=dm:bob:carol").status_code == 403


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok", "db": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path):
    from app import create_app

    broken = create_app(
        {
            "SECRET_KEY": "x",
            "ASYNC_MODE": "threading",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/x.db",
        }
    )
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "db": "unavailable"}


@pytest.mark.app_config(SIGNIN_RATE_LIMIT="3/5minutes")
def test_repeated_failed_sign_ins_are_slowed_down(client, auth):
    auth.register("alice")
    auth.register("bob")
    wrong = {"username": "alice", "password": "not the password"}
    codes = [client.post("/api/token", json=wrong).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    response = client.post("/api/token", json={**wrong, "password": "correct horse battery"})
    assert response.status_code == 429  # even the right password waits now
    assert response.get_json()["error"]["code"] == "rate_limited"
    response = auth.login(client, "ALICE")
    assert response.status_code == 429 and "Too many failed sign-ins" in response.get_data(
        as_text=True
    )
    assert auth.token("bob")  # other accounts are not affected


@pytest.mark.app_config(SIGNIN_RATE_LIMIT="3/5minutes")
def test_successful_sign_ins_are_not_counted(client, auth):
    auth.register("alice")
    for _ in range(5):
        assert auth.token("alice")


def test_healthz_fails_while_the_database_takes_no_writes(app, client, tmp_path):
    """A locked SQLite file (another process holding its write lock) reads fine but
    stores no message: /healthz says so."""
    import sqlite3

    from models import db

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("a file lock is SQLite's; PostgreSQL is checked by a write statement")
        path = db.engine.url.database
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "unavailable", "db": "unavailable"}
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.get("/healthz").status_code == 200


def test_healthz_fails_on_a_read_only_postgresql(app, client):
    from models import EVENTS_BIND, db

    with app.app_context():
        engine = db.engines[EVENTS_BIND]
        if engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's read-only transactions")
        name = engine.url.database
        with engine.connect() as connection:
            connection.exec_driver_sql(
                f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'
            )
        engine.dispose()  # new connections take the setting
    try:
        assert client.get("/healthz").status_code == 503
    finally:
        with app.app_context():
            with engine.connect() as connection:
                connection.exec_driver_sql("SET default_transaction_read_only = off")
                connection.exec_driver_sql(
                    f'ALTER DATABASE "{name}" RESET default_transaction_read_only'
                )
            engine.dispose()
    assert client.get("/healthz").status_code == 200
