"""Who is online in which room, and who is typing: state of this server process.

Socket.IO rooms live in one process, so presence does too; counts are per connection so
a user with two tabs stays online until the last one leaves.
"""

from __future__ import annotations

import threading
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
            self._online[room][connection.username] += 1
            return self._online[room][connection.username] == 1

    def leave(self, sid: str, room: str) -> bool:
        """Remove the connection from the room; True when its user is now offline there."""
        with self._lock:
            connection = self._connections.get(sid)
            if connection is None or connection.rooms.pop(room, None) is None:
                return False
            return self._drop(room, connection.username)

    def disconnect(self, sid: str) -> tuple[Connection | None, list[str]]:
        """Forget the connection; returns it and the rooms its user is now offline in."""
        with self._lock:
            connection = self._connections.pop(sid, None)
            if connection is None:
                return None, []
            gone = [room for room in connection.rooms if self._drop(room, connection.username)]
            return connection, gone

    def _drop(self, room: str, username: str) -> bool:
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

    def is_typing(self, room: str, username: str) -> bool:
        return (room, username) in self._typing
