"""Benchmark harness: the app against a bare Flask-SocketIO relay, per async mode.

For each async mode (eventlet and gevent by default) it starts the app (``serve.py`` on
PostgreSQL, rate limit off) and then the bare relay (``bench/bare_relay.py``), each on a
free port of 127.0.0.1, and runs the same scenarios against both with the Node load
generator (``bench/loadgen.mjs``, socket.io-client over WebSocket). Server CPU and RSS come
from /proc of the server's PID. Every figure is also given as the ratio app/relay of the
same run: the machine is shared and noisy, ratios are what to compare.

    .venv/bin/python bench/run.py                  # full run: writes bench/RESULTS.md, README
    .venv/bin/python bench/run.py --quick          # a 1-2 minute smoke run, writes nothing
    .venv/bin/python bench/run.py --modes gevent --scenarios fanout findmax --servers app
    .venv/bin/python bench/run.py --modes gevent --servers app --scenarios findmax \
        --py-spy /tmp/prof --no-write           # where the server's CPU goes, per scenario
    .venv/bin/python bench/run.py --modes threading --idle 2000 --out RESULTS-threading

PostgreSQL: a private database ``chat_bench_<pid>`` is created in the local server
(``--pg-url``, default ``postgresql:///postgres``), migrated with ``flask db upgrade`` and
dropped at the end. Users are inserted with SQL (one precomputed password hash) and their
tokens minted with the app's own ``auth.issue_token``; big histories are inserted with
``generate_series``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chart

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LOADGEN = BENCH / "loadgen.mjs"
PASSWORD = "bench password"
USER_PREFIX = "bench"
MODES = ("eventlet", "gevent", "threading")
KINDS = ("app", "relay")
SCENARIOS = ("fanout", "findmax", "join", "connect_join", "idle", "ingest", "abuse")
ABUSE_PHASES = ["quiet", "register", "bigframes", "typing", "rooms", "history"]
# The abuse scenario's user of many rooms, and its room of long messages.
ROOMS_USER, ROOMS_PREFIX, HISTORY_ROOM = "roomhoarder", "hoard-", "abuse-history"

# What each scenario does, full and quick. Times in seconds, rates in messages/s.
FULL = {
    "fanout": {"rooms": 1, "clients_per_room": 50, "senders": 5, "rate": 100, "duration_s": 8,
               "warmup_s": 1, "drain_ms": 2000},
    "findmax": {
        "configs": [
            {"rooms": 1, "clients_per_room": 50, "senders": 5},
            {"rooms": 10, "clients_per_room": 20, "senders": 10},
        ],
        "start_rate": 50, "factor": 2, "bisect": 2, "max_rate": 6400, "step_s": 2,
        "warmup_s": 1, "drain_ms": 1000, "p99_limit_ms": 200, "confirm_failures": 1,
        "budget_s": 30,
    },
    "join": {"histories": [100, 10_000, 1_000_000], "joins": 100},
    "connect_join": {"connections": 200, "concurrency": 10, "rooms": 10, "history": 100},
    "idle": {"connections": 10_000, "connect_concurrency": 100, "connect_timeout_ms": 10_000,
             "max_consecutive_failures": 200, "hold_s": 2},
    "ingest": {"clients": 20, "duration_s": 6, "warmup_s": 1},
    "abuse": {"phases": ABUSE_PHASES, "phase_s": 5, "probe_rate": 20,
              "registrations_per_s": 10, "frame_bytes": 900_000, "frames_per_s": 8,
              "flood_rate": 5000, "hoarded_rooms": 1000, "list_sockets": 10,
              "list_http_loops": 3, "history_sockets": 20, "history_messages": 300},
}  # fmt: skip
QUICK = {
    "fanout": {**FULL["fanout"], "duration_s": 2, "warmup_s": 0.5, "drain_ms": 1000},
    "findmax": {**FULL["findmax"], "start_rate": 100, "factor": 8, "bisect": 0, "max_rate": 800,
                "step_s": 1, "warmup_s": 0, "confirm_failures": 0, "budget_s": 3},
    "join": {"histories": [100, 1_000, 10_000], "joins": 10},
    "connect_join": {**FULL["connect_join"], "connections": 50},
    "idle": {**FULL["idle"], "connections": 200, "hold_s": 1},
    "ingest": {**FULL["ingest"], "duration_s": 1.5, "warmup_s": 0.5},
    "abuse": {**FULL["abuse"], "phase_s": 1.5},
}  # fmt: skip


def log(*args: object) -> None:
    print("[bench]", *args, file=sys.stderr, flush=True)


# --- processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile() -> None:
    """preexec_fn: the open-file soft limit up to the hard limit (10,000 sockets)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class ServerProcess:
    """serve.py (the app) or bench/bare_relay.py on a free port; stopped by PID."""

    def __init__(self, kind: str, mode: str, env: dict[str, str], log_dir: Path) -> None:
        self.kind, self.mode = kind, mode
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        script = "serve.py" if kind == "app" else "bench/bare_relay.py"
        self.argv = [sys.executable, script]
        self.env = {**os.environ, **env, "ASYNC_MODE": mode, "HOST": "127.0.0.1",
                    "PORT": str(self.port)}  # fmt: skip
        self.log_path = log_dir / f"{mode}-{kind}-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> ServerProcess:
        # eventlet listens with SO_REUSEPORT: a leftover server on this port would share it.
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise RuntimeError(f"something already listens on port {self.port}")
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.kind} did not start: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]

    def log_errors(self) -> dict[str, int]:
        """Tracebacks in the server's log, and how many were 'Too many open files'."""
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace")
            return {
                "server_tracebacks": text.count("Traceback (most recent call last)"),
                "server_emfile_errors": text.count("[Errno 24]"),
            }
        return {}

    def open_file_limit(self) -> str | None:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/limits").read_text().splitlines():
                if line.startswith("Max open files"):
                    return "/".join(line.split()[3:5])
        return None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_loadgen(config: dict, timeout: float) -> dict:
    """One scenario in a Node child; its JSON result (or {"error": ...})."""
    process = subprocess.Popen(
        ["node", str(LOADGEN)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,  # progress lines go straight to our stderr
        text=True,
        preexec_fn=raise_nofile,
    )
    try:
        out, _ = process.communicate(json.dumps(config), timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"error": f"load generator timed out after {timeout:.0f} s"}
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": f"load generator exited {process.returncode} without a result"}
    return json.loads(lines[-1])


# --- database --------------------------------------------------------------------------


class Database:
    """A private PostgreSQL database for this run, seeded with users and histories."""

    def __init__(self, admin_url: str) -> None:
        import psycopg2

        self.psycopg2 = psycopg2
        self.admin_url = admin_url
        self.name = f"chat_bench_{os.getpid()}"
        base = admin_url.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"
        self.created = False

    def connect(self, url: str | None = None):
        connection = self.psycopg2.connect(
            (url or self.url).replace("postgresql+psycopg2://", "postgresql://")
        )
        connection.autocommit = True
        return connection

    def create(self, secret_key: str) -> None:
        with contextlib.closing(self.connect(self.admin_url)) as admin, admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{self.name}"')
        self.created = True
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
            cwd=ROOT,
            # With a SECRET_KEY the app makes no instance/secret_key file.
            env={
                **os.environ,
                "DATABASE_URL": self.url,
                "ASYNC_MODE": "threading",
                "SECRET_KEY": secret_key,
            },
            check=True,
            capture_output=True,
        )

    def drop(self) -> None:
        if not self.created:
            return
        with contextlib.closing(self.connect(self.admin_url)) as admin, admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.created = False

    def version(self) -> str:
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            cur.execute("SHOW server_version")
            return cur.fetchone()[0]

    def seed_users(self, count: int) -> None:
        from werkzeug.security import generate_password_hash

        password_hash = generate_password_hash(PASSWORD, "scrypt")  # once, reused by all
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            cur.execute(
                "INSERT INTO users (username, password_hash, created_at) "
                "SELECT %s || lpad(g::text, 5, '0'), %s, now() "
                "FROM generate_series(0, %s - 1) AS g",
                (USER_PREFIX, password_hash, count),
            )

    def seed_room(self, name: str, messages: int) -> None:
        """A public room holding ``messages`` messages by 100 of the users, inserted with
        generate_series (not through the app)."""
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            cur.execute(
                "INSERT INTO rooms (name, kind, created_at) VALUES (%s, 'public', now()) "
                "RETURNING id",
                (name,),
            )
            room_id = cur.fetchone()[0]
            cur.execute("SELECT min(id) FROM users")
            first_user = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO messages (room_id, user_id, body, client_id, created_at, "
                "edited_at, deleted) "
                "SELECT %s, %s + g %% 100, 'history message ' || g, NULL, "
                "now() - make_interval(secs => (%s - g) / 1000.0), NULL, false "
                "FROM generate_series(1, %s) AS g",
                (room_id, first_user, messages, messages),
            )

    def seed_hoarder(self, username: str, rooms: int) -> None:
        """A user who is a member of ``rooms`` public rooms, each with a message from
        someone else that the user has not read."""
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            cur.execute(
                "INSERT INTO users (username, password_hash, created_at) "
                "VALUES (%s, 'x', now()) RETURNING id",
                (username,),
            )
            hoarder = cur.fetchone()[0]
            cur.execute("SELECT min(id) FROM users")
            someone = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO rooms (name, kind, created_at) "
                "SELECT %s || g, 'public', now() FROM generate_series(1, %s) AS g",
                (ROOMS_PREFIX, rooms),
            )
            cur.execute(
                "INSERT INTO memberships (room_id, user_id, joined_at) "
                "SELECT id, %s, now() FROM rooms WHERE name LIKE %s",
                (hoarder, ROOMS_PREFIX + "%"),
            )
            cur.execute(
                "INSERT INTO messages (room_id, user_id, body, created_at, deleted) "
                "SELECT id, %s, 'unread in ' || name, now(), false FROM rooms "
                "WHERE name LIKE %s",
                (someone, ROOMS_PREFIX + "%"),
            )

    def seed_long_messages(self, name: str, messages: int) -> None:
        """A public room of ``messages`` messages of 4,000 characters."""
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            cur.execute(
                "INSERT INTO rooms (name, kind, created_at) VALUES (%s, 'public', now()) "
                "RETURNING id",
                (name,),
            )
            room_id = cur.fetchone()[0]
            cur.execute("SELECT min(id) FROM users")
            someone = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO messages (room_id, user_id, body, created_at, deleted) "
                "SELECT %s, %s, repeat('x', 4000), now(), false FROM generate_series(1, %s)",
                (room_id, someone, messages),
            )

    def analyze(self) -> None:
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            cur.execute("ANALYZE users, rooms, memberships, messages")

    def forget_memberships(self, rooms: list[str]) -> None:
        """So that every mode's app joins these rooms as a first-time member."""
        with contextlib.closing(self.connect()) as db, db.cursor() as cur:
            cur.execute(
                "DELETE FROM memberships WHERE room_id IN "
                "(SELECT id FROM rooms WHERE name = ANY(%s))",
                (rooms,),
            )

    def tokens(self, secret_key: str, special: tuple[str, ...] = ()) -> tuple[list, dict]:
        """API tokens for every bench user, and for the ``special`` users by name, minted
        by the app's own accounts.issue_token."""
        sys.path.insert(0, str(ROOT))
        from sqlalchemy import select

        from app import create_app
        from chat import accounts
        from models import User, db

        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": self.url, "SECRET_KEY": secret_key,
             "ASYNC_MODE": "threading", "RATE_LIMIT": "off"}
        )  # fmt: skip
        with app.app_context():
            users = db.session.scalars(
                select(User).where(User.username.like(f"{USER_PREFIX}%")).order_by(User.id)
            ).all()
            tokens = [accounts.issue_token(user)["token"] for user in users]
            named = db.session.scalars(select(User).where(User.username.in_(special))).all()
            by_name = {user.username: accounts.issue_token(user)["token"] for user in named}
            db.session.remove()
            db.engine.dispose()
        return tokens, by_name


