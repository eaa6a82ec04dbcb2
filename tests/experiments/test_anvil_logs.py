"""A log written on anvil verifies anywhere: on memory (signatures checked off chain against the
header's domain), on eth-tester and revm (started with the header's chain id, the contract
deployed at the header's address), and re-settled on a second anvil started with the header's
chain id; a node of another chain id, or one where the contract's address is used up, is refused
in one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from experiments.cli import main
from ledger.chain import AnvilNode, connect
from ledger.keys import operator_address
from ledger.replay import ReplayRefused, replay


@pytest.fixture(scope="module")
def anvil_log(tmp_path_factory: pytest.TempPathFactory, anvil_url: str) -> Path:
    out = tmp_path_factory.mktemp("anvil") / "a"
    assert main(["run", "--scenario", "posted-price", "--steps", "4", "--chain", anvil_url, "--out", str(out), "-q"]) == 0
    return out / "trades.jsonl"


def header(log: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(log.read_text().splitlines()[0])  # type: ignore[no-any-return]


def test_an_anvil_log_verifies_on_memory_and_on_a_second_anvil_of_its_chain_id(
    anvil_log: Path, start_anvil: Callable[..., AnvilNode]
) -> None:
    h = header(anvil_log)
    assert h["format"] == 3 and h["domain"]["chain_id"] == 31337 and h["operator"] == operator_address()
    on_memory = replay(anvil_log, operator=operator_address())
    assert on_memory.verified and on_memory.authenticated
    second = start_anvil(None, "--chain-id", str(h["domain"]["chain_id"]))
    on_anvil = replay(anvil_log, second.url, operator=operator_address())
    assert on_anvil.verified and on_anvil.authenticated and on_anvil.balances_digest == on_memory.balances_digest


@pytest.mark.parametrize("chain", ["eth-tester", "revm"])
def test_an_anvil_log_verifies_on_an_in_process_chain_started_with_its_chain_id(
    anvil_log: Path, chain: str, capsys: pytest.CaptureFixture[str]
) -> None:
    on_memory = replay(anvil_log)
    on_chain = replay(anvil_log, chain, operator=operator_address())
    assert on_chain.verified and on_chain.authenticated and on_chain.backend == "chain"
    assert on_chain.balances_digest == on_memory.balances_digest and on_chain.trades == on_memory.trades > 0
    assert main(["replay", str(anvil_log), "--chain", chain]) == 0


def test_a_node_of_another_chain_id_is_refused_in_one_line(
    anvil_log: Path, start_anvil: Callable[..., AnvilNode], capsys: pytest.CaptureFixture[str]
) -> None:
    other = start_anvil(None, "--chain-id", "7")
    capsys.readouterr()
    assert main(["replay", str(anvil_log), "--chain", other.url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "its chain id is 7, the log's is 31337" in err


def test_a_node_whose_deployer_has_gone_past_the_contract_address_is_refused(
    anvil_log: Path, start_anvil: Callable[..., AnvilNode]
) -> None:
    node = start_anvil()
    w3 = connect(node.url).w3
    for _ in range(3):  # the first account's nonces 0-2: the contract's address is gone on this node
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": w3.eth.accounts[0], "value": 0}))
    with pytest.raises(ReplayRefused, match="cannot be deployed there"):
        replay(anvil_log, node.url)


def test_a_log_whose_contract_no_known_deployer_creates_is_refused_on_eth_tester(tmp_path: Path) -> None:
    from experiments.cli import main as ccei

    out = tmp_path / "r"
    assert ccei(["run", "--scenario", "posted-price", "--steps", "2", "--chain", "memory", "--out", str(out), "-q"]) == 0
    log = out / "trades.jsonl"
    from ledger.keys import operator_private_key
    from ledger.logsigning import sign_entry
    from ledger.tradelog import canonical, entry_hash

    lines = log.read_text().splitlines()
    h = json.loads(lines[0])
    h["domain"] = {**h["domain"], "verifying_contract": "0x000000000000000000000000000000000000dEaD"}
    sign_entry(h, operator_private_key())
    h["hash"] = entry_hash(h)
    log.write_text(canonical(h).decode() + "\n")  # the operator's own header: consistent, but no deployer makes 0x…dEaD
    with pytest.raises(ReplayRefused, match="0x000000000000000000000000000000000000dEaD cannot be deployed"):
        replay(log, "eth-tester", until=0)
