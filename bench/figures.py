"""The figures a run reports, each the app's beside the relay's with their ratio: what
each is and where it lies in the load generator's results, and the table of them."""

from __future__ import annotations


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
