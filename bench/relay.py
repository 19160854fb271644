"""Message relay benchmark: one sender, N receivers in one room, against a real server.

For each async mode it starts ``serve.py`` on a free port (SQLite, rate limit off),
sends M messages at a fixed rate with acks, and records when every receiver got each
one. Reports ack and delivery latency percentiles and delivered messages per second.
Modes run one after another in one invocation, so compare them as ratios.

    .venv/bin/python bench/relay.py --modes eventlet gevent threading
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.servers import Server

PASSWORD = "bench password"


def token(url: str, username: str) -> str:
    requests.post(
        f"{url}/api/register", json={"username": username, "password": PASSWORD}, timeout=10
    )
    response = requests.post(
        f"{url}/api/token", json={"username": username, "password": PASSWORD}, timeout=10
    )
    response.raise_for_status()
    return response.json()["token"]


def connect(url: str, username: str, on_message=None) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    if on_message:
        client.on("recieve_message", on_message)
    client.connect(url, auth={"token": token(url, username)}, transports=["websocket"])
    ack = client.call("joined_room", {"room": "bench"}, timeout=10)
    assert ack["ok"], ack
    return client


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_mode(mode: str, receivers: int, messages: int, rate: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(f"sqlite:///{tmp}/bench.db", Path(tmp) / "server.log", ASYNC_MODE=mode)
        server.migrate()
        server.start()
        try:
            sent_at: dict[str, float] = {}
            latencies: list[float] = []
            lock = threading.Lock()
            done = threading.Event()
            expected = receivers * messages

            def on_message(message):
                now = time.perf_counter()
                with lock:
                    latencies.append(now - sent_at[message["client_id"]])
                    if len(latencies) == expected:
                        done.set()

            clients = [connect(server.url, f"receiver{i}", on_message) for i in range(receivers)]
            sender = connect(server.url, "sender")
            acks: list[float] = []
            start = time.perf_counter()
            for i in range(messages):
                due = start + i / rate
                time.sleep(max(0.0, due - time.perf_counter()))
                client_id = f"m{i}"
                t0 = time.perf_counter()
                sent_at[client_id] = t0
                ack = sender.call(
                    "send_message",
                    {"room": "bench", "message": f"message {i}", "client_id": client_id},
                    timeout=30,
                )
                assert ack["ok"], ack
                acks.append(time.perf_counter() - t0)
            done.wait(timeout=60)
            elapsed = time.perf_counter() - start
            for client in [*clients, sender]:
                client.disconnect()
            return {
                "mode": mode,
                "delivered": len(latencies),
                "expected": expected,
                "ack_p50_ms": statistics.median(acks) * 1000,
                "ack_p99_ms": percentile(acks, 0.99) * 1000,
                "deliver_p50_ms": statistics.median(latencies) * 1000,
                "deliver_p99_ms": percentile(latencies, 0.99) * 1000,
                "deliveries_per_s": len(latencies) / elapsed,
            }
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["eventlet", "gevent", "threading"])
    parser.add_argument("--receivers", type=int, default=20)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second sent")
    args = parser.parse_args()
    print(f"{args.receivers} receivers, {args.messages} messages at {args.rate:g}/s, SQLite")
    columns = ["ack p50", "ack p99", "dlv p50", "dlv p99"]
    print(
        f"{'mode':<10} {'delivered':>11} " + " ".join(f"{c:>8}" for c in columns) + f" {'dlv/s':>7}"
    )
    for mode in args.modes:
        r = run_mode(mode, args.receivers, args.messages, args.rate)
        keys = ["ack_p50_ms", "ack_p99_ms", "deliver_p50_ms", "deliver_p99_ms"]
        print(
            f"{r['mode']:<10} {r['delivered']:>5}/{r['expected']:<5} "
            + " ".join(f"{r[k]:>6.1f}ms" for k in keys)
            + f" {r['deliveries_per_s']:>7.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