# --- scenarios -------------------------------------------------------------------------


def history_room(size: int) -> str:
    return f"hist-{size}"


def connect_join_rooms(profile: dict) -> list[str]:
    return [f"cj-{i}" for i in range(profile["connect_join"]["rooms"])]


class Tokens:
    """Hands out distinct users: no two connections open at once share one. ``special``
    holds the tokens of users seeded for one scenario, by name."""

    def __init__(self, tokens: list[str], special: dict[str, str] | None = None) -> None:
        self.tokens = tokens
        self.special = special or {}
        self.next = 0

    def take(self, count: int) -> list[str]:
        if self.next + count > len(self.tokens):
            self.next = 0
        taken = self.tokens[self.next : self.next + count]
        self.next += count
        return taken


def scenario_configs(name: str, profile: dict, kind: str, mode: str, tokens: Tokens) -> list:
    """The load generator configurations of one scenario (find-max has one per shape)."""
    p = profile[name]
    tag = f"{mode}-{kind}"
    if name == "fanout":
        rooms = [f"{tag}-fan-{i}" for i in range(p["rooms"])]
        return [{**p, "rooms": rooms, "tokens": tokens.take(p["rooms"] * p["clients_per_room"])}]
    if name == "findmax":
        configs = []
        for shape in p["configs"]:
            label = f"{shape['rooms']}x{shape['clients_per_room']}"
            rooms = [f"{tag}-max{label}-{i}" for i in range(shape["rooms"])]
            count = shape["rooms"] * shape["clients_per_room"]
            base = {k: v for k, v in p.items() if k != "configs"}
            configs.append(
                {**base, **shape, "label": label, "rooms": rooms, "tokens": tokens.take(count)}
            )
        return configs
    if name == "join":
        targets = [
            {"room": history_room(size), "history": size, "expect_history": kind == "app"}
            for size in p["histories"]
        ]
        return [{**p, "targets": targets, "tokens": tokens.take(p["joins"] * len(targets))}]
    if name == "connect_join":
        return [
            {**p, "rooms": connect_join_rooms(profile), "expect_history": kind == "app",
             "tokens": tokens.take(p["connections"])}
        ]  # fmt: skip
    if name == "idle":
        return [{**p, "tokens": tokens.take(p["connections"])}]
    if name == "ingest":
        return [{**p, "room_prefix": f"{tag}-ingest-", "tokens": tokens.take(p["clients"])}]
    if name == "abuse":
        # The relay has no accounts and no typing: only the app is measured.
        if kind != "app":
            return []
        return [
            {**p, "room": f"{tag}-abuse", "tokens": tokens.take(2),
             "rooms_token": tokens.special[ROOMS_USER], "history_room": HISTORY_ROOM,
             "history_tokens": tokens.take(p["history_sockets"])}
        ]  # fmt: skip
    raise ValueError(name)


