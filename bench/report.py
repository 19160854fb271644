"""What a run writes: the details per mode and server, the machine it ran on, and
bench/RESULTS.md, results.json, the chart and the README's table (``figures.py``)."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
import textwrap
from importlib import metadata
from pathlib import Path

import chart
from database import Database
from figures import dig, figures
from processes import BENCH, ROOT


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
        f"{text_table}\n"
    )
    readme.write_text(put_in_readme(text, section))


# Where the part of the README's Benchmarks section that a run writes ends: notes written
# by hand below it (what a run's figures mean since) stay when the next run writes its own.
WRITTEN_ABOVE = "<!-- make bench writes the section down to here; what follows stays -->"


def put_in_readme(text: str, section: str) -> str:
    """The README with ``section`` in place of what the last run wrote (of the whole
    Benchmarks section, in a README from before the marker)."""
    section = f"{section}\n{WRITTEN_ABOVE}\n"
    written = re.compile(r"^## Benchmarks\n.*?" + re.escape(WRITTEN_ABOVE) + r"\n", re.S | re.M)
    whole = re.compile(r"^## Benchmarks\n.*?(?=^## )", re.S | re.M)
    if written.search(text):
        return written.sub(lambda _m: section, text, count=1)
    if whole.search(text):
        return whole.sub(lambda _m: section + "\n", text, count=1)
    return f"{text}\n{section}"
