"""Search: the messages a user may read that match a query (``GET /api/search``).

One design on both databases, so both give the same answers: Python folds and splits a
message's text into words once, when it is written (``searchtext.py``), and stores them
in ``messages.search_text``; each database indexes those words as they are, and Python
turns a query into the same words.

- Matching: every word of the query must be the start of a word of the message (a
  prefix); a quoted phrase, or a word that folds into several (``e-mail``, ``東京tower``),
  must match words one after another. A query's unspaced run is its bigrams, matched
  exactly, one after another (a substring of the run); one character alone is a prefix.

The index: PostgreSQL, a GIN index over ``array_to_tsvector(string_to_array(search_text,
' '))`` (the stored words as lexemes: no text search parser, whose word boundaries depend
on the database's locale, and no positions), which finds the messages holding every word;
a phrase is then checked on those rows by a LIKE (cheap, first) and a regular expression
on ``search_text``. SQLite, an FTS5 table with ``messages`` as its external content, kept
in step by triggers (its ``ascii`` tokenizer splits the stored words exactly where Python
did), which matches phrases itself. See migration ``0005_search``.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from typing import Annotated

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    ARRAY,
    Integer,
    Text,
    all_,
    and_,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from chat import rooms, rules, sql
from chat.errors import Failure, invalid, rate_limited
from chat.fields import MessageId, RoomName, Username
from chat.history import message_dicts
from chat.payloads import Message
from chat.protocol import Shape, refuse, rule
from chat.ratelimit import moving_window
from chat.searchtext import tokens
from chat.sql import P, memberships, messages, messages_query

# --- the query -----------------------------------------------------------------------

MAX_QUERY_LENGTH = 200
PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
_QUOTES = re.compile('["\u201c\u201d\u201e]')  # " and the typographic ones phones type


@dataclass(frozen=True)
class Term:
    """Tokens that must match one after another, each (token, prefix): a prefix matches
    the start of a token, the others the whole token."""

    words: tuple[tuple[str, bool], ...]


def _term(found: list[tuple[str, int]]) -> Term | None:
    """The tokens of a quoted phrase or a word of a query as one term. A spaced word is
    a prefix. An unspaced run is its bigrams, matched whole; the character that ends it
    is needed only when something follows in the phrase (the run must end there), and
    is a prefix when it is the whole run and ends the phrase."""
    words = []
    for i, (token, run) in enumerate(found):
        last = i == len(found) - 1
        ends_run = run and len(token) == 1
        if not run:
            words.append((token, True))
        elif not ends_run:
            words.append((token, False))
        elif run == 1:
            words.append((token, last))
        elif not last:
            words.append((token, False))
    return Term(tuple(words)) if words else None


def parse_query(q: str) -> list[Term]:
    """The terms of a query, each of which a message must match: every word, or quoted
    phrase (an unclosed quote runs to the end). Anything that is not a letter, a mark or a
    digit separates words, and is never syntax."""
    terms: list[Term] = []
    for i, part in enumerate(_QUOTES.split(q)):
        quoted = i % 2 == 1
        for chunk in [part] if quoted else part.split():
            term = _term(tokens(chunk))
            if term is not None and term not in terms:
                terms.append(term)
    return terms


def tsquery(terms: list[Term]) -> str:
    """Every token of the terms as PostgreSQL's tsquery text, all of them needed (cast,
    never parsed: no other word boundaries, no stop words)."""
    lexemes = dict.fromkeys(
        (token.replace("\\", "\\\\").replace("'", "''"), prefix)  # tokens hold neither
        for term in terms
        for token, prefix in term.words
    )
    return " & ".join(f"'{token}':*" if prefix else f"'{token}'" for token, prefix in lexemes)


def phrase_patterns(terms: list[Term]) -> tuple[list[str], list[str]]:
    """For PostgreSQL, whose index has no word positions: a LIKE pattern and a regular
    expression per term of several tokens, which ``' ' || search_text`` must match (the
    LIKE is a cheap first sieve; the expression says the tokens come one after another).
    Tokens are letters, marks and digits: nothing in them is LIKE or regex syntax."""
    likes, regexes = [], []
    for term in terms:
        if len(term.words) < 2:
            continue
        like, regex = "%", ""
        for i, (token, prefix) in enumerate(term.words):
            like += f" {token}" + ("%" if prefix else "")
            regex += f" {re.escape(token)}"
            if i < len(term.words) - 1:
                regex += "[^ ]*" if prefix else ""
            elif not prefix:  # a whole token at the end: the text ends or a space follows
                regex += "( |$)"
        if not like.endswith("%"):
            like += "%"
        likes.append(like)
        regexes.append(regex)
    return likes, regexes


def fts5_query(terms: list[Term]) -> str:
    """The terms as an FTS5 query: each a phrase of quoted strings, all of them needed."""
    return " AND ".join(
        " + ".join(
            '"' + token.replace('"', '""') + '"' + ("*" if prefix else "")
            for token, prefix in term.words
        )
        for term in terms
    )


def _query_text(value: str) -> str:
    if not 1 <= len(value) <= MAX_QUERY_LENGTH:
        raise refuse(f"must be 1-{MAX_QUERY_LENGTH} characters")
    return value


QueryText = rule(_query_text, minLength=1, maxLength=MAX_QUERY_LENGTH)


class SearchQuery(BaseModel):
    """``GET /api/search``'s query string: strict types, unknown arguments ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)

    q: QueryText
    room: RoomName | None = None
    author: Username | None = Field(None, alias="from")
    before_id: MessageId | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] | None = None