def run_server(
    kind: str, mode: str, scenarios: list[str], profile: dict, ctx: dict
) -> dict[str, object]:
    """Start one server, run the scenarios against it, stop it. Idle runs on a server of
    its own, started fresh, so its RSS before is not inflated by the other scenarios."""
    results: dict[str, object] = {}
    groups = [[s for s in scenarios if s != "idle"], [s for s in scenarios if s == "idle"]]
    for group in groups:
        if not group:
            continue
        env = ctx["app_env"] if kind == "app" else {}
        server = ServerProcess(kind, mode, env, ctx["log_dir"])
        tokens = Tokens(ctx["tokens"], ctx.get("special_tokens"))
        try:
            server.start()
            log(f"{mode} {kind}: pid {server.pid} on {server.url}")
            results.setdefault("open_files", server.open_file_limit())
            for name in group:
                started = time.monotonic()
                outcome = []
                profiler = ctx["py_spy"] and Profiler(
                    ctx["py_spy"], server.pid, f"{mode}-{kind}-{name}"
                )
                for config in scenario_configs(name, profile, kind, mode, tokens):
                    config = {**config, "scenario": name, "url": server.url,
                              "server_pid": server.pid, "clk_tck": os.sysconf("SC_CLK_TCK"),
                              "per_message_deflate": ctx["deflate"]}  # fmt: skip
                    result = run_loadgen(config, timeout=ctx["scenario_timeout"])
                    if "label" in config:
                        result["label"] = config["label"]
                    if server.process.poll() is not None:
                        result["server_exited"] = server.process.returncode
                    outcome.append(result)
                    if "error" in result:
                        log(f"{mode} {kind} {name}: {result['error']}")
                if profiler:
                    profiler.stop()
                if not outcome:
                    continue  # not measured on this kind of server
                results[name] = outcome if name == "findmax" else outcome[0]
                log(f"{mode} {kind} {name}: {time.monotonic() - started:.1f} s")
                if server.process.poll() is not None:
                    log(f"{mode} {kind} exited: {server.log_tail()}")
                    break
        except RuntimeError as error:
            log(f"{mode} {kind}: {error}")
            results["error"] = str(error)
        finally:
            server.stop()
        results.setdefault("logs", []).append(str(server.log_path))
        for key, count in server.log_errors().items():
            results[key] = results.get(key, 0) + count
    return results


