"""HTTP routes while the database is down: 503 unavailable everywhere (JSON under /api/,
a page elsewhere), and back to normal once it returns. A private PostgreSQL on a free
port, as in test_faults.py, never the shared one."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess

import flask_migrate
import pytest

from app import create_app
from tests.conftest import base_config
from tests.helpers import csrf_token
from tests.test_faults import PrivatePostgres
from tests.test_faults import pytestmark as needs_postgres_binaries

pytestmark = needs_postgres_binaries
PASSWORD = "long enough"


@pytest.fixture(scope="module")
def postgres():
    server = PrivatePostgres()
    server.start()
    yield server
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def outage_app(postgres):
    # Production behaviour: nothing propagates to the test client.
    app = create_app({**base_config(postgres.url), "PROPAGATE_EXCEPTIONS": False})
    with app.app_context():
        flask_migrate.upgrade()
    return app


def test_every_route_answers_503_while_the_database_is_down(outage_app, postgres):
    api = outage_app.test_client()
    assert api.post("/api/register", json={"username": "alice", "password": PASSWORD}).status_code
    token = api.post("/api/token", json={"username": "alice", "password": PASSWORD}).get_json()[
        "token"
    ]
    bearer = {"Authorization": f"Bearer {token}"}
    browser = outage_app.test_client()
    form = {"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(browser, "/login")}
    assert browser.post("/login", data=form).status_code == 302
    page_token = csrf_token(browser, "/")

    postgres.stop()
    try:
        for method, path, kwargs in [
            ("get", "/api/rooms", {"headers": bearer}),
            ("get", "/api/rooms/r/messages", {"headers": bearer}),
            ("post", "/api/register", {"json": {"username": "bob", "password": PASSWORD}}),
            ("post", "/api/token", {"json": {"username": "alice", "password": PASSWORD}}),
            ("post", "/api/logout-everywhere", {"headers": bearer}),
            (
                "post",
                "/api/rooms/r/attachments",
                {"headers": bearer, "data": {"file": (io.BytesIO(b"%PDF-1.4"), "a.pdf")}},
            ),
        ]:
            response = getattr(api, method)(path, **kwargs)
            assert response.status_code == 503, (path, response.get_data(as_text=True))
            assert response.get_json()["error"]["code"] == "unavailable", path
        assert api.get("/attachments/1/a.pdf", headers=bearer).status_code == 503
        for path in ("/", "/chat?room=r", "/password", "/attachments/1/a.pdf"):
            page = browser.get(path)
            assert page.status_code == 503, path
            assert "unavailable" in page.get_data(as_text=True), path
        assert browser.post("/logout", data={"csrf_token": page_token}).status_code == 503
        health = api.get("/healthz")
        assert health.status_code == 503 and health.get_json()["db"] == "unavailable"
    finally:
        postgres.start()

    assert api.get("/api/rooms", headers=bearer).status_code == 200
    assert browser.get("/chat?room=r").status_code == 200
    assert api.get("/healthz").status_code == 200
