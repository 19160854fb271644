"""The Python client package (clients/python, ``chatclient``) against real server
processes (serve.py under eventlet and gevent; SQLite, and PostgreSQL when
TEST_DATABASE_URL is set): signing in, rooms, sends with retries, history both ways,
reactions, replies, typing, watching, and reconnects without gaps or duplicates (after
a network cut, a server-side disconnect and a server restart); the CLI and the example
bot as subprocesses. Every event and ack the clients receive is checked against its
published schema."""

from __future__ import annotations

import contextlib
import datetime
import itertools
import os
import re
import socket
import subprocess
import sys
import threading
import time
import typing
from pathlib import Path

import chatclient
import pytest
import requests
from chatclient import ChatClient, ChatError, events
from chatclient import client as client_module
from chatclient import link as link_module
from chatclient.stream import RoomLog

from chat import export
from chat.errors import HTTP_STATUS
from conformance.kit import check_ack, check_event
from tests.servers import ROOT, Server, own_database

PASSWORD = "correct horse battery"
CLIENT_ROOT = ROOT / "clients" / "python"
# Per user: enough for the tests' bursts, few enough that one test meets the limit.
RATE_LIMIT = "30/2seconds"
_names = itertools.count(1)


def name(prefix: str) -> str:
    """A username (or room) no other test of the module uses."""
    return f"{prefix}{next(_names)}"


# --- servers -------------------------------------------------------------------------

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@contextlib.contextmanager
def running_server(tmp: Path, mode: str, backend: str, label: str, **env: str):
    with own_database(tmp, f"client_{label}", backend) as url:
        server = Server(url, tmp / "server.log", ASYNC_MODE=mode, RATE_LIMIT=RATE_LIMIT, **env)
        server.migrate()
        server.start()
        try:
            yield server
        finally:
            server.stop()
        log = server.log_path.read_text()
        assert "Traceback" not in log, log[-3000:]


SERVERS = [(mode, backend) for backend in BACKENDS for mode in ("eventlet", "gevent")]


@pytest.fixture(scope="module", params=SERVERS, ids=lambda p: "-".join(p))
def server(request, tmp_path_factory):
    mode, backend = request.param
    tmp = tmp_path_factory.mktemp(f"client-{mode}-{backend}")
    with running_server(tmp, mode, backend, f"{mode}_m") as found:
        yield found


# --- clients -------------------------------------------------------------------------


class Recorder:
    """What a ChatClient's handlers got, in order; every server event checked against
    its schema."""

    def __init__(self, client: ChatClient) -> None:
        self.client = client
        self.got: list[tuple[str, typing.Any]] = []
        self.changed = threading.Condition()
        client.on("*", self._record)

    def _record(self, event: str, data: typing.Any) -> None:
        if event in events.SERVER_EVENTS:
            check_event(event, [data])
        with self.changed:
            self.got.append((event, data))
            self.changed.notify_all()

    def all(self, event: str) -> list:
        with self.changed:
            return [data for name, data in self.got if name == event]

    def wait_for(self, check: typing.Callable[[], typing.Any], timeout: float = 15) -> typing.Any:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = check()
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; got {self.got[-20:]}")
                self.changed.wait(left)

    def wait_event(self, event: str, count: int = 1, timeout: float = 15) -> list:
        return self.wait_for(lambda: len(self.all(event)) >= count and self.all(event), timeout)

    def message_ids(self, room: str) -> list[int]:
        return [m["id"] for m in self.all(events.RECIEVE_MESSAGE) if m["room"] == room]


@pytest.fixture(autouse=True)
def acks_checked(monkeypatch):
    """Every ack a ChatClient gets matches its published schema."""
    call = link_module.Link.call

    def checked(self, event, payload, timeout):
        ack = call(self, event, payload, timeout)
        check_ack(event, ack)
        return ack

    monkeypatch.setattr(link_module.Link, "call", checked)


@pytest.fixture
def connect(server):
    made: list[ChatClient] = []

    def make(username: str, **options) -> tuple[ChatClient, Recorder]:
        options.setdefault("password", PASSWORD)
        options.setdefault("register", True)
        options.setdefault("max_backoff", 2.0)
        client = ChatClient(server.url, username=username, **options)
        recorder = Recorder(client)
        made.append(client)
        client.connect(timeout=20)
        return client, recorder

    yield make
    for client in made:
        client.close()