class SearchPage(Shape):
    """What ``GET /api/search`` answers: the page, newest first."""

    messages: list[Message]
    has_more: bool = Field(description="older matches exist: ask again with before_id")


# --- the statements ------------------------------------------------------------------

_FTS = table("messages_fts", column("rowid", Integer))
# Written inline, not bound: the index serves this very expression only.
_SPACE = literal_column("' '", Text)
_SPACED = (_SPACE + messages.c.search_text).self_group()
_MATCHES = {
    "postgresql": and_(
        # The index's expression, as migration 0005 wrote it.
        func.array_to_tsvector(func.string_to_array(messages.c.search_text, _SPACE)).bool_op("@@")(
            cast(P("query"), TSQUERY)
        ),
        _SPACED.like(all_(P("likes", type_=ARRAY(Text)))),
        _SPACED.op("~")(all_(P("regexes", type_=ARRAY(Text)))),
    ),
    "sqlite": literal_column("messages_fts").bool_op("MATCH")(P("query")),
}


@functools.cache
def _statement(dialect: str, by_author: bool):
    """The search, built once per shape: newest first, ``limit`` rows up to ``up_to``, in
    the rooms ``rooms``, by one author (``author``) or any."""
    if dialect == "sqlite":  # the FTS5 table gives its matches newest first
        key = _FTS.c.rowid
        query = messages_query().join(_FTS, _FTS.c.rowid == messages.c.id)
    else:
        key = messages.c.id
        query = messages_query()
    query = (
        query.add_columns(sql.rooms.c.name.label("room"))
        .join(sql.rooms, sql.rooms.c.id == messages.c.room_id)
        .where(
            _MATCHES[dialect],
            # A list, not a subquery: PostgreSQL then combines the (room_id, id) index
            # with the search index, or walks the newest ids, whichever is cheaper.
            messages.c.room_id.in_(P("rooms", expanding=True)),
            key <= P("up_to"),
            messages.c.deleted.is_(False),
        )
    )
    if by_author:
        query = query.where(messages.c.user_id == P("author"))
    return query.order_by(key.desc()).limit(P("limit"))


_ROOMS_OF = select(memberships.c.room_id).where(memberships.c.user_id == P("uid"))


# --- searching -----------------------------------------------------------------------

# Each started SLOW_SEARCH seconds a search took counts as one more search (up to
# MAX_CHARGE more): at 30 per 10 s, nobody keeps the database busy with slow ones (a query
# of 26 one-letter prefixes took ~0.4 s over 10^6 messages here).
SLOW_SEARCH = 0.1
MAX_CHARGE = 30

NOTHING_TO_SEARCH = invalid(
    "q: nothing to search for (give a word, or characters of a script such as Chinese)"
)


def init_app(app) -> None:
    """Searches per user: a person's pace passes, nobody makes the database scan on
    repeat (``SEARCH_RATE_LIMIT``, counted in Redis when several processes serve)."""
    app.extensions["search_limit"] = moving_window(
        app.config["SEARCH_RATE_LIMIT"],
        app.extensions["redis"],
        app.config["SOCKETIO_CHANNEL"],
        "search",
    )


def search(user_id: int, username: str, query: SearchQuery) -> dict | Failure:
    """The messages this user may read that match the query, newest first:
    {messages, has_more} (``SearchPage``)."""
    terms = parse_query(query.q)
    if not terms:
        return NOTHING_TO_SEARCH
    wait = current_app.extensions["search_limit"].hit(user_id)
    if isinstance(wait, float):
        return rate_limited("too many searches, slow down", wait)
    up_to = rules.MAX_ID if query.before_id is None else query.before_id - 1
    params: dict = {"up_to": up_to}
    if query.room is not None:
        found = rooms.readable(query.room, rooms.UserRef(user_id, username))
        if isinstance(found, Failure):
            return found
        params["rooms"] = [found.id]
    else:  # the user's rooms (a banned user holds no membership of that room)
        params["rooms"] = sql.run(_ROOMS_OF, uid=user_id).scalars().all()
        if not params["rooms"]:
            return {"messages": [], "has_more": False}
    if query.author is not None:
        author = rooms.lookup_user(query.author)
        if author is None:
            return {"messages": [], "has_more": False}
        params["author"] = author.id
    dialect = sql.dialect()
    if dialect == "postgresql":
        params["query"] = tsquery(terms)
        params["likes"], params["regexes"] = phrase_patterns(terms)
    else:
        params["query"] = fts5_query(terms)
    limit = query.limit or PAGE_SIZE
    statement = _statement(dialect, query.author is not None)
    started = time.monotonic()
    rows = sql.run(statement, **params, limit=limit + 1).all()
    # A search that kept the database busy counts as several: one more per SLOW_SEARCH.
    for _ in range(min(int((time.monotonic() - started) / SLOW_SEARCH), MAX_CHARGE)):
        current_app.extensions["search_limit"].hit(user_id)
    return {
        "messages": message_dicts(rows[:limit]),
        "has_more": len(rows) > limit,
    }
