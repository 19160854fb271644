"""Statements of per-event paths that PostgreSQL parses and plans once per pooled
connection (``chat.sql.Prepared``): a join runs its three as EXECUTEs, prepares each once
per connection, survives a server that forgot them, and runs as plain statements on
SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import PickleType, event, literal_column, select

from chat import sql
from chat.sql import P, Prepared, users
from models import db
from tests.helpers import join, send


@pytest.fixture
def raw_statements(app):
    """What the events engine sends, as sent (EXECUTE and PREPARE included)."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engines["events"]

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_a_join_runs_its_statements_prepared_and_prepares_each_once(connect, app, raw_statements):
    alice, bob, carol = connect("alice"), connect("bob"), connect("carol")
    join(alice, "r")
    send(alice, "r", "hello")
    raw_statements.clear()
    first = join(bob, "r")
    assert first["room"] == "r"
    if db_dialect(app) == "sqlite":
        assert not [s for s in raw_statements if s.startswith(("PREPARE", "EXECUTE"))]
        return
    executed = [s for s in raw_statements if s.startswith("EXECUTE chat_")]
    assert len(executed) == 3 and len(raw_statements) <= 6, raw_statements
    raw_statements.clear()
    # The next join (one connection in the pool of a test client) prepares nothing again.
    assert join(carol, "r")["room"] == "r"
    assert [s.split("(")[0] for s in raw_statements] == [s.split("(")[0] for s in executed]


@pytest.fixture
def room_and_pool(connect, app):
    """alice said hello in r; bob is connected. The events engine's idle pooled
    connections (none on SQLite, whose statements are never prepared)."""
    alice, bob = connect("alice"), connect("bob")
    join(alice, "r")
    send(alice, "r", "hello")
    with app.app_context():
        engine = db.engines["events"]
    records = list(engine.pool._pool.queue) if engine.dialect.name == "postgresql" else []
    return bob, records


def test_a_statement_the_server_forgot_is_prepared_again(room_and_pool):
    bob, records = room_and_pool
    # Every pooled connection forgets what it prepared (as DISCARD ALL would do), while
    # the pool still believes it holds them.
    for record in records:
        cursor = record.dbapi_connection.cursor()
        cursor.execute("DEALLOCATE ALL")
        cursor.close()
    assert join(bob, "r")["room"] == "r"
    history = bob.get_received()
    replay = [payload for e in history if e["name"] == "rejoin_room" for payload in e["args"]]
    assert [m["message"] for m in replay[0]["messages"]] == ["hello"]


def test_a_statement_the_server_holds_already_is_not_prepared_twice(room_and_pool):
    bob, records = room_and_pool
    # The pool forgets what its connections prepared (as when a pooler between hands over
    # a server connection that holds them), while the server still holds them.
    for record in records:
        record.info.pop("chat_prepared", None)
    assert join(bob, "r")["room"] == "r"
    assert send(bob, "r", "again")["ok"]


def test_a_prepared_statement_answers_as_the_plain_one(app):
    # A literal % in the SQL itself, besides the parameters.
    tagged = (users.c.username + literal_column("'%'")).label("tagged")
    statement = select(users.c.id, users.c.username, tagged).where(
        users.c.username.like(P("pattern")), users.c.id > P("after")
    )
    prepared = Prepared(statement)
    try:
        with app.app_context():
            for name in ("ann", "ben", "100%"):
                sql.run(users.insert().values(username=name, password_hash="x", created_at=now()))
            for pattern in ("%n", "100%", "b%"):
                plain = sql.run(statement, pattern=pattern, after=0).all()
                assert sql.run(prepared, pattern=pattern, after=0).all() == plain
                assert plain and all(r.tagged == r.username + "%" for r in plain)
    finally:
        del Prepared.named[prepared.name]


@pytest.mark.parametrize(
    "build, value",
    [
        # An IN list expanded per call: its SQL differs with the list's length.
        (lambda: users.c.id.in_(P("ids", expanding=True)), [1, 2]),
        # A value its type converts before it is sent (pickled), which EXECUTE would skip.
        (lambda: P("ids", type_=PickleType) == P("ids", type_=PickleType), [1, 2]),
    ],
    ids=["expanding", "converted"],
)
def test_a_statement_that_cannot_be_prepared_says_so(app, build, value):
    refused = Prepared(select(users.c.id).where(build()))
    try:
        with app.app_context():
            if db_dialect(app) == "sqlite":
                assert sql.run(refused, ids=value).all() == []
                return
            with pytest.raises(TypeError, match="cannot take"):
                sql.run(refused, ids=value)
    finally:
        del Prepared.named[refused.name]


def db_dialect(app) -> str:
    with app.app_context():
        return db.engines["events"].dialect.name


def now():
    from models import utcnow

    return utcnow()
