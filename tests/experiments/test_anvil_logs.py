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
from web3.types import Wei

from experiments.cli import main
from ledger.chain import AnvilNode, connect
from ledger.keys import operator_address
from ledger.replay import ReplayRefused, replay


@pytest.fixture(scope="module")
def anvil_log(tmp_path_factory: pytest.TempPathFactory, anvil_url: str) -> Path:
    out = tmp_path_factory.mktemp("anvil") / "a"
    assert main(["run", "--scenario", "posted-price", "--steps", "4", "--chain", anvil_url, "--out", str(out), "-q"]) == 0
    return out / "trades.jsonl"


def header(log: Path) -> dict:
    return json.loads(log.read_text().splitlines()[0])


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
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": w3.eth.accounts[0], "value": Wei(0)}))
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


# ------------------------------------------------------------------------------ replay --against URL


def resealed(entries: list[dict], path: Path) -> Path:
    """``entries`` re-chained, their roots recomputed and signed again by this lab's operator (what
    whoever holds the lab secret could do to its own log)."""
    from ledger.keys import operator_private_key
    from ledger.logsigning import line_tree, sign_entry
    from ledger.tradelog import GENESIS, canonical, entry_hash

    key, prev, tree, segment, out = operator_private_key(), GENESIS, line_tree(), line_tree(), []
    for seq, original in enumerate(entries):
        entry = {k: v for k, v in original.items() if k not in ("hash", "operator_signature")}
        entry.update(seq=seq, prev=prev)
        if entry["kind"] == "batch":
            entry.update(lines=segment.size, lines_root=segment.root().hex())
        elif entry["kind"] == "close":
            entry.update(tree_size=tree.size, tree_root=tree.root().hex())
        if entry["kind"] in ("header", "batch", "close"):
            sign_entry(entry, key)
        entry["hash"] = prev = entry_hash(entry)
        tree.append(bytes.fromhex(prev))
        if entry["kind"] == "batch":
            segment = line_tree()
        elif entry["kind"] != "header":
            segment.append(bytes.fromhex(prev))
        out.append(canonical(entry).decode() + "\n")
    path.write_text("".join(out))
    return path


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_against_the_node_it_was_settled_on_every_batch_root_matches(anvil_log: Path, anvil_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = replay(anvil_log, against=anvil_url)
    assert result.verified and result.batches > 1
    assert main(["replay", str(anvil_log), "--against", anvil_url]) == 0
    assert "verified, signed by the operator" in capsys.readouterr().out


def test_against_a_node_missing_batches_names_the_first_one(
    anvil_log: Path, start_anvil: Callable[..., AnvilNode], capsys: pytest.CaptureFixture[str]
) -> None:
    entries = [json.loads(raw) for raw in anvil_log.read_text().splitlines()]
    batches = [e["seq"] for e in entries if e["kind"] == "batch"]
    second = start_anvil(None, "--chain-id", "31337")
    capsys.readouterr()
    assert main(["replay", str(anvil_log), "--against", second.url]) == 2  # nothing deployed there yet
    assert "no contract at the log's address" in one_line(capsys)
    replay(anvil_log, second.url, until=batches[0])  # only the first batch lands on the second node
    assert main(["replay", str(anvil_log), "--against", second.url]) == 4
    err = one_line(capsys)
    assert f"trades.jsonl:{batches[1] + 1}: field 'batch_id'" in err
    assert f"batch {entries[batches[1]]['batch_id']} differs from the chain" in err and "never settled there" in err


def test_against_the_chain_a_log_rewritten_by_its_operator_is_caught(
    anvil_log: Path, anvil_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = [json.loads(raw) for raw in anvil_log.read_text().splitlines()]
    # two trades of one batch swapped: the same balances, a consistent log the operator re-signs,
    # but not the batch the chain settled
    i = next(i for i, e in enumerate(entries) if e["kind"] == "trade" and entries[i + 1]["kind"] == "trade")
    entries[i], entries[i + 1] = entries[i + 1], entries[i]
    batch = next(j for j in range(i, len(entries)) if entries[j]["kind"] == "batch")
    forged = resealed(entries, tmp_path / "forged.jsonl")
    assert main(["replay", str(forged)]) == 0  # off chain it is the operator's word
    capsys.readouterr()
    assert main(["replay", str(forged), "--against", anvil_url]) == 4
    err = one_line(capsys)
    assert f"forged.jsonl:{batch + 1}: field 'batch_id'" in err and f"{anvil_url} holds root 0x" in err


def test_against_refuses_another_chain_an_unreachable_node_and_an_unsigned_log(
    anvil_log: Path, start_anvil: Callable[..., AnvilNode], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = start_anvil(None, "--chain-id", "7")
    capsys.readouterr()
    assert main(["replay", str(anvil_log), "--against", other.url]) == 2
    assert "its chain id is 7, the log's is 31337" in one_line(capsys)
    assert main(["replay", str(anvil_log), "--against", "http://127.0.0.1:1"]) == 3
    assert "not reachable" in one_line(capsys)
    from ledger.tradelog import GENESIS, canonical, entry_hash

    header = {k: v for k, v in json.loads(anvil_log.read_text().splitlines()[0]).items() if k not in ("operator", "operator_signature", "domain")}
    header.update(format=2, prev=GENESIS)
    header["hash"] = entry_hash(header)
    (tmp_path / "v2.jsonl").write_text(canonical(header).decode() + "\n")  # a format-2 header names no contract
    assert main(["replay", str(tmp_path / "v2.jsonl"), "--against", other.url]) == 2
    assert "no format-3 log" in one_line(capsys)