class Profiler:
    """py-spy attached to the server for one scenario: raw (collapsed) stacks into
    ``<dir>/<mode>-<kind>-<scenario>.txt`` and a summary of the functions that hold the
    most samples beside it (``.top.txt``). Sampling pauses the server ~100 times a
    second, so figures of a profiled run are not the benchmark's."""

    def __init__(self, out_dir: Path, pid: int, label: str) -> None:
        self.raw = out_dir / f"{label}.txt"
        self.top = out_dir / f"{label}.top.txt"
        py_spy = Path(sys.executable).with_name("py-spy")
        command = [str(py_spy), "record", "--pid", str(pid), "--rate", "100",
                   "--format", "raw", "--output", str(self.raw)]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.raw.exists():
            self.top.write_text(summarise_stacks(self.raw.read_text()))
            log(f"profile: {self.top}")
        else:
            log(f"py-spy wrote nothing: {self.process.stderr.read().decode()[-500:]}")


def summarise_stacks(raw: str, limit: int = 40) -> str:
    """The functions holding the most samples in py-spy's raw output (one stack per line,
    frames root first, separated by ';', then the sample count): inclusive (anywhere on
    the stack) and self (the innermost frame), as a share of all samples."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        # "function (file.py:line)": the function and its file, without the line
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
        own[frames[-1]] = own.get(frames[-1], 0) + n
    if not total:
        return "no samples\n"

    def ranked(counts: dict[str, int]) -> str:
        rows = sorted(counts.items(), key=lambda kv: -kv[1])[:limit]
        return "\n".join(f"{100 * n / total:5.1f} %  {frame}" for frame, n in rows)

    return (
        f"{total} samples\n\ninclusive (on the stack):\n{ranked(inclusive)}\n\n"
        f"self (innermost frame):\n{ranked(own)}\n"
    )


# --- report ----------------------------------------------------------------------------


def dig(data: object, *path: object) -> object:
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return None
    return data


def figures(profile: dict) -> list[tuple[str, object]]:
    """(row label, function of one server's results -> (value, text))."""
    fan = profile["fanout"]
    shape = f"{fan['rooms']} x {fan['clients_per_room']}"
    rows: list[tuple[str, object]] = []

    def cpu_per_1000(r):
        received, cpu = dig(r, "fanout", "received"), dig(r, "fanout", "server_cpu_s")
        if not received or cpu is None:
            return None, "-"
        value = 1000 * cpu / received
        return value, f"{value:.3f}"

    rows.append((f"server CPU s per 1,000 deliveries, {fan['rate']} msg/s ({shape})",
                 cpu_per_1000))  # fmt: skip

    def fan_p99(r):
        value, lost = dig(r, "fanout", "latency_ms", "p99"), dig(r, "fanout", "lost")
        if value is None:
            return None, "-"
        lag = dig(r, "fanout", "send_lag_ms", "p99")
        return value, (
            f"{value:.1f} ms"
            + (f" ({lost:,} lost)" if lost else "")
            + (f" (load generator {lag:.0f} ms behind schedule at p99)" if lag and lag > 50 else "")
        )

    rows.append((f"delivery p99, {fan['rate']} msg/s ({shape})", fan_p99))
    for i, config in enumerate(profile["findmax"]["configs"]):
        label = f"{config['rooms']} x {config['clients_per_room']}"

        def find_max(r, i=i):
            entry = dig(r, "findmax", i)
            value = dig(entry, "max_rate")
            if value is None:
                return None, "-"
            prefix = "≥ " if dig(entry, "hit_max_rate") else ""
            return value, f"{prefix}{value}"

        rows.append((f"find-max msg/s ({label})", find_max))
    for i, size in enumerate(profile["join"]["histories"]):

        def join_p50(r, i=i):
            value = dig(r, "join", "targets", i, "join_ms", "p50")
            return (None, "-") if value is None else (value, f"{value:.1f} ms")

        rows.append((f"join p50, room of {size:,} messages", join_p50))

    def held(r):
        value, target = dig(r, "idle", "held_after_hold"), dig(r, "idle", "target")
        return (None, "-") if value is None else (value, f"{value:,} / {target:,}")

    rows.append(("idle connections held", held))

    def kib(r):
        value = dig(r, "idle", "kib_per_connection")
        return (None, "-") if value is None else (value, f"{value:.0f}")

    rows.append(("KiB per idle connection", kib))

    def connect_join(r):
        value = dig(r, "connect_join", "server_cpu_ms_per_connect_join")
        return (None, "-") if value is None else (value, f"{value:.2f}")

    rows.append(("server CPU ms per connect + join", connect_join))

    def ingest(r):
        value = dig(r, "ingest", "messages_per_s")
        return (None, "-") if value is None else (value, f"{value:.0f}")

    rows.append((f"ingest msg/s (closed loop, {profile['ingest']['clients']} clients)", ingest))

    a = profile["abuse"]
    labels = {
        "quiet": lambda: "quiet",
        "register": lambda: f"{a['registrations_per_s']} registrations/s",
        "bigframes": lambda: (
            f"{a['frames_per_s']} frames/s of {a['frame_bytes'] // 1000} kB, unauthenticated"
        ),
        "typing": lambda: f"{a['flood_rate']:,} typing events/s from one user",
        "rooms": lambda: (
            f"a user of {a['hoarded_rooms']:,} rooms listing them "
            f"({a['list_sockets']} sockets of watch_rooms, {a['list_http_loops']} loops of "
            "GET /api/rooms)"
        ),
        "history": lambda: (
            f"{a['history_sockets']} sockets looping load_history of 4,000-character messages"
        ),
    }
    for phase in profile["abuse"]["phases"]:

        def abuse(r, phase=phase):
            phases = {p["phase"]: p for p in dig(r, "abuse", "phases") or []}
            found, quiet = phases.get(phase), phases.get("quiet")
            p50, p99 = dig(found, "ack_ms", "p50"), dig(found, "ack_ms", "p99")
            if p50 is None:
                return None, "-"
            text = f"{p50:.1f} / {p99:.1f} ms"
            q50, q99 = dig(quiet, "ack_ms", "p50"), dig(quiet, "ack_ms", "p99")
            if phase != "quiet" and q50 and q99:
                text += f" (x{p50 / q50:.1f} / x{p99 / q99:.1f} of quiet)"
            return p99, text

        rows.append((f"another client's ack p50 / p99: {labels[phase]()}", abuse))

    def loadgen_peak(r):
        values = [w["loadgen_cpu_pct"] for w in windows(r) if w.get("loadgen_cpu_pct") is not None]
        return (None, "-") if not values else (None, f"{max(values):.0f} %")

    rows.append(("load generator CPU, busiest window (% of one core)", loadgen_peak))

    def others(r):
        mean = other_cpu_mean(r)
        return (None, "-") if mean is None else (None, f"{mean:.0f} %")

    rows.append(("CPU of all other processes, mean (% of one core; app: incl. PostgreSQL)", others))
    return rows


def other_cpu_mean(r: dict) -> float | None:
    """CPU of every other process during one server's windows, % of one core (wall-weighted)."""
    measured = [w for w in windows(r) if w.get("other_cpu_pct") is not None and w["wall_s"]]
    if not measured:
        return None
    wall = sum(w["wall_s"] for w in measured)
    return sum(w["other_cpu_pct"] * w["wall_s"] for w in measured) / wall


def windows(r: dict):
    """Every measured window of one server's results (each has wall_s and CPU figures)."""
    for name in ("fanout", "connect_join", "ingest"):
        window = dig(r, name)
        if isinstance(window, dict) and "wall_s" in window:
            yield window
    for entry in dig(r, "findmax") or []:
        yield from entry.get("steps", [])
    yield from dig(r, "join", "targets") or []
    window = dig(r, "idle", "connect_window")
    if window:
        yield window


def table(results: dict, profile: dict, modes: list[str], kinds: list[str]) -> str:
    header = ["figure"]
    for mode in modes:
        header += [f"{mode} {kind}" for kind in kinds]
        if len(kinds) == 2:
            header.append(f"{mode} app/relay")
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for label, extract in figures(profile):
        cells = [label]
        for mode in modes:
            values = {}
            for kind in kinds:
                value, text = extract(results.get(mode, {}).get(kind, {}))
                values[kind] = value
                cells.append(text)
            if len(kinds) == 2:
                app, relay = values["app"], values["relay"]
                ratio = f"{app / relay:.2f}" if app is not None and relay else "-"
                cells.append(ratio)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine(database: Database | None) -> dict:
    model = "unknown"
    with contextlib.suppress(OSError):
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        model = match.group(1) if match else model
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    versions = {}
    for package in ("Flask-SocketIO", "python-socketio", "python-engineio", "eventlet",
                    "gevent", "simple-websocket", "gevent-websocket"):  # fmt: skip
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    with contextlib.suppress(OSError, ValueError):
        package = json.loads((ROOT / "node_modules/socket.io-client/package.json").read_text())
        versions["socket.io-client"] = package["version"]
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": node,
        "postgresql": database.version() if database and database.created else None,
        "packages": versions,
    }


