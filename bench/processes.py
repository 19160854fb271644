"""The benchmark's processes: a server (the app's serve.py or the bare relay) on a free
port of 127.0.0.1, stopped by PID, with its CPU, RSS and log read from outside; the Node
load generator running one scenario; and py-spy profiling a server meanwhile."""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as bench/run.py: the project's own modules too
    sys.path.append(str(ROOT))
from tests.servers import free_port, launch, stop  # noqa: E402 (a server as the tests start one)

BENCH = ROOT / "bench"
LOADGEN = BENCH / "loadgen.mjs"


def log(*args: object) -> None:
    print("[bench]", *args, file=sys.stderr, flush=True)


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
        self.process = launch(self.argv, self.env, self.log_path, self.url, 30, self.kind)
        return self

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
        stop(self.process)


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
