"""A log written on anvil verifies anywhere: on memory (signatures checked off chain against the
header's domain), and re-settled on a second anvil started with the header's chain id; a chain of
another id is refused in one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from experiments.cli import main
from ledger.chain import AnvilNode
from ledger.keys import operator_address
from ledger.replay import replay


def test_an_anvil_log_verifies_on_memory_and_on_a_second_anvil_of_its_chain_id(
    start_anvil: Callable[..., AnvilNode], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = start_anvil().url
    out = tmp_path / "a"
    assert main(["run", "--scenario", "posted-price", "--steps", "4", "--chain", first, "--out", str(out), "-q"]) == 0
    log = out / "trades.jsonl"
    header = json.loads(log.read_text().splitlines()[0])
    assert header["format"] == 3 and header["domain"]["chain_id"] == 31337 and header["operator"] == operator_address()
    on_memory = replay(log, operator=operator_address())
    assert on_memory.verified and on_memory.authenticated
    second = start_anvil(None, "--chain-id", str(header["domain"]["chain_id"])).url
    on_anvil = replay(log, second, operator=operator_address())
    assert on_anvil.verified and on_anvil.authenticated and on_anvil.balances_digest == on_memory.balances_digest
    capsys.readouterr()
    assert main(["replay", str(log), "--chain", "eth-tester"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the log's is 31337" in err
