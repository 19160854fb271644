"""Rate limits: one moving window (per user, per address), and per-connection budgets.

``MovingWindow`` allows at most N events per key in any W seconds, counted in this
process, or in Redis when several processes serve one deployment (``RedisMovingWindow``).
A hit can be refunded (a send that then fails, or turns out to be a retry, does not
count), and a refusal says when the next event would pass (``retry_after``). It limits
messages per user, failed sign-ins per address and name, and new accounts per address.

``Budgets`` are token buckets kept on the connection itself, so checking one costs no
I/O: a person's burst passes, a flood is refused, the connection stays up.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_SPEC_RE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*", re.IGNORECASE)


def parse_spec(spec: str) -> tuple[int, float] | None:
    """``"20/10seconds"`` -> (20, 10.0); ``"off"`` -> None."""
    if spec.strip().lower() == "off":
        return None
    match = _SPEC_RE.fullmatch(spec)
    if not match:
        raise ValueError(f"a rate limit is like 20/10seconds or off, not {spec!r}")
    count, multiple, unit = match.groups()
    return int(count), float(int(multiple or 1) * _UNITS[unit.lower()])


@dataclass(frozen=True)
class Hit:
    """A counted event, which ``refund`` can take back."""

    key: str
    token: object


def _key(parts: tuple) -> str:
    return ":".join(map(str, parts))


class MovingWindow:
    """At most ``count`` events per key in any ``window`` seconds, in this process."""

    def __init__(self, spec: str, clock=time.monotonic) -> None:
        parsed = parse_spec(spec)
        self.count, self.window = parsed or (0, 0.0)
        self.enabled = parsed is not None
        self._clock = clock
        self._lock = threading.Lock()
        self._events: defaultdict[str, deque[float]] = defaultdict(deque)

    def hit(self, *key: object) -> Hit | float:
        """Count one event: a ``Hit``, or the seconds to wait when over the limit."""
        return self._hit_here(_key(key))

    def allows(self, *key: object) -> bool:
        """Whether one more event would pass (counts nothing)."""
        return not self.enabled or self._count_here(_key(key)) < self.count

    def refund(self, hit: Hit) -> None:
        if hit.token is None:
            return
        with self._lock:
            events = self._events.get(hit.key)
            if events is not None and hit.token in events:
                events.remove(hit.token)
            if not events:
                self._events.pop(hit.key, None)

    def _live(self, key: str, now: float) -> deque[float]:
        events = self._events[key]
        while events and events[0] <= now - self.window:
            events.popleft()
        return events

    def _hit_here(self, key: str) -> Hit | float:
        if not self.enabled:
            return Hit(key, None)
        now = self._clock()
        with self._lock:
            events = self._live(key, now)
            if len(events) >= self.count:
                return max(0.001, events[0] + self.window - now)
            events.append(now)
            return Hit(key, now)

    def _count_here(self, key: str) -> int:
        with self._lock:
            count = len(self._live(key, self._clock()))
            if not count:
                self._events.pop(key, None)
            return count


# Members are unique tokens scored by Redis's own clock, so every process agrees on time.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
"""
_HIT = (
    _NOW
    + """
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return ''
"""
)
_COUNT = _NOW + "return redis.call('ZCARD', KEYS[1])\n"


class RedisMovingWindow(MovingWindow):
    """The same moving window, shared by every process of a deployment through Redis.
    Keys start with ``prefix`` (the deployment's channel), so two deployments never share
    a budget. While Redis is unreachable each process counts on its own, so serving goes
    on (``local_fallback``), or the RedisError goes up (a 503): a throttle that guards
    passwords must not let every process grant its own budget."""

    def __init__(self, spec: str, client, prefix: str, local_fallback: bool = True) -> None:
        super().__init__(spec)
        self._redis = client
        self._prefix = prefix
        self._local_fallback = local_fallback
        self._hit_script = client.register_script(_HIT)
        self._count_script = client.register_script(_COUNT)

    def hit(self, *key: object) -> Hit | float:
        key = self._prefix + _key(key)
        if not self.enabled:
            return Hit(key, None)
        token = uuid.uuid4().hex
        try:
            wait = self._hit_script(keys=[key], args=[self.count, self.window, token])
        except redis.RedisError as error:
            if not self._local_fallback:
                raise
            log.warning("rate limit: Redis unreachable, counting in this process: %s", error)
            return self._hit_here(key)
        if wait:
            return max(0.001, float(wait))
        return Hit(key, token)

    def allows(self, *key: object) -> bool:
        if not self.enabled:
            return True
        key = self._prefix + _key(key)
        try:
            count = self._count_script(keys=[key], args=[self.count, self.window])
        except redis.RedisError:
            if not self._local_fallback:
                raise
            count = self._count_here(key)
        return count < self.count

    def refund(self, hit: Hit) -> None:
        if isinstance(hit.token, float):  # counted here while Redis was away
            super().refund(hit)
        elif hit.token is not None:
            try:
                self._redis.zrem(hit.key, hit.token)
            except redis.RedisError:
                log.warning("rate limit: could not refund an event (Redis unreachable)")


