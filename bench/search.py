"""Search benchmark (run by hand): GET /api/search on PostgreSQL over 10^6 messages.

A private database ``chat_search_bench_<pid>`` is created in the local server
(``--pg-url``, default ``postgresql:///postgres``) and dropped at the end (``--keep``
keeps it). It is migrated to 0002_sessions, filled with ``--messages`` messages (10^6)
over ``--rooms`` rooms (1,000) by 1,000 users, about 5 % of them in Chinese or Japanese;
the searching user is a member of ``--member-of`` rooms (50). Then:

1. the upgrade to 0005_search is timed (filling ``search_text``, building the index);
2. the table and the index are measured (after VACUUM FULL: what a table of that many
   messages takes, not the dead rows the fill left);
3. each kind of query is run ``--queries`` times (each time other words) through the
   app's route (Flask test client, no HTTP server), and its p50 and p99 printed: two
   words of one message, two common words that rarely meet, a quoted phrase, a prefix
   (3 letters), a rare word, two CJK characters, two words in one room;
4. with ``--sends N``: the send path (``send_message`` through the Socket.IO test client,
   one at a time) with the index and the search words, and without either, alternated
   in 8 runs (app CPU and wall time per send, the median of each variant's 4 runs).

The database gets ``synchronous_commit = off``, so a commit's disk flush (~3 ms here) does
not drown what the index adds to a send.

    .venv/bin/python bench/search.py                    # 10^6 messages: ~3-5 minutes
    .venv/bin/python bench/search.py --messages 100000 --queries 50 --sends 2000
    .venv/bin/python bench/search.py --keep; ... --reuse chat_search_bench_<pid> --sends 8000
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import itertools
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench password"
INDEX = (  # as migration 0005_search makes it
    "CREATE INDEX ix_messages_search ON messages USING gin "
    "(array_to_tsvector(string_to_array(search_text, ' '))) WITH (gin_pending_list_limit = 512)"
)
SEED = 19


# --- text ----------------------------------------------------------------------------

CONSONANTS = "bcdfghjklmnprstvwz"
VOWELS = "aeiou"
ACCENTED = {"e": "é", "a": "à", "o": "ö", "u": "ü", "i": "ï"}
# Common Han characters and kana: enough variety for bigrams to be rare and common.
HAN = (
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家"
    "学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经"
    "头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者"
    "向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气"
    "信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活"
)
KANA = (
    "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
)
CJK = HAN + KANA


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.choice((1, 2, 2, 3, 3, 3, 4))
        word = "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(syllables))
        if rng.random() < 0.05:  # some accents, which search folds
            word = "".join(ACCENTED.get(c, c) if rng.random() < 0.3 else c for c in word)
        words.add(word)
    return sorted(words, key=lambda w: rng.random())


def zipf_weights(n: int) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank + 10) for rank in range(n)))


class Writer:
    """Message bodies: 4-16 words of a Zipf vocabulary, or a CJK run of 5-30 characters."""

    def __init__(self, rng: random.Random, size: int = 30_000) -> None:
        self.rng = rng
        self.words = vocabulary(size, rng)
        self.word_weights = zipf_weights(len(self.words))
        self.cjk_weights = zipf_weights(len(CJK))

    def body(self) -> str:
        rng = self.rng
        if rng.random() < 0.05:
            chars = rng.choices(CJK, cum_weights=self.cjk_weights, k=rng.randint(5, 30))
            return "".join(chars) + ("。" if rng.random() < 0.5 else "")
        words = rng.choices(self.words, cum_weights=self.word_weights, k=rng.randint(4, 16))
        text = " ".join(words)
        return text[0].upper() + text[1:] + rng.choice((".", "!", "?", "", ""))


# --- the database --------------------------------------------------------------------


def scratch_database(server_url: str, name: str):
    import psycopg2

    server = psycopg2.connect(server_url.replace("postgresql+psycopg2", "postgresql"))
    server.autocommit = True
    with server.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
        cur.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    return server


def copy_rows(cursor, table: str, columns: tuple[str, ...], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(r"\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def fill(app, args, writer: Writer) -> tuple[list[str], tuple[list[str], list[str]]]:
    """Users, rooms, memberships and messages: (the searcher's rooms, some messages in
    words and some in CJK)."""
    from models import db

    rng = writer.rng
    client = app.test_client()
    assert (
        client.post("/api/register", json={"username": "seeker", "password": PASSWORD}).status_code
        == 201
    )
    samples: tuple[list[str], list[str]] = ([], [])  # (words, CJK) messages
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("SELECT id, password_hash FROM users WHERE username = 'seeker'")
            seeker, password_hash = cur.fetchone()
            copy_rows(
                cur,
                "users",
                ("username", "password_hash", "created_at", "token_version"),
                ((f"user{i}", password_hash, "2026-12-01", 0) for i in range(999)),
            )
            cur.execute("SELECT id FROM users ORDER BY id")
            user_ids = [row[0] for row in cur.fetchall()]
            copy_rows(
                cur,
                "rooms",
                ("name", "kind", "created_at"),
                ((f"room{i}", "public", "2026-12-01") for i in range(args.rooms)),
            )
            cur.execute("SELECT id, name FROM rooms ORDER BY id")
            names = dict(cur.fetchall())
            room_ids = list(names)
            mine = rng.sample(room_ids, args.member_of)
            copy_rows(
                cur,
                "memberships",
                ("room_id", "user_id", "joined_at"),
                ((room, seeker, "2026-12-01") for room in mine),
            )
            start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            done = 0
            while done < args.messages:
                buffer = io.StringIO()
                for i in range(done, min(done + 100_000, args.messages)):
                    body = writer.body()
                    if len(samples[body[0] in CJK]) < 5000:
                        samples[body[0] in CJK].append(body)
                    created = (start + dt.timedelta(seconds=i)).isoformat()
                    buffer.write(
                        f"{rng.choice(room_ids)}\t{rng.choice(user_ids)}\t{body}\t{created}\tf\n"
                    )
                buffer.seek(0)
                cur.copy_expert(
                    "COPY messages (room_id, user_id, body, created_at, deleted) FROM STDIN",
                    buffer,
                )
                done = min(done + 100_000, args.messages)
                print(f"  {done:,} messages", end="\r", flush=True)
            raw.commit()
        finally:
            raw.close()
    print()
    return [names[room_id] for room_id in mine], samples


def run_sql(app, statement: str, autocommit: bool = False):
    from sqlalchemy import text

    from models import db

    with app.app_context():
        engine = db.engine.execution_options(isolation_level="AUTOCOMMIT") if autocommit else None
        with (engine or db.engine).connect() as connection:
            result = connection.execute(text(statement))
            rows = result.all() if result.returns_rows else None
            if not autocommit:
                connection.commit()
            return rows


def existing(app) -> tuple[list[str], tuple[list[str], list[str]]]:
    """What ``fill`` returned, read back from a kept database."""
    mine = [
        name
        for (name,) in run_sql(
            app,
            "SELECT name FROM rooms JOIN memberships ON room_id = rooms.id"
            " JOIN users ON users.id = user_id WHERE username = 'seeker' ORDER BY rooms.id",
        )
    ]
    samples: tuple[list[str], list[str]] = ([], [])
    for (body,) in run_sql(app, "SELECT body FROM messages WHERE id % 97 = 0 LIMIT 20000"):
        if len(samples[body[0] in CJK]) < 5000:
            samples[body[0] in CJK].append(body)
    return mine, samples


def upgrade(app) -> None:
    """The upgrade to 0005_search, timed; then its index alone, dropped and built again."""
    import flask_migrate

    print("upgrading to 0005_search")
    start = time.perf_counter()
    with app.app_context():
        flask_migrate.upgrade()
    build = time.perf_counter() - start
    start = time.perf_counter()
    run_sql(app, "DROP INDEX ix_messages_search")
    run_sql(app, INDEX)
    index_only = time.perf_counter() - start
    run_sql(app, "ANALYZE messages", autocommit=True)
    print(f"  upgrade {build:.1f} s, of which the index alone ~{index_only:.1f} s")


# --- measuring -----------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def query_kinds(writer: Writer, samples, rng: random.Random, mine: list[str]):
    words = writer.words
    worded, cjk_samples = samples

    def two_words():  # two words of a message, as people remember them
        found = rng.choice(worded).rstrip(".!?").lower().split()
        first = rng.randrange(len(found) - 1)
        return {"q": f"{found[first]} {found[rng.randrange(first + 1, len(found))]}"}

    def phrase():  # two words in a row, quoted
        found = rng.choice(worded).rstrip(".!?").lower().split()
        first = rng.randrange(len(found) - 1)
        return {"q": f'"{found[first]} {found[first + 1]}"'}

    def unrelated_words():  # two common words that rarely meet: the worst case
        return {"q": f"{rng.choice(words[:300])} {rng.choice(words[:300])}"}

    def prefix():
        return {"q": rng.choice(words[:5000])[:3]}

    def rare():
        return {"q": rng.choice(words[20_000:])}

    def cjk():
        sample = rng.choice(cjk_samples)
        start = rng.randrange(len(sample) - 2)
        return {"q": sample[start : start + 2]}

    def one_room():
        return {**two_words(), "room": rng.choice(mine)}

    return {
        "two words": two_words,
        "two unrelated words": unrelated_words,
        "a quoted phrase": phrase,
        "prefix (3 letters)": prefix,
        "rare word": rare,
        "CJK (2 characters)": cjk,
        "two words, one room": one_room,
    }


def time_queries(app, token: str, kinds: dict, count: int) -> dict:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    results = {}
    for name, make in kinds.items():
        timings, hits = [], []
        for i in range(count + 5):
            args = make()
            start = time.perf_counter()
            response = client.get("/api/search", query_string=args, headers=headers)
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, response.get_json()
            if i >= 5:  # the first few warm the caches
                timings.append(elapsed)
                hits.append(len(response.get_json()["messages"]))
        results[name] = {
            "p50_ms": percentile(timings, 50),
            "p99_ms": percentile(timings, 99),
            "mean_hits": statistics.mean(hits),
        }
        print(
            f"  {name:22} p50 {results[name]['p50_ms']:7.1f} ms   "
            f"p99 {results[name]['p99_ms']:7.1f} ms   ({results[name]['mean_hits']:.1f} hits)"
        )
    return results


def time_sends(app, token: str, room: str, count: int, rounds: int = 8) -> dict:
    """Sends one at a time through the Socket.IO test client: process CPU and wall time
    per send, with search (its words, the index) and without (neither), alternated."""
    from chat import groupcommit
    from events import socketio

    sock = socketio.test_client(app, auth={"token": token})
    assert sock.emit("joined_room", {"room": room}, callback=True)["ok"]
    figures = {"with index": ([], []), "without": ([], [])}
    real_document = groupcommit.document
    for round_ in range(rounds):
        for variant in ("with index", "without") if round_ % 2 == 0 else ("without", "with index"):
            if variant == "without":
                run_sql(app, "DROP INDEX ix_messages_search")
                groupcommit.document = lambda body: None
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for i in range(count // rounds):
                text = f"benchmark message {i} about the deployment of version {round_}"
                assert sock.emit("send_message", {"room": room, "message": text}, callback=True)[
                    "ok"
                ]
                sock.get_received()
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            figures[variant][0].append(cpu / (count // rounds) * 1e6)
            figures[variant][1].append(wall / (count // rounds) * 1e6)
            if variant == "without":
                groupcommit.document = real_document
                run_sql(app, INDEX)
    sock.disconnect()
    results = {}
    for variant, (cpus, walls) in figures.items():
        results[variant] = {"cpu_us": statistics.median(cpus), "wall_us": statistics.median(walls)}
        print(
            f"  {variant:12} app CPU {results[variant]['cpu_us']:6.0f} us/send   "
            f"wall {results[variant]['wall_us']:6.0f} us/send   (medians of {rounds // 2} runs)"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg-url", default="postgresql:///postgres")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--member-of", type=int, default=50)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sends", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--reuse", metavar="DATABASE", help="a database kept by --keep: only measure (kept)"
    )
    args = parser.parse_args()
    os.environ.setdefault("ASYNC_MODE", "threading")

    import flask_migrate
    from sqlalchemy import make_url

    from app import create_app
    from models import db

    name = args.reuse or f"chat_search_bench_{os.getpid()}"
    server = None if args.reuse else scratch_database(args.pg_url, name)
    url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "ASYNC_MODE": "threading",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "RATE_LIMIT": "off",
            "SEARCH_RATE_LIMIT": "off",
            "REGISTER_RATE_LIMIT": "off",
        }
    )
    rng = random.Random(SEED)
    try:
        writer = Writer(rng)
        if args.reuse:
            mine, samples = existing(app)
        else:
            with app.app_context():
                flask_migrate.upgrade(revision="0002_sessions")
            print(f"filling {args.messages:,} messages over {args.rooms:,} rooms")
            mine, samples = fill(app, args, writer)
            run_sql(app, "VACUUM ANALYZE", autocommit=True)
            upgrade(app)
        run_sql(app, "VACUUM FULL messages", autocommit=True)
        run_sql(app, "ANALYZE messages", autocommit=True)
        [(table, toast, index, pkey, history, body, words)] = run_sql(
            app,
            "SELECT pg_relation_size('messages'), pg_table_size('messages')"
            " - pg_relation_size('messages'), pg_relation_size('ix_messages_search'),"
            " pg_relation_size('pk_messages'), pg_relation_size('ix_messages_room_history'),"
            " sum(pg_column_size(body)), sum(pg_column_size(search_text)) FROM messages",
        )
        mb = 1024 * 1024
        print(
            f"  table {table / mb:.0f} MB (+ TOAST {toast / mb:.0f} MB), of which search_text"
            f" ~{words / mb:.0f} MB (body ~{body / mb:.0f} MB); search index {index / mb:.0f} MB"
            f" (primary key {pkey / mb:.0f} MB, history index {history / mb:.0f} MB)"
        )

        client = app.test_client()
        token = client.post(
            "/api/token", json={"username": "seeker", "password": PASSWORD}
        ).get_json()["token"]
        if args.queries:
            print(f"queries ({args.queries} of each kind, member of {args.member_of} rooms)")
            time_queries(app, token, query_kinds(writer, samples, rng, mine), args.queries)
        if args.sends:
            print(f"sends ({args.sends}, alternating with and without search)")
            time_sends(app, token, mine[0], args.sends)
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
        if server is None or args.keep:
            print(f"kept database {name}")
        else:
            with server.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            server.close()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