def cut(client: ChatClient) -> None:
    """The network fails under the client: its TCP connection dies, with no goodbye."""
    link = client._link
    assert link is not None
    link.sio.eio.ws.sock.shutdown(socket.SHUT_RDWR)


# --- the pieces, without a server ----------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_room_log_drops_duplicates_and_resumes_before_what_could_still_be_overtaken():
    clock = Clock()
    stream = RoomLog(settle=5, clock=clock)
    assert stream.resume_id() is None  # nothing had: join afresh
    assert [stream.add(i) for i in (10, 11, 11, 10)] == [True, True, False, False]
    clock.now += 10
    assert stream.resume_id() == 11  # settled
    # 13 overtakes 12, and the connection drops before 12 arrives: resuming from 13
    # would skip 12 for good, so the replay starts after the newest settled id.
    assert stream.add(13)
    clock.now += 1
    dropped_at = clock.now
    clock.now += 30  # the reconnect takes a while; nothing arrives meanwhile
    assert stream.resume_id(dropped_at) == 11
    assert [stream.add(i) for i in (12, 13)] == [True, False]  # the replay, de-duplicated
    clock.now += 10
    assert stream.resume_id() == 13


def test_a_room_log_joined_with_a_last_id_resumes_from_it_until_something_settles():
    clock = Clock()
    stream = RoomLog(settle=5, clock=clock)
    stream.note_base(40)
    assert stream.resume_id() == 40
    stream.add(45)
    assert stream.resume_id(clock.now) == 40
    assert stream.top == 45
    stream.reset()  # the server sent the newest page instead of a replay
    assert stream.resume_id() is None
    for i in (100, 101):
        stream.add(i)
    assert stream.resume_id() == 99  # everything is young: replay it all again


def test_a_room_log_keeps_its_newest_ids_and_the_marks_a_resume_needs():
    clock = Clock()
    stream = RoomLog(settle=5, keep=100, clock=clock)
    for i in range(1, 1001):
        stream.add(i)
        clock.now += 0.1
    assert stream.resume_id() == 950  # the newest id 5 s ago
    assert 100 <= len(stream.seen) <= 150 and max(stream.seen) == 1000
    assert len(stream.marks) < 70
    assert not stream.add(1000) and not stream.add(990)


def test_the_typed_events_are_the_published_schemas():
    """chatclient/events.py is generated (a stale one fails test_protocol.py); its types
    say what the schemas say."""
    import json

    assert export.PYTHON_EVENTS in export.documents()
    schemas = {p.stem: json.loads(p.read_text()) for p in (ROOT / "docs/schemas").glob("*.json")}
    assert set(events.SERVER_EVENTS) == {n for n in schemas if n in export.SERVER_EVENTS}
    assert set(events.CLIENT_EVENTS) == set(export.CLIENT_EVENTS)
    for event, model in events.SERVER_EVENT_TYPES.items():
        required = set(schemas[event].get("required", ()))
        assert model.__required_keys__ == required, event
        assert model.__optional_keys__ == set(schemas[event].get("properties", ())) - required
    for event, model in events.ACK_TYPES.items():
        ok = schemas[f"{event}.ack"]["oneOf"][0]["$ref"].rsplit("/", 1)[1]
        assert model.__name__ == ok
        assert model.__required_keys__ == set(schemas[f"{event}.ack"]["$defs"][ok]["required"])
    assert typing.get_type_hints(events.Error)["code"] == events.ErrorCode
    assert typing.get_args(events.ErrorCode) == tuple(HTTP_STATUS)
    assert events.JoinedRoomAck is events.JoinAck and events.RecieveMessage is events.Message


def test_errors_carry_code_message_and_retry_after():
    error = ChatError.from_error(
        {"code": "rate_limited", "message": "slow down", "retry_after": 1.5}, event="x"
    )
    assert (error.code, error.message, error.retry_after, error.event) == (
        "rate_limited",
        "slow down",
        1.5,
        "x",
    )
    assert isinstance(chatclient.ChatTimeout(), ChatError)
    assert chatclient.ChatTimeout().code == "timeout"
    assert chatclient.ChatClosed().code == "closed"


