"""Moderation across two real server processes behind one private Redis: a ban during a
burst of sends from the target on both processes, and kicks while the target's reconnect
(a join with last_id) is in flight. The database has the last word on every write, the
``drop_room`` control action closes the room on every process, and nothing the target
sends after the moderator's ack gets through."""

from __future__ import annotations

import random
import shutil
import threading
import time

import pytest
import requests

from tests.servers import Server
from tests.test_servers import PASSWORD, Client, register

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")


@pytest.fixture(scope="module")
def servers(redis_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("moderation")
    # No message limit: the burst is as fast as two clients go.
    env = {"REDIS_URL": redis_url, "SOCKETIO_CHANNEL": "chat-moderation", "RATE_LIMIT": "off"}
    first = Server(f"sqlite:///{tmp}/chat.db", tmp / "a.log", **env)
    second = Server(f"sqlite:///{tmp}/chat.db", tmp / "b.log", **env)
    first.migrate()
    first.start()
    second.start()
    yield first, second
    first.stop()
    second.stop()


def members(server: Server, username: str, room: str) -> list[str]:
    token = requests.post(
        server.url + "/api/token", json={"username": username, "password": PASSWORD}, timeout=10
    ).json()["token"]
    response = requests.get(
        f"{server.url}/api/rooms/{room}/members",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return [m["username"] for m in response.json()["members"]]


def test_a_ban_during_a_burst_of_sends_on_two_processes(servers):
    first, second = servers
    for name in ("mona", "tom"):
        register(first, name)
    mona = Client(first, "mona")
    toms = [Client(first, "tom"), Client(second, "tom")]
    sends: list[tuple[float, dict]] = []
    stop = threading.Event()
    try:
        assert mona.call("joined_room", {"room": "burst"})["role"] == "owner"
        for tom in toms:
            assert tom.call("joined_room", {"room": "burst"})["ok"]

        def burst(tom: Client, tag: str) -> None:
            i = 0
            while not stop.is_set():
                started = time.monotonic()
                ack = tom.call("send_message", {"room": "burst", "message": f"{tag} {i}"})
                sends.append((started, ack))
                i += 1

        threads = [
            threading.Thread(target=burst, args=(tom, tag))
            for tom, tag in zip(toms, "ab", strict=True)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.4)
        assert mona.call("moderate", {"room": "burst", "action": "ban", "target": "tom"}) == {
            "ok": True
        }
        banned_at = time.monotonic()
        time.sleep(0.4)
        stop.set()
        for thread in threads:
            thread.join(10)

        after = [ack for started, ack in sends if started > banned_at]
        stored = [ack["id"] for _, ack in sends if ack["ok"]]
        assert stored and after, (len(sends), len(after))
        # Nothing sent after the ban's ack gets through, on either process.
        assert {ack["error"]["code"] for ack in after if not ack["ok"]} <= {"not_in_room"}
        assert all(not ack["ok"] for ack in after), after
        # Every acked message is stored and was broadcast once; nothing else of tom's is.
        history = mona.call("load_history", {"room": "burst", "limit": 100})["messages"]
        while len(history) < len(stored) and history:
            older = mona.call(
                "load_history", {"room": "burst", "before_id": history[0]["id"], "limit": 100}
            )
            if not older["messages"]:
                break
            history = older["messages"] + history
        assert sorted(m["id"] for m in history if m["username"] == "tom") == sorted(stored)
        for tom in toms:
            assert tom.wait_for("room_removed") == [{"room": "burst", "banned": True, "by": "mona"}]
            ack = tom.call("joined_room", {"room": "burst"})
            assert ack["error"]["code"] == "forbidden"
        assert "tom" not in members(first, "mona", "burst")
    finally:
        stop.set()
        mona.close()
        for tom in toms:
            tom.close()


def test_kicks_while_the_targets_reconnect_is_in_flight(servers):
    """Round after round: kim reconnects on one process and resumes with her last_id
    while mona kicks her on the other, a few ms apart either way. Whoever wins, kim ends
    no member, with the room open nowhere, and told so (room_removed, or her join
    refused); a fresh join then makes her a member again."""
    first, second = servers
    for name in ("mona", "kim"):
        register(first, name)
    mona = Client(first, "mona")
    rng = random.Random(20)
    outcomes = []
    try:
        mona.call("joined_room", {"room": "kicks"})
        for round_ in range(12):
            kim = Client(second, "kim")
            assert kim.call("joined_room", {"room": "kicks"})["ok"]
            last = mona.call("send_message", {"room": "kicks", "message": f"round {round_}"})
            kim.wait_for("recieve_message")
            kim.close()  # the connection drops; she comes back with her last_id
            again = Client(second, "kim")
            answers: dict[str, dict] = {}

            delays = (rng.uniform(0, 0.02), rng.uniform(0, 0.02))

            def resume(again=again, last=last, answers=answers, delay=delays[0]):
                time.sleep(delay)
                answers["join"] = again.call(
                    "joined_room", {"room": "kicks", "last_id": last["id"]}
                )

            def kick(answers=answers, delay=delays[1]):
                time.sleep(delay)
                answers["kick"] = mona.call(
                    "moderate", {"room": "kicks", "action": "kick", "target": "kim"}
                )

            threads = [threading.Thread(target=resume), threading.Thread(target=kick)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            assert answers["kick"] == {"ok": True}, answers
            joined = answers["join"]["ok"]
            if joined:  # the join came first: the kick then reaches this connection
                assert again.wait_for("room_removed") == [{"room": "kicks", "by": "mona"}]
            else:
                assert answers["join"]["error"]["code"] == "forbidden", answers
            outcomes.append(joined)
            assert "kim" not in members(first, "mona", "kicks")
            ack = again.call("send_message", {"room": "kicks", "message": "still in?"})
            assert ack["error"]["code"] == "not_in_room"
            again.close()
        print(f"joins that came first: {sum(outcomes)} of 12")
    finally:
        mona.close()
