"""Every room at a glance: a user's room summaries (GET /api/rooms, watch_rooms,
room_added) and the directory of public rooms."""

from __future__ import annotations

from sqlalchemy import func, literal, select

from chat import outbox, presence, rooms, rules, sql
from chat.errors import Failure, invalid
from chat.history import message_dicts
from chat.sql import NEWEST_FIRST, P, in_room, memberships, mentions, messages, messages_query
from models import isoformat

UNREAD_CAP = 1000
_UNREAD = (
    select(func.count())
    .select_from(
        select(literal(1))
        .where(
            *in_room(sql.rooms.c.id),
            messages.c.id > func.coalesce(memberships.c.last_read_id, 0),
            messages.c.user_id != P("uid"),
            messages.c.deleted.is_(False),
        )
        .correlate(sql.rooms, memberships)
        .limit(UNREAD_CAP)
        .subquery()
    )
    .correlate(sql.rooms, memberships)
    .scalar_subquery()
)
# The user's mentions in undeleted messages newer than their last read id (capped the same).
_MENTIONS = (
    select(func.count())
    .select_from(
        select(literal(1))
        .join_from(mentions, messages, messages.c.id == mentions.c.message_id)
        .where(
            mentions.c.user_id == P("uid"),
            mentions.c.room_id == sql.rooms.c.id,
            mentions.c.message_id > func.coalesce(memberships.c.last_read_id, 0),
            messages.c.deleted.is_(False),
        )
        .correlate(sql.rooms, memberships)
        .limit(UNREAD_CAP)
        .subquery()
    )
    .correlate(sql.rooms, memberships)
    .scalar_subquery()
)
_NEWEST_ID = (
    select(messages.c.id)
    .where(*in_room(sql.rooms.c.id))
    .order_by(*NEWEST_FIRST)
    .limit(1)
    .correlate(sql.rooms)
    .scalar_subquery()
)
_SUMMARIES = (
    select(sql.rooms.c.name, sql.rooms.c.kind, _UNREAD, _MENTIONS, _NEWEST_ID)
    .join_from(sql.rooms, memberships, memberships.c.room_id == sql.rooms.c.id)
    .where(memberships.c.user_id == P("uid"))
    .order_by(_NEWEST_ID.desc().nulls_last(), sql.rooms.c.name)  # most recently active first
)
_SUMMARY_OF_ONE = _SUMMARIES.where(sql.rooms.c.id == P("rid"))


def room_summaries(user_id: int, username: str, room_id: int | None = None) -> list[dict]:
    """The user's rooms (or one of them) with unread counts, their newest message and, for
    a direct room, the peer: [{room, kind, unread, mentions, last_message, peer?}], plus
    ``peer_id`` for the caller's presence lookup (not part of the wire format;
    ``with_peer_online`` turns it into ``peer_online``).

    Unread: others' undeleted messages newer than the user's last read id, counted up to
    UNREAD_CAP (so a room with a million unread costs what one with a thousand does);
    mentions: the user's mentions among them, counted the same way. At most four queries
    however many rooms: rooms with counts, their newest messages, their reactions, the
    peers.
    """
    if room_id is None:
        rows = sql.run(_SUMMARIES, uid=user_id).all()
    else:
        rows = sql.run(_SUMMARY_OF_ONE, uid=user_id, rid=room_id).all()
    newest_ids = [newest_id for *_, newest_id in rows if newest_id is not None]
    last = {}
    if newest_ids:
        query = (
            messages_query()
            .add_columns(sql.rooms.c.name.label("room"))
            .join(sql.rooms, sql.rooms.c.id == messages.c.room_id)
            .where(messages.c.id.in_(newest_ids))
        )
        found = sql.connection().execute(query).all()
        last = {message["id"]: message for message in message_dicts(found)}
    # The peer comes from the room's name, so a peer who removed the room still shows.
    peer_names = {
        name: rules.other_participant(name, username) for name, kind, *_ in rows if kind == "direct"
    }
    peers = rooms.users_by_name(list(peer_names.values()))
    summaries = []
    for name, kind, count, mentioned, newest_id in rows:
        summary = {
            "room": name,
            "kind": kind,
            "unread": count,
            "mentions": mentioned,
            "last_message": last[newest_id] if newest_id else None,
        }
        if kind == "direct":
            peer = peers.get(peer_names[name])
            summary["peer"] = peer.username if peer else peer_names[name]
            summary["peer_id"] = peer.id if peer else None
        summaries.append(summary)
    return summaries


def with_peer_online(summaries: list[dict]) -> list[dict]:
    """Fill in peer_online for direct rooms (and drop the internal peer_id)."""
    peer_ids = [s["peer_id"] for s in summaries if s.get("peer_id")]
    online = presence.current().users_online(peer_ids)
    for summary in summaries:
        if "peer_id" in summary:
            summary["peer_online"] = summary.pop("peer_id") in online
    return summaries


def room_list(user_id: int, username: str) -> list[dict]:
    """The user's room summaries as the protocol has them (GET /api/rooms, the page)."""
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
    active first: {rooms: [{room, members, last_message_at}]}."""
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
        select(sql.rooms.c.name, members.label("members"), newest)
        .where(
            sql.rooms.c.kind == "public", func.lower(sql.rooms.c.name).like(pattern, escape="\\")
        )
        .order_by(newest.desc().nulls_last(), sql.rooms.c.name)
        .limit(limit)
        .subquery()
    )
    rows = sql.connection().execute(
        select(ranked.c.name, ranked.c.members, messages.c.created_at)
        .outerjoin(messages, messages.c.id == ranked.c.newest)
        .order_by(ranked.c.newest.desc().nulls_last(), ranked.c.name)
    )
    return {
        "rooms": [
            {"room": name, "members": count, "last_message_at": isoformat(created)}
            for name, count, created in rows
        ]
    }
