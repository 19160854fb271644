"""Two server processes behind one Redis (a private redis-server on a free port): a
message sent through one reaches clients of the other, and the rate limit is shared."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis

from tests.servers import Server, free_port
from tests.test_servers import Client, register

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        cwd=tmp_path_factory.mktemp("redis"),
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def servers(redis_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("two")
    env = {"REDIS_URL": redis_url, "SOCKETIO_CHANNEL": "chat-test", "RATE_LIMIT": "3/10seconds"}
    first = Server(f"sqlite:///{tmp}/chat.db", tmp / "a.log", **env)
    second = Server(f"sqlite:///{tmp}/chat.db", tmp / "b.log", **env)
    first.migrate()
    first.start()
    second.start()
    yield first, second
    first.stop()
    second.stop()


def test_a_message_crosses_processes(servers):
    first, second = servers
    register(first, "alice")
    register(first, "bob")
    alice, bob = Client(first, "alice"), Client(second, "bob")
    try:
        alice.call("joined_room", {"room": "wide"})
        bob.call("joined_room", {"room": "wide"})
        ack = alice.call("send_message", {"room": "wide", "message": "across"})
        [message] = bob.wait_for("recieve_message")
        assert message["id"] == ack["id"] and message["message"] == "across"
        bob.call("typing_status", {"room": "wide", "typing": True})
        assert alice.wait_for("typing_on")[0]["username"] == "bob"
    finally:
        alice.close()
        bob.close()


def test_the_rate_limit_is_shared_between_processes(servers):
    first, second = servers
    register(first, "carol")
    on_first, on_second = Client(first, "carol"), Client(second, "carol")
    try:
        for client in (on_first, on_second):
            client.call("joined_room", {"room": "limits"})
        acks = [
            client.call("send_message", {"room": "limits", "message": f"m{i}"})
            for i, client in enumerate([on_first, on_second, on_first, on_second])
        ]
        assert [a["ok"] for a in acks] == [True, True, True, False]
        assert acks[3]["error"]["code"] == "rate_limited"
    finally:
        on_first.close()
        on_second.close()
