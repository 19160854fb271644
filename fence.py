"""Each message reaches a joining connection once: in the join's replay or live, never
both, never neither (``ReplayFence``), where broadcasts meet this process's connections:
``LocalManager`` without Redis, ``wire.QueueManager`` with it."""

from __future__ import annotations

import time

import socketio as socketio_server

# How long a join may hold its room's live messages before they go out anyway, and how
# long its replayed ids are kept out of what arrives live (a broadcast of a message
# committed before the replay was read arrives within milliseconds).
HOLD_AT_MOST = 10.0
FENCE_SECONDS = 30.0


class _Fence:
    __slots__ = ("held", "ids", "until")

    def __init__(self) -> None:
        self.held: list = []  # live messages arrived while the replay was being read
        self.ids: frozenset[int] | None = None  # the replay's ids; None: being read
        self.until = time.monotonic() + HOLD_AT_MOST


class ReplayFence:
    """Each message reaches a joining connection once: in the join's replay or live,
    never both, never neither.

    The join subscribes the connection to the room's channels before it reads the
    replay, so nothing committed meanwhile is missed; a message committed before the read
    but broadcast after the subscription would then come twice. So from ``hold`` until
    ``settle`` the room's live ``recieve_message`` for that connection are held back;
    ``settle`` sends the held ones the replay lacks (after the replay), and for a while
    keeps out of what arrives live the ids the replay had. Ids are matched one by one,
    never by a highest id: ids are taken in one order and committed in another.

    Runs where broadcasts reach this process's connections (``_fenced``), for
    broadcasts of this process and of others through Redis alike."""

    event = "recieve_message"

    def _init_fences(self) -> None:
        self._fences: dict[str, dict[str, _Fence]] = {}

    def hold(self, channel: str, sid: str) -> None:
        self._fences.setdefault(channel, {})[sid] = _Fence()

    def settle(self, channel: str, sid: str, ids: set[int] | None) -> None:
        """The replay is read (its ids), or there is none to send (None: drop what was
        held, the join took nothing)."""
        fence = self._fences.get(channel, {}).get(sid)
        if fence is None or fence.ids is not None:
            return
        held, fence.held = fence.held, []
        fence.ids = frozenset(ids or ())
        fence.until = time.monotonic() + FENCE_SECONDS
        if ids is None:
            self._fences[channel].pop(sid, None)
            return
        for data in held:
            if data.get("id") not in fence.ids:
                self.emit(self.event, data, namespace="/", room=sid, ignore_queue=True)

    def _fenced(self, event: str, data, channel, skip_sid):
        """``skip_sid`` with the connections this message must not reach now."""
        fenced = self._fences.get(channel) if event == self.event and self._fences else None
        if not fenced or not isinstance(data, dict):
            return skip_sid
        skip = list(skip_sid) if isinstance(skip_sid, list) else [skip_sid]
        now = time.monotonic()
        for sid, fence in list(fenced.items()):
            if fence.until < now:
                if fence.ids is None:  # never settled (a join that broke): let go
                    self.settle(channel, sid, set())
                fenced.pop(sid, None)
            elif fence.ids is None:
                fence.held.append(data)
                skip.append(sid)
            elif data.get("id") in fence.ids:
                skip.append(sid)
        if not fenced:
            self._fences.pop(channel, None)
        return skip


class LocalManager(ReplayFence, socketio_server.Manager):
    """Broadcasts within this process (no Redis), fenced."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_fences()

    def emit(
        self,
        event,
        data,
        namespace=None,
        room=None,
        skip_sid=None,
        callback=None,
        to=None,
        **kwargs,
    ):
        room = to or room
        skip_sid = self._fenced(event, data, room, skip_sid)
        return super().emit(
            event, data, namespace or "/", room=room, skip_sid=skip_sid, callback=callback, **kwargs
        )
