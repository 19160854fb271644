"""Presence shared through Redis: counted per connection across processes, and entries of
a process that died expire on their own."""

from __future__ import annotations

import itertools

import pytest
import redis

from chat.presence import Connection, OpenRoom, RedisPresence

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
    first.connect(Connection("a1", 1, "alice"))
    second.connect(Connection("b1", 2, "bob"))
    assert first.join("a1", OpenRoom("r", 10)) is True
    assert second.join("b1", OpenRoom("r", 10)) is True
    assert first.online("r") == second.online("r") == ["alice", "bob"]


def test_a_user_is_online_until_the_last_connection_leaves(make):
    first, second = make(), make()
    first.connect(Connection("tab1", 1, "alice"))
    second.connect(Connection("tab2", 1, "alice"))
    assert first.join("tab1", OpenRoom("r", 10)) is True
    assert second.join("tab2", OpenRoom("r", 10)) is False  # already online through tab1
    assert first.leave("tab1", "r") is False  # still here through tab2
    assert second.online("r") == ["alice"]
    connection, gone, offline = second.disconnect("tab2")
    assert connection.username == "alice" and gone == ["r"]
    assert first.online("r") == []
    assert not offline and first.users_online([1]) == {1}  # tab1 is still connected
    assert first.disconnect("tab1")[2] is True
    assert second.users_online([1]) == set()


def test_a_dead_process_drops_out_after_the_ttl(make):
    alive, dead = make(ttl=30), make(ttl=30)
    alive.connect(Connection("a1", 1, "alice"))
    dead.connect(Connection("b1", 2, "bob"))
    alive.join("a1", OpenRoom("r", 10))
    dead.join("b1", OpenRoom("r", 10))
    make.clock.now += 20
    alive.heartbeat()  # the live process keeps its entries; the dead one sends nothing
    make.clock.now += 20
    assert alive.online("r") == ["alice"]
    dead.connect(Connection("b2", 2, "bob"))  # bob comes back: he counts as newly online
    assert dead.join("b2", OpenRoom("r", 10)) is True


def test_deployments_with_other_channels_are_separate(redis_url):
    client = redis.Redis.from_url(redis_url)
    one = RedisPresence(client, "deployment-one")
    two = RedisPresence(client, "deployment-two")
    one.connect(Connection("s1", 1, "alice"))
    one.join("s1", OpenRoom("r", 10))
    assert two.online("r") == []
    one.disconnect("s1")
    client.close()


def test_a_failed_join_leaves_the_connection_out_of_the_room(make, monkeypatch):
    presence = make()
    presence.connect(Connection("s1", 1, "alice"))

    def down(*_args):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(presence, "_arrive", down)
    with pytest.raises(redis.ConnectionError):
        presence.join("s1", OpenRoom("r", 10))
    assert presence.open_room("s1", "r") is None
    monkeypatch.undo()
    assert presence.join("s1", OpenRoom("r", 10)) is True


def test_a_user_online_anywhere_is_online_everywhere(make):
    first, second = make(), make()
    assert first.connect(Connection("a1", 1, "alice")) is True
    assert second.connect(Connection("a2", 1, "alice")) is False  # second tab elsewhere
    assert second.users_online([1, 2]) == {1}
    assert first.disconnect("a1")[2] is False
    assert second.disconnect("a2")[2] is True


def test_presence_rebuilds_after_redis_loses_its_data(make, redis_url):
    presence = make()
    presence.connect(Connection("s1", 1, "alice"))
    presence.join("s1", OpenRoom("r", 10))
    client = redis.Redis.from_url(redis_url)
    client.delete(*client.scan_iter(presence._prefix + "*"))  # as if Redis restarted empty
    assert presence.online("r") == [] and presence.users_online([1]) == set()
    presence.heartbeat()
    assert presence.online("r") == ["alice"] and presence.users_online([1]) == {1}
