"""Every room at a glance: a user's room summaries (GET /api/rooms, watch_rooms,
room_added) and the directory of public rooms."""

from __future__ import annotations

import threading
import time
from collections import namedtuple

from flask import current_app
from sqlalchemy import func, literal, select

from chat import outbox, presence, rooms, rules, sql
from chat.errors import Failure, invalid, rate_limited
from chat.history import message_dicts, payload_size
from chat.presence import Connection
from chat.ratelimit import moving_window
from chat.sql import (
    MESSAGE_COLUMNS,
    NEWEST_FIRST,
    P,
    in_room,
    memberships,
    mentions,
    messages,
)
from models import isoformat

UNREAD_CAP = 1000
# A list of 1,000 rooms is ~10 ms of Python: it is built this many rooms at a time, and
# others' events run between the slices. Lists of all a user's rooms are built one at a
# time per process, so a burst of them puts one slice, not one slice per list, ahead of
# each of those events.
SLICE = 20
_ONE_LIST_AT_A_TIME = threading.Lock()


def _capped_count(rows):
    """How many rows ``rows`` (correlated to the room and the membership) finds, counted
    up to UNREAD_CAP."""
    counted = rows.correlate(sql.rooms, memberships).limit(UNREAD_CAP).subquery()
    return (
        select(func.count())
        .select_from(counted)
        .correlate(sql.rooms, memberships)
        .scalar_subquery()
    )


_UNREAD = _capped_count(
    select(literal(1)).where(
        *in_room(sql.rooms.c.id),
        messages.c.id > func.coalesce(memberships.c.last_read_id, 0),
        messages.c.user_id != P("uid"),
        messages.c.deleted.is_(False),
    )
)
# The user's mentions in undeleted messages newer than their last read id.
_MENTIONS = _capped_count(
    select(literal(1))
    .join_from(mentions, messages, messages.c.id == mentions.c.message_id)
    .where(
        mentions.c.user_id == P("uid"),
        mentions.c.room_id == sql.rooms.c.id,
        mentions.c.message_id > func.coalesce(memberships.c.last_read_id, 0),
        messages.c.deleted.is_(False),
    )
)
_NEWEST_ID = (
    select(messages.c.id)
    .where(*in_room(sql.rooms.c.id))
    .order_by(*NEWEST_FIRST)
    .limit(1)
    .correlate(sql.rooms)
    .scalar_subquery()
)
# The user's rooms with their counts and newest id, then that newest message joined in:
# one statement however many rooms (an IN list of 1,000 newest ids cost more than the
# counts themselves).
_COUNTED = (
    select(
        sql.rooms.c.id.label("room_id"),
        sql.rooms.c.name.label("room"),
        sql.rooms.c.kind,
        sql.rooms.c.topic,
        _UNREAD.label("unread"),
        _MENTIONS.label("mentions"),
        _NEWEST_ID.label("newest"),
    )
    .join_from(sql.rooms, memberships, memberships.c.room_id == sql.rooms.c.id)
    .where(memberships.c.user_id == P("uid"))
)


def _with_newest(counted):
    ranked = counted.subquery()
    found = ranked.outerjoin(messages, messages.c.id == ranked.c.newest)
    return (
        select(
            ranked.c.room,
            ranked.c.kind,
            ranked.c.topic,
            ranked.c.unread,
            ranked.c.mentions,
            *MESSAGE_COLUMNS,
        )
        .select_from(found)
        .order_by(ranked.c.newest.desc().nulls_last(), ranked.c.room)  # most recently active first
    )


_SUMMARIES = _with_newest(_COUNTED)
_SUMMARY_OF_ONE = _with_newest(_COUNTED.where(sql.rooms.c.id == P("rid")))
# A summary's row as a plain tuple: a column of a SQLAlchemy row costs ~0.5 us by name, a
# tuple's ~0.03, and a list of 1,000 rooms reads a dozen of each.
_Row = namedtuple("_Row", _SUMMARIES.selected_columns.keys())


def room_summaries(user_id: int, username: str, room_id: int | None = None) -> list[dict]:
    """The user's rooms (or one of them) with unread counts, their topic, their newest
    message and, for a direct room, the peer: [{room, kind, unread, mentions, topic,
    last_message, peer?}], plus
    ``peer_id`` for the caller's presence lookup (not part of the wire format;
    ``with_peer_online`` turns it into ``peer_online``).

    Unread: others' undeleted messages newer than the user's last read id, counted up to
    UNREAD_CAP (so a room with a million unread costs what one with a thousand does), on
    an index that holds what the count filters on (no table reads); mentions: the user's
    mentions among them, counted the same way. One query for the rooms with their counts
    and newest messages, one for the direct rooms' peers, and for each SLICE of rooms
    the reactions, reply originals and attachments of their newest messages, each only
    when some have any (authors' names come from the process cache).
    """
    if room_id is not None:
        return _summaries(sql.run(_SUMMARY_OF_ONE, uid=user_id, rid=room_id).all(), username)
    with _ONE_LIST_AT_A_TIME:
        return _summaries(sql.run(_SUMMARIES, uid=user_id).all(), username)


