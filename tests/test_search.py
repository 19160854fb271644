"""GET /api/search: word prefixes without case or accents, phrases, unspaced scripts as
substrings, newest first with keyset pages, edits and deletes followed, only what the
caller may read, throttled; any query is text. Each test runs on SQLite (FTS5) and, with
TEST_DATABASE_URL, on PostgreSQL (GIN): the same answers on both."""

from __future__ import annotations

import itertools
import logging
import os
import random
import subprocess
import sys
from pathlib import Path

import flask_migrate
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from chat import search, sql
from chat.search import SearchPage
from models import db, utcnow
from tests.helpers import join, send
from tests.servers import own_database

UNTHROTTLED = pytest.mark.app_config(SEARCH_RATE_LIMIT="off")


@pytest.fixture
def find(client, auth):
    """find("alice", q="...", **args) -> (status, body): a search as that user."""
    tokens = {}

    def _find(username: str, **args):
        if username not in tokens:
            tokens[username] = auth.token(username)
        response = client.get(
            "/api/search",
            query_string=args,
            headers={"Authorization": f"Bearer {tokens[username]}"},
        )
        body = response.get_json()
        if response.status_code == 200:
            SearchPage.model_validate(body)  # exactly the documented shape
        return response.status_code, body

    return _find


def texts(find, username: str, **args) -> list[str]:
    status, body = find(username, **args)
    assert status == 200, body
    return [m["message"] for m in body["messages"]]


@pytest.fixture
def alice(connect):
    sock = connect("alice")
    join(sock, "r")
    return sock


def post(sock, room: str, *messages: str) -> list[int]:
    ids = []
    for message in messages:
        ack = send(sock, room, message)
        assert ack["ok"], ack
        ids.append(ack["id"])
    return ids


# --- matching ------------------------------------------------------------------------


def test_a_word_finds_words_it_starts_ignoring_case_and_accents(alice, find):
    post(alice, "r", "Café au lait", "the DEPLOYMENT failed", "redeploy now", "CAFETERIA")
    assert texts(find, "alice", q="cafe") == ["CAFETERIA", "Café au lait"]
    assert texts(find, "alice", q="CAFÉ") == ["CAFETERIA", "Café au lait"]
    assert texts(find, "alice", q="deploy") == ["the DEPLOYMENT failed"]  # not "redeploy"
    assert texts(find, "alice", q="ploy") == []  # the start of a word, never its middle


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        ("Ångström über straße", "angstrom UBER strasse"),
        ("Ørsted Æble Łódź", "orsted aeble lodz"),
        ("Việt Nam", "viet nam"),
        ("ёлка и йогурт", "елка йогурт"),
        ("İstanbul", "istanbul"),
        ("ﬁne \uff26\uff35\uff2c\uff2c", "fine full"),  # a ligature, fullwidth letters
        ("مَرْحَبًا بِكُمْ", "مرحبا"),
        ("हिन्दी भाषा", "हिन्"),
    ],
)
def test_accents_case_and_compatibility_forms_are_folded(alice, find, stored, query):
    post(alice, "r", stored, "something else")
    assert texts(find, "alice", q=query) == [stored]


def test_every_word_must_match(alice, find):
    post(alice, "r", "deploy on friday", "deploy on monday", "friday drinks")
    assert texts(find, "alice", q="deploy friday") == ["deploy on friday"]
    assert texts(find, "alice", q="fri dep") == ["deploy on friday"]
    assert texts(find, "alice", q="deploy tuesday") == []


def test_a_quoted_phrase_matches_those_words_in_that_order(alice, find):
    post(alice, "r", "I love New York", "york is new", "new and big york", "New Yorkers")
    assert texts(find, "alice", q='"new york"') == ["New Yorkers", "I love New York"]
    assert texts(find, "alice", q='"york new"') == []
    assert texts(find, "alice", q='love "new york"') == ["I love New York"]
    # Typographic quotes (what phones type) quote too; an unclosed quote runs to the end.
    assert texts(find, "alice", q="\u201cnew york\u201d") == ["New Yorkers", "I love New York"]
    assert texts(find, "alice", q='love "new yo') == ["I love New York"]


