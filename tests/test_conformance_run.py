"""The conformance suite (conformance/, ``make conformance BASE_URL=…``) against this
project's own server: serve.py on a free port under eventlet and under gevent (both at
once, each with its own database), on the database the test run uses (PostgreSQL when
TEST_DATABASE_URL is set, else a SQLite file), with the settings the README's
"Conformance" section lists."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import pytest

from tests.servers import ROOT, Server, own_database

MODES = ("eventlet", "gevent")
# What the suite needs of a server, beside its URL (README, "Conformance").
SETTINGS = {
    # The suite makes ~30 accounts from one address.
    "FLASK_REGISTER_RATE_LIMIT": "off",
    # Reused accounts send more than a person would; one check meets this on purpose.
    "RATE_LIMIT": "200/10seconds",
    # So that the refusal past the cap costs 9 connections, not 51.
    "MAX_CONNECTIONS_PER_USER": "8",
}
SUITE_TIMEOUT = 300


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Both servers, and the suite against each, started at once: mode -> (server,
    suite process, its output file, when it started)."""
    with contextlib.ExitStack() as stack:
        found = {}
        for mode in MODES:
            tmp = tmp_path_factory.mktemp(f"conformance-{mode}")
            url = stack.enter_context(own_database(tmp, f"conformance_{mode}"))
            server = Server(url, tmp / "server.log", ASYNC_MODE=mode, **SETTINGS)
            server.migrate()
            server.start()
            stack.callback(server.stop)
            output = open(tmp / "suite.log", "w+")  # noqa: SIM115 (closed by the stack)
            stack.callback(output.close)
            suite = subprocess.Popen(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "conformance"],
                cwd=ROOT,
                env={**os.environ, "BASE_URL": server.url},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            stack.callback(lambda suite=suite: suite.poll() is None and suite.kill())
            found[mode] = (server, suite, output, time.monotonic())
        yield found


@pytest.mark.parametrize("mode", MODES)
def test_the_conformance_suite_passes_against_our_own_server(runs, mode):
    server, suite, output, started = runs[mode]
    try:
        code = suite.wait(SUITE_TIMEOUT - (time.monotonic() - started))
    except subprocess.TimeoutExpired:
        suite.kill()
        code = suite.wait()
    output.seek(0)
    report = output.read()
    assert code == 0, report[-8000:]
    server.stop()
    log = server.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]
