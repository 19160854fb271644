"""One room's message stream as the client has it: which ids it delivered (to drop
duplicates) and from which id to resume after a reconnect (to leave no gaps).

Message ids grow with every message, but the server handles events concurrently, so a
room's messages can arrive out of id order: message 11's broadcast may overtake message
10's, and 10 may even be committed after 11. Resuming from the newest id seen could then
skip 10 for good. So the client resumes from the newest id it had ``settle`` seconds
before the connection dropped: whatever was still in flight then is replayed once more
and dropped as a duplicate, by id.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

SETTLE = 5.0  # seconds after which a message that overtook another is taken as settled
PRUNE_EVERY = 1.0  # seconds between prunings of the marks
# Ids kept per room to drop duplicates. A replay brings back only ids newer than the
# resume point, delivered at most ``settle`` seconds before the connection dropped: far
# fewer than this, short of thousands of messages a second in one room.
KEEP = 5000


class RoomLog:
    """The ids of one room delivered so far (under the client's lock)."""

    def __init__(
        self,
        base: int | None = None,
        *,
        settle: float = SETTLE,
        keep: int = KEEP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = base  # the last_id the room was joined with: all up to it is had
        self.top = base  # the newest id delivered (or the base)
        self.settle = settle
        self.keep = keep
        self.clock = clock
        self.seen: set[int] = set()
        # (when, newest id then), each time the newest id grew; marks[0] may be older
        # than ``settle`` seconds, every other one is younger.
        self.marks: deque[tuple[float, int]] = deque()
        self._pruned_at = clock()

    def add(self, message_id: int) -> bool:
        """True when ``message_id`` is new (deliver it), False for a duplicate."""
        if message_id in self.seen:
            return False
        self.seen.add(message_id)
        now = self.clock()
        if self.top is None or message_id > self.top:
            self.top = message_id
            self.marks.append((now, message_id))
        if now - self._pruned_at >= PRUNE_EVERY:
            self._prune(now)
        if len(self.seen) > self.keep + self.keep // 2:
            self.seen = set(sorted(self.seen)[-self.keep :])
        return True

    def note_base(self, last_id: int | None) -> None:
        """The room was joined with ``last_id``: everything up to it is had."""
        if last_id is not None and self.base is None:
            self.base = last_id
            if self.top is None or last_id > self.top:
                self.top = last_id

    def reset(self) -> None:
        """The server sent the newest page instead of a replay (``reset: true``): what
        came before is not to be resumed from."""
        self.base = self.top = None
        self.seen.clear()
        self.marks.clear()

    def resume_id(self, dropped_at: float | None = None) -> int | None:
        """The ``last_id`` to join with after a connection that dropped at
        ``dropped_at`` (now if None): the newest id had ``settle`` seconds before, or,
        when everything is younger, the id before the oldest delivered one (or the
        base). None: join afresh (the newest page)."""
        cutoff = (self.clock() if dropped_at is None else dropped_at) - self.settle
        settled = None
        for when, top in self.marks:
            if when > cutoff:
                break
            settled = top
        if settled is not None:
            return settled
        if self.base is not None:
            return self.base
        if self.seen:
            return max(0, min(self.seen) - 1)
        return None

    def _prune(self, now: float) -> None:
        """Forget the marks no resume can need: all but the newest settled one. (Not the
        ids: right after a reconnect, the replay may still bring back ids that have
        settled since the connection dropped.)"""
        self._pruned_at = now
        while len(self.marks) >= 2 and self.marks[1][0] <= now - self.settle:
            self.marks.popleft()