def test_connecting_to_nothing_gives_up_at_its_timeout():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens
        lonely = ChatClient(url, username="nobody", password=PASSWORD, backoff=0.1)
        tries = []
        lonely.on(client_module.RECONNECTING, tries.append)
        with pytest.raises(RuntimeError, match="connect"):
            lonely.send("r", "too early")
        started = time.monotonic()
        with pytest.raises(chatclient.ChatTimeout):
            lonely.connect(timeout=1.5)
        assert 1.4 < time.monotonic() - started < 5
        assert tries and all(t["error"].startswith("unavailable") for t in tries)
        assert lonely.wait(0)  # stopped


# --- against a server ----------------------------------------------------------------


def test_sign_in_register_and_refusals(server, connect):
    user = name("sam")
    assert chatclient.register(server.url, user, PASSWORD) is True
    assert chatclient.register(server.url, user.upper(), PASSWORD) is False  # taken
    token = chatclient.sign_in(server.url, user, PASSWORD)
    assert token["expires_in"] > 0
    with pytest.raises(ChatError) as refused:
        chatclient.sign_in(server.url, user, "not the password")
    assert (refused.value.code, refused.value.status) == ("unauthorized", 401)

    with pytest.raises(ChatError) as refused:
        ChatClient(server.url, username=user, password="not the password").connect(timeout=10)
    assert refused.value.code == "unauthorized"
    with pytest.raises(ChatError) as refused:
        ChatClient(server.url, token="forged").connect(timeout=10)
    assert refused.value.code == "unauthorized"

    with ChatClient(server.url, token=token["token"]) as by_token:
        assert by_token.connected
        assert by_token.join(name("room"))["online"] == [user]
    with pytest.raises(chatclient.ChatClosed):
        by_token.send("anywhere", "after close")


def test_refresh_token_trades_the_token_and_reconnects_with_the_new_one(server, connect):
    user = name("rita")
    token = (
        chatclient.sign_in(server.url, user, PASSWORD)
        if chatclient.register(server.url, user, PASSWORD)
        else None
    )
    assert token is not None
    fresh = chatclient.refresh_token(server.url, token["token"])
    # (within the same second as the old one, the new token may be the same string)
    assert fresh["expires_in"] > 0
    with ChatClient(server.url, token=token["token"]) as client:
        renewed = client.refresh_token()
        assert client._token == renewed["token"]
        assert client.join(name("room"))["online"] == [user]
    with pytest.raises(ChatError) as refused:
        chatclient.refresh_token(server.url, "forged")
    assert (refused.value.code, refused.value.status) == ("unauthorized", 401)


def test_join_send_receive_and_typed_errors(server, connect):
    room = name("lobby")
    alice, alice_got = connect(name("alice"))
    bob, bob_got = connect(name("bob"))
    assert alice.join(room)["online"] == [alice.username]
    assert bob.join(room)["online"] == [alice.username, bob.username]
    alice_got.wait_event(events.JOIN_ROOM_ANNOUNCEMENT)

    ack = alice.send(room, "  hi bob  ", client_id="first")
    assert ack["ok"] is True and isinstance(ack["id"], int)
    [message] = bob_got.wait_event(events.RECIEVE_MESSAGE)
    assert (message["id"], message["message"], message["client_id"]) == (
        ack["id"],
        "hi bob",
        "first",
    )
    assert alice.send(room, "hi bob", client_id="first") == ack  # the same message, once
    assert alice.last_id(room) == ack["id"]

    with pytest.raises(ChatError) as refused:
        alice.send(name("elsewhere"), "not joined")
    assert refused.value.code == "not_in_room" and refused.value.event == "send_message"
    with pytest.raises(ChatError) as refused:
        alice.send(room, "x" * (events.MAX_MESSAGE_LENGTH + 1))
    assert refused.value.code == "too_long"
    with pytest.raises(ChatError) as refused:
        alice.join(peer=alice.username)
    assert refused.value.code == "invalid_payload"

    assert bob.mark_seen(room, ack["id"])["message_id"] == ack["id"]
    assert alice_got.wait_event(events.MESSAGES_SEEN)[0]["username"] == bob.username
    edited = alice.edit(room, ack["id"], "hi bob!")
    assert edited["edited_at"]
    assert alice.delete(room, ack["id"]) == {"ok": True, "id": ack["id"]}
    bob_got.wait_event(events.MESSAGE_DELETED)
    assert bob_got.all(events.MESSAGE_EDITED)[0]["message"] == "hi bob!"
    assert alice.leave(room) == {"ok": True, "room": room}
    assert alice.rooms == []
    time.sleep(0.3)
    assert bob_got.message_ids(room) == [ack["id"]]  # once, however often it was sent


