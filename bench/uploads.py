"""Uploads benchmark (run by hand): does a client uploading at full speed slow anyone else?

A real server (``serve.py``, gevent by default) runs on a private PostgreSQL database
``chat_uploads_bench_<pid>`` (made in ``--pg-url``'s server, default
``postgresql:///postgres``, dropped at the end) with attachments in a temporary folder.
A victim (python-socketio over WebSocket) sends ``send_message`` with an ack ``--rate``
times a second and records each ack's round trip, in phases of ``--seconds`` each:

1. quiet: nobody else does anything;
2. photos: ``--uploaders`` clients (processes of their own at the lowest CPU priority,
   standing for clients on other machines, so their own work never delays the victim)
   each upload a 12-megapixel JPEG with EXIF (~4 MB) in a loop, as fast as the server
   answers: each is decoded, encoded again and thumbnailed;
3. files: the same with 10 MB of random bytes (sniffed, hashed, stored);
4. quiet again.

Printed: each phase's ack p50 / p99 (and the ratio to the first quiet phase), the
uploads and MB per second the server took, and the server's CPU (per cent of one core).

    .venv/bin/python bench/uploads.py                     # ~2 minutes
    .venv/bin/python bench/uploads.py --mode eventlet --uploaders 2 --seconds 30
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench password"
MB = 1024 * 1024


def photo(width: int = 4000, height: int = 3000) -> bytes:
    """A camera-like JPEG: noise over gradients (so it does not compress to nothing), with
    EXIF and GPS."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * 255 // width), (y * 255 // height), ((x + y) * 127 // width)], -1)
    noise = rng.integers(-40, 40, size=(height, width, 3))
    pixels = np.clip(base + noise, 0, 255).astype("uint8")
    image = Image.fromarray(pixels, "RGB")
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 30.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


# --- the uploaders (processes of their own) ------------------------------------------


def uploader(url: str, token: str, path: str, stop_at: float, counts) -> None:
    """Upload the file again and again until ``stop_at``. The attacker's own client would
    run on another machine: here it runs at the lowest CPU priority, and its body is
    encoded once, so what the victim feels is the server's work, not the client's."""
    import requests
    from urllib3 import encode_multipart_formdata

    os.nice(19)
    data = Path(path).read_bytes()
    body, content_type = encode_multipart_formdata({"file": ("upload.bin", data)})
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": content_type})
    done = refused = sent = 0
    while time.time() < stop_at:
        response = session.post(f"{url}/api/rooms/uploads/attachments", data=body, timeout=60)
        if response.status_code == 201:
            done += 1
            sent += len(data)
        else:
            refused += 1
    counts.put((done, refused, sent))


# --- the victim ----------------------------------------------------------------------


class Victim:
    def __init__(self, url: str, token: str) -> None:
        import socketio

        self.sio = socketio.Client(reconnection=False)
        self.sio.connect(url, auth={"token": token}, transports=["websocket"])
        ack = self.sio.call("joined_room", {"room": "probe"}, timeout=10)
        assert ack["ok"], ack
        self.sent = 0

    def probe(self, seconds: float, rate: float) -> tuple[list[float], int]:
        rtts, errors = [], 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.monotonic()
            self.sent += 1
            payload = {"room": "probe", "message": f"probe {self.sent}"}
            try:
                ack = self.sio.call("send_message", payload, timeout=10)
                if ack.get("ok"):
                    rtts.append((time.monotonic() - started) * 1000)
                else:
                    errors += 1
            except Exception:
                errors += 1
            time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))
        return rtts, errors

    def close(self) -> None:
        self.sio.disconnect()