def test_a_word_with_punctuation_inside_matches_as_a_phrase(alice, find):
    post(alice, "r", "send an e-mail", "e and then mail", "snake_case_name", "v2.3 is out")
    assert texts(find, "alice", q="e-mail") == ["send an e-mail"]
    assert texts(find, "alice", q="snake_case") == ["snake_case_name"]
    assert texts(find, "alice", q="v2.3") == ["v2.3 is out"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("京都", ["東京都庁に行きました"]),  # two characters inside a run
        ("行き", ["東京都庁に行きました"]),
        ("東京都庁", ["東京都庁に行きました"]),
        ("庁", ["東京都庁に行きました"]),  # one character alone
        ("ました", ["東京都庁に行きました"]),
        ("都庁 行", ["東京都庁に行きました"]),
        ("京東", []),
        ("大阪", ["大阪タワー tower"]),
        ("大阪タワー tower", ["大阪タワー tower"]),
        ('"タワー tower"', ["大阪タワー tower"]),
        ('"タワ tower"', []),  # the run goes on after タワ: not these words in a row
        ("ประเทศ", ["ที่นี่ประเทศไทย"]),
        ("ไทย", ["ที่นี่ประเทศไทย"]),
        ("한국어", ["한국어 텍스트"]),  # Hangul is written with spaces: words
        ("국어", []),
    ],
)
def test_unspaced_scripts_match_as_substrings(alice, find, query, expected):
    post(alice, "r", "東京都庁に行きました", "大阪タワー tower", "ที่นี่ประเทศไทย", "한국어 텍스트")
    assert texts(find, "alice", q=query) == expected


def test_halfwidth_and_fullwidth_kana_are_one(alice, find):
    post(alice, "r", "ｶﾞｲﾄﾞ を読む")
    assert texts(find, "alice", q="ガイド") == ["ｶﾞｲﾄﾞ を読む"]


@pytest.mark.parametrize(
    "query",
    ['100%', "%", "_", "\\", "a_b", "'", '"', "*", ":", "&", "|", "!", "(", ")", "a:*",
     "it's", "o'clock", "x & y | !z", "(deploy)", "deploy:*", "<->", "NEAR(a b)", "a AND b",
     "a OR b", "NOT a", "-a", "\\'\\\"", "%_%", "'; DROP TABLE messages; --"],
)  # fmt: skip
def test_any_character_in_a_query_is_text(alice, find, query):
    post(alice, "r", "100% sure", "a_b c", "it's 5 o'clock", "x & y | !z", "(deploy) a AND b")
    status, body = find("alice", q=query)
    if search.parse_query(query):
        assert status == 200, body
    else:
        assert (status, body["error"]["code"]) == (400, "invalid_payload")


def test_symbols_are_separators_and_find_the_words_around_them(alice, find):
    post(alice, "r", "100% sure", "it's 5 o'clock", "x & y | !z")
    assert texts(find, "alice", q="100%") == ["100% sure"]
    assert texts(find, "alice", q="o'clock") == ["it's 5 o'clock"]
    assert texts(find, "alice", q="!z") == ["x & y | !z"]


# --- pages ---------------------------------------------------------------------------


def test_newest_first_in_keyset_pages(alice, find):
    *ids, _ = post(alice, "r", *[f"match number {i}" for i in range(25)], "no hit")
    status, body = find("alice", q="match")
    assert status == 200 and body["has_more"] is True
    assert [m["id"] for m in body["messages"]] == ids[-1:-21:-1]  # 20 by default
    status, body = find("alice", q="match", before_id=body["messages"][-1]["id"])
    assert [m["id"] for m in body["messages"]] == ids[4::-1] and body["has_more"] is False
    status, body = find("alice", q="match", limit=3)
    assert [m["id"] for m in body["messages"]] == ids[-1:-4:-1] and body["has_more"] is True
    status, body = find("alice", q="match", limit=50)
    assert len(body["messages"]) == 25 and body["has_more"] is False


