"""Presence shared through Redis: counted per connection across processes, and entries of
a process that died expire on their own."""

from __future__ import annotations

import itertools

import pytest
import redis

from presence import RedisPresence

_channels = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def make(redis_url):
    """make() -> a RedisPresence as one more server process of the same deployment."""
    client = redis.Redis.from_url(redis_url)
    channel = f"presence-test-{next(_channels)}"
    clock = Clock()

    def _make(ttl: float = 30.0) -> RedisPresence:
        return RedisPresence(client, channel, ttl=ttl, clock=clock)

    _make.clock = clock
    yield _make
    client.close()


def test_two_processes_see_one_online_list(make):
    first, second = make(), make()
    first.connect("a1", 1, "alice")
    second.connect("b1", 2, "bob")
    assert first.join("a1", "r", 10) is True
    assert second.join("b1", "r", 10) is True
    assert first.online("r") == second.online("r") == ["alice", "bob"]


def test_a_user_is_online_until_the_last_connection_leaves(make):
    first, second = make(), make()
    first.connect("tab1", 1, "alice")
    second.connect("tab2", 1, "alice")
    assert first.join("tab1", "r", 10) is True
    assert second.join("tab2", "r", 10) is False  # already online through tab1
    assert first.leave("tab1", "r") is False  # still here through tab2
    assert second.online("r") == ["alice"]
    connection, gone = second.disconnect("tab2")
    assert connection.username == "alice" and gone == ["r"]
    assert first.online("r") == []


def test_a_dead_process_drops_out_after_the_ttl(make):
    alive, dead = make(ttl=30), make(ttl=30)
    alive.connect("a1", 1, "alice")
    dead.connect("b1", 2, "bob")
    alive.join("a1", "r", 10)
    dead.join("b1", "r", 10)
    make.clock.now += 20
    alive.heartbeat()  # the live process keeps its entries; the dead one sends nothing
    make.clock.now += 20
    assert alive.online("r") == ["alice"]
    dead.connect("b2", 2, "bob")  # bob comes back: he counts as newly online
    assert dead.join("b2", "r", 10) is True


def test_deployments_with_other_channels_are_separate(redis_url):
    client = redis.Redis.from_url(redis_url)
    one = RedisPresence(client, "deployment-one")
    two = RedisPresence(client, "deployment-two")
    one.connect("s1", 1, "alice")
    one.join("s1", "r", 10)
    assert two.online("r") == []
    one.disconnect("s1")
    client.close()


def test_a_failed_join_leaves_the_connection_out_of_the_room(make, monkeypatch):
    presence = make()
    presence.connect("s1", 1, "alice")

    def down(*_args):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(presence, "_arrive", down)
    with pytest.raises(redis.ConnectionError):
        presence.join("s1", "r", 10)
    assert presence.room_id("s1", "r") is None
    monkeypatch.undo()
    assert presence.join("s1", "r", 10) is True
