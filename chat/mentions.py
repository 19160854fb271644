"""Mentions: who ``@name`` in a message names, the ``mentioned`` event, and a user's
mentions across rooms (``GET /api/mentions``).

``@name`` mentions a user when the ``@`` starts the text or follows a character that is
not a username character, and the longest run of username characters after it (with
trailing ``.``, ``-``, ``_`` dropped, one by one, until it names someone) is, ignoring
case, a member of the room when the message is written (in a direct room: the peer),
other than the author. ``@`` in inline code or a fenced code block is text. The message
keeps the names (``Message.mentions``); a row per mentioned user serves their unread
counts and their list of mentions.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict

from pydantic import Field
from sqlalchemy import and_, exists, func, or_, select

from chat import history, outbox, rooms, rules, sql
from chat.errors import Failure
from chat.payloads import Message
from chat.presence import Connection, OpenRoom
from chat.protocol import Shape, server_event
from chat.rooms import UserRef
from chat.sql import P, bans, memberships, mentions, messages, messages_query, users


@server_event("mentioned")
class Mentioned(Shape):
    """A message mentions you (a new one, or an edit that newly does), whether or not you
    have its room open or watched."""

    room: str
    message: Message = Field(description="The message as it is now")


# --- finding @names in a text --------------------------------------------------------

_NAME_CHARS = "A-Za-z0-9_.-"
_AT_NAME = re.compile(f"(?<![{_NAME_CHARS}])@([{_NAME_CHARS}]+)")
_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_FENCE_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")
_BLANK_LINE = re.compile(r"\n[ \t]*(?=\n)")
_BACKTICKS = re.compile(r"`+")


def _blank(text: str) -> str:
    return re.sub(r"[^\n]", " ", text)


def _without_fenced_code(text: str) -> str:
    """The text with fenced code blocks (``` or ~~~, CommonMark's rules; an unclosed one
    runs to the end) blanked out, every other character where it was."""
    lines = text.split("\n")
    fence = None
    for i, line in enumerate(lines):
        if fence is not None:
            match = _FENCE_CLOSE.fullmatch(line)
            if match and match[1][0] == fence[0] and len(match[1]) >= len(fence):
                fence = None
            lines[i] = _blank(line)
            continue
        match = _FENCE_OPEN.fullmatch(line)
        if match and not (match[1][0] == "`" and "`" in match[2]):
            fence = match[1]
            lines[i] = _blank(line)
    return "\n".join(lines)


def _without_code_spans(block: str) -> str:
    """One paragraph with its code spans blanked out: a run of n backticks (not escaped
    by a backslash) opens one that the next run of exactly n backticks closes; without
    such a run, the backticks are text."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(block)]
    by_length: dict[int, list[int]] = defaultdict(list)
    for index, (start, end) in enumerate(runs):
        by_length[end - start].append(index)
    out, done, i = [], 0, 0
    while i < len(runs):
        start, end = runs[i]
        escaped = start
        while escaped and block[escaped - 1] == "\\":
            escaped -= 1
        if (start - escaped) % 2:  # "\`": that backtick is text, the rest of the run may open
            start += 1
            if start == end:
                i += 1
                continue
        same = by_length[end - start]
        # The closing run: the next one of exactly this length (an escaped run's own
        # index may be missing from ``same`` when it shrank; bisect finds the next).
        at = bisect.bisect_right(same, i)
        if at == len(same):
            i += 1
            continue
        close = same[at]
        out += [block[done:start], _blank(block[start : runs[close][1]])]
        done, i = runs[close][1], close + 1
    out.append(block[done:])
    return "".join(out)


def outside_code(text: str) -> str:
    """The text with inline code and fenced code blocks blanked out (same length)."""
    text = _without_fenced_code(text)
    parts, done = [], 0
    for blank in _BLANK_LINE.finditer(text):  # code spans never cross a blank line
        parts += [_without_code_spans(text[done : blank.start()]), blank[0]]
        done = blank.end()
    parts.append(_without_code_spans(text[done:]))
    return "".join(parts)


def candidates(text: str) -> list[list[str]]:
    """For each ``@`` that may mention someone, the lower-cased names it may mean,
    longest first (trailing ``.``, ``-``, ``_`` dropped one by one), in text order."""
    if "@" not in text:
        return []
    found = []
    for match in _AT_NAME.finditer(outside_code(text)):
        run = match[1].lower()
        # run[:k] for every k from the whole run down to the run without its trailing
        # punctuation: those of a username's length (3-32) are the names it may mean.
        shortest = max(len(run.rstrip("._-")), rules.MIN_USERNAME_LENGTH)
        longest = min(len(run), rules.MAX_USERNAME_LENGTH)
        if longest >= shortest:
            found.append([run[:k] for k in range(longest, shortest - 1, -1)])
    return found


def _pick(found: list[list[str]], known: dict[str, UserRef]) -> list[UserRef]:
    """Who the text mentions, given the users it may name by lower-cased name: in order of
    first appearance, each once."""
    picked: dict[int, UserRef] = {}
    for names in found:
        user = next((known[name] for name in names if name in known), None)
        if user is not None and user.id not in picked:
            picked[user.id] = user
    return list(picked.values())


# --- resolving names to users --------------------------------------------------------

_IS_MEMBER = exists().where(memberships.c.room_id == P("rid"), memberships.c.user_id == users.c.id)
_IS_BANNED = exists().where(bans.c.room_id == P("rid"), bans.c.user_id == users.c.id)
_NAMED = select(users.c.id, users.c.username).where(
    func.lower(users.c.username).in_(P("names", expanding=True)), users.c.id != P("uid")
)
# Members of the room with one of these names, and (an edit keeps them) users the message
# mentioned before, unless banned from the room since (a banned user is mentioned there
# no more; a member never is banned).
_MEMBERS_NAMED = _NAMED.where(
    or_(_IS_MEMBER, and_(func.lower(users.c.username).in_(P("kept", expanding=True)), ~_IS_BANNED))
)
_PEER = select(users.c.id, users.c.username).where(users.c.id == P("uid"))


def resolve(
    me: Connection, room: OpenRoom, text: str, before: tuple[str, ...] = ()
) -> list[UserRef]:
    """The users ``text`` mentions, in order of first appearance: members of the room (in
    a direct room, the peer), and users in ``before`` (names a message being edited
    mentioned). No query for a text without a possible mention."""
    found = candidates(text)
    names = {name for names in found for name in names} - {me.username.lower()}
    if not names:
        return []
    if room.peer_id is not None:
        peer = rules.other_participant(room.name, me.username)
        if peer not in names:
            return []
        row = sql.run(_PEER, uid=room.peer_id).first()
        known = {row.username.lower(): UserRef(row.id, row.username)} if row else {}
    else:
        kept = sorted(names & {name.lower() for name in before})
        rows = sql.run(_MEMBERS_NAMED, names=sorted(names), kept=kept, rid=room.id, uid=me.user_id)
        known = {row.username.lower(): UserRef(row.id, row.username) for row in rows}
    return _pick(found, known)


def names(mentioned: list[UserRef]) -> str | None:
    """The stored form of Message.mentions (``messages.mention_names``)."""
    return " ".join(user.username for user in mentioned) or None


# --- recording and telling -----------------------------------------------------------


def record(room: OpenRoom, message: dict, mentioned: list[UserRef]) -> None:
    """Store the mentions of a new message and queue ``mentioned`` to each user."""
    if not mentioned:
        return
    rows = [{"message_id": message["id"], "user_id": u.id, "room_id": room.id} for u in mentioned]
    sql.connection().execute(mentions.insert(), rows)
    _tell(mentioned, room, message)


def rerecord(
    room: OpenRoom, message: dict, mentioned: list[UserRef], before: tuple[str, ...]
) -> None:
    """An edit changed who ``message`` mentions: drop the rows of users it no longer
    mentions, add the new ones, and queue ``mentioned`` to those only."""
    if before:
        sql.run(_FORGET_OTHERS, mid=message["id"], keep=[user.id for user in mentioned])
    earlier = {name.lower() for name in before}
    new = [user for user in mentioned if user.username.lower() not in earlier]
    if not new:
        return
    rows = [{"message_id": message["id"], "user_id": u.id, "room_id": room.id} for u in new]
    # Two edits at once may both add a user: the one whose row is stored tells them.
    added = _add(rows)
    _tell([user for user in new if user.id in added], room, message)


_FORGET_OTHERS = mentions.delete().where(
    mentions.c.message_id == P("mid"), mentions.c.user_id.not_in(P("keep", expanding=True))
)
_ADD = sql.per_dialect(
    lambda insert: insert(mentions).on_conflict_do_nothing().returning(mentions.c.user_id)
)


def _add(rows: list[dict]) -> set[int]:
    """Insert mention rows not there yet: the user ids of those inserted."""
    statement = _ADD[sql.dialect()]
    return set(sql.connection().execute(statement, rows).scalars())


def _tell(users_: list[UserRef], room: OpenRoom, message: dict) -> None:
    news = {"room": room.name, "message": message}
    for user in users_:
        outbox.emit("mentioned", news, outbox.user_channel(user.id))


# --- a user's mentions ---------------------------------------------------------------

# Rooms the user can still read (the read rule, rules.can_read, in SQL): a direct room of
# theirs (even one taken off their list), a public room they are not banned from, a
# private room they are a member of.
_READABLE = rooms.readable_clause(sql.rooms.c.id, sql.rooms.c.kind, P("uid"))
_MINE = (
    messages_query()
    .add_columns(sql.rooms.c.name.label("room"))
    .join(mentions, mentions.c.message_id == messages.c.id)
    .join(sql.rooms, sql.rooms.c.id == messages.c.room_id)
    .where(mentions.c.user_id == P("uid"), messages.c.deleted.is_(False), _READABLE)
    .order_by(mentions.c.message_id.desc())
    .limit(P("limit"))
)
_MINE_BEFORE = _MINE.where(mentions.c.message_id < P("before_id"))


def mentions_page(user_id: int, before_id: object, limit: object) -> dict | Failure:
    """The user's mentions across the rooms they can read, newest first: {messages,
    has_more}, older than before_id when given (GET /api/mentions)."""
    before_id = rules.check_id(before_id, "before_id")
    if isinstance(before_id, Failure):
        return before_id
    limit = rules.check_limit(limit, rules.PAGE_SIZE, rules.MAX_PAGE_SIZE)
    if isinstance(limit, Failure):
        return limit
    if before_id is None:
        rows = sql.run(_MINE, uid=user_id, limit=limit + 1).all()
    else:
        rows = sql.run(_MINE_BEFORE, uid=user_id, before_id=before_id, limit=limit + 1).all()
    return {"messages": history.message_dicts(rows[:limit]), "has_more": len(rows) > limit}
