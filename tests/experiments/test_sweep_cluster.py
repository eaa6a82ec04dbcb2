"""A sweep on a real Dask cluster: a scheduler and two workers, each its own process on 127.0.0.1,
as on separate machines. A worker is killed mid-sweep and the client is killed mid-sweep; every run
still ends up in the results exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from experiments.sweep import PARTIAL_SUFFIX, RECORD_FILE, RunRecord, RunStatus, Sweep, load_sweep, read_record, run_sweep

# 2 treatments x 4 seeds = 8 short runs
SWEEP = 'scenario = "posted-price"\nsteps = 6\nseeds = 4\nchain = "memory"\n[grid]\nn_users = [3, 5]\n'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    # its own process group, so it is ended with everything it started
    return subprocess.Popen(
        [sys.executable, "-m", "dask", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _end(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    work = tmp_path / "cluster"
    work.mkdir()
    c = Cluster(address, _start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], work))
    try:
        for _ in range(2):
            c.workers.append(
                _start(["worker", address, "--no-nanny", "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"], work)
            )
        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=90)
        yield c
    finally:
        for proc in [*c.workers, c.scheduler]:
            _end(proc)


def _sweep(tmp_path: Path) -> Sweep:
    path = tmp_path / "small.toml"
    path.write_text(SWEEP)
    return load_sweep(str(path))


def _check_every_run_once(sweep: Sweep, out: Path) -> None:
    runs = pd.read_parquet(out / "runs.parquet")
    expected = sorted(s.run_id for s in sweep.runs())
    assert sorted(runs["run_id"]) == expected  # each run id exactly once
    assert set(runs["status"]) == {"ok"}
    for run_id in expected:
        record = read_record(out / "runs" / run_id)
        assert record is not None and record.status is RunStatus.OK
    assert not list((out / "runs").glob(f".*{PARTIAL_SUFFIX}"))  # no attempt left over


def test_a_sweep_on_a_scheduler_and_two_workers_survives_losing_a_worker(cluster: Cluster, tmp_path: Path) -> None:
    sweep = _sweep(tmp_path)
    assert len(sweep.runs()) == 8
    killed: list[int] = []

    def on_progress(done: int, total: int, record: RunRecord | None) -> None:
        if record is not None and not killed:  # the first result has landed: lose a worker
            victim = cluster.workers[0]
            _end(victim, signal.SIGKILL)
            killed.append(victim.pid)

    result = run_sweep(sweep, tmp_path / "out", scheduler=cluster.address, on_progress=on_progress)
    assert killed and cluster.workers[0].returncode == -signal.SIGKILL and cluster.workers[1].poll() is None
    assert result.ok == 8 and result.failed == ()
    _check_every_run_once(sweep, tmp_path / "out")


def _published(out: Path) -> list[Path]:
    """Records of runs moved into place (not of attempts still in their hidden folders)."""
    return [p for p in out.glob(f"runs/*/{RECORD_FILE}") if not p.parent.name.startswith(".")]


def test_a_sweep_whose_client_dies_resumes_from_what_was_written(cluster: Cluster, tmp_path: Path) -> None:
    sweep = _sweep(tmp_path)
    out = tmp_path / "out"
    client = subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", "sweep", str(tmp_path / "small.toml"), "--out", str(out),
         "--scheduler", cluster.address, "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not _published(out):
            assert client.poll() is None, "the sweep ended before any run finished"
            assert time.monotonic() < deadline, "no run finished in 120 s"
            time.sleep(0.05)
    finally:
        _end(client, signal.SIGKILL)
    written = {p.parent.name: p.stat().st_mtime_ns for p in _published(out)}
    assert 1 <= len(written) < 8 and not (out / "runs.parquet").exists()
    result = run_sweep(sweep, out, scheduler=cluster.address)
    assert result.skipped >= len(written) and result.ok == 8
    # what the dead client's sweep wrote stays as it was: resumed, not redone
    assert {r: (out / "runs" / r / RECORD_FILE).stat().st_mtime_ns for r in written} == written
    _check_every_run_once(sweep, out)
