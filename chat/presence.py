"""Who is connected, who has which room open, who is typing.

A connection's identity, the rooms it has open and the rooms it watches belong to the
server process that holds the socket. Who is online is counted per connection (a user
with two tabs stays online until the last one closes), twice: per room ("has this room
open") and per user ("has any connection at all"). ``Presence`` counts in this process;
``RedisPresence`` counts across every process of a deployment when ``REDIS_URL`` is set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import redis
from flask import current_app

from chat import outbox, rooms

log = logging.getLogger(__name__)


def current() -> Presence:
    """The presence of this app (in this process, or shared through Redis)."""
    return current_app.extensions["presence"]


def arrive(connection: Connection) -> None:
    """A connection opened; its direct peers' watchers hear when it is the user's first."""
    rooms.known_user(connection.user_id, connection.username)
    if current().connect(connection):
        _presence_changed(connection, True)


def depart(sid: str) -> None:
    """A connection closed: it leaves every room it had open (announced where it was the
    user's last), and its user goes offline with their last connection."""
    connection, gone, offline = current().disconnect(sid)
    if connection is None:
        return
    for room in gone:
        person = {"room": room, "username": connection.username, "membership": False}
        outbox.emit("leave_room_announcement", person, outbox.open_channel(room))
    if offline:
        _presence_changed(connection, False)


def _presence_changed(connection: Connection, online: bool) -> None:
    news = {"username": connection.username, "online": online}
    outbox.emit("presence_changed", news, outbox.peer_channel(connection.user_id))


def typing(me: Connection, room: str, typing: bool) -> None:
    """Record typing state; the others with the room open hear of it when it is news."""
    if current().set_typing(room, me.username, typing):
        news = {"room": room, "username": me.username, "typing": typing}
        outbox.emit("typing_on", news, outbox.open_channel(room), skip_sender=True)


@dataclass(frozen=True, slots=True)
class OpenRoom:
    """A room a connection has open: what its events need without a database read."""

    name: str
    id: int
    peer_id: int | None = None  # the other user of a direct room


@dataclass(eq=False)
class Connection:
    """One socket of a user: who it is, and what it has open or watches."""

    sid: str
    user_id: int
    username: str
    session_id: str | None = None  # the browser session it was opened with, if any
    rooms: dict[str, OpenRoom] = field(default_factory=dict)  # open rooms by name
    watches: bool = False  # asked for watch_rooms: new rooms are watched too
    watching: set[str] = field(default_factory=set)
    peers: set[int] = field(default_factory=set)  # direct peers whose presence it hears
    # Per-connection state of the event budgets (ratelimit.Budgets), made on first use.
    budgets: dict = field(default_factory=dict)
    # How many times a membership of each room ended while this connection was open (the
    # drop_room control action): a join or watch_rooms in flight compares it before and
    # after, so it never opens or watches a room whose drop it missed.
    drops: dict[str, int] = field(default_factory=dict)


class Presence:
    def __init__(self) -> None:
        # A plain threading lock: under eventlet/gevent it is monkey-patched to a green one.
        self._lock = threading.Lock()
        self._connections: dict[str, Connection] = {}
        self._by_user: defaultdict[int, set[str]] = defaultdict(set)
        self._online: defaultdict[str, Counter[str]] = defaultdict(Counter)
        # (room, username) -> when "typing" was last told to the room
        self._typing: dict[tuple[str, str], float] = {}

    # --- connections of this process --------------------------------------------------

    def connect(self, connection: Connection) -> bool:
        """Register a connection; True when it is its user's first anywhere."""
        sid = connection.sid
        with self._lock:
            self._connections[sid] = connection
            self._by_user[connection.user_id].add(sid)
        try:
            return self._user_arrives(connection.user_id, sid)
        except BaseException:
            self._forget(sid)
            raise

    def identity(self, sid: str) -> Connection | None:
        return self._connections.get(sid)

    def sids_of(self, user_id: int, session_id: str | None = None) -> list[str]:
        """This process's connections of a user (of one browser session, if given)."""
        with self._lock:
            sids = list(self._by_user.get(user_id, ()))
        if session_id is None:
            return sids
        return [s for s in sids if (c := self._connections.get(s)) and c.session_id == session_id]

    def all_sids(self) -> list[str]:
        with self._lock:
            return list(self._connections)

    def has_others(self, user_id: int, sid: str) -> bool:
        """Whether the user has a connection besides this one (anywhere)."""
        return self.connections_per_user(user_id) > 1

    def connections_per_user(self, user_id: int) -> int:
        return len(self._by_user.get(user_id, ()))

    def open_room(self, sid: str, room: str) -> OpenRoom | None:
        """The room if this connection has it open."""
        connection = self._connections.get(sid)
        return connection.rooms.get(room) if connection else None

    def join(self, sid: str, open_room: OpenRoom) -> bool:
        """Open the room on the connection; True when its user did not have it open before."""
        room = open_room.name
        with self._lock:
            connection = self._connections[sid]
            if room in connection.rooms:
                return False
            connection.rooms[room] = open_room
        try:
            return self._arrive(room, connection.username, sid)
        except BaseException:
            connection.rooms.pop(room, None)  # not joined after all: the client may retry
            raise

    def leave(self, sid: str, room: str) -> bool:
        """Close the room on the connection; True when its user has it open nowhere now."""
        with self._lock:
            connection = self._connections.get(sid)
            if connection is None or connection.rooms.pop(room, None) is None:
                return False
        return self._depart(room, connection.username, sid)

    def disconnect(self, sid: str) -> tuple[Connection | None, list[str], bool]:
        """Forget the connection. Returns it, the rooms its user has open nowhere now, and
        whether that was the user's last connection anywhere."""
        connection = self._forget(sid)
        if connection is None:
            return None, [], False
        gone = [room for room in connection.rooms if self._depart(room, connection.username, sid)]
        return connection, gone, self._user_departs(connection.user_id, sid)

    def _forget(self, sid: str) -> Connection | None:
        with self._lock:
            connection = self._connections.pop(sid, None)
            if connection is not None:
                sids = self._by_user[connection.user_id]
                sids.discard(sid)
                if not sids:
                    del self._by_user[connection.user_id]
        return connection

    def set_typing(self, room: str, username: str, typing: bool, refresh: float = 3.0) -> bool:
        """Record typing state; True when the room should be told: it changed, or it is
        still "typing" and was last told over ``refresh`` seconds ago (receivers let an
        indicator fade after ~5 s without news). So a client that repeats itself, or a
        flood, is broadcast at most once per ``refresh``."""
        key = (room, username)
        now = time.monotonic()
        with self._lock:
            told = self._typing.get(key)
            if not typing:
                return self._typing.pop(key, None) is not None
            if told is not None and now - told < refresh:
                return False
            self._typing[key] = now
            return True

    # --- counted in this process (RedisPresence overrides these) ----------------------

    def _arrive(self, room: str, username: str, sid: str) -> bool:
        with self._lock:
            self._online[room][username] += 1
            return self._online[room][username] == 1

    def _depart(self, room: str, username: str, sid: str) -> bool:
        with self._lock:
            counts = self._online[room]
            counts[username] -= 1
            if counts[username] > 0:
                return False
            del counts[username]
            if not counts:
                del self._online[room]
            self._typing.pop((room, username), None)
            return True

    def _user_arrives(self, user_id: int, sid: str) -> bool:
        with self._lock:
            return len(self._by_user.get(user_id, ())) == 1

    def _user_departs(self, user_id: int, sid: str) -> bool:
        with self._lock:
            return user_id not in self._by_user

    def online(self, room: str) -> list[str]:
        """Who has the room open, sorted."""
        with self._lock:
            return sorted(self._online.get(room, ()), key=str.lower)

    def users_online(self, user_ids: list[int]) -> set[int]:
        """Which of these users have any connection."""
        with self._lock:
            return {uid for uid in user_ids if uid in self._by_user}


# One sorted set per room and one per user; a room's member is "<username>\n<sid>", a
# user's is "\n<sid>", each scored by when it expires. Scripts keep each check-and-change
# atomic across processes. ARRIVE returns how many live entries share the tag (ARGV[4])
# besides this one; DEPART whether any is left.
_ARRIVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local others = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if member ~= ARGV[3] and string.sub(member, 1, #ARGV[4]) == ARGV[4] then
    others = others + 1
  end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return others
"""
_DEPART = """
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(member, 1, #ARGV[3]) == ARGV[3] then
    return 1
  end
end
return 0
"""


class RedisPresence(Presence):
    """Presence shared by every process of one deployment through Redis.

    Each connection's entries expire ``ttl`` seconds after its last heartbeat, so the
    connections of a process that dies without saying goodbye drop out on their own; the
    heartbeat writes them back in full, so presence also rebuilds itself after Redis
    restarts empty.

    This process's own counts are kept as well: while Redis is unreachable, presence
    answers from them (this process's connections only) instead of failing the event.
    """

    def __init__(self, client, channel: str, ttl: float = 30.0, clock=time.time) -> None:
        super().__init__()
        self.heartbeat_started = False
        self.degraded = False  # Redis failed; the next good heartbeat rebuilds it
        self._redis = client
        self._prefix = f"{channel}:presence:"
        self.ttl = ttl
        self._clock = clock
        self._arrive_script = client.register_script(_ARRIVE)
        self._depart_script = client.register_script(_DEPART)

    def _key(self, room: str) -> str:
        return self._prefix + room

    def _user_key(self, user_id: int) -> str:
        # "\n" cannot occur in a room name, so no room's key can be a user's.
        return f"{self._prefix}\nuser:{user_id}"

    def _arrive_in(self, key: str, member: str, tag: str) -> bool:
        now = self._clock()
        others = self._arrive_script(
            keys=[key], args=[now, now + self.ttl, member, tag, int(self.ttl * 2)]
        )
        return others == 0

    def _depart_from(self, key: str, member: str, tag: str) -> bool:
        still_here = self._depart_script(keys=[key], args=[self._clock(), member, tag])
        return still_here == 0

    def _shared(self, ask, local):
        """Redis's answer, or this process's own while Redis is unreachable."""
        try:
            answer = ask()
        except redis.RedisError as error:
            if not self.degraded:
                log.warning("presence: Redis unreachable, counting this process only: %s", error)
            self.degraded = True
            return local
        return answer

    def _arrive(self, room: str, username: str, sid: str) -> bool:
        local = super()._arrive(room, username, sid)
        member = f"{username}\n{sid}"
        return self._shared(
            lambda: self._arrive_in(self._key(room), member, f"{username}\n"), local
        )

    def _depart(self, room: str, username: str, sid: str) -> bool:
        local = super()._depart(room, username, sid)
        member = f"{username}\n{sid}"
        return self._shared(
            lambda: self._depart_from(self._key(room), member, f"{username}\n"), local
        )

    def _user_arrives(self, user_id: int, sid: str) -> bool:
        local = super()._user_arrives(user_id, sid)
        return self._shared(lambda: self._arrive_in(self._user_key(user_id), f"\n{sid}", ""), local)

    def _user_departs(self, user_id: int, sid: str) -> bool:
        local = super()._user_departs(user_id, sid)
        return self._shared(
            lambda: self._depart_from(self._user_key(user_id), f"\n{sid}", ""), local
        )

    def online(self, room: str) -> list[str]:
        def ask():
            members = self._redis.zrangebyscore(self._key(room), self._clock(), "+inf")
            names = {m.decode().split("\n", 1)[0] for m in members}
            return sorted(names, key=str.lower)

        found = self._shared(ask, None)
        return found if found is not None else super().online(room)

    def has_others(self, user_id: int, sid: str) -> bool:
        local = super().has_others(user_id, sid)
        key = self._user_key(user_id)
        return self._shared(lambda: self._redis.zcount(key, self._clock(), "+inf") > 1, local)

    def users_online(self, user_ids: list[int]) -> set[int]:
        if not user_ids:
            return set()

        def ask():
            now = self._clock()
            pipe = self._redis.pipeline(transaction=False)
            for uid in user_ids:
                pipe.zcount(self._user_key(uid), now, "+inf")
            return {uid for uid, count in zip(user_ids, pipe.execute(), strict=True) if count}

        found = self._shared(ask, None)
        return found if found is not None else super().users_online(user_ids)

    def heartbeat(self) -> None:
        """Write back every entry of this process with a new expiry."""
        with self._lock:
            entries = [
                (self._key(room), f"{c.username}\n{sid}")
                for sid, c in self._connections.items()
                for room in c.rooms
            ] + [(self._user_key(c.user_id), f"\n{sid}") for sid, c in self._connections.items()]
        if not entries:
            return
        expires = self._clock() + self.ttl
        pipe = self._redis.pipeline(transaction=False)
        for key, member in entries:
            pipe.zadd(key, {member: expires})
            pipe.expire(key, int(self.ttl * 2))
        pipe.execute()
        if self.degraded:
            log.warning("presence: Redis is back; this process's entries are written back")
            self.degraded = False
