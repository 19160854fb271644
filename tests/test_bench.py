"""Smoke test of the benchmark harness: the bare relay starts and relays one message, and
the Node load generator runs a tiny fan-out against it. No assertion on timing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import socketio

from bench.processes import LOADGEN, ROOT, ServerProcess, summarise_stacks


@pytest.fixture(scope="module", params=["eventlet", "gevent"])
def relay(request, tmp_path_factory):
    server = ServerProcess("relay", request.param, {}, tmp_path_factory.mktemp(request.param))
    server.start()
    yield server
    server.stop()


def test_relay_relays_one_message(relay):
    received = []
    client = socketio.Client(reconnection=False)
    client.on("recieve_message", received.append)
    client.connect(relay.url, auth={"token": "unused"}, transports=["websocket"])
    try:
        assert client.call("joined_room", {"room": "r"}, timeout=10) == {"ok": True, "room": "r"}
        ack = client.call(
            "send_message", {"room": "r", "message": "hi", "client_id": "c1"}, timeout=10
        )
        assert ack["ok"] is True and ack["id"] == 1 and ack["created_at"].endswith("Z")
        client.sleep(0)
        for _ in range(100):
            if received:
                break
            client.sleep(0.05)
        assert received == [
            {
                "id": 1,
                "room": "r",
                "username": "relay",
                "message": "hi",
                "created_at": ack["created_at"],
                "client_id": "c1",
            }
        ]
    finally:
        client.disconnect()


@pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules/socket.io-client").exists(),
    reason="needs node and node_modules/socket.io-client",
)
def test_loadgen_fanout_against_relay(relay):
    config = {
        "scenario": "fanout",
        "url": relay.url,
        "server_pid": relay.pid,
        "tokens": ["unused"] * 4,
        "rooms": ["a", "b"],
        "clients_per_room": 2,
        "senders": 2,
        "rate": 20,
        "duration_s": 0.5,
        "warmup_s": 0,
        "drain_ms": 3000,
        "quiet": True,
    }
    out = subprocess.run(
        ["node", str(LOADGEN)],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=ROOT,
    ).stdout
    result = json.loads(out)
    assert result["setup"]["connected"] == 4 and result["setup"]["joined"] == 4
    assert result["messages"] == 10 and result["expected"] == 20
    assert result["received"] == 20 and result["lost"] == 0
    assert result["acks_ok"] == 10 and result["acks_failed"] == 0
    assert result["server_cpu_s"] >= 0 and sys.platform.startswith("linux")


def test_profile_summary_counts_each_function_once_per_stack():
    raw = (
        "handle (ws.py:10);send (ws.py:20);send (ws.py:20) 6\n"
        "handle (ws.py:11);store (chat.py:5) 4\n"
        "garbage line\n"
    )
    summary = summarise_stacks(raw)
    assert summary.startswith("10 samples")
    inclusive, own = summary.split("self (innermost frame):")
    assert "100.0 %  handle (ws.py)" in inclusive  # lines of one function merge
    assert " 60.0 %  send (ws.py)" in inclusive  # a recursive frame counts once
    assert " 60.0 %  send (ws.py)" in own and " 40.0 %  store (chat.py)" in own
    assert "handle" not in own


def test_the_chart_draws_every_figure_of_a_run(tmp_path):
    """bench/chart.py on the committed results: a PNG with a panel per numeric figure."""
    from bench import chart
    from bench.figures import figures

    report = json.loads((ROOT / "bench" / "results.json").read_text())
    modes = list(report["results"])
    path = chart.draw(
        figures(report["profile"]), report["results"], modes, ["app", "relay"],
        tmp_path / "chart.png", "test",
    )  # fmt: skip
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    from PIL import Image

    with Image.open(path) as image:
        assert image.width >= 1000 and image.height >= 800


def test_a_run_rewrites_its_part_of_the_readme_and_keeps_the_notes_below_it(monkeypatch):
    """The README's Benchmarks section down to the marker is the run's; what follows the
    marker (notes by hand) stays; a README from before the marker has its whole section
    replaced."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))  # as bench/run.py runs it
    from bench.report import WRITTEN_ABOVE, put_in_readme

    before = "# chat\n\nintro\n\n## Benchmarks\n\nold run\n\n| old |\n\n"
    notes = "Since then: joins are cheaper.\n\n"
    rest = "## Configuration\n\nsettings\n"
    first = put_in_readme(before + rest, "## Benchmarks\n\nnew run\n\n| new |\n")
    assert "old" not in first and "| new |" in first and first.endswith(rest)
    assert first.count(WRITTEN_ABOVE) == 1
    with_notes = first.replace(WRITTEN_ABOVE + "\n", WRITTEN_ABOVE + "\n\n" + notes)
    second = put_in_readme(with_notes, "## Benchmarks\n\nnewer run\n\n| newer |\n")
    assert "new run" not in second and "| newer |" in second
    assert second.count(WRITTEN_ABOVE) == 1
    assert second.split(WRITTEN_ABOVE)[1] == with_notes.split(WRITTEN_ABOVE)[1]
    assert notes in second and second.endswith(rest)
    # This README has the marker, with the notes since the last run below it.
    readme = (ROOT / "README.md").read_text()
    assert readme.count(WRITTEN_ABOVE) == 1
    rewritten = put_in_readme(readme, "## Benchmarks\n\nanother run\n")
    assert rewritten.split(WRITTEN_ABOVE)[1] == readme.split(WRITTEN_ABOVE)[1]