def details(results: dict, modes: list[str], kinds: list[str]) -> str:
    out = []
    for mode in modes:
        for kind in kinds:
            r = results.get(mode, {}).get(kind)
            if not r:
                continue
            out.append(f"### {mode} {kind}\n")
            out.append(f"- open-file limit of the server process (soft/hard): "
                       f"{r.get('open_files')}")  # fmt: skip
            if r.get("error"):
                out.append(f"- error: {r['error']}")
            dropped = {
                name: dig(r, name, "unexpected_disconnects")
                for name in ("fanout", "join", "connect_join", "idle", "ingest")
                if dig(r, name, "unexpected_disconnects")
            }
            for entry in r.get("findmax") or []:
                if entry.get("unexpected_disconnects"):
                    dropped[f"findmax {entry.get('label')}"] = entry["unexpected_disconnects"]
            if dropped:
                out.append(f"- connections the server dropped during a scenario: {dropped}")
            if r.get("server_tracebacks"):
                out.append(
                    f"- the server logged {r['server_tracebacks']} tracebacks, "
                    f"{r.get('server_emfile_errors', 0)} of them 'Too many open files'"
                )
            fan = r.get("fanout")
            if fan and "error" not in fan:
                out.append(
                    f"- fan-out {fan['rate']} msg/s for {fan['duration_s']} s: "
                    f"{fan['received']:,}/{fan['expected']:,} delivered "
                    f"({fan['deliveries_per_s']:,.0f}/s), latency p50/p99/max "
                    f"{fan['latency_ms']['p50']}/{fan['latency_ms']['p99']}/"
                    f"{fan['latency_ms']['max']} ms, acks {fan['acks_ok']} ok / "
                    f"{fan['acks_failed']} failed (ack p99 {fan['ack_latency_ms']['p99']} ms), "
                    f"server CPU {fan['server_cpu_pct']} %, load generator "
                    f"{fan['loadgen_cpu_pct']} %, everything else {fan['other_cpu_pct']} % "
                    f"(of one CPU), send lag p99 {fan['send_lag_ms']['p99']} ms"
                )
            for entry in r.get("findmax") or []:
                if "error" in entry:
                    out.append(f"- find-max {entry.get('label')}: {entry['error']}")
                    continue
                steps = ", ".join(
                    f"{s['rate']}{'✓' if s['held'] else '✗'} "
                    f"(p99 {s['latency_ms']['p99']} ms"
                    + (f", lost {s['lost']}" if s["lost"] else "")
                    + (f", {s['acks_failed']} acks failed" if s["acks_failed"] else "")
                    + (
                        f", sends {s['send_lag_ms']['p99']:.0f} ms late at p99"
                        if (s["send_lag_ms"]["p99"] or 0) > 50
                        else ""
                    )
                    + f", srv {s['server_cpu_pct']:.0f} %, lg {s['loadgen_cpu_pct']:.0f} %"
                    f", other {s['other_cpu_pct']:.0f} %)"
                    for s in entry["steps"]
                )
                out.append(f"- find-max {entry['label']}: {entry['max_rate']} msg/s held; "
                           f"steps: {steps}")  # fmt: skip
            for phase in dig(r, "abuse", "phases") or []:
                attack = phase.get("attack") or {}
                out.append(
                    f"- abuse {phase['phase']}: another client's ack p50/p99 "
                    f"{phase['ack_ms']['p50']}/{phase['ack_ms']['p99']} ms"
                    + (f", its errors {phase['errors']}" if phase.get("errors") else "")
                    + (f"; the attack's answers {attack}" if attack else "")
                )
            join = r.get("join")
            for target in (join or {}).get("targets", []):
                out.append(
                    f"- join {target['room']} ({target['measured']}): p50/p99 "
                    f"{target['join_ms']['p50']}/{target['join_ms']['p99']} ms over "
                    f"{target['join_ms']['n']} joins (ack p50 {target['ack_ms']['p50']} ms)"
                    + (f", rejoin_room carried {target['rejoin_messages']} messages, "
                       f"has_more={target['rejoin_has_more']}"
                       if target["rejoin_messages"] is not None else "")
                    + (f", errors {target['errors']}" if target["errors"] else "")
                )  # fmt: skip
            if join and "error" in join:
                out.append(f"- join: {join['error']}")
            cj = r.get("connect_join")
            if cj:
                out.append(
                    f"- connect + join: {cj.get('connected_and_joined')}/"
                    f"{cj.get('connections')} in {cj.get('wall_s')} s, server CPU "
                    f"{cj.get('server_cpu_ms_per_connect_join')} ms each"
                    + (f", errors {cj['errors']}" if cj.get("errors") else "")
                    + (f", {cj['error']}" if cj.get("error") else "")
                )
            idle = r.get("idle")
            if idle:
                out.append(
                    f"- idle: {idle.get('connected')}/{idle.get('target')} connected "
                    f"({idle.get('failed')} failed, {idle.get('not_tried')} not tried"
                    + (", stopped after repeated failures" if idle.get("stopped_early") else "")
                    + f"), {idle.get('held_after_hold')} still connected after "
                    f"{idle.get('hold_s')} s; RSS {idle.get('rss_before_kib')} → "
                    f"{idle.get('rss_after_kib')} KiB, open files {idle.get('server_fds_before')}"
                    f" → {idle.get('server_fds_held')}; server CPU "
                    f"{idle.get('server_cpu_ms_per_connect')} ms per connect"
                    + (f"; connect errors {idle['connect_errors']}"
                       if idle.get("connect_errors") else "")
                    + (f"; {idle['error']}" if idle.get("error") else "")
                )  # fmt: skip
            ingest = r.get("ingest")
            if ingest:
                out.append(
                    f"- ingest: {ingest.get('messages_per_s')} msg/s, ack p50/p99 "
                    f"{dig(ingest, 'ack_ms', 'p50')}/{dig(ingest, 'ack_ms', 'p99')} ms, "
                    f"{ingest.get('acks_failed')} failed, server CPU "
                    f"{ingest.get('server_cpu_ms_per_message')} ms per message"
                    + (f", {ingest['error']}" if ingest.get("error") else "")
                )
            out.append("")
    return "\n".join(out)


