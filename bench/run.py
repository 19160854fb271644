"""Benchmark harness: the app against a bare Flask-SocketIO relay, per async mode.

For each async mode (eventlet and gevent by default) it starts the app (``serve.py`` on
PostgreSQL, rate limit off) and then the bare relay (``bench/bare_relay.py``), each on a
free port of 127.0.0.1, and runs the same scenarios against both with the Node load
generator (``bench/loadgen.mjs``, socket.io-client over WebSocket). Server CPU and RSS come
from /proc of the server's PID. Every figure is also given as the ratio app/relay of the
same run: the machine is shared and noisy, ratios are what to compare.

This module holds the scenarios and the command line; ``processes.py`` the servers, the
load generator and py-spy; ``database.py`` the run's database; ``figures.py`` what each
figure is and the table; ``report.py`` what a run writes (``chart.py`` draws the table).

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
import datetime as dt
import json
import os
import re
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from database import HISTORY_ROOM, ROOMS_USER, Database
from figures import other_cpu_mean, table, windows
from processes import Profiler, ServerProcess, log, run_loadgen
from report import details, machine, write_results

MODES = ("eventlet", "gevent", "threading")
KINDS = ("app", "relay")
SCENARIOS = ("fanout", "findmax", "join", "connect_join", "idle", "ingest", "abuse")
ABUSE_PHASES = ["quiet", "register", "bigframes", "typing", "rooms", "history"]

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
