"""``ccei bench classroom``: what a class's pages cost the classroom server.

Starts ``ccei demo --scenario smith-1962`` on a free loopback port, seats ``--sessions`` students
and runs periods from the teacher's console, in blocks that alternate between one student's page
connected and every student's page connected (each an event stream, as a browser opens it; the
seats are the same in both, so the market is the same and only the viewers differ). For each block
it reads the server process's CPU time (``/proc/PID/stat``) and, for each period, the time from the
teacher's request until the last connected page has received the new period.

Keys: ``cpu_per_step_1_ms``, ``cpu_per_step_n_ms``, ``cpu_30_over_1`` (target <= 1.5, issue 20:
the cost of a step must not grow with the number of viewers) and ``step_to_all_pages_s`` (the
median over the periods with every page connected; ``step_to_all_pages_max_s`` the slowest).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["EventStream", "add_arguments", "run"]

DESCRIPTION = "classroom server: CPU per step with 30 pages connected over 1, and the time a step takes to reach every page"

STARTUP_S = 120.0
_TICKS = os.sysconf("SC_CLK_TCK")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sessions", type=int, default=30, help="students' pages connected in the large blocks (default 30)")
    parser.add_argument("--steps", type=int, default=10, help="periods per block (default 10)")
    parser.add_argument("--blocks", type=int, default=3, help="blocks of each kind, alternating (default 3)")


class EventStream:
    """A page without a browser: the event stream a student's page opens, read in a thread, remembering the latest period it showed and when."""

    def __init__(self, port: int, code: str) -> None:
        self.period = -1
        self.seen = threading.Condition()
        self.received_at: dict[int, float] = {}
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(f"GET /events?seat={code} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        pattern = re.compile(rb'"period":(\d+)')
        buffer = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                *events, buffer = buffer.split(b"\n\n")
                for event in events:
                    if b"event: state" in event:
                        found = pattern.search(event)
                        if found:
                            with self.seen:
                                self.period = int(found.group(1))
                                self.received_at.setdefault(self.period, time.perf_counter())
                                self.seen.notify_all()
        except OSError:
            return

    def wait_for(self, period: int, timeout: float) -> float | None:
        """When this page received ``period`` (perf_counter seconds), or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.seen:
            while self.period < period:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.seen.wait(left)
            return self.received_at.get(period)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _request(port: int, method: str, path: str, body: dict[str, Any] | None = None, token: str = "") -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Content-Type": "application/json", "X-Teacher-Token": token}
        conn.request(method, path, body=json.dumps(body or {}), headers=headers)
        response = conn.getresponse()
        data = json.loads(response.read() or b"{}")
        if response.status != 200:
            raise SystemExit(f"ccei bench classroom: {method} {path}: {response.status} {data}")
        return data
    finally:
        conn.close()


def _start_server(out: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    from experiments.demo.server import free_port

    port = free_port()
    log = out / "server.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "experiments.cli", "demo", "--scenario", "smith-1962", "--port", str(port), "--out", str(out / "logs")],
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        found = re.search(r"token=(\S+)", log.read_text())
        if found:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                return proc, port, found.group(1)
            except OSError:
                pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    _stop(proc)
    raise SystemExit(f"ccei bench classroom: the server did not start:\n{log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def _block(proc: subprocess.Popen[bytes], port: int, token: str, pages: list[EventStream], steps: int) -> tuple[float, list[float]]:
    """Runs ``steps`` periods with ``pages`` connected: server CPU seconds, and each period's time to the last page."""
    period = pages[0].period
    time.sleep(0.3)  # the streams' first messages are out of the way
    latencies = []
    cpu = 0.0
    for _ in range(steps):
        period += 1
        before = _cpu_s(proc.pid)
        sent = time.perf_counter()
        _request(port, "POST", "/api/teacher/step", token=token)
        arrivals = [p.wait_for(period, 60.0) for p in pages]
        if any(a is None for a in arrivals):
            raise SystemExit(f"ccei bench classroom: period {period} did not reach every page within 60 s")
        latencies.append(max(a for a in arrivals if a is not None) - sent)
        cpu += _cpu_s(proc.pid) - before
    return cpu, latencies


def run(args: argparse.Namespace) -> dict[str, Any]:
    sessions, steps, blocks = args.sessions, args.steps, args.blocks
    if sessions < 2 or steps < 1 or blocks < 1:
        raise SystemExit("ccei bench classroom: --sessions must be at least 2, --steps and --blocks at least 1")
    with tempfile.TemporaryDirectory(prefix="ccei-bench-classroom-") as tmp:
        proc, port, token = _start_server(Path(tmp))
        try:
            codes = [_request(port, "POST", "/api/join", {"name": f"student {i + 1}"})["code"] for i in range(sessions)]
            first = EventStream(port, codes[0])
            first.wait_for(0, 30.0)
            cpu_one = cpu_many = 0.0
            late_many: list[float] = []
            for _ in range(blocks):
                cpu, _late = _block(proc, port, token, [first], steps)
                cpu_one += cpu
                others = [EventStream(port, c) for c in codes[1:]]
                try:
                    for p in others:
                        p.wait_for(first.period, 30.0)
                    cpu, late = _block(proc, port, token, [first, *others], steps)
                    cpu_many += cpu
                    late_many += late
                finally:
                    for p in others:
                        p.close()
            first.close()
        finally:
            _stop(proc)
    n = steps * blocks
    return {
        "sessions": sessions,
        "steps_per_block": steps,
        "blocks": blocks,
        "cpu_per_step_1_ms": round(1000 * cpu_one / n, 2),
        "cpu_per_step_n_ms": round(1000 * cpu_many / n, 2),
        "cpu_30_over_1": round(cpu_many / cpu_one, 3) if cpu_one else None,
        "step_to_all_pages_s": round(statistics.median(late_many), 4),
        "step_to_all_pages_max_s": round(max(late_many), 4),
    }
