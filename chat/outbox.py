"""What an operation must tell connections, delivered once its writes are committed.

A domain function never emits: it queues an ``Emit`` (an event for a Socket.IO room) or a
``Control`` action (something to do to a user's connections on every process) in the
outbox of the event or request it runs in. The outbox is flushed after the commit and
dropped on rollback, as Zulip's ``send_event_on_commit``: nobody ever hears of an id that
could still roll back.

- Socket events and most routes write through the autocommit connection (``sql.py``):
  each statement is committed when it returns, and the handler or route flushes the
  outbox when it is done (``flush``), or drops it when it failed (``drop``).
- ORM writes (accounts) commit through ``db.session``: its ``after_commit`` flushes what
  was queued, its ``after_rollback`` drops it.

Who hears what is said by the Socket.IO room an event goes to; the server's rooms are
namespaced so that no name a client picks can address a connection:

- ``r:<room>``: connections that have the room open (typing, announcements, seen);
- ``m:<room>``: connections that have it open or watch it (messages, edits, deletes), so
  one message is one broadcast, encoded once, to both;
- ``u:<user id>``: every connection of a user (room_added, room_removed, signed_out);
- ``p:<user id>``: watchers of that user's direct rooms (presence_changed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session


def open_channel(room: str) -> str:
    return "r:" + room


def message_channel(room: str) -> str:
    return "m:" + room


def user_channel(user_id: int) -> str:
    return f"u:{user_id}"


def peer_channel(user_id: int) -> str:
    return f"p:{user_id}"


@dataclass(frozen=True, slots=True)
class Emit:
    event: str
    payload: dict
    to: str  # a Socket.IO room: a channel above, or one connection's sid
    skip_sender: bool = False  # not to the connection whose event this is


@dataclass(frozen=True, slots=True)
class Control:
    """An action on a user's connections wherever they are (``wire.Control``)."""

    action: dict


@dataclass(frozen=True, slots=True)
class Call:
    """Work that must wait for the commit (removing a deleted message's files)."""

    run: Callable[[], None]


Deliver = Callable[[Emit | Control], None]


def emit(event_name: str, payload: dict, to: str, *, skip_sender: bool = False) -> None:
    _pending().append(Emit(event_name, payload, to, skip_sender))


def control(action: dict) -> None:
    _pending().append(Control(action))


def after_commit(run: Callable[[], None]) -> None:
    """Call ``run()`` once the writes behind it are committed (never on rollback)."""
    _pending().append(Call(run))


def _pending() -> list:
    pending = g.get("_outbox")
    if pending is None:
        pending = g._outbox = []
    return pending


def flush() -> None:
    """Deliver what was queued, in order (the writes behind it are committed)."""
    pending = g.pop("_outbox", None)
    if not pending:
        return
    deliver: Deliver = current_app.extensions["outbox"]
    for item in pending:
        if isinstance(item, Call):
            item.run()
        else:
            deliver(item)


def drop() -> None:
    """Forget what was queued: the writes behind it failed or rolled back."""
    g.pop("_outbox", None)


def init_app(app, deliver: Deliver) -> None:
    app.extensions["outbox"] = deliver
    app.teardown_appcontext(_forget)


def _forget(_exc=None) -> None:
    g.pop("_outbox", None)


# The ORM's transactions (one listener for every app and session of the process).
@event.listens_for(Session, "after_commit")
def _after_commit(_session) -> None:
    if has_app_context() and "outbox" in current_app.extensions:
        flush()


@event.listens_for(Session, "after_rollback")
def _after_rollback(_session) -> None:
    if has_app_context():
        drop()