def test_a_send_whose_ack_is_lost_is_retried_with_the_same_client_id(server, connect, monkeypatch):
    room = name("lossy")
    alice, alice_got = connect(name("alice"), ack_timeout=2)
    bob, bob_got = connect(name("bob"))
    alice.join(room)
    bob.join(room)
    call = link_module.Link.call
    lost = []

    def losing(self, event, payload, timeout):
        ack = call(self, event, payload, timeout)
        if event == events.SEND_MESSAGE and len(lost) < 2 and payload["client_id"] not in lost:
            lost.append(payload["client_id"])
            if len(lost) == 1:
                raise link_module.NoAck  # the answer never came
            cut(alice)  # the connection failed before the answer came
            raise link_module.Dropped
        return ack

    monkeypatch.setattr(link_module.Link, "call", losing)
    first = alice.send(room, "one")  # its first answer is lost: asked again
    second = alice.send(room, "two")  # the connection fails before its answer
    assert second["id"] > first["id"]
    page = bob.history(room)["messages"]
    assert [(m["message"], m["client_id"]) for m in page] == [("one", lost[0]), ("two", lost[1])]
    alice_got.wait_event(client_module.CONNECTED, 2)  # it reconnected after the cut
    ids = bob_got.wait_for(
        lambda: len(bob_got.message_ids(room)) >= 2 and bob_got.message_ids(room)
    )
    time.sleep(0.3)
    assert bob_got.message_ids(room) == ids == [first["id"], second["id"]]


def test_a_rate_limited_send_waits_its_retry_after(server, connect, monkeypatch):
    room = name("busy")
    alice, _ = connect(name("alice"))
    alice.join(room)
    call = link_module.Link.call
    refusals = []

    def watching(self, event, payload, timeout):
        ack = call(self, event, payload, timeout)
        if ack.get("ok") is False:
            refusals.append((time.monotonic(), ack["error"]))
        return ack

    monkeypatch.setattr(link_module.Link, "call", watching)
    started = time.monotonic()
    acks = [alice.send(room, f"burst {i}") for i in range(40)]
    took = time.monotonic() - started
    assert refusals and all(e["code"] == "rate_limited" for _, e in refusals)
    assert took >= refusals[0][1]["retry_after"] * 0.9
    assert len({a["id"] for a in acks}) == 40
    assert [m["message"] for m in alice.history(room, limit=100)["messages"]] == [
        f"burst {i}" for i in range(40)
    ]


def test_history_pages_both_ways(server, connect):
    room = name("story")
    alice, _ = connect(name("alice"))
    alice.join(room)
    sent = [alice.send(room, f"line {i}")["id"] for i in range(25)]

    newest = alice.history(room, limit=10)
    assert [m["id"] for m in newest["messages"]] == sent[-10:]
    assert (newest["has_more"], newest["has_newer"]) == (True, False)
    older = [[m["id"] for m in page] for page in alice.pages(room, limit=10)]
    assert older == [sent[15:], sent[5:15], sent[:5]]
    newer = [[m["id"] for m in page] for page in alice.pages(room, after_id=sent[2], limit=10)]
    assert newer == [sent[3:13], sent[13:23], sent[23:]]
    around = alice.history(room, around_id=sent[12], limit=6)
    assert [m["id"] for m in around["messages"]] == sent[9:15]
    assert (around["has_more"], around["has_newer"]) == (True, True)
    past_end = alice.history(room, after_id=sent[-1])
    assert (past_end["messages"], past_end["has_more"], past_end["has_newer"]) == ([], True, False)
    for around_id, code in ((10**9, "not_found"), (events.MAX_ID + 1, "invalid_payload")):
        with pytest.raises(ChatError) as refused:
            alice.history(room, around_id=around_id)
        assert refused.value.code == code


