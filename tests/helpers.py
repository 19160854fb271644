"""Small helpers the tests share."""

from __future__ import annotations

import contextlib
import re
import threading

from sqlalchemy import event, text


def csrf_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page)[1]


def events(sock, name: str | None = None) -> list:
    """Drain what the client received: [(name, payload)], or payloads of one event."""
    received = [(e["name"], e["args"][0] if e["args"] else None) for e in sock.get_received()]
    if name is None:
        return received
    return [payload for event, payload in received if event == name]


def join(sock, room: str, **extra) -> dict:
    ack = sock.emit("joined_room", {"room": room, **extra}, callback=True)
    assert ack["ok"], ack
    return ack


def send(sock, room: str, message: str, **extra) -> dict:
    return sock.emit("send_message", {"room": room, "message": message, **extra}, callback=True)


@contextlib.contextmanager
def statements(app):
    """The SQL statements every engine of the app runs inside the block. A prepared one
    (chat/sql.py's ``Prepared``) shows as the SQL it runs; its PREPARE, once per pooled
    connection, is left out (an event's own round trips are counted)."""
    from chat.sql import Prepared
    from models import db

    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if statement.startswith("PREPARE chat_"):
            return
        if statement.startswith("EXECUTE chat_"):
            statement = Prepared.named[statement.split()[1].split("(")[0]].text
        seen.append(statement)

    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def run_sql(app, statement: str, **params) -> list:
    """Run SQL on the app's database (a seed or a check): the rows, if it returns any."""
    from models import db

    with app.app_context():
        result = db.session.execute(text(statement), params)
        rows = result.all() if result.returns_rows else []
        db.session.commit()
    return rows


def in_another_thread(work) -> None:
    """Run ``work`` (another client's event) in a thread of its own, as a concurrent
    event would run, and wait for it: each event has its own app context."""
    failures = []

    def run():
        try:
            work()
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and not failures, failures
