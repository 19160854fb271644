"""Property-based fuzzing of everything a stranger can send (Hypothesis): every client
event with payloads of any shape, and the JSON API. For each case: no internal_error, no
traceback in the log, no row written for a refused payload, and the connection (or the
app) still answers."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from models import db
from tests.helpers import join

CODES = {
    "invalid_payload",
    "unauthorized",
    "forbidden",
    "not_found",
    "not_in_room",
    "too_long",
    "rate_limited",
    "limit_reached",
    "unavailable",
}
EVENTS = [
    "joined_room",
    "send_message",
    "typing_status",
    "load_history",
    "mark_seen",
    "edit_message",
    "delete_message",
    "leave_room",
    "watch_rooms",
    "react",
    "moderate",
    "invite",
    "set_topic",
]
FIELDS = [
    "room",
    "peer",
    "message",
    "client_id",
    "username",
    "last_id",
    "before_id",
    "limit",
    "id",
    "message_id",
    "typing",
    "emoji",
    "on",
    "reply_to",
    "after_id",
    "around_id",
    "action",
    "target",
    "reason",
    "topic",
    "private",
]
ROOMS = ["r", "dm:alice:bob", "dm:bob:carol", "dm:alice:alice", "x" * 65, "", "r r", "R"]

integers = st.one_of(
    st.integers(min_value=-5, max_value=5),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, int("9" * 99)]),
)
texts = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec=None, categories=None), max_size=10),
    st.sampled_from(["\ud800", "a\x00b", " ", "alice", "bob", "carol", "ALICE", *ROOMS]),
    st.sampled_from(["👍", "👍🏽", "❤", "👍👍", "🏽", "@bob", "`@bob`", "hi @alice @bob."]),
    st.sampled_from(["delete", "kick", "ban", "unban", "promote", "demote", "Kick", "mute"]),
    st.text(min_size=3990, max_size=4010, alphabet="ab "),
)
scalars = st.one_of(st.none(), st.booleans(), integers, st.floats(allow_nan=True), texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
payloads = st.one_of(
    st.fixed_dictionaries({}, optional={f: json_values for f in FIELDS}),
    st.fixed_dictionaries(
        {"room": st.sampled_from(ROOMS)}, optional={f: scalars for f in FIELDS if f != "room"}
    ),
    json_values,
)
fuzz_settings = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def row_counts(app) -> tuple:
    """What a refused payload must leave as it was (one query)."""
    query = text(
        "SELECT (SELECT count(*) FROM messages),"
        " (SELECT count(*) FROM memberships),"
        " (SELECT count(*) FROM rooms),"
        " (SELECT coalesce(sum(coalesce(last_read_id, 0)), 0) FROM memberships),"
        " (SELECT count(*) FROM messages WHERE deleted OR edited_at IS NOT NULL),"
        " (SELECT count(*) FROM reactions),"
        " (SELECT count(*) FROM mentions),"
        " (SELECT count(*) FROM bans),"
        " (SELECT count(*) FROM room_audit),"
        " (SELECT count(*) FROM memberships WHERE role = 'moderator'),"
        " (SELECT count(*) FROM rooms WHERE topic IS NOT NULL)"
    )
    with app.app_context():
        return tuple(db.session.execute(query).one())


@pytest.fixture
def people(connect):
    alice, bob = connect("alice"), connect("bob")
    connect("carol")
    join(alice, "r")
    join(bob, "r")
    alice.emit("send_message", {"room": "r", "message": "hello"}, callback=True)
    return alice, bob


@pytest.mark.app_config(EVENT_BUDGETS={}, RATE_LIMIT="off")
@pytest.mark.parametrize("event", EVENTS)
def test_any_payload_is_answered_without_internal_error(app, people, caplog, event):
    alice, _bob = people

    @fuzz_settings
    @given(payload=payloads)
    def case(payload):
        before = row_counts(app)
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            ack = alice.emit(event, payload, callback=True)
        assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
        if not ack["ok"]:
            assert ack["error"]["code"] in CODES, ack
            assert row_counts(app) == before, (payload, ack)
        alice.get_received()
        # The connection still answers.
        assert alice.emit("load_history", {"room": "r", "limit": 1}, callback=True)["ok"]

    case()


@pytest.mark.app_config(EVENT_BUDGETS={})
def test_any_event_name_is_answered(app, people):
    alice, _ = people
    names = st.one_of(
        st.sampled_from(["*", "connect", "disconnect", "message", "json", "__disconnect_final"]),
        st.text(min_size=1, max_size=30),
    )

    @fuzz_settings
    @given(name=names, payload=json_values)
    def case(name, payload):
        ack = alice.emit(name, payload, callback=True)
        assert isinstance(ack, dict), (name, ack)
        if not ack["ok"]:
            assert ack["error"]["code"] in CODES

    case()


def deep(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.app_config(
    REGISTER_RATE_LIMIT="off", SIGNIN_RATE_LIMIT="off", SIGNIN_ADDRESS_RATE_LIMIT="off"
)
def test_the_json_api_never_fails_on_input(app, client, auth, caplog):
    auth.register("alice")
    bearer = {"Authorization": f"Bearer {auth.token('alice')}"}
    bodies = st.one_of(
        json_values.map(lambda v: ("json", v)),
        st.binary(max_size=40).map(lambda b: ("data", b)),
        st.integers(1, 5000).map(lambda n: ("data", deep(n).encode())),
    )
    args = st.dictionaries(
        st.sampled_from(["before_id", "after_id", "around_id", "limit", "q", "after"]),
        st.one_of(texts, integers.map(str)),
        max_size=3,
    )

    @fuzz_settings
    @given(body=bodies, query=args, room=texts, route=st.integers(0, 7))
    def case(body, query, room, route):
        kind, value = body
        caplog.clear()
        # As a client would put it in a URL: percent-encoded bytes, whatever they decode to.
        room = quote(room, safe="", errors="surrogatepass") or "r"
        query = "&".join(
            f"{k}={quote(v, safe='', errors='surrogatepass')}" for k, v in query.items()
        )
        if route == 0:
            response = client.post("/api/register", **{kind: value})
        elif route == 1:
            response = client.post("/api/token", **{kind: value})
        elif route == 2:
            response = client.get(f"/api/rooms/{room}/messages", query_string=query, headers=bearer)
        elif route == 3:
            response = client.get("/api/directory", query_string=query, headers=bearer)
        elif route == 4:
            response = client.get("/api/mentions", query_string=query, headers=bearer)
        elif route == 6:
            response = client.get(f"/api/rooms/{room}/members", query_string=query, headers=bearer)
        elif route == 7:
            response = client.get(f"/api/rooms/{room}/audit", query_string=query, headers=bearer)
        else:
            response = client.delete(f"/api/rooms/{room}/membership", headers=bearer)
        assert response.status_code < 500, (route, body, query, response.get_data())
        if response.status_code >= 400:
            assert response.get_json()["error"]["code"] in CODES | {"username_taken"}
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text

    case()
