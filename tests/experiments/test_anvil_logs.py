"""A log written on anvil verifies anywhere: on memory (signatures checked off chain against the
header's domain), and re-settled on a second anvil started with the header's chain id; a chain of
another id is refused in one line."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from experiments.cli import main
from ledger.compiler import REPO_ROOT
from ledger.keys import operator_address
from ledger.replay import replay

ANVIL = REPO_ROOT / "node_modules" / ".bin" / "anvil"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def start_anvil() -> Iterator:  # type: ignore[type-arg]
    if not ANVIL.exists() or shutil.which("node") is None:
        pytest.skip("anvil is not installed: run `npm install` (package.json pins @foundry-rs/anvil)")
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> str:
        port = _free_port()
        proc = subprocess.Popen([str(ANVIL), "--port", str(port), "--silent", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return f"http://127.0.0.1:{port}"
            except OSError:
                time.sleep(0.1)
        pytest.fail("anvil did not start")

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_an_anvil_log_verifies_on_memory_and_on_a_second_anvil_of_its_chain_id(start_anvil, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    first = start_anvil()
    out = tmp_path / "a"
    assert main(["run", "--scenario", "posted-price", "--steps", "4", "--chain", first, "--out", str(out), "-q"]) == 0
    log = out / "trades.jsonl"
    header = json.loads(log.read_text().splitlines()[0])
    assert header["format"] == 3 and header["domain"]["chain_id"] == 31337 and header["operator"] == operator_address()
    on_memory = replay(log, operator=operator_address())
    assert on_memory.verified and on_memory.authenticated
    second = start_anvil("--chain-id", str(header["domain"]["chain_id"]))
    on_anvil = replay(log, second, operator=operator_address())
    assert on_anvil.verified and on_anvil.authenticated and on_anvil.balances_digest == on_memory.balances_digest
    capsys.readouterr()
    assert main(["replay", str(log), "--chain", "eth-tester"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the log's is 31337" in err
