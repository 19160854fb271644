"""The conformance suite: every rule of docs/protocol.md, checked against a running server
(``make conformance BASE_URL=http://host:port``). It needs the server's URL and nothing
else of it; the server must run with the settings the README's "Conformance" lists."""

from __future__ import annotations

import pytest
import requests

from conformance import kit


def pytest_configure(config):
    # A socket python-socketio leaves open after a server-side close is the client
    # library's, not the server's: no failure for it.
    config.addinivalue_line("filterwarnings", "ignore::ResourceWarning")
    config.addinivalue_line("filterwarnings", "ignore::pytest.PytestUnraisableExceptionWarning")
    if not kit.BASE_URL:
        raise pytest.UsageError("set BASE_URL to the server under test (http://host:port)")


@pytest.fixture(scope="session", autouse=True)
def server_is_up():
    try:
        answer = requests.get(kit.url("/healthz"), timeout=kit.TIMEOUT)
    except requests.RequestException as error:
        pytest.exit(f"{kit.BASE_URL} is unreachable: {error}", returncode=2)
    assert answer.status_code == 200, answer.text


_POOL: list[kit.User] = []


@pytest.fixture
def user():
    """``user()``: a different account at each call of a test, with a token. Accounts
    are reused by later tests (an account costs the server two password hashes), in
    rooms of their own; ``user(fresh=True)`` makes a new one, for checks of what
    belongs to a user (room lists, mentions, sign-outs, per-user limits). Connections
    close after the test."""
    used: list[kit.User] = []

    def make(prefix: str = "u", *, fresh: bool = False) -> kit.User:
        if fresh:
            found = kit.User(prefix)
        else:
            pooled = sum(1 for u in used if u in _POOL)
            if pooled == len(_POOL):
                _POOL.append(kit.User("p"))
            found = _POOL[pooled]
        used.append(found)
        return found

    yield make
    for account in used:
        for conn in account.conns:
            conn.close()
        account.conns.clear()


@pytest.fixture
def room():
    """``room()``: a room name no run has used."""
    return lambda prefix="r": kit.unique(prefix)