def test_a_result_is_a_message_with_its_room(alice, find):
    [mid] = post(alice, "r", "hello world")
    [message] = find("alice", q="hello")[1]["messages"]
    assert message["id"] == mid and message["room"] == "r" and message["username"] == "alice"
    assert message["message"] == "hello world" and message["deleted"] is False
    assert message["created_at"].endswith("Z") and message["edited_at"] is None


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"q": ""},
        {"q": "x" * 201},
        {"q": '"" * : & | ! ( ) % _ \\'},
        {"q": "   "},
        {"q": "😀👍"},
        {"q": "❤️ ☺️"},  # nor are variation selectors
        {"q": "a", "limit": 0},
        {"q": "a", "limit": 51},
        {"q": "a", "limit": "ten"},
        {"q": "a", "limit": 2**31},
        {"q": "a", "before_id": -1},
        {"q": "a", "before_id": "9" * 5000},
        {"q": "a", "room": "not a room"},
        {"q": "a", "from": "x"},
        {"q": "a", "from": "bad name!"},
    ],
)
def test_refused_queries(alice, find, args):
    status, body = find("alice", **args)
    assert (status, body["error"]["code"]) == (400, "invalid_payload"), body


def test_a_query_of_200_characters_is_fine(alice, find):
    post(alice, "r", "a" * 10, "東京" * 50)
    assert texts(find, "alice", q=("a " * 100)[:200]) == ["a" * 10]
    assert texts(find, "alice", q="東京" * 100) == []  # 199 bigrams in a row
    assert texts(find, "alice", q="東京" * 50) == ["東京" * 50]
    many = " ".join(a + b for a in "abcdefghij" for b in "abcdefghij")[:200]  # 67 words
    assert texts(find, "alice", q=many) == []


# --- edits and deletes ---------------------------------------------------------------


def test_an_edited_message_matches_its_current_text_only(alice, find):
    [mid] = post(alice, "r", "meeting at noon")
    ack = alice.emit(
        "edit_message", {"room": "r", "id": mid, "message": "lunch at one"}, callback=True
    )
    assert ack["ok"], ack
    assert texts(find, "alice", q="noon") == []
    assert texts(find, "alice", q="lunch") == ["lunch at one"]
    assert texts(find, "alice", q="at") == ["lunch at one"]


def test_deleted_messages_never_match(alice, find):
    gone, _ = post(alice, "r", "secret plan", "public plan")
    ack = alice.emit("delete_message", {"room": "r", "id": gone}, callback=True)
    assert ack["ok"], ack
    assert texts(find, "alice", q="plan") == ["public plan"]
    assert texts(find, "alice", q="secret") == []


# --- who finds what ------------------------------------------------------------------


@pytest.fixture
def rooms(connect):
    """alice and bob in "r" and their direct room; carol in "other" and a direct room
    with bob; mallory in "r" only. Every message says "plan"."""
    alice, bob, carol, mallory = (connect(name) for name in ("alice", "bob", "carol", "mallory"))
    join(alice, "r")
    join(bob, "r")
    join(mallory, "r")
    join(carol, "other")
    post(alice, "r", "plan by alice in r")
    post(bob, "r", "plan by bob in r")
    post(carol, "other", "plan by carol in other")
    assert alice.emit("joined_room", {"peer": "bob"}, callback=True)["ok"]
    assert bob.emit("joined_room", {"peer": "alice"}, callback=True)["ok"]
    assert carol.emit("joined_room", {"peer": "bob"}, callback=True)["ok"]
    post(alice, "dm:alice:bob", "plan by alice to bob")
    post(carol, "dm:bob:carol", "plan by carol to bob")
    return {"alice": alice, "bob": bob, "carol": carol, "mallory": mallory}


def test_the_scope_is_the_callers_rooms(rooms, find):
    assert texts(find, "alice", q="plan") == [
        "plan by alice to bob",
        "plan by bob in r",
        "plan by alice in r",
    ]
    assert texts(find, "bob", q="plan") == [
        "plan by carol to bob",
        "plan by alice to bob",
        "plan by bob in r",
        "plan by alice in r",
    ]
    assert texts(find, "mallory", q="plan") == ["plan by bob in r", "plan by alice in r"]


def test_one_room_the_caller_may_read(rooms, find):
    assert texts(find, "alice", q="plan", room="dm:alice:bob") == ["plan by alice to bob"]
    # A public room is readable without being a member (as history is).
    assert texts(find, "mallory", q="plan", room="other") == ["plan by carol in other"]


