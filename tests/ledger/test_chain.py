"""Chain access: connecting, snapshot/revert, time travel, auto-mining, unlocking keys; on eth-tester
and on a real JSON-RPC node (anvil from npm, when installed)."""

from __future__ import annotations

import os
from typing import cast

import pytest
from hexbytes import HexBytes
from web3.types import Wei

from ledger.backends import ChainBackend
from ledger.batch import Fill, assemble_batch
from ledger.chain import EMBEDDED_CHAIN_ID, EMBEDDED_DEPLOYER, Chain, connect, create_address
from ledger.errors import ChainUnavailable
from ledger.keys import agent_private_key, agent_signing_key
from ledger.signing import SettlementOrder, order_expiry, sign_order
from ledger.suite import EMBEDDED_DOMAIN, deploy_suite
from market.orders import AgentId


def test_connect_refuses_what_is_not_a_chain() -> None:
    with pytest.raises(ChainUnavailable, match=r"--chain 'ftp://x': expected 'memory', 'eth-tester', 'revm' or an http\(s\):// node URL"):
        connect("ftp://x")
    with pytest.raises(ChainUnavailable, match=r"--chain http://127.0.0.1:9: node not reachable"):
        connect("http://127.0.0.1:9", timeout_s=1)


def test_a_fresh_embedded_suite_lands_on_the_predicted_domain() -> None:
    chain = connect()
    assert chain.kind == "eth-tester" and chain.chain_id == EMBEDDED_CHAIN_ID and chain.accounts[0] == EMBEDDED_DEPLOYER
    suite = deploy_suite(chain, extras=False)
    assert suite.domain == EMBEDDED_DOMAIN
    assert suite.token.address == create_address(EMBEDDED_DEPLOYER, 0)


def _transfer(chain: Chain, wei: int = 1) -> HexBytes:
    tx = chain.w3.eth.send_transaction({"from": chain.accounts[0], "to": chain.accounts[1], "value": Wei(wei), "gas": 21_000})
    return tx


def test_snapshot_and_revert(ccei_chain: Chain) -> None:
    before = ccei_chain.w3.eth.get_balance(ccei_chain.accounts[1])
    snapshot = ccei_chain.snapshot()
    _transfer(ccei_chain, 5)
    assert ccei_chain.w3.eth.get_balance(ccei_chain.accounts[1]) == before + 5
    ccei_chain.revert(snapshot)
    assert ccei_chain.w3.eth.get_balance(ccei_chain.accounts[1]) == before


def test_time_travel_sets_the_next_block_time(ccei_chain: Chain) -> None:
    target = ccei_chain.next_timestamp() + 10_000
    ccei_chain.time_travel(target)
    assert ccei_chain.next_timestamp() == target
    _transfer(ccei_chain)
    assert ccei_chain.timestamp() == target


def test_automine_off_puts_many_transactions_in_one_block(ccei_chain: Chain) -> None:
    start = ccei_chain.w3.eth.block_number
    ccei_chain.set_automine(False)
    hashes = [_transfer(ccei_chain) for _ in range(3)]
    assert ccei_chain.w3.eth.block_number == start
    ccei_chain.mine()
    ccei_chain.set_automine(True)
    blocks = {ccei_chain.w3.eth.get_transaction_receipt(h)["blockNumber"] for h in hashes}
    assert blocks == {start + 1}


def test_unlock_and_fund_let_a_new_key_send(ccei_chain: Chain) -> None:
    key = agent_private_key(31, 7).to_bytes()
    address = ccei_chain.unlock(key)
    assert ccei_chain.unlock(key) == address  # idempotent
    ccei_chain.fund(address, 10**17)
    tx = ccei_chain.w3.eth.send_transaction({"from": address, "to": ccei_chain.accounts[0], "value": Wei(1), "gas": 21_000})
    assert ccei_chain.w3.eth.get_transaction_receipt(tx)["status"] == 1


def test_the_tester_handle_is_for_the_embedded_chain_only() -> None:
    chain = Chain(w3=connect().w3, kind="rpc", url="http://example")
    with pytest.raises(ChainUnavailable, match="http://example is not the embedded chain"):
        chain.tester  # noqa: B018


# -- a real node (the `anvil_url` fixture of tests/conftest.py) ---------------------------------


def test_settlement_and_test_controls_on_a_json_rpc_node(anvil_url: str) -> None:
    chain = connect(anvil_url)
    assert chain.kind == "rpc" and chain.chain_id == 31337
    backend = ChainBackend(11, chain)
    backend.open_accounts({AgentId(0): 10_000, AgentId(1): 0})
    snapshot = chain.snapshot()
    order = SettlementOrder(backend.address(AgentId(0)), 1, 0, 0, 50, 100, order_expiry(0))
    signed = sign_order(agent_signing_key(11, 0), backend.domain, order)
    ask = SettlementOrder(backend.address(AgentId(1)), 2, 1, 0, 40, 100, order_expiry(0))
    signed_ask = sign_order(agent_signing_key(11, 1), backend.domain, ask)
    backend.settle_batch(assemble_batch(1, [Fill(signed, signed_ask, 40, 10)]))
    assert backend.balances() == {0: 9_600, 1: 400}
    backend.withdraw(AgentId(1), 100)  # sent from the agent's own key through the signing middleware
    assert backend.token.balance_of(backend.address(AgentId(1))) == 100
    chain.revert(snapshot)
    assert backend.balances() == {0: 10_000, 1: 0}
    with pytest.raises(ChainUnavailable, match="no longer exists"):
        chain.revert(snapshot)
    target = chain.timestamp() + 5_000
    chain.time_travel(target)
    chain.set_automine(False)
    tx = _transfer(chain)
    chain.mine()
    chain.set_automine(True)
    receipt = chain.w3.eth.get_transaction_receipt(tx)
    assert chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"] == target
    assert chain.next_timestamp() == target + 1


def test_connect_revm_without_pyrevm_is_one_line_saying_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyrevm", None)  # importing it now raises ImportError
    monkeypatch.delitem(sys.modules, "ledger.revm", raising=False)
    with pytest.raises(ChainUnavailable, match=r"--chain revm needs pyrevm .*pip install pyrevm==0.3.7"):
        connect("revm")


def test_an_anvil_node_is_stopped_with_every_process_of_its_group(start_anvil) -> None:
    import psutil

    from ledger.chain import AnvilNode

    node: AnvilNode = start_anvil()
    assert connect(node.url).chain_id == 31337
    command = cast(list[str], node.process.args)
    assert command[0].endswith("/bin/anvil") and "node_modules/.bin" not in command[0]
    assert os.getpgid(node.pid) == node.pid  # leads its own group
    node.kill()
    assert not psutil.pid_exists(node.pid) or psutil.Process(node.pid).status() == psutil.STATUS_ZOMBIE
    with pytest.raises(ChainUnavailable, match="node not reachable"):
        connect(node.url, timeout_s=1)


def test_without_an_anvil_binary_starting_one_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from ledger.chain import ANVIL_ENV, AnvilNode, find_anvil

    monkeypatch.setenv(ANVIL_ENV, str(tmp_path / "missing"))
    assert find_anvil() is None
    with pytest.raises(ChainUnavailable, match=r"no anvil: run `npm install`.*CCEI_ANVIL"):
        AnvilNode.start()
