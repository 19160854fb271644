"""Redis goes down under two live server processes (a private redis-server on a free
port): each process keeps serving its own clients, and when Redis returns the clients
catch up by themselves (they are reconnected and join with last_id), nothing lost,
nothing twice."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis

from tests.servers import Server, free_port
from tests.test_servers import Client, register

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")


class PrivateRedis:
    def __init__(self, workdir) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def outage(tmp_path):
    store = PrivateRedis(tmp_path)
    store.start()
    env = {"REDIS_URL": store.url, "SOCKETIO_CHANNEL": "outage", "RATE_LIMIT": "100/10seconds"}
    first = Server(f"sqlite:///{tmp_path}/chat.db", tmp_path / "a.log", **env)
    second = Server(f"sqlite:///{tmp_path}/chat.db", tmp_path / "b.log", **env)
    first.migrate()
    first.start()
    second.start()
    yield store, first, second
    first.stop()
    second.stop()
    store.stop()


def wait_until(predicate, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_redis_down_then_back_nothing_lost_nothing_twice(outage):
    store, first, second = outage
    register(first, "alice")
    register(first, "bob")
    alice, bob = Client(first, "alice"), Client(second, "bob")
    try:
        alice.call("joined_room", {"room": "r"})
        bob.call("joined_room", {"room": "r"})
        before = alice.call("send_message", {"room": "r", "message": "before"})
        wait_until(
            lambda: (
                bob.received.count(("recieve_message", None)) == 0
                and any(name == "recieve_message" for name, _ in bob.received)
            )
        )
        last_seen = before["id"]

        store.stop()
        # Each process still serves its own clients: sends are stored and acked.
        during = alice.call("send_message", {"room": "r", "message": "during"})
        assert during["ok"], during
        wait_until(
            lambda: (
                [d["message"] for n, d in alice.received if n == "recieve_message"]
                == ["before", "during"]
            )
        )
        own = bob.call("send_message", {"room": "r", "message": "bob during"})
        assert own["ok"], own
        assert bob.call("typing_status", {"room": "r", "typing": True})["ok"]

        store.start()
        # Back: each process closes its connections so its clients catch up on their own
        # (a real client reconnects and joins with its last_id, as done here by hand).
        wait_until(lambda: not bob.sio.connected and not alice.sio.connected)
        bob.close()
        bob = Client(second, "bob")
        assert bob.call("joined_room", {"room": "r", "last_id": last_seen})["ok"]
        [replay] = bob.wait_for("rejoin_room")
        assert [m["message"] for m in replay["messages"]] == ["during", "bob during"]
        # And the queue carries broadcasts across processes again.
        alice.close()
        alice = Client(first, "alice")
        alice.call("joined_room", {"room": "r"})
        after = alice.call("send_message", {"room": "r", "message": "after"})
        wait_until(
            lambda: any(
                d.get("id") == after["id"] for n, d in bob.received if n == "recieve_message"
            )
        )
    finally:
        alice.close()
        bob.close()


def test_sign_ins_answer_503_while_the_throttles_redis_is_down(outage):
    """The sign-in and registration throttles are counted in Redis alone: without it they
    answer 503 ``unavailable`` (never an uncounted guess), and work again once it is back."""
    import requests

    store, first, _second = outage
    register(first, "carol")
    # Registration is throttled too here (the test servers turn that throttle off).
    first.stop()
    first.env["FLASK_REGISTER_RATE_LIMIT"] = "20/hour"
    first.start()
    store.stop()
    wrong = requests.post(
        f"{first.url}/api/token", json={"username": "carol", "password": "wrong password"}
    )
    assert wrong.status_code == 503, wrong.text
    assert wrong.json()["error"]["code"] == "unavailable"
    new = requests.post(
        f"{first.url}/api/register", json={"username": "dave", "password": "a good password"}
    )
    assert new.status_code == 503, new.text
    store.start()
    wait_until(
        lambda: (
            requests.post(
                f"{first.url}/api/register",
                json={"username": "dave", "password": "a good password"},
            ).status_code
            == 201
        )
    )