@pytest.mark.parametrize(
    ("room", "status", "code"),
    [
        ("dm:alice:bob", 403, "forbidden"),
        ("dm:bob:carol", 403, "forbidden"),
        ("dm:alice:carol", 403, "forbidden"),  # of others, whether or not it exists
        # A room that does not exist is refused as a private room of others is.
        ("nowhere", 403, "forbidden"),
        ("dm:carol:mallory", 403, "forbidden"),  # hers, had it ever been opened
    ],
)
def test_direct_rooms_of_others_and_unknown_rooms_are_refused(rooms, find, room, status, code):
    got, body = find("mallory", q="plan", room=room)
    assert (got, body["error"]["code"]) == (status, code)


def test_from_keeps_one_authors_messages(rooms, find):
    assert texts(find, "alice", q="plan", **{"from": "BOB"}) == ["plan by bob in r"]
    assert texts(find, "bob", q="plan", **{"from": "carol"}) == ["plan by carol to bob"]
    assert texts(find, "alice", q="plan", **{"from": "carol"}) == []
    assert texts(find, "mallory", q="plan", **{"from": "carol"}) == []
    assert texts(find, "alice", q="plan", **{"from": "nobody"}) == []
    assert texts(find, "mallory", q="plan", room="other", **{"from": "carol"}) == [
        "plan by carol in other"
    ]


def test_a_room_whose_membership_ended_leaves_the_scope(rooms, find, client, auth):
    token = auth.token("alice")
    response = client.delete(
        "/api/rooms/dm:alice:bob/membership", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 204
    assert texts(find, "alice", q="plan") == ["plan by bob in r", "plan by alice in r"]
    # Still hers to read when she names it.
    assert texts(find, "alice", q="plan", room="dm:alice:bob") == ["plan by alice to bob"]


def test_a_user_without_rooms_finds_nothing(rooms, find, auth):
    auth.register("newcomer")
    assert texts(find, "newcomer", q="plan") == []


def test_search_needs_a_signed_in_caller(client):
    response = client.get("/api/search?q=plan")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.app_config(SEARCH_RATE_LIMIT="3/10seconds")
def test_searches_are_throttled_per_user(rooms, find):
    for _ in range(3):
        assert find("alice", q="plan")[0] == 200
    status, body = find("alice", q="plan")
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert 0 < body["error"]["retry_after"] <= 10
    assert find("bob", q="plan")[0] == 200  # per user
    # A refused query costs nothing.
    assert find("bob", q="")[0] == 400


@pytest.mark.app_config(SEARCH_RATE_LIMIT="10/10seconds")
def test_a_slow_search_counts_as_several(rooms, find, monkeypatch):
    monkeypatch.setattr(search, "SLOW_SEARCH", 1e-9)  # every search is "slow"
    assert find("alice", q="plan")[0] == 200
    status, body = find("alice", q="plan")
    assert status == 429 and body["error"]["code"] == "rate_limited"


# --- fuzzing -------------------------------------------------------------------------

fuzz_settings = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
query_texts = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="%_\\\"*:&|!()' <->aé東京-", max_size=30),
    # Any character a URL can carry (a lone surrogate has no UTF-8 form to percent-encode).
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.text(min_size=195, max_size=205, alphabet='ab "*'),
)
arguments = st.fixed_dictionaries(
    {"q": query_texts},
    optional={
        "room": st.sampled_from(["r", "other", "dm:alice:bob", "dm:bob:carol", "x y", ""]),
        "from": st.sampled_from(["alice", "bob", "carol", "mallory", "nobody", "", "a b"]),
        "before_id": st.one_of(st.integers(-2, 2**33).map(str), st.text(max_size=5)),
        "limit": st.one_of(st.integers(-1, 60).map(str), st.text(max_size=3)),
    },
)


@UNTHROTTLED
def test_any_query_is_answered_and_never_reaches_a_direct_room_of_others(rooms, find, caplog):
    """Whatever mallory asks: no 500, nothing logged, and never a word of the direct
    rooms she is not in."""

    @fuzz_settings
    @given(args=arguments)
    def case(args):
        caplog.clear()
        status, body = find("mallory", **args)
        assert status in (200, 400, 403, 404), (args, body)
        if status == 200:
            assert {m["room"] for m in body["messages"]} <= {"r", "other"}, args
        else:
            assert body["error"]["code"] in {"invalid_payload", "forbidden", "not_found"}
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text

    case()