def paragraph(text: str, bullet: bool = False) -> str:
    """One Markdown paragraph (or list item) wrapped at 92 columns."""
    return textwrap.fill(
        " ".join(text.split()),
        width=92,
        initial_indent="- " if bullet else "",
        subsequent_indent="  " if bullet else "",
        break_on_hyphens=False,
    )


def write_results(text_table: str, report: dict, args) -> None:
    m, p = report["machine"], args.profile
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    fm, cj, idle = p["findmax"], p["connect_join"], p["idle"]
    intro = [
        f"Written by `make bench` (`{' '.join(['bench/run.py', *report['argv']])}`) on "
        f"{report['date']}; the run took {report['duration_s'] / 60:.1f} minutes.",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), Linux {m['kernel']}, Python {m['python']}, "
        f"Node {m['node']}, PostgreSQL {m['postgresql']}; load average at start "
        f"{' '.join(report['loadavg_start'])}, at end {' '.join(report['loadavg_end'])}. "
        f"{packages}.",
        "The machine is shared with other engineers' test runs: read the app/relay ratios "
        "(both measured in the same run, one after the other), not the absolute numbers.",
    ]
    busy = {
        column: value
        for column, value in report["other_cpu_mean"].items()
        # The app's PostgreSQL counts as "other" too: allow it a share.
        if value is not None and value > (50 if column.endswith("app") else 25)
    }
    if busy:
        intro.append(
            "**This run shared the machine**: other processes (PostgreSQL for the app, and other "
            "people's work) used on average "
            + ", ".join(
                f"{value:.0f} % of a core during {column}" for column, value in busy.items()
            )
            + " (last row of the table). Those columns measure contention as much as the stack."
        )
    notes = [
        "**app** is `serve.py` on PostgreSQL (`RATE_LIMIT=off`, nothing else special), "
        "**relay** is `bench/bare_relay.py` (no database, no auth) in the same async mode; "
        "app/relay is their ratio (for throughput higher is better, for CPU, latency and "
        "memory lower is better).",
        "Server CPU is utime + stime of the server's PID from `/proc`; it does not include "
        "the PostgreSQL backends the app uses. RSS is `VmRSS` from `/proc/PID/status`.",
        "Deliveries: each message is received by every client of its room, sender included. "
        "Latency is from the sender's emit to a receiver's `recieve_message`, on one process "
        "clock. Senders emit at an open-loop rate, spread evenly, without waiting for acks.",
        f"find-max: open-loop fan-out steps of {fm['step_s']} s at rising rates from "
        f"{fm['start_rate']} msg/s (x{fm['factor']}, then {fm['bisect']} bisections); a step "
        f"holds when p99 ≤ {fm['p99_limit_ms']} ms, nothing is lost within "
        f"{fm['drain_ms']} ms of the last send and every ack is ok; a failed step is tried "
        f'{fm["confirm_failures"]} more time(s) before it counts. "≥" means the highest '
        "rate tried still held.",
        "join: time from emitting `joined_room` to `rejoin_room` (app: the newest 50 "
        "messages) or to the ack (relay: it sends no history); a fresh connection per join "
        "(connecting is not timed), joins one after another, every joiner a first-time "
        "member. The histories were inserted with SQL (`generate_series`).",
        f"connect + join: {cj['connections']} connections, {cj['concurrency']} at a time, "
        f"each joining one of {cj['rooms']} rooms of {cj['history']} messages and staying "
        "open; server CPU over the whole window / connections.",
        "idle: one authenticated connection per user, on a freshly started server; KiB per "
        "connection = (RSS with the connections - RSS before) / connections held. A connect "
        f"that does not complete within {idle['connect_timeout_ms'] / 1000:.0f} s fails; "
        f"after {idle['max_consecutive_failures']} failures in a row the rest are not tried.",
        f"ingest: {p['ingest']['clients']} clients, each in a room of its own, each sending "
        "its next message when the previous ack arrives; acked messages per second.",
        "abuse (app only): one client's `send_message` ack round trip at "
        f"{p['abuse']['probe_rate']}/s, {p['abuse']['phase_s']} s quiet and then "
        f"{p['abuse']['phase_s']} s during each attack. The typing flooder is a worker thread "
        "of the load generator with an event loop of its own, emitting at a fixed rate (ten "
        "times what the server reads from one connection): emitting as fast as Node can, its "
        "own buffering and garbage collection took the cores this machine's server needs "
        "(another client's p99 x1.4-x5.5 of quiet over 4 runs), which a remote attacker cannot.",
        "The load generator (Node, socket.io-client, one process, one connection per user) "
        + (
            "offers permessage-deflate, as browsers do. "
            if args.deflate
            else "offers no permessage-deflate (browsers do; `--deflate` offers it: inflating "
            "every frame tripled the load generator's CPU per delivery). "
        )
        + f"Its CPU in its busiest window of the run was {report['loadgen_peak_pct']:.0f} % "
        "of one core.",
        "\"All other processes\" is the machine's busy time (`/proc/stat`) minus the server's "
        "and the load generator's, over the same windows: PostgreSQL for the app, and whatever "
        "else ran on the shared machine. Where it is high, that column was measured on a busy "
        "machine.",
    ]
    body = (
        "# Benchmark results\n\n"
        + "\n\n".join(paragraph(t) for t in intro)
        + f"\n\n{text_table}\n\nHow to read it:\n\n"
        + "\n".join(paragraph(t, bullet=True) for t in notes)
        + f"\n\nParameters:\n\n```json\n{json.dumps(p, indent=1)}\n```\n\n"
        + f"## Details\n\n{report['details']}"
    )
    (BENCH / f"{args.out}.md").write_text(body)
    (BENCH / f"{args.out.lower()}.json").write_text(json.dumps(report, indent=1) + "\n")
    chart.draw(
        figures(p), report["results"], args.modes, args.servers, BENCH / f"{args.out.lower()}.png",
        f"make bench, {report['date']}: the app beside the bare relay (bench/{args.out}.md)",
    )  # fmt: skip
    if args.out != "RESULTS":
        return  # a reference run: the README shows the default one
    readme = ROOT / "README.md"
    text = readme.read_text()
    about = (
        f"`make bench` (`bench/run.py`; this run took {report['duration_s'] / 60:.1f} minutes) "
        "measures the app against a bare Flask-SocketIO relay (`bench/bare_relay.py`: no "
        "database, no auth, the ceiling of this stack) in the same async mode, one after the "
        "other, with a Node load generator (`bench/loadgen.mjs`, socket.io-client over "
        "WebSocket, one connection per user): fan-out into rooms at an open-loop rate, the "
        "highest rate that holds p99 ≤ 200 ms without loss, join latency in rooms of up to a "
        "million messages, idle connections and their memory, server CPU per connect + join, "
        "closed-loop ingest, and (app only) another client's ack round trip while someone "
        "registers accounts, sends 900 kB frames unauthenticated or floods typing. "
        "It needs Node and the local PostgreSQL (the app runs on a "
        "private database made for the run and dropped after it). "
        "`make bench BENCH_ARGS=--quick` is a smoke run of 1-2 minutes that writes nothing; "
        "`--modes`, `--threading`, `--servers`, `--scenarios`, `--idle N` and `--deflate` "
        "pick what runs; `--py-spy DIR` profiles the server during each scenario (the "
        "functions holding the most samples, beside py-spy's raw stacks) and `--out NAME` "
        "writes a reference run to `bench/NAME.md` without touching this section."
    )
    results_of = (
        f"Results of {report['date'][:10]} on this project's shared 2-core machine (how to "
        "read each row, the parameters and every step in [bench/RESULTS.md](bench/RESULTS.md)); "
        "read the app/relay ratios, not the absolute numbers:"
    )
    picture = (
        "![make bench: each figure, the app beside the relay per async mode](bench/results.png)"
    )
    section = (
        f"## Benchmarks\n\n{paragraph(about)}\n\n{paragraph(results_of)}\n\n{picture}\n\n"
        f"{text_table}\n\n"
    )
    pattern = re.compile(r"## Benchmarks\n.*?(?=^## )", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text, count=1)
    else:
        text += "\n" + section
    readme.write_text(text)


