"""What a hostile HTTP client tries: hashing to stall the server, guessing passwords from
many names or behind the proxy's address, locking others out, payloads the database cannot
take, and the answers it gets when something fails."""

from __future__ import annotations

import statistics
import threading
import time

import pytest
import werkzeug.security
from sqlalchemy import delete, func, select

import api
from app import create_app
from chat import accounts, errors, summaries
from models import Membership, Message, User, db
from tests.conftest import PASSWORD, base_config
from tests.helpers import csrf_token, join, send

WRONG = "not the password"


def token_status(client, username: str, password: str, **headers) -> int:
    response = client.post(
        "/api/token", json={"username": username, "password": password}, headers=headers
    )
    return response.status_code


# --- #2 hashing off the loop, throttled ----------------------------------------------


@pytest.fixture
def hashes(app):
    """The app's password hashes as the entry point's thread pool sees them."""
    calls: list[tuple[str, tuple]] = []

    def run_in_thread(fn, *args):
        calls.append((fn.__name__, args))
        return fn(*args)

    app.config["RUN_IN_THREAD"] = run_in_thread
    return calls


def test_every_password_hash_runs_on_the_thread_pool(app, client, auth, hashes):
    assert auth.register("alice").status_code == 201
    assert [name for name, _ in hashes] == ["generate_password_hash"]
    hashes.clear()
    auth.token("alice")
    assert token_status(client, "alice", WRONG) == 401
    assert auth.login(app.test_client(), "alice").status_code == 302
    assert [name for name, _ in hashes] == ["check_password_hash"] * 3


def test_an_unknown_username_costs_the_same_hash_as_a_known_one(app, client, auth, hashes):
    auth.register("alice")
    hashes.clear()
    assert token_status(client, "alice", WRONG) == 401
    assert token_status(client, "nobody", WRONG) == 401
    assert token_status(client, "not a valid name!", WRONG) == 401
    checks = [args for name, args in hashes if name == "check_password_hash"]
    assert len(checks) == 3  # (the first unknown name also made the dummy hash)
    known, unknown, invalid = (args[0] for args in checks)
    method = app.config["PASSWORD_HASH_METHOD"]
    assert known.startswith(method) and unknown.startswith(method) and invalid == unknown


@pytest.mark.app_config(PASSWORD_HASH_METHOD="scrypt")
def test_sign_in_takes_as_long_for_an_unknown_name_as_for_a_known_one(client, auth):
    auth.register("alice")
    token_status(client, "nobody", WRONG)  # the first unknown name makes the dummy hash
    known, unknown = [], []
    for _ in range(5):
        for name, times in (("alice", known), ("nobody", unknown)):
            start = time.perf_counter()
            assert token_status(client, name, WRONG) == 401
            times.append(time.perf_counter() - start)
    # Both are one scrypt (~100 ms here); without the dummy hash, unknown took ~4 ms. The
    # machine is shared: compare medians, with room for noise.
    assert statistics.median(unknown) > 0.3 * statistics.median(known), (known, unknown)