spaced_words = st.text(alphabet="abcdeéÅøßAB1", min_size=1, max_size=8)
unspaced_runs = st.text(alphabet="東京都庁ガカทยไ", min_size=1, max_size=6)
separators = st.sampled_from([" ", "-", "'", ", ", "  "])


@st.composite
def messages_and_stretches(draw):
    """A message of words and unspaced runs, and a stretch of it a user could quote: from
    the start of a word or anywhere in a run, to anywhere (a word's start is a prefix)."""
    pieces = draw(
        st.lists(
            st.one_of(
                spaced_words.map(lambda w: (w, False)), unspaced_runs.map(lambda w: (w, True))
            ),
            min_size=1,
            max_size=6,
        )
    )
    joints = []
    for (_, before), (_, after) in itertools.pairwise(pieces):
        glue = st.just("") if before != after else st.nothing()
        joints.append(draw(st.one_of(separators, glue)))
    i = draw(st.integers(0, len(pieces) - 1))
    j = draw(st.integers(i, len(pieces) - 1))
    parts = [text for text, _ in pieces]
    message = "".join(p + s for p, s in zip(parts, [*joints, ""], strict=True))
    stretch = [*parts[i : j + 1]]
    stretch[-1] = stretch[-1][: draw(st.integers(1, len(stretch[-1])))]
    if pieces[i][1]:  # a run can be quoted from anywhere inside it
        stretch[0] = stretch[0][draw(st.integers(0, len(stretch[0]) - 1)) :]
    quoted = "".join(p + s for p, s in zip(stretch, [*joints[i:j], ""], strict=True))
    return message, quoted


@UNTHROTTLED
def test_a_message_is_found_by_any_quoted_stretch_of_itself(alice, find):
    """Quoted, any stretch of a message from the start of a word (or anywhere in an
    unspaced run) finds it."""

    @fuzz_settings
    @given(case=messages_and_stretches())
    def case(case):
        message, stretch = case
        [mid] = post(alice, "r", message)
        status, body = find("alice", q=f'"{stretch}"', limit=50)
        assert status == 200, body
        assert mid in [m["id"] for m in body["messages"]], (message, stretch)
        status, body = find("alice", q=stretch, limit=50)  # unquoted: each word, anywhere
        assert mid in [m["id"] for m in body["messages"]], (message, stretch)

    case()


# alice (id 1), a member of room "r" (id 1), written without the app.
SEED_ALICE = (
    "INSERT INTO users (id, username, password_hash, created_at)"
    " VALUES (1, 'alice', 'x', CURRENT_TIMESTAMP)",
    "INSERT INTO rooms (id, name, kind, created_at) VALUES (1, 'r', 'public', CURRENT_TIMESTAMP)",
    "INSERT INTO memberships (room_id, user_id, joined_at) VALUES (1, 1, CURRENT_TIMESTAMP)",
)


# --- the migration -------------------------------------------------------------------


def test_the_migration_indexes_messages_stored_before_it(database_url):
    """Messages written before 0003 are found after upgrading; downgrading drops the
    index and the column."""
    from app import create_app
    from tests.conftest import TABLES, base_config

    app = create_app(base_config(database_url))
    with app.app_context():
        try:
            flask_migrate.downgrade(revision="0002_sessions")
            inspector = inspect(db.engine)
            assert "search_text" not in {c["name"] for c in inspector.get_columns("messages")}
            assert not [t for t in inspector.get_table_names() if t.startswith("messages_fts")]
            assert "ix_messages_search" not in {
                i["name"] for i in inspector.get_indexes("messages")
            }
            for statement in SEED_ALICE:
                db.session.execute(text(statement))
            for i, (body, deleted) in enumerate(
                [("Café crème", False), (None, True), ("東京タワー", False)], 1
            ):
                db.session.execute(
                    text(
                        "INSERT INTO messages (id, room_id, user_id, body, created_at, deleted)"
                        " VALUES (:id, 1, 1, :body, CURRENT_TIMESTAMP, :deleted)"
                    ),
                    {"id": i, "body": body, "deleted": deleted},
                )
            db.session.commit()
            flask_migrate.upgrade()
            rows = db.session.execute(text("SELECT id, search_text FROM messages ORDER BY id"))
            assert rows.all() == [(1, "cafe creme"), (2, None), (3, "東京 京タ タワ ワー ー")]
            query = search.SearchQuery(q="creme")
            assert [m["id"] for m in search.search(1, "alice", query)["messages"]] == [1]
            query = search.SearchQuery(q="タワー")
            assert [m["id"] for m in search.search(1, "alice", query)["messages"]] == [3]
            sql.close()
        finally:
            flask_migrate.upgrade()
            for table in TABLES:
                db.session.execute(text(f"DELETE FROM {table}"))
            db.session.commit()
            db.engine.dispose()