# --- the run -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="postgresql:///postgres")
    parser.add_argument("--mode", default="gevent", choices=["gevent", "eventlet", "both"])
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--rate", type=float, default=20.0, help="victim sends per second")
    parser.add_argument("--uploaders", type=int, default=1)
    parser.add_argument(
        "--upload-limit", default="off", help="FLASK_UPLOAD_RATE_LIMIT (default: off)"
    )
    parser.add_argument(
        "--folder",
        help="where the files go (default: a temporary folder beside the database's disk; "
        "/dev/shm takes the disk out of the picture)",
    )
    parser.add_argument("--quick", action="store_true", help="5 s phases: a smoke run")
    parser.add_argument(
        "--write", help="also write the tables, with the machine, to this Markdown file"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 5.0
    modes = ["gevent", "eventlet"] if args.mode == "both" else [args.mode]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()
    tables = [table(args, mode, measure(args, mode)) for mode in modes]
    print()
    print("\n\n".join(tables))
    if args.write:
        Path(args.write).write_text(report(args, started, load_before, tables))
        print(f"wrote {args.write}")
    return 0


def measure(args, mode: str) -> list[tuple]:
    """One server in ``mode``: each phase's (name, ack p50, ack p99, acks, errors, uploads,
    refused, bytes, wall seconds, server CPU %)."""
    import requests

    from bench.search import scratch_database
    from tests.servers import Server

    name = f"chat_uploads_bench_{os.getpid()}_{mode}"
    server_db = scratch_database(args.pg_url, name)
    base = args.pg_url.rsplit("/", 1)[0]
    work = Path(tempfile.mkdtemp(prefix="uploads-bench-"))
    photo_path, blob_path = work / "photo.jpg", work / "blob.bin"
    photo_path.write_bytes(photo())
    blob_path.write_bytes(os.urandom(10 * MB - 64 * 1024))
    server = Server(
        f"{base}/{name}",
        work / "server.log",
        ASYNC_MODE=mode,
        ATTACHMENTS_FOLDER=str(Path(args.folder or work) / f"files-{os.getpid()}"),
        UPLOAD_QUOTA_MB="1000000",
        # Full speed: the per-user upload limit (60/minute) would refuse most of them.
        FLASK_UPLOAD_RATE_LIMIT=args.upload_limit,
        # The uploads bench measures uploads, not the sweep.
        FLASK_ATTACHMENT_SWEEP_SECONDS="0",
    )
    results = []
    try:
        server.migrate()
        server.start()
        tokens = {}
        for who in ["victim"] + [f"up{i}" for i in range(args.uploaders)]:
            requests.post(
                server.url + "/api/register", json={"username": who, "password": PASSWORD}
            )
            answer = requests.post(
                server.url + "/api/token", json={"username": who, "password": PASSWORD}
            ).json()
            tokens[who] = answer["token"]
        joiners = []
        for who in tokens:  # uploaders must be members of their room
            if who != "victim":
                import socketio

                sio = socketio.Client(reconnection=False)
                sio.connect(server.url, auth={"token": tokens[who]}, transports=["websocket"])
                assert sio.call("joined_room", {"room": "uploads"}, timeout=10)["ok"]
                joiners.append(sio)
        victim = Victim(server.url, tokens["victim"])
        victim.probe(3, args.rate)  # warm up
        pid = server.process.pid
        for phase, path in (
            ("quiet", None),
            ("photos (12 MP JPEG, ~4 MB)", photo_path),
            ("files (10 MB of random bytes)", blob_path),
            ("quiet again", None),
        ):
            counts = multiprocessing.Queue()
            workers = []
            stop_at = time.time() + args.seconds
            if path is not None:
                for i in range(args.uploaders):
                    worker = multiprocessing.Process(
                        target=uploader,
                        args=(server.url, tokens[f"up{i}"], str(path), stop_at, counts),
                    )
                    worker.start()
                    workers.append(worker)
            cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
            rtts, errors = victim.probe(args.seconds, args.rate)
            for worker in workers:
                worker.join(timeout=120)
            wall = time.monotonic() - wall_before
            cpu = (cpu_seconds(pid) - cpu_before) / wall * 100
            done = refused = sent = 0
            for _ in workers:
                d, r, s = counts.get(timeout=10)
                done, refused, sent = done + d, refused + r, sent + s
            p50, p99 = percentiles(rtts)
            results.append((phase, p50, p99, len(rtts), errors, done, refused, sent, wall, cpu))
            print(
                f"{phase}: ack p50 {p50:.1f} ms p99 {p99:.1f} ms ({len(rtts)} acks, {errors} "
                f"errors); {done} uploads ({refused} refused), {sent / MB / wall:.1f} MB/s; "
                f"server CPU {cpu:.0f} %",
                flush=True,
            )
        victim.close()
        for sio in joiners:
            sio.disconnect()
    finally:
        server.stop()
        with server_db.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server_db.close()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        if args.folder:
            shutil.rmtree(Path(args.folder) / f"files-{os.getpid()}", ignore_errors=True)
    return results


def table(args, mode: str, results: list[tuple]) -> str:
    quiet_p50, quiet_p99 = results[0][1], results[0][2]
    lines = [
        f"| phase ({mode}, {args.uploaders} uploader(s)) | ack p50 | ack p99 | "
        "uploads/s | MB/s in | server CPU |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for phase, p50, p99, _n, _e, done, _r, sent, wall, cpu in results:
        lines.append(
            f"| {phase} | {p50:.1f} ms (x{p50 / quiet_p50:.1f}) | {p99:.1f} ms "
            f"(x{p99 / quiet_p99:.1f}) | {done / wall:.1f} | {sent / MB / wall:.1f} | "
            f"{cpu:.0f} % |"
        )
    return "\n".join(lines)


def report(args, started: str, load_before, tables: list[str]) -> str:
    load_after = os.getloadavg()
    return (
        "# Uploads benchmark\n\n"
        f"Written by `make bench` (`bench/uploads.py`) on {started}: {os.cpu_count()} CPUs, "
        f"load average {load_before[0]:.2f} at start, {load_after[0]:.2f} at end; "
        f"{args.seconds:g} s per phase, the victim sending {args.rate:g} messages/s with "
        f"acks, `FLASK_UPLOAD_RATE_LIMIT={args.upload_limit}`.\n\n"
        "Another client's `send_message` ack round trip while one client uploads as fast "
        "as the server answers (a process of its own at the lowest CPU priority, standing "
        "for a client elsewhere); in brackets the ratio to the quiet phase. The machine is "
        "shared: read the ratios.\n\n" + "\n\n".join(tables) + "\n"
    )


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    raise SystemExit(main())