@pytest.mark.app_config(REGISTER_RATE_LIMIT="3/hour")
def test_registration_is_throttled_per_address(client, auth):
    assert [auth.register(f"user{i}").status_code for i in range(3)] == [201] * 3
    response = auth.register("user3")
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    page = client.post(
        "/register",
        data={
            "username": "user4",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": csrf_token(client, "/register"),
        },
    )
    assert page.status_code == 429 and "Too many new accounts" in page.get_data(as_text=True)
    elsewhere = client.post(
        "/api/register",
        json={"username": "user5", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.50"},
    )
    assert elsewhere.status_code == 201


@pytest.mark.app_config(SIGNIN_ADDRESS_RATE_LIMIT="5/5minutes")
def test_guessing_across_many_names_from_one_address_is_throttled(client, auth):
    auth.register("alice")
    assert [token_status(client, f"name{i}", WRONG) for i in range(5)] == [401] * 5
    assert token_status(client, "name5", WRONG) == 429
    assert token_status(client, "alice", PASSWORD) == 429  # this address has failed enough
    other = {"environ_base": {"REMOTE_ADDR": "192.0.2.60"}}
    response = client.post("/api/token", json={"username": "alice", "password": PASSWORD}, **other)
    assert response.status_code == 200


# --- #3 no lockout of others; behind a proxy ------------------------------------------


@pytest.mark.app_config(TRUSTED_PROXIES=1, SIGNIN_RATE_LIMIT="3/5minutes")
def test_failures_elsewhere_never_lock_out_the_right_password_behind_the_proxy(client, auth):
    auth.register("alice")
    attacker = {"X-Forwarded-For": "198.51.100.7"}
    codes = [token_status(client, "alice", WRONG, **attacker) for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    # The attacker names alice's address; nginx appends the attacker's own.
    spoofed = {"X-Forwarded-For": "203.0.113.5, 198.51.100.7"}
    assert token_status(client, "alice", WRONG, **spoofed) == 429
    alice = {"X-Forwarded-For": "203.0.113.5"}
    assert token_status(client, "alice", PASSWORD, **alice) == 200
    browser = app_client_with(client, "203.0.113.5")
    assert auth.login(browser, "alice").status_code == 302


def app_client_with(client, address: str):
    browser = client.application.test_client()
    browser.environ_base["HTTP_X_FORWARDED_FOR"] = address
    return browser


@pytest.mark.app_config(SIGNIN_RATE_LIMIT="3/5minutes")
def test_without_trusted_proxies_x_forwarded_for_is_ignored(client, auth):
    auth.register("alice")
    codes = [
        token_status(client, "alice", WRONG, **{"X-Forwarded-For": f"198.51.100.{i}"})
        for i in range(4)
    ]
    assert codes == [401, 401, 401, 429]  # a made-up address does not reset the count


@pytest.mark.app_config(SIGNIN_RATE_LIMIT="3/5minutes")
def test_parallel_guesses_get_no_more_answers_than_the_limit(app, auth, monkeypatch):
    auth.register("alice")
    guesses = 8
    barrier = threading.Barrier(guesses, timeout=20)
    check = werkzeug.security.check_password_hash

    def check_together(password_hash, password):
        barrier.wait()  # every guess has passed the limit check before any is counted
        return check(password_hash, password)

    monkeypatch.setattr(accounts, "check_password_hash", check_together)
    codes: list[int] = []

    def guess(i: int) -> None:
        codes.append(token_status(app.test_client(), "alice", f"guess number {i}"))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(codes) == [401] * 3 + [429] * (guesses - 3)


# --- #4 where to go after signing in --------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example/",  # a browser drops the tab: //evil.example/
        "/%0a/x",  # a newline in a header: 500 before
        "/%0d%0a/evil.example",
        "/%5Cevil.example",  # "\" reads as "/": //evil.example
        "%5C%5Cevil.example",
        "%20//evil.example",
        "//evil.example",
        "https://evil.example/",
        "/%00",
    ],
)
def test_next_never_leaves_the_site_as_the_browser_reads_it(client, auth, target):
    auth.register("alice")
    form = {"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(client, "/login")}
    response = client.post(f"/login?next={target}", data=form)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_next_keeps_a_local_path(client, auth):
    auth.register("alice")
    form = {"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(client, "/login")}
    response = client.post("/login?next=/chat%3Froom%3Dr", data=form)
    assert response.headers["Location"] == "/chat?room=r"


# --- #6 what the database cannot take -------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["[" * 5000, "{" * 5000, '{"username": ' * 3000, '{"username": "alice", "password": '],
    ids=["deep-array", "deep-object", "deep-value", "truncated"],
)
@pytest.mark.parametrize("route", ["/api/register", "/api/token"])
def test_deep_or_malformed_json_is_invalid_payload(client, route, body):
    response = client.post(route, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_payload"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice", "password": "long enough\ud800"},
        {"username": "ali\x00ce", "password": PASSWORD},
        {"username": "alice", "password": "long\x00enough"},
        {"username": "alice\udfff", "password": PASSWORD},
        {"username": "alice", "password": PASSWORD, "extra": ["\ud800"]},
        {"username": "alice", "password": PASSWORD, "\x00": 1},
        {"username": "alice", "password": PASSWORD, "x": [[[[[[[[[[1]]]]]]]]]]},
    ],
    ids=repr,
)
@pytest.mark.parametrize("route", ["/api/register", "/api/token"])
def test_nul_lone_surrogates_and_nesting_in_json_are_invalid_payload(client, auth, route, body):
    auth.register("alice")
    response = client.post(route, json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_payload"


@pytest.mark.parametrize(
    "query",
    [
        "before_id=" + "9" * 5000,
        f"before_id={2**63}",
        f"before_id={2**31}",
        f"limit={2**63}",
        "limit=" + "1" * 5000,
    ],
    ids=lambda q: q[:24],
)
def test_integer_query_arguments_are_bounded_to_the_database_range(connect, client, auth, query):
    join(connect("alice"), "r")
    headers = {"Authorization": f"Bearer {auth.token('alice')}"}
    response = client.get(f"/api/rooms/r/messages?{query}", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_payload"


def test_the_largest_integer_id_is_still_a_valid_query(connect, client, auth):
    alice = connect("alice")
    join(alice, "r")
    send(alice, "r", "hello")
    headers = {"Authorization": f"Bearer {auth.token('alice')}"}
    response = client.get(f"/api/rooms/r/messages?before_id={2**31 - 1}", headers=headers)
    assert response.status_code == 200 and len(response.get_json()["messages"]) == 1


# --- #9 cookies and transport security as settings ------------------------------------


def test_secure_cookie_and_hsts_are_settings(monkeypatch, database_url, auth):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("HSTS_MAX_AGE", "31536000")
    app = create_app(base_config(database_url))
    client = app.test_client()
    auth.register("alice")
    response = auth.login(client, "alice")
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    with app.app_context():
        db.engine.dispose()


def test_by_default_no_hsts_and_the_cookie_works_over_plain_http(client, auth):
    auth.register("alice")
    response = auth.login(client, "alice")
    assert "Secure" not in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize(
    ("name", "value"),
    [("SESSION_COOKIE_SECURE", "maybe"), ("HSTS_MAX_AGE", "-1"), ("TRUSTED_PROXIES", "one")],
)
def test_a_bad_security_setting_fails_at_startup(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        create_app({"ASYNC_MODE": "threading", "SECRET_KEY": "x"})


# --- #10 failures are labelled for what they are --------------------------------------


@pytest.mark.app_config(PROPAGATE_EXCEPTIONS=False)
def test_a_server_failure_is_internal_error_not_unavailable(app, client, auth, monkeypatch):
    def broken(_user_id):
        raise RuntimeError("a bug")

    monkeypatch.setattr(summaries, "room_summaries", broken)
    auth.register("alice")
    headers = {"Authorization": f"Bearer {auth.token('alice')}"}
    response = client.get("/api/rooms", headers=headers)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    auth.login(client, "alice")
    page = client.get("/")
    assert page.status_code == 500 and "a bug" not in page.get_data(as_text=True)


def test_status_table_is_shared_by_routes():
    assert errors.HTTP_STATUS["unavailable"] == 503
    assert errors.HTTP_STATUS["internal_error"] == 500
    assert api.json_error(errors.Failure("not_found", "x"))[1] == 404


def test_deleting_a_user_deletes_their_rows_on_every_database(app, connect):
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    join(bob, "r")
    send(alice, "r", "from alice")
    send(bob, "r", "from bob")
    with app.app_context():
        db.session.execute(delete(User).where(User.username == "alice"))
        db.session.commit()
        bodies = db.session.scalars(select(Message.body)).all()
        members = db.session.scalar(select(func.count()).select_from(Membership))
        assert bodies == ["from bob"] and members == 1


def test_sqlite_refuses_a_row_that_points_nowhere(app):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL always enforces foreign keys")
        db.session.add(Membership(room_id=12345, user_id=67890))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


# Two deployments on one Redis, each in a process of its own: an app made with a message
# queue would leave Flask-SocketIO's global server on that queue for every later test.
TWO_DEPLOYMENTS = """
import json, sys
from app import create_app

config = json.loads(sys.argv[1])
apps = {c: create_app({**config, "SOCKETIO_CHANNEL": c}) for c in ("deploy-a", "deploy-b")}
a, b = apps["deploy-a"], apps["deploy-b"]
guess = {"username": "nobody", "password": "not the password"}
print(json.dumps({
    "a": [a.test_client().post("/api/token", json=guess).status_code for _ in range(3)],
    "b": [b.test_client().post("/api/token", json=guess).status_code],
    "a_messages": [not isinstance(a.extensions["message_limit"].hit(1), float) for _ in range(3)],
    "b_messages": [not isinstance(b.extensions["message_limit"].hit(1), float)],
}))
"""


def test_limiter_keys_in_redis_start_with_the_deployment_channel(redis_url, database_url):
    import json
    import subprocess
    import sys

    import redis

    from tests.servers import ROOT

    config = {
        **base_config(database_url),
        "REDIS_URL": redis_url,
        "SIGNIN_RATE_LIMIT": "2/5minutes",
        "RATE_LIMIT": "2/minute",
    }
    store = redis.Redis.from_url(redis_url)
    try:
        run = subprocess.run(
            [sys.executable, "-c", TWO_DEPLOYMENTS, json.dumps(config)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout.splitlines()[-1])
        assert result["a"] == [401, 401, 429]
        assert result["b"] == [401]  # its own budget, though the address and name are the same
        assert result["a_messages"] == [True, True, False]
        assert result["b_messages"] == [True]
        keys = [key.decode() for key in store.keys("*")]
        assert keys and all(key.startswith(("deploy-a:", "deploy-b:")) for key in keys), keys
    finally:
        store.flushdb()


REDIS_DOWN = """
import json, sys
from app import create_app

app = create_app({**json.loads(sys.argv[1]), "PROPAGATE_EXCEPTIONS": False})
response = app.test_client().post("/api/token", json={"username": "a", "password": "b"})
print(json.dumps([response.status_code, response.get_json()]))
"""


def test_a_redis_outage_is_unavailable_on_http(database_url):
    import json
    import subprocess
    import sys

    from tests.servers import ROOT, free_port

    config = {**base_config(database_url), "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    run = subprocess.run(
        [sys.executable, "-c", REDIS_DOWN, json.dumps(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    status, body = json.loads(run.stdout.splitlines()[-1])
    assert status == 503 and body["error"]["code"] == "unavailable"
