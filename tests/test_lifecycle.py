"""A server process's end: SIGTERM drains and exits within 10 s, busy or idle, in every
async mode; a process killed under traffic leaves its clients to reconnect to another,
where joining with last_id replays every missed message once, in order."""

from __future__ import annotations

import shutil
import signal
import socket
import threading
import time

import pytest

from tests.servers import Server
from tests.test_faults_redis import PrivateRedis, wait_until
from tests.test_servers import Client, register


@pytest.mark.parametrize("mode", ["eventlet", "gevent", "threading"])
def test_sigterm_finishes_events_closes_sockets_and_exits(tmp_path, mode):
    server = Server(f"sqlite:///{tmp_path}/chat.db", tmp_path / "server.log", ASYNC_MODE=mode)
    server.migrate()
    server.start()
    try:
        register(server, "alice")
        alice = Client(server, "alice")
        alice.call("joined_room", {"room": "r"})
        acked = threading.Event()
        alice.sio.emit(
            "send_message",
            {"room": "r", "message": "just before"},
            callback=lambda ack: ack.get("ok") and acked.set(),
        )
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=12) == 0
        took = time.monotonic() - started
        assert acked.wait(1), "the event in flight was answered"
        wait_until(lambda: not alice.sio.connected, timeout=5)
        with socket.socket() as probe:  # nothing listens any more
            assert probe.connect_ex(("127.0.0.1", server.port)) != 0
        log = server.log_path.read_text()
        assert "SIGTERM: closed 1 connections, exiting" in log, log
        assert "deadline" not in log, log  # the drain ended it, not the deadline
        assert took < 10, took
        alice.close()
    finally:
        server.stop()


@pytest.mark.parametrize("mode", ["eventlet", "gevent", "threading"])
@pytest.mark.parametrize("had_client", [False, True], ids=["never-connected", "client-went-away"])
def test_sigterm_on_an_idle_server_drains_at_once_and_exits_within_10_s(tmp_path, mode, had_client):
    """An idle eventlet hub sleeps up to 60 s: a SIGTERM handler that only spawned a
    greenlet started draining 4-60 s late and exited after 13.8-70 s (compose would have
    killed it at 10 s)."""
    server = Server(f"sqlite:///{tmp_path}/chat.db", tmp_path / "server.log", ASYNC_MODE=mode)
    server.migrate()
    server.start()
    try:
        if had_client:
            register(server, "alice")
            alice = Client(server, "alice")
            alice.call("joined_room", {"room": "r"})
            alice.close()
        time.sleep(2)  # nothing to do: the loop settles into its idle sleep
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        draining = None
        while time.monotonic() - started < 12 and server.process.poll() is None:
            if draining is None and "SIGTERM: draining" in server.log_path.read_text():
                draining = time.monotonic() - started
            time.sleep(0.02)
        took = time.monotonic() - started
        log = server.log_path.read_text()
        assert server.process.poll() == 0, (took, log)
        assert "SIGTERM: draining" in log and "exiting" in log, log
        assert "deadline" not in log, log  # the drain ended it, not the deadline
        # Promptly (None: it had exited before the log was first read).
        assert (took if draining is None else draining) < 1, (draining, took)
        assert took < 10, took
    finally:
        server.stop()


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")
def test_a_killed_process_leaves_its_clients_to_catch_up_on_another(tmp_path):
    store = PrivateRedis(tmp_path)
    store.start()
    env = {"REDIS_URL": store.url, "SOCKETIO_CHANNEL": "killed"}
    first = Server(f"sqlite:///{tmp_path}/chat.db", tmp_path / "a.log", **env)
    second = Server(f"sqlite:///{tmp_path}/chat.db", tmp_path / "b.log", **env)
    first.migrate()
    first.start()
    second.start()
    alice = bob = None
    try:
        register(first, "alice")
        register(first, "bob")
        alice, bob = Client(first, "alice"), Client(second, "bob")
        alice.call("joined_room", {"room": "r"})
        bob.call("joined_room", {"room": "r"})
        seen = alice.call("send_message", {"room": "r", "message": "one"})["id"]
        assert bob.wait_for("recieve_message")[0]["id"] == seen

        second.process.kill()  # no goodbye: no disconnects, no drain
        second.process.wait(10)
        sent = [
            alice.call("send_message", {"room": "r", "message": f"missed {i}"})["id"]
            for i in range(3)
        ]
        wait_until(lambda: not bob.sio.connected)
        bob.close()
        bob = Client(first, "bob")  # what nginx does: the next process
        bob.call("joined_room", {"room": "r", "last_id": seen})
        [replay] = bob.wait_for("rejoin_room")
        assert [m["id"] for m in replay["messages"]] == sent
        assert replay["reset"] is False
    finally:
        for client in (alice, bob):
            if client is not None:
                client.close()
        first.stop()
        second.stop()
        store.stop()
