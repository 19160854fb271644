"""The conformance suite: every rule of docs/protocol.md, checked against a running server
(``make conformance BASE_URL=http://host:port``). It needs the server's URL and nothing
else of it; the server must run with the settings the README's "Conformance" lists."""

from __future__ import annotations

import pytest
import requests

from conformance import kit


def pytest_configure(config):
    if not kit.BASE_URL:
        raise pytest.UsageError("set BASE_URL to the server under test (http://host:port)")


@pytest.fixture(scope="session", autouse=True)
def server_is_up():
    try:
        answer = requests.get(kit.url("/healthz"), timeout=kit.TIMEOUT)
    except requests.RequestException as error:
        pytest.exit(f"{kit.BASE_URL} is unreachable: {error}", returncode=2)
    assert answer.status_code == 200, answer.text


@pytest.fixture
def user():
    """``user()`` makes an account (a fresh name) with a token; its connections close
    after the test."""
    made: list[kit.User] = []

    def make(prefix: str = "u") -> kit.User:
        found = kit.User(prefix)
        made.append(found)
        return found

    yield make
    for account in made:
        for conn in account.conns:
            conn.close()


@pytest.fixture
def room():
    """``room()``: a room name no run has used."""
    return lambda prefix="r": kit.unique(prefix)