def moving_window(
    spec: str, client, channel: str, name: str, local_fallback: bool = True
) -> MovingWindow:
    """The limit ``spec`` for ``name`` (its keys: ``<channel>:limit:<name>:<key>``)."""
    if client is None:
        return MovingWindow(spec)
    return RedisMovingWindow(spec, client, f"{channel}:limit:{name}:", local_fallback)


@dataclass(frozen=True)
class Budget:
    """A token bucket: ``burst`` events at once, refilled at ``rate`` per second."""

    burst: float
    rate: float


# Per connection: a person's burst passes, a flood meets rate_limited. What a connection
# reads back (a join's replay, history pages, room lists) also pays for its bytes
# (read_bytes), after the fact: such a read is refused while that budget is in debt, so
# no connection is sent more than ~250 kB/s for long.
#
# Every handled event has an entry: a socket event registered without one refuses to load
# (events.chat_event). None means "limited another way", said beside it.
EVENT_BUDGETS: dict[str, Budget | None] = {
    "send_message": None,  # per user, across processes: RATE_LIMIT (a MovingWindow)
    "joined_room": Budget(30, 1),
    "leave_room": Budget(30, 1),
    "watch_rooms": Budget(10, 0.2),
    "typing_status": Budget(30, 2),
    "mark_seen": Budget(30, 5),
    "edit_message": Budget(30, 1),
    "delete_message": Budget(30, 1),
    "react": Budget(30, 1),
    "moderate": Budget(30, 1),  # as edits
    "invite": Budget(30, 1),
    "set_topic": Budget(30, 1),
    "load_history": Budget(30, 2),
    "refused": Budget(30, 1),  # unknown and reserved event names
    "read_bytes": Budget(4_000_000, 250_000),
}


READ_BYTES = "read_bytes"


class Budgets:
    """Per-connection budgets by name; the state lives in a dict the connection owns."""

    def __init__(self, budgets: dict[str, Budget | None], clock=time.monotonic) -> None:
        self.budgets = budgets
        self._clock = clock

    def spend(self, state: dict, name: str, cost: float = 1.0) -> float | None:
        """Take ``cost`` from the named budget: None, or the seconds until it would pass."""
        budget = self.budgets.get(name)
        if budget is None:
            return None
        now = self._clock()
        tokens, since = state.get(name, (budget.burst, now))
        tokens = min(budget.burst, tokens + (now - since) * budget.rate)
        if tokens < cost:
            state[name] = (tokens, now)
            return max(0.001, (min(cost, budget.burst) - tokens) / budget.rate)
        state[name] = (tokens - cost, now)
        return None

    def in_debt(self, state: dict, name: str) -> float | None:
        """None, or the seconds until the named budget is out of debt."""
        budget = self.budgets.get(name)
        if budget is None or name not in state:
            return None
        tokens, since = state[name]
        tokens = min(budget.burst, tokens + (self._clock() - since) * budget.rate)
        return None if tokens >= 0 else max(0.001, -tokens / budget.rate)

    def reading(self, state: dict) -> float | None:
        """None, or the seconds until this connection may read back more (read_bytes)."""
        return self.in_debt(state, READ_BYTES)

    def read(self, state: dict, size: int) -> None:
        """Charge what was just read back to the connection's read_bytes budget."""
        self.charge(state, READ_BYTES, size)

    def charge(self, state: dict, name: str, cost: float) -> None:
        """Take ``cost`` after the fact; the budget may go into debt."""
        budget = self.budgets.get(name)
        if budget is None:
            return
        now = self._clock()
        tokens, since = state.get(name, (budget.burst, now))
        tokens = min(budget.burst, tokens + (now - since) * budget.rate)
        state[name] = (tokens - cost, now)