def test_react_reply_and_typing(server, connect):
    room = name("talk")
    alice, alice_got = connect(name("alice"))
    bob, bob_got = connect(name("bob"))
    alice.join(room)
    bob.join(room)
    original = alice.send(room, "lunch at noon?")

    reacted = bob.react(room, original["id"], "👍")
    assert (reacted["count"], reacted["users"]) == (1, [bob.username])
    [changed] = alice_got.wait_event(events.REACTION_CHANGED)
    assert (changed["id"], changed["emoji"], changed["count"]) == (original["id"], "👍", 1)
    assert bob.react(room, original["id"], "❤")["emoji"] == "❤️"  # fully qualified
    assert bob.react(room, original["id"], "👍", on=False)["count"] == 0
    for emoji, code in (("thumbs", "invalid_payload"), ("👍👍", "invalid_payload")):
        with pytest.raises(ChatError) as refused:
            bob.react(room, original["id"], emoji)
        assert refused.value.code == code
    with pytest.raises(ChatError) as refused:
        bob.react(room, 10**6, "👍")
    assert refused.value.code == "not_found"

    [message] = bob_got.wait_for(lambda: bob_got.all(events.RECIEVE_MESSAGE))
    answer = bob.reply(message, "yes!")
    [_, reply] = alice_got.wait_event(events.RECIEVE_MESSAGE, 2)
    assert reply["id"] == answer["id"]
    assert reply["reply_to"] == {
        "id": original["id"],
        "username": alice.username,
        "excerpt": "lunch at noon?",
        "deleted": False,
    }
    with pytest.raises(ChatError) as refused:
        bob.send(room, "to nothing", reply_to=10**6)
    assert refused.value.code == "not_found"

    assert alice.typing(room) == {"ok": True}
    [typing_on] = bob_got.wait_event(events.TYPING_ON)
    assert typing_on == {"room": room, "username": alice.username, "typing": True}
    alice.typing(room, False)
    assert bob_got.wait_event(events.TYPING_ON, 2)[1]["typing"] is False
    assert not alice_got.all(events.TYPING_ON)  # the others only


def test_watching_rooms_without_opening_them(server, connect):
    first, second = name("news"), name("sport")
    carol, carol_got = connect(name("carol"))
    alice, _ = connect(name("alice"))
    for room in (first, second):
        carol.join(room)
        carol.leave(room)
        alice.join(room)
    summaries = carol.watch()
    assert {s["room"] for s in summaries} == {first, second}
    sent = alice.send(second, "goal!")
    [message] = carol_got.wait_event(events.RECIEVE_MESSAGE)
    assert (message["id"], message["room"]) == (sent["id"], second)
    assert carol.rooms == []  # watched, not open

    # Someone opens a direct room with carol: it is added, and watched at once.
    dave, _ = connect(name("dave"))
    direct = dave.join(peer=carol.username)["room"]
    [added] = carol_got.wait_event(events.ROOM_ADDED)
    assert added["room"] == direct and added["kind"] == "direct"
    carol_got.wait_for(
        lambda: any(
            direct in {s["room"] for s in w["rooms"]} for w in carol_got.all(client_module.WATCHED)
        )
    )
    hello = dave.send(direct, "hi carol")
    carol_got.wait_for(lambda: hello["id"] in carol_got.message_ids(direct))


def _keep_sending(client: ChatClient, room: str, count: int, acked: list, pause: float = 0.02):
    def run():
        for i in range(count):
            acked.append(client.send(room, f"msg {i}")["id"])
            time.sleep(pause)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_reconnects_without_gaps_or_duplicates_while_another_keeps_sending(server, connect):
    room = name("stream")
    alice, alice_got = connect(name("alice"))
    bob, _ = connect(name("bob"))
    alice.join(room)
    bob.join(room)
    acked: list[int] = []
    sender = _keep_sending(bob, room, 120, acked)
    for count in range(2, 5):  # three network cuts while bob sends
        alice_got.wait_for(lambda n=count: len(acked) > n * 25)
        cut(alice)
        alice_got.wait_event(client_module.CONNECTED, count)
    sender.join(timeout=60)
    assert len(acked) == 120
    alice_got.wait_for(lambda: set(alice_got.message_ids(room)) >= set(acked), timeout=20)
    time.sleep(0.5)
    got = alice_got.message_ids(room)
    assert sorted(got) == sorted(acked)  # no gap, no duplicate
    assert len(alice_got.all(client_module.DISCONNECTED)) == 3