# --- main ------------------------------------------------------------------------------


def parse_args(argv: list[str]):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=["eventlet", "gevent"])
    parser.add_argument("--threading", action="store_true", help="add the threading mode")
    parser.add_argument("--servers", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--quick", action="store_true", help="a smoke run of 1-2 minutes")
    parser.add_argument("--idle", type=int, help="idle connections (default 10,000)")
    parser.add_argument(
        "--deflate",
        action="store_true",
        help="the load generator offers permessage-deflate, as browsers do",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql:///postgres"),
        help="a database of the local PostgreSQL to create the run's one from",
    )
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write bench/RESULTS.md and README (default: unless --quick)",
    )
    parser.add_argument(
        "--out",
        default="RESULTS",
        metavar="NAME",
        help="write bench/NAME.md and bench/name.json; the README only for RESULTS (default)",
    )
    parser.add_argument(
        "--abuse-phases",
        nargs="+",
        choices=ABUSE_PHASES,
        help="run only these phases of the abuse scenario (quiet is always first)",
    )
    parser.add_argument("--log-dir", type=Path, help="server logs (default: a temp dir)")
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="profile the server during each scenario with py-spy, into DIR (skews the figures)",
    )
    args = parser.parse_args(argv)
    if args.threading and "threading" not in args.modes:
        args.modes.append("threading")
    profile = json.loads(json.dumps(QUICK if args.quick else FULL))
    if args.idle is not None:
        profile["idle"]["connections"] = args.idle
    if args.abuse_phases:
        profile["abuse"]["phases"] = ["quiet"] + [p for p in args.abuse_phases if p != "quiet"]
    args.profile = profile
    if args.write is None:
        args.write = not args.quick and not args.py_spy
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", args.out):
        parser.error("--out is a file name in bench/, without .md")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started = time.monotonic()
    loadavg_start = Path("/proc/loadavg").read_text().split()[:3]
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    profile = args.profile
    needs_db = "app" in args.servers
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="chat-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    database = Database(args.pg_url) if needs_db else None
    secret_key = secrets.token_hex(32)
    seeded: list[str] = []
    try:
        users = max(profile["idle"]["connections"] if "idle" in args.scenarios else 0, 1000)
        if database:
            t0 = time.monotonic()
            database.create(secret_key)
            database.seed_users(users)
            if "join" in args.scenarios:
                for size in profile["join"]["histories"]:
                    database.seed_room(history_room(size), size)
                    seeded.append(history_room(size))
            if "connect_join" in args.scenarios:
                for name in connect_join_rooms(profile):
                    database.seed_room(name, profile["connect_join"]["history"])
                    seeded.append(name)
            if "abuse" in args.scenarios:
                database.seed_hoarder(ROOMS_USER, profile["abuse"]["hoarded_rooms"])
                database.seed_long_messages(HISTORY_ROOM, profile["abuse"]["history_messages"])
            database.analyze()
            tokens, special_tokens = database.tokens(secret_key, (ROOMS_USER,))
            log(f"database {database.name}: {len(tokens)} users, rooms {seeded} "
                f"({time.monotonic() - t0:.1f} s)")  # fmt: skip
        else:
            tokens = [f"relay-{i}" for i in range(users)]  # the relay ignores them
            special_tokens = {}
        ctx = {
            "tokens": tokens,
            "special_tokens": special_tokens,
            "log_dir": log_dir,
            "deflate": args.deflate,
            "py_spy": args.py_spy,
            "scenario_timeout": 600,
            "app_env": {
                "DATABASE_URL": database.url if database else "",
                "SECRET_KEY": secret_key,
                "RATE_LIMIT": "off",
                # The abuse scenario's registrations must each cost a real scrypt hash
                # (on the thread pool), not a cheap 429 from the per-address throttle.
                "FLASK_REGISTER_RATE_LIMIT": "off",
            },
        }
        for mode in args.modes:
            for kind in args.servers:
                if kind == "app" and database and seeded:
                    database.forget_memberships(seeded)
                results.setdefault(mode, {})[kind] = run_server(
                    kind, mode, args.scenarios, profile, ctx
                )
        text_table = table(results, profile, args.modes, args.servers)
        peaks = [
            w["loadgen_cpu_pct"]
            for by_kind in results.values()
            for r in by_kind.values()
            for w in windows(r)
            if w.get("loadgen_cpu_pct") is not None
        ]
        report = {
            "loadgen_peak_pct": max(peaks, default=0),
            "other_cpu_mean": {
                f"{mode} {kind}": other_cpu_mean(r)
                for mode, by_kind in results.items()
                for kind, r in by_kind.items()
            },
            "date": date,
            "argv": argv,
            "duration_s": round(time.monotonic() - started, 1),
            "machine": machine(database),
            "loadavg_start": loadavg_start,
            "loadavg_end": Path("/proc/loadavg").read_text().split()[:3],
            "profile": profile,
            "results": results,
            "details": details(results, args.modes, args.servers),
        }
        print(text_table)
        print(f"\n{report['duration_s'] / 60:.1f} minutes; server logs in {log_dir}", flush=True)
        if args.write:
            write_results(text_table, report, args)
            log(f"wrote bench/{args.out}.md, bench/{args.out.lower()}.json" +
                (" and README.md's Benchmarks" if args.out == "RESULTS" else ""))  # fmt: skip
        else:
            print("\n" + report["details"])
    finally:
        if database:
            database.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
