"""Rate limits: the per-user message limit and per-connection event budgets.

``MessageLimit`` is a moving window (at most N events in any W seconds) counted in this
process, or in Redis when several processes serve one deployment. A hit can be refunded
(a send that then fails, or turns out to be a retry, does not count), and a refusal says
when the next event would pass (``retry_after``).

``Budgets`` are token buckets kept on the connection itself, so checking one costs no
I/O: a person's burst passes, a flood is refused, the connection stays up.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass

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


class MessageLimit:
    """At most ``count`` events per key in any ``window`` seconds, in this process."""

    def __init__(self, spec: str, clock=time.monotonic) -> None:
        parsed = parse_spec(spec)
        self.count, self.window = parsed or (0, 0.0)
        self.enabled = parsed is not None
        self._clock = clock
        self._lock = threading.Lock()
        self._events: defaultdict[str, deque[float]] = defaultdict(deque)

    def hit(self, key: object) -> Hit | float:
        """Count one event: a ``Hit``, or the seconds to wait when over the limit."""
        key = str(key)
        if not self.enabled:
            return Hit(key, None)
        now = self._clock()
        with self._lock:
            events = self._events[key]
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.count:
                return max(0.001, events[0] + self.window - now)
            events.append(now)
            return Hit(key, now)

    def refund(self, hit: Hit) -> None:
        if hit.token is None:
            return
        with self._lock:
            events = self._events.get(hit.key)
            if events is not None and hit.token in events:
                events.remove(hit.token)
            if not events:
                self._events.pop(hit.key, None)


# Members are unique tokens scored by Redis's own clock, so every process agrees on time.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return ''
"""


class RedisMessageLimit(MessageLimit):
    """The same moving window, shared by every process of a deployment through Redis.
    Keys carry the deployment's channel, so two deployments never share a budget."""

    def __init__(self, spec: str, client, prefix: str) -> None:
        super().__init__(spec)
        self._redis = client
        self._prefix = prefix
        self._script = client.register_script(_HIT)

    def hit(self, key: object) -> Hit | float:
        key = f"{self._prefix}{key}"
        if not self.enabled:
            return Hit(key, None)
        token = uuid.uuid4().hex
        wait = self._script(keys=[key], args=[self.count, self.window, token])
        if wait:
            return max(0.001, float(wait))
        return Hit(key, token)

    def refund(self, hit: Hit) -> None:
        if hit.token is not None:
            self._redis.zrem(hit.key, hit.token)


@dataclass(frozen=True)
class Budget:
    """A token bucket: ``burst`` events at once, refilled at ``rate`` per second."""

    burst: float
    rate: float


class Budgets:
    """Per-connection budgets by name; the state lives in a dict the connection owns."""

    def __init__(self, budgets: dict[str, Budget], clock=time.monotonic) -> None:
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