# --- the same answers on both databases ----------------------------------------------

VOCABULARY = (  # noqa: SIM905 (a list of words is easier to read as words)
    "deploy deployment redeploy café cafe CAFÉ Straße strasse new york yorker e-mail "
    "snake_case v2.3 100% ørsted İstanbul ёлка 한국어 東京都庁 京都 大阪タワー ที่นี่ประเทศไทย "
    "ｶﾞｲﾄﾞ ガイド 的 是 の 'quoted' (paren) a_b x&y 😀"
).split()


def corpus_app(url: str, bodies: list[str]):
    """An app on a fresh database at head holding these messages (through the group
    commit's INSERT, as sends store them) in a room of alice's."""
    from app import create_app
    from chat import groupcommit
    from tests.conftest import base_config

    app = create_app({**base_config(url), "SEARCH_RATE_LIMIT": "off"})
    with app.app_context():
        flask_migrate.upgrade()
        for statement in SEED_ALICE:
            db.session.execute(text(statement))
        db.session.commit()
        for start in range(0, len(bodies), 50):
            batch = [
                groupcommit.NewMessage(1, 1, body, None, utcnow())
                for body in bodies[start : start + 50]
            ]
            groupcommit.insert_messages(batch)
        sql.close()
    return app


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_sqlite_and_postgresql_give_the_same_answers(tmp_path):
    """The same messages, the same queries (Hypothesis): the same ids, in the same order,
    from FTS5 and from PostgreSQL's GIN index."""
    rng = random.Random(19)
    bodies = [
        " ".join(rng.choices(VOCABULARY, k=rng.randint(1, 8))) + rng.choice(["", ".", "!"])
        for _ in range(400)
    ]
    with own_database(tmp_path, "test_search", "postgresql") as pg_url:
        apps = [corpus_app(f"sqlite:///{tmp_path}/same.db", bodies), corpus_app(pg_url, bodies)]
        try:
            pieces = st.sampled_from(VOCABULARY).map(
                lambda w: w[: max(1, len(w) // 2)] if len(w) > 3 else w
            )
            queries = st.one_of(
                st.lists(pieces, min_size=1, max_size=3).map(" ".join),
                st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3).map(
                    lambda ws: '"' + " ".join(ws) + '"'
                ),
                st.sampled_from(bodies).map(lambda b: b[: len(b) // 2] or b),
            )

            @fuzz_settings
            @given(q=queries, before=st.sampled_from([None, 200, 390]))
            def case(q, before):
                if not search.parse_query(q):
                    return
                query = search.SearchQuery(q=q, before_id=before, limit=50)
                answers = []
                for app in apps:
                    with app.app_context():
                        found = search.search(1, "alice", query)
                        sql.close()
                    answers.append(([m["id"] for m in found["messages"]], found["has_more"]))
                assert answers[0] == answers[1], q
                hits.append(bool(answers[0][0]))

            hits: list[bool] = []
            case()
            assert sum(hits) > len(hits) / 2  # most queries found something
        finally:
            for app in apps:
                with app.app_context():
                    for engine in db.engines.values():
                        engine.dispose()


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_the_search_bench_runs():
    """bench/search.py, tiny: it runs to the end (no figure is checked)."""
    root = Path(__file__).resolve().parent.parent
    bench = [sys.executable, "bench/search.py", "--pg-url", os.environ["TEST_DATABASE_URL"]]
    tiny = ["--messages", "3000", "--rooms", "20", "--member-of", "5"]
    result = subprocess.run(
        [*bench, *tiny, "--queries", "2", "--sends", "16"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "rare word" in result.stdout and "with index" in result.stdout