def test_a_server_side_disconnect_is_followed_by_a_reconnect_and_catch_up(server, connect):
    room = name("kicked")
    alice, alice_got = connect(name("alice"))
    bob, _ = connect(name("bob"))
    alice.join(room)
    alice.watch()
    bob.join(room)
    before = bob.send(room, "before")["id"]
    alice_got.wait_for(lambda: before in alice_got.message_ids(room))
    # A packet the server cannot decode: it closes the connection (Engine.IO CLOSE).
    # python-socketio's client would stay disconnected; ChatClient reconnects.
    alice._link.sio.eio.send('2["send_message", {')
    [dropped] = alice_got.wait_event(client_module.DISCONNECTED)
    assert "server" in dropped["reason"]
    during = [bob.send(room, f"while away {i}")["id"] for i in range(5)]
    assert alice_got.wait_event(client_module.CONNECTED, 2)[1] == {"reconnect": True}
    after = bob.send(room, "after")["id"]
    alice_got.wait_for(lambda: after in alice_got.message_ids(room))
    assert sorted(alice_got.message_ids(room)) == [before, *during, after]
    assert alice_got.all(client_module.WATCHED)  # watching again too
    assert alice.send(room, "still here")["ok"] is True


def test_signing_out_everywhere_stops_the_client(server, connect):
    user = name("alice")
    alice, alice_got = connect(user)
    alice.join(name("room"))
    token = chatclient.sign_in(server.url, user, PASSWORD)["token"]
    response = requests.post(
        server.url + "/api/logout-everywhere",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 204
    alice_got.wait_event(events.SIGNED_OUT)
    with pytest.raises(chatclient.ChatClosed) as stopped:
        alice.wait(timeout=15)
    assert "signed out" in stopped.value.message
    assert alice_got.all(client_module.CLOSED)[-1]["code"] == "closed"
    assert not alice_got.all(client_module.CONNECTED)[1:]  # it did not come back


def _cli(server: Server, user: str, *rooms: str) -> subprocess.Popen:
    room_args = [arg for room in rooms for arg in ("--room", room)]
    return subprocess.Popen(
        [sys.executable, "-m", "chatclient", "--url", server.url, "--user", user, *room_args],
        env={**os.environ, "CHAT_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _end(process: subprocess.Popen) -> str:
    """Stop ``process`` if it still runs; its stderr."""
    if process.poll() is None:
        process.kill()
    process.wait()
    with contextlib.suppress(OSError):
        process.stdin.close()
    with process.stderr:
        return process.stderr.read()


class Lines:
    """A subprocess's stdout, read on a thread, waited on line by line."""

    def __init__(self, stream: typing.IO[str]) -> None:
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: typing.IO[str]) -> None:
        with stream:
            for line in stream:
                with self.changed:
                    self.lines.append(line.rstrip("\n"))
                    self.changed.notify_all()

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 20) -> list[str]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [line for line in self.lines if re.search(pattern, line)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {pattern!r} x{count} in {self.lines[-30:]}")
                self.changed.wait(left)


def test_the_cli_sends_lines_and_prints_messages(server, connect):
    room = name("cli")
    user = name("cli")
    chatclient.register(server.url, user, PASSWORD)
    alice, alice_got = connect(name("alice"))
    alice.join(room)
    early = alice.send(room, "before the cli came")
    cli = _cli(server, user, room)
    out = Lines(cli.stdout)
    try:
        out.wait_for(rf"^\[{room} #{early['id']}\] {alice.username}: before the cli came$")
        alice_got.wait_event(events.JOIN_ROOM_ANNOUNCEMENT)
        cli.stdin.write("hello from the cli\n//slash\n\n")
        cli.stdin.flush()
        [first, second] = alice_got.wait_event(events.RECIEVE_MESSAGE, 3)[1:]
        assert (first["username"], first["message"]) == (user, "hello from the cli")
        assert second["message"] == "/slash"
        answer = alice.reply(first, "hi cli")
        out.wait_for(
            rf"^\[{room} #{answer['id']}\] {alice.username} \(reply to #{first['id']}\): hi cli$"
        )
        cli.stdin.close()
        assert cli.wait(timeout=20) == 0
    finally:
        status = _end(cli)
    assert "* connected" in status


def test_the_cli_refuses_a_wrong_password(server):
    user = name("cli")
    chatclient.register(server.url, user, PASSWORD)
    cli = subprocess.run(
        [sys.executable, "-m", "chatclient", "--url", server.url, "--user", user, "--room", "r"],
        env={**os.environ, "CHAT_PASSWORD": "wrong password"},
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cli.returncode == 2
    assert "unauthorized" in cli.stderr


def test_the_echo_bot_answers_commands_in_the_rooms_it_joined(server, connect):
    rooms = [name("botroom"), name("botroom")]
    bot_user = name("echo")
    alice, alice_got = connect(name("alice"))
    for room in rooms:
        alice.join(room)
    old = alice.send(rooms[0], "!echo from before the bot")
    bot = subprocess.Popen(
        [
            sys.executable,
            str(CLIENT_ROOT / "examples" / "echo_bot.py"),
            "--url",
            server.url,
            "--user",
            bot_user,
            "--register",
            *(arg for room in rooms for arg in ("--room", room)),
        ],
        env={**os.environ, "CHAT_PASSWORD": PASSWORD},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        alice_got.wait_event(events.JOIN_ROOM_ANNOUNCEMENT, 2, timeout=30)
        echo = alice.send(rooms[0], "!echo hello there")
        clock = alice.send(rooms[1], "!time")
        alice.send(rooms[1], "just talking")

        def answers():
            return [m for m in alice_got.all(events.RECIEVE_MESSAGE) if m["username"] == bot_user]

        alice_got.wait_for(lambda: len(answers()) >= 2)
        time.sleep(0.5)
        by_command = {m["reply_to"]["id"]: m for m in answers()}
        assert set(by_command) == {echo["id"], clock["id"]}  # not the old one, not chatter
        assert old["id"] not in by_command
        assert by_command[echo["id"]]["message"] == "hello there"
        said = datetime.datetime.fromisoformat(by_command[clock["id"]]["message"])
        now = datetime.datetime.now(datetime.UTC)
        assert abs((now - said).total_seconds()) < 60
        assert by_command[clock["id"]]["room"] == rooms[1]
    finally:
        bot.terminate()
        output = bot.communicate(timeout=20)[0]
    assert bot.returncode == 0, output


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_server_restart_mid_conversation(tmp_path, mode, backend):
    """The server stops (SIGTERM) and starts again on the same port and database while
    bob keeps sending: alice, bob and a CLI reconnect by themselves and each sees every
    message exactly once."""
    room = "restart"
    with running_server(tmp_path, mode, backend, f"{mode}_restart") as server:
        options = {"password": PASSWORD, "register": True, "max_backoff": 1.0}
        alice = ChatClient(server.url, username="alice", **options)
        bob = ChatClient(server.url, username="bob", **options)
        alice_got = Recorder(alice)
        chatclient.register(server.url, "carol", PASSWORD)
        cli = None
        try:
            alice.connect(timeout=20)
            bob.connect(timeout=20)
            alice.join(room)
            bob.join(room)
            cli = _cli(server, "carol", room)
            out = Lines(cli.stdout)
            alice_got.wait_event(events.JOIN_ROOM_ANNOUNCEMENT, 2)  # bob, then carol

            acked: list[int] = []
            for i in range(5):
                acked.append(bob.send(room, f"before {i}")["id"])
            server.stop()
            assert server.process.returncode == 0
            # Sent while the server is down: each waits for the reconnect, then goes.
            sender = _keep_sending(bob, room, 5, acked, pause=0.1)
            alice_got.wait_event(client_module.DISCONNECTED)
            time.sleep(1.5)
            server.start()
            sender.join(timeout=60)
            for i in range(5):
                acked.append(bob.send(room, f"after {i}")["id"])
            assert len(acked) == 15
            alice_got.wait_for(lambda: set(alice_got.message_ids(room)) >= set(acked))
            for message_id in acked:
                out.wait_for(rf"^\[{room} #{message_id}\] bob: ")
            time.sleep(0.5)
            assert sorted(alice_got.message_ids(room)) == sorted(acked)
            printed = [int(re.search(r"#(\d+)\]", line)[1]) for line in out.lines]
            assert sorted(printed) == sorted(acked)  # the CLI: each once too
            assert alice_got.all(client_module.CONNECTED)[-1] == {"reconnect": True}
            cli.stdin.close()
            assert cli.wait(timeout=20) == 0
        finally:
            alice.close()
            bob.close()
            if cli is not None:
                _end(cli)