def _summaries(rows, username: str) -> list[dict]:
    rows = [_Row._make(row) for row in rows]
    # The peer comes from the room's name, so a peer who removed the room still shows.
    peer_names = {
        row.room: rules.other_participant(row.room, username)
        for row in rows
        if row.kind == "direct"
    }
    peers = rooms.users_by_name(list(peer_names.values())) if peer_names else {}
    summaries = []
    for start in range(0, len(rows), SLICE):
        if start:
            time.sleep(0)  # under eventlet/gevent a yield: others' events run meanwhile
        part = rows[start : start + SLICE]
        with_message = [row for row in part if row.id is not None]
        last = {m["id"]: m for m in message_dicts(with_message)} if with_message else {}
        for row in part:
            summary = {
                "room": row.room,
                "kind": row.kind,
                "unread": row.unread,
                "mentions": row.mentions,
                "topic": row.topic,
                "last_message": last.get(row.id) if row.id is not None else None,
            }
            if row.kind == "direct":
                peer = peers.get(peer_names[row.room])
                summary["peer"] = peer.username if peer else peer_names[row.room]
                summary["peer_id"] = peer.id if peer else None
            summaries.append(summary)
    return summaries


def init_app(app) -> None:
    cfg = app.config
    app.extensions["room_list_limit"] = moving_window(
        cfg["ROOM_LIST_RATE_LIMIT"], app.extensions["redis"], cfg["SOCKETIO_CHANNEL"], "room-lists"
    )


def listing_allowed(user_id: int) -> Failure | None:
    """Count one room list of this user (watch_rooms, GET /api/rooms, the page), across
    processes: None, or rate_limited once ROOM_LIST_RATE_LIMIT is spent."""
    wait = current_app.extensions["room_list_limit"].hit(user_id)
    if isinstance(wait, float):
        return rate_limited("too many room lists, slow down", wait)
    return None


def for_watching(me: Connection) -> list[dict] | Failure:
    """watch_rooms' list (with ``peer_id``, for the caller's presence channels), paid for
    by the user's room-list limit and in bytes by the connection's read budget."""
    budgets = current_app.extensions["budgets"]
    wait = budgets.reading(me.budgets)
    if wait is not None:
        return rate_limited("too much sent to this connection lately, slow down", wait)
    refused = listing_allowed(me.user_id)
    if refused is not None:
        return refused
    found = room_summaries(me.user_id, me.username)
    budgets.read(me.budgets, size(found))
    return found


def size(summaries: list[dict]) -> int:
    """About how many characters these summaries take on the wire."""
    last = [s["last_message"] for s in summaries if s["last_message"] is not None]
    return 120 * len(summaries) + payload_size(last)


def with_peer_online(summaries: list[dict]) -> list[dict]:
    """Fill in peer_online for direct rooms (and drop the internal peer_id)."""
    peer_ids = [s["peer_id"] for s in summaries if s.get("peer_id")]
    online = presence.current().users_online(peer_ids)
    for summary in summaries:
        if "peer_id" in summary:
            summary["peer_online"] = summary.pop("peer_id") in online
    return summaries


def room_list(user_id: int, username: str) -> list[dict] | Failure:
    """The user's room summaries as the protocol has them (GET /api/rooms, the page), or
    rate_limited."""
    refused = listing_allowed(user_id)
    if refused is not None:
        return refused
    return with_peer_online(room_summaries(user_id, username))


def room_added(user_id: int, username: str, room_id: int, *, skip_sender: bool = False) -> None:
    """Queue room_added (the room's Summary) to every connection of the user."""
    [summary] = room_summaries(user_id, username, room_id) or [None]
    if summary is None:
        return
    with_peer_online([summary])
    outbox.emit("room_added", summary, outbox.user_channel(user_id), skip_sender=skip_sender)


def directory(prefix: object, limit: object) -> dict | Failure:
    """Public rooms whose name starts with ``prefix`` (case-insensitive), most recently
    active first: {rooms: [{room, members, topic, last_message_at}]}. Private rooms are
    never listed."""
    if prefix is None:
        prefix = ""
    if not isinstance(prefix, str) or not rules.ROOM_PREFIX_RE.fullmatch(prefix):
        return invalid("q: must be the start of a room name (letters, digits, '-', '_', '.')")
    limit = rules.check_limit(limit, rules.DIRECTORY_SIZE, rules.MAX_PAGE_SIZE)
    if isinstance(limit, Failure):
        return limit
    # LIKE wildcards in a name are literal here: "_" matches only "_".
    pattern = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    members = (
        select(func.count())
        .where(memberships.c.room_id == sql.rooms.c.id)
        .correlate(sql.rooms)
        .scalar_subquery()
    )
    newest = _NEWEST_ID.label("newest")
    ranked = (
        select(sql.rooms.c.name, members.label("members"), sql.rooms.c.topic, newest)
        .where(
            sql.rooms.c.kind == "public", func.lower(sql.rooms.c.name).like(pattern, escape="\\")
        )
        .order_by(newest.desc().nulls_last(), sql.rooms.c.name)
        .limit(limit)
        .subquery()
    )
    rows = sql.connection().execute(
        select(ranked.c.name, ranked.c.members, ranked.c.topic, messages.c.created_at)
        .outerjoin(messages, messages.c.id == ranked.c.newest)
        .order_by(ranked.c.newest.desc().nulls_last(), ranked.c.name)
    )
    return {
        "rooms": [
            {"room": name, "members": count, "topic": topic, "last_message_at": isoformat(created)}
            for name, count, topic, created in rows
        ]
    }
