"""Who is online in which room, and who is typing.

A connection's identity and the rooms it joined belong to the server process that holds
the socket. Who is online in a room is counted per connection (a user with two tabs stays
online until the last one leaves): in this process by ``Presence``, or across every
process of a deployment by ``RedisPresence`` when ``REDIS_URL`` is set.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field


@dataclass
class Connection:
    user_id: int
    username: str
    rooms: dict[str, int] = field(default_factory=dict)  # room name -> room id


class Presence:
    def __init__(self) -> None:
        # A plain threading lock: under eventlet/gevent it is monkey-patched to a green one.
        self._lock = threading.Lock()
        self._connections: dict[str, Connection] = {}
        self._online: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._typing: set[tuple[str, str]] = set()

    # --- connections of this process --------------------------------------------------

    def connect(self, sid: str, user_id: int, username: str) -> None:
        with self._lock:
            self._connections[sid] = Connection(user_id, username)

    def identity(self, sid: str) -> Connection | None:
        return self._connections.get(sid)

    def room_id(self, sid: str, room: str) -> int | None:
        """The id of ``room`` if this connection has joined it."""
        connection = self._connections.get(sid)
        return connection.rooms.get(room) if connection else None

    def join(self, sid: str, room: str, room_id: int) -> bool:
        """Add the connection to the room; True when its user was not online there before."""
        with self._lock:
            connection = self._connections[sid]
            if room in connection.rooms:
                return False
            connection.rooms[room] = room_id
        try:
            return self._arrive(room, connection.username, sid)
        except BaseException:
            connection.rooms.pop(room, None)  # not joined after all: the client may retry
            raise

    def leave(self, sid: str, room: str) -> bool:
        """Remove the connection from the room; True when its user is now offline there."""
        with self._lock:
            connection = self._connections.get(sid)
            if connection is None or connection.rooms.pop(room, None) is None:
                return False
        return self._depart(room, connection.username, sid)

    def disconnect(self, sid: str) -> tuple[Connection | None, list[str]]:
        """Forget the connection; returns it and the rooms its user is now offline in."""
        with self._lock:
            connection = self._connections.pop(sid, None)
        if connection is None:
            return None, []
        gone = [room for room in connection.rooms if self._depart(room, connection.username, sid)]
        return connection, gone

    def set_typing(self, room: str, username: str, typing: bool) -> bool:
        """Record typing state; True when it changed."""
        key = (room, username)
        with self._lock:
            if typing == (key in self._typing):
                return False
            if typing:
                self._typing.add(key)
            else:
                self._typing.discard(key)
            return True

    # --- who is online: counted in this process ---------------------------------------

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
            self._typing.discard((room, username))
            return True

    def online(self, room: str) -> list[str]:
        with self._lock:
            return sorted(self._online.get(room, ()), key=str.lower)


# One sorted set per room; a member is "<username>\n<sid>" scored by when it expires.
# Scripts keep each check-and-change atomic across processes.
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

    Each connection's entry expires ``ttl`` seconds after its last heartbeat, so the
    connections of a process that dies without saying goodbye drop out on their own.
    """

    def __init__(self, client, channel: str, ttl: float = 30.0, clock=time.time) -> None:
        super().__init__()
        self.heartbeat_started = False
        self._redis = client
        self._prefix = f"{channel}:presence:"
        self.ttl = ttl
        self._clock = clock
        self._arrive_script = client.register_script(_ARRIVE)
        self._depart_script = client.register_script(_DEPART)

    def _key(self, room: str) -> str:
        return self._prefix + room

    def _arrive(self, room: str, username: str, sid: str) -> bool:
        now = self._clock()
        others = self._arrive_script(
            keys=[self._key(room)],
            args=[now, now + self.ttl, f"{username}\n{sid}", f"{username}\n", int(self.ttl * 2)],
        )
        return others == 0

    def _depart(self, room: str, username: str, sid: str) -> bool:
        with self._lock:
            self._typing.discard((room, username))
        still_here = self._depart_script(
            keys=[self._key(room)], args=[self._clock(), f"{username}\n{sid}", f"{username}\n"]
        )
        return still_here == 0

    def online(self, room: str) -> list[str]:
        members = self._redis.zrangebyscore(self._key(room), self._clock(), "+inf")
        names = {m.decode().split("\n", 1)[0] for m in members}
        return sorted(names, key=str.lower)

    def heartbeat(self) -> None:
        """Push back the expiry of every connection of this process."""
        with self._lock:
            entries = [
                (room, f"{c.username}\n{sid}")
                for sid, c in self._connections.items()
                for room in c.rooms
            ]
        if not entries:
            return
        expires = self._clock() + self.ttl
        pipe = self._redis.pipeline(transaction=False)
        for room, member in entries:
            pipe.zadd(self._key(room), {member: expires}, xx=True)
            pipe.expire(self._key(room), int(self.ttl * 2))
        pipe.execute()
