"""The revm chain (ledger.revm): a development node on pyrevm behind web3, and the same contracts,
wrappers, errors and events as on eth-tester."""

from __future__ import annotations

import pytest
from web3 import Web3
from web3.exceptions import ContractCustomError, Web3RPCError
from web3.middleware import Web3Middleware
from web3.types import TxParams, Wei

from ledger.backends import ChainBackend, open_backend
from ledger.batch import Fill, assemble_batch
from ledger.chain import EMBEDDED_CHAIN_ID, Chain, connect
from ledger.contracts import MINTER_ROLE, Capacity
from ledger.errors import ChainUnavailable, SettlementRejected
from ledger.keys import agent_address, agent_private_key, agent_signing_key
from ledger.reverts import AccessControlUnauthorizedAccount
from ledger.revm import BLOCK_GAS_LIMIT, SPEC, NodeError, RevmChain, RevmNode, RevmProvider, connect_revm
from ledger.signing import BUY, SELL, SettlementOrder, order_expiry, sign_order
from ledger.suite import EMBEDDED_DOMAIN, Suite, deploy_suite
from market.orders import AgentId

# Init code that returns the runtime after it: TLOAD slot 0, SSTORE it to slot 0, TSTORE 1 into
# transient slot 0. Run twice in two transactions, storage slot 0 stays 0 only if transient storage
# is cleared between transactions (EIP-1153), and the opcodes run only on Cancun or later.
_TRANSIENT_RUNTIME = bytes.fromhex("60005c60005560016000" + "5d00")
_TRANSIENT_INIT = bytes.fromhex("600c600c600039600c6000f3") + _TRANSIENT_RUNTIME


@pytest.fixture()
def chain() -> RevmChain:
    return connect_revm()


@pytest.fixture()
def suite(chain: RevmChain) -> Suite:
    return deploy_suite(chain)


def test_connect_revm_gives_the_accounts_chain_id_and_domain_of_a_fresh_eth_tester_chain() -> None:
    revm, tester = connect("revm"), connect("eth-tester")
    assert isinstance(revm, RevmChain) and revm.kind == "revm"
    assert revm.accounts == tester.accounts
    assert revm.chain_id == tester.chain_id == EMBEDDED_CHAIN_ID
    assert deploy_suite(revm, extras=False).domain == EMBEDDED_DOMAIN


def test_the_node_runs_the_fork_the_contracts_are_compiled_for_and_refuses_a_name_it_does_not_know() -> None:
    assert SPEC == "CANCUN"
    with pytest.raises(NodeError, match="revm fork 'SHANGHAI'"):
        RevmNode(spec="SHANGHAI")
    with pytest.raises(NodeError, match="revm fork 'FOO'"):  # pyrevm would silently run its latest fork
        RevmNode(spec="FOO")


def test_cancun_opcodes_run_and_transient_storage_is_cleared_between_transactions(chain: RevmChain) -> None:
    w3, sender = chain.w3, chain.accounts[0]
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": sender, "data": _TRANSIENT_INIT, "gas": 200_000}))
    assert receipt["status"] == 1
    address = receipt["contractAddress"]
    assert address is not None
    assert bytes(w3.eth.get_code(address)) == _TRANSIENT_RUNTIME
    for _ in range(2):
        sent = w3.eth.send_transaction({"from": sender, "to": address, "gas": 100_000})
        assert w3.eth.wait_for_transaction_receipt(sent)["status"] == 1
    assert int.from_bytes(w3.eth.get_storage_at(address, 0), "big") == 0


def test_contract_addresses_follow_the_sender_nonce_as_on_eth_tester(chain: RevmChain) -> None:
    tester = connect("eth-tester")
    for c in (chain, tester):
        deploy_suite(c, extras=False)
        c.w3.eth.send_transaction({"from": c.accounts[0], "to": c.accounts[1], "value": Wei(1), "gas": 21_000})
    assert deploy_suite(chain, extras=False).settlement.address == deploy_suite(tester, extras=False).settlement.address
    assert chain.w3.eth.get_transaction_count(chain.accounts[0]) == tester.w3.eth.get_transaction_count(tester.accounts[0])


def test_custom_errors_decode_into_the_named_classes_and_a_failed_transaction_is_mined_with_status_0(chain: RevmChain, suite: Suite) -> None:
    outsider = chain.accounts[1]
    nonce = chain.w3.eth.get_transaction_count(outsider)
    block = chain.w3.eth.block_number
    with pytest.raises(AccessControlUnauthorizedAccount) as caught:
        suite.token.mint(outsider, 5, sender=outsider)
    assert caught.value.error_args == (outsider, MINTER_ROLE)  # OpenZeppelin names the account, then the role
    assert chain.w3.eth.block_number == block + 1  # mined, as a node mines a failing transaction with explicit gas
    assert chain.w3.eth.get_transaction_count(outsider) == nonce + 1
    with pytest.raises(AccessControlUnauthorizedAccount):  # a call (eth_call) decodes the same way
        suite.token.call("mint", outsider, 5, sender=outsider)


def test_events_are_readable_from_receipts_and_logs(chain: RevmChain, suite: Suite) -> None:
    admin, user = suite.admin, chain.accounts[1]
    receipt = suite.token.mint(user, 7, sender=admin)
    (transfer,) = suite.token.events(receipt, "Transfer")
    assert (transfer.from_, transfer.to, transfer.value) == ("0x" + "00" * 20, user, 7)
    logs = suite.token.contract.events.Transfer().get_logs(from_block=0, argument_filters={"to": user})
    assert [(log["args"]["to"], log["args"]["value"]) for log in logs] == [(user, 7)]
    assert chain.w3.eth.get_logs({"fromBlock": 0, "address": suite.registry.address, "topics": [["0x" + "11" * 32]]}) == []


def test_gas_is_reported_and_estimated(chain: RevmChain, suite: Suite) -> None:
    admin = suite.admin
    receipt = suite.token.mint(admin, 10, sender=admin)
    assert 21_000 < receipt["gasUsed"] < 100_000
    estimate = suite.token.function("mint", admin, 10).estimate_gas({"from": admin})
    assert 21_000 < estimate < 100_000
    sent = suite.token.function("mint", admin, 10).transact({"from": admin})  # web3 estimates the gas itself
    assert chain.w3.eth.wait_for_transaction_receipt(sent)["status"] == 1
    with pytest.raises(ContractCustomError):  # an estimate of a reverting call raises as web3 does on a node
        suite.token.function("mint", admin, 10).estimate_gas({"from": chain.accounts[1]})


def test_snapshot_and_revert_restore_state_blocks_nonces_and_receipts(chain: RevmChain, suite: Suite) -> None:
    admin, user = suite.admin, chain.accounts[1]
    block, nonce = chain.w3.eth.block_number, chain.w3.eth.get_transaction_count(admin)
    outer = chain.snapshot()
    first = suite.token.mint(user, 5, sender=admin)
    inner = chain.snapshot()
    suite.token.mint(user, 6, sender=admin)
    chain.revert(inner)
    assert suite.token.balance_of(user) == 5
    chain.revert(outer)
    assert suite.token.balance_of(user) == 0
    assert (chain.w3.eth.block_number, chain.w3.eth.get_transaction_count(admin)) == (block, nonce)
    assert chain.node.receipt(bytes(first["transactionHash"])) is None
    with pytest.raises(ChainUnavailable, match="no longer exists"):
        chain.revert(inner)  # used up with the outer one, as on anvil


def test_reverting_to_an_older_snapshot_uses_up_the_later_ones() -> None:
    node = RevmNode()
    first, second = node.snapshot(), node.snapshot()
    node.send(node.accounts[0], node.accounts[1], value=3, gas=21_000)
    assert node.revert(first) and not node.revert(second)
    assert node.balance(node.accounts[1]) == 10**24


def test_time_travel_sets_the_next_block_exactly_and_later_blocks_follow_one_second_apart(chain: RevmChain, suite: Suite) -> None:
    target = chain.timestamp() + 3_600
    chain.time_travel(target)
    assert chain.next_timestamp() == target
    suite.token.mint(suite.admin, 1, sender=suite.admin)
    assert chain.timestamp() == target
    suite.token.mint(suite.admin, 1, sender=suite.admin)
    assert chain.timestamp() == target + 1 == chain.next_timestamp() - 1
    with pytest.raises(ChainUnavailable, match="is not after the latest block"):
        chain.time_travel(target)


def test_with_auto_mining_off_transactions_wait_and_are_mined_together(chain: RevmChain, suite: Suite) -> None:
    admin, w3 = suite.admin, chain.w3
    nonce, block = w3.eth.get_transaction_count(admin), w3.eth.block_number
    chain.set_automine(False)
    sent = [suite.token.transact("mint", admin, n + 1, sender=admin, wait=False)["transactionHash"] for n in range(3)]
    assert chain.node.receipt(bytes(sent[0])) is None and w3.eth.block_number == block
    assert w3.eth.get_transaction_count(admin, "pending") == nonce + 3
    chain.mine()
    receipts = [w3.eth.wait_for_transaction_receipt(h) for h in sent]
    assert {r["blockNumber"] for r in receipts} == {block + 1}
    assert [r["transactionIndex"] for r in receipts] == [0, 1, 2]
    assert suite.token.total_supply() == 6
    chain.set_automine(True)


def test_switching_auto_mining_back_on_mines_what_waits(chain: RevmChain, suite: Suite) -> None:
    chain.set_automine(False)
    suite.token.transact("mint", suite.admin, 4, sender=suite.admin, wait=False)
    chain.set_automine(True)
    assert suite.token.total_supply() == 4


def test_the_direct_eth_module_returns_what_web3s_generic_path_returns(chain: RevmChain, suite: Suite) -> None:
    generic = Web3(chain.w3.provider)  # web3's own eth module and middleware over the same node
    admin, user = suite.admin, chain.accounts[1]
    receipt = suite.registry.register_many([user, chain.accounts[2]], Capacity.USER, sender=admin)
    assert len(receipt["logs"]) == 2
    assert generic.eth.get_transaction_receipt(receipt["transactionHash"]) == receipt
    call: TxParams = {"from": admin, "to": suite.token.address, "data": suite.token.encode_fast("balanceOf", admin)}
    assert generic.eth.call(call) == chain.w3.eth.call(call)
    failing: TxParams = {"from": user, "to": suite.token.address, "data": suite.token.encode_fast("mint", user, 1)}
    errors = []
    for w3 in (chain.w3, generic):
        with pytest.raises(ContractCustomError) as caught:
            w3.eth.call(failing)
        errors.append((type(caught.value), caught.value.data))
    assert errors[0] == errors[1]


def test_a_middleware_added_by_the_user_sees_every_request(chain: RevmChain, suite: Suite) -> None:
    seen: list[str] = []

    class Spy(Web3Middleware):
        def wrap_make_request(self, make_request):  # noqa: ANN001, ANN202 - web3's middleware shape
            def middleware(method, params):  # noqa: ANN001, ANN202
                seen.append(method)
                return make_request(method, params)

            return middleware

    chain.w3.middleware_onion.add(Spy, "spy")
    suite.token.balance_of(suite.admin)
    suite.token.mint(suite.admin, 1, sender=suite.admin)
    assert {"eth_call", "eth_sendTransaction", "eth_getTransactionReceipt"} <= set(seen)


@pytest.mark.parametrize(
    ("tx", "message"),
    [
        ({"from": "0x" + "12" * 20, "to": "0x" + "34" * 20, "gas": 21_000}, "not unlocked"),
        ({"from": None, "to": "0x" + "34" * 20, "gas": 20_000}, "intrinsic gas too low"),
        ({"from": None, "to": "0x" + "34" * 20, "gas": BLOCK_GAS_LIMIT + 1}, "exceeds the block gas limit"),
        ({"from": None, "to": "0x" + "34" * 20, "gas": 21_000, "nonce": 7}, "nonce 7"),
        ({"from": None, "to": "0x" + "34" * 20, "gas": 21_000, "chainId": 1}, "chain id 1"),
        ({"from": None, "to": "0x" + "34" * 20, "gas": 21_000, "value": 10**25}, "insufficient funds"),
    ],
)
def test_the_node_refuses_bad_transactions_with_a_json_rpc_error(chain: RevmChain, tx: dict, message: str) -> None:
    tx = {**tx, "from": tx["from"] or chain.accounts[0]}
    block = chain.w3.eth.block_number
    with pytest.raises(Web3RPCError, match=message):
        chain.w3.eth.send_transaction(tx)  # type: ignore[arg-type]  # malformed on purpose
    assert chain.w3.eth.block_number == block


def test_an_unknown_method_is_an_error_not_a_crash() -> None:
    response = RevmProvider().make_request("eth_coinbaseOfTheMoon", [])  # type: ignore[arg-type]
    assert response["error"]["code"] == -32601


def test_unlock_lets_an_agent_key_send_its_own_transactions(chain: RevmChain, suite: Suite) -> None:
    key = agent_private_key(5, 1).to_bytes()
    address = chain.unlock(key)
    assert address == agent_address(5, 1)
    chain.fund(address)
    suite.registry.register(address, Capacity.USER, sender=suite.admin)
    suite.token.mint(address, 100, sender=suite.admin)
    suite.token.approve(suite.settlement.address, 100, sender=address)
    assert suite.token.allowance(address, suite.settlement.address) == 100


def test_the_chain_back_end_on_revm_settles_signed_batches_reports_gas_and_refuses_a_replay() -> None:
    backend = open_backend("revm", 3)
    assert isinstance(backend, ChainBackend) and isinstance(backend.chain, Chain)
    buyer, seller = AgentId(0), AgentId(1)
    backend.open_accounts({buyer: 10_000, seller: 0}, {seller: Capacity.COMPUTE_SUPPLIER})
    bid = SettlementOrder(backend.address(buyer), 1, BUY, 0, 50, 10, order_expiry(0))
    ask = SettlementOrder(backend.address(seller), 2, SELL, 0, 40, 10, order_expiry(0))
    fill = Fill(sign_order(agent_signing_key(3, 0), backend.domain, bid), sign_order(agent_signing_key(3, 1), backend.domain, ask), 40, 10)
    batch = assemble_batch(1, [fill])
    outcome = backend.settle_batch(batch)
    assert outcome.gas_used > 21_000 and outcome.tx_hash.startswith("0x") and outcome.block > 0
    assert backend.balances() == {buyer: 9_600, seller: 400}
    with pytest.raises(SettlementRejected, match="BatchAlreadySettled"):
        backend.settle_batch(batch)
    backend.withdraw(seller, 100)
    assert backend.escrow_balance(seller) == 300
    with pytest.raises(SettlementRejected, match="InsufficientEscrow"):
        backend.withdraw(seller, 10**6)


def test_a_settlement_calldata_encoding_matches_between_chains() -> None:
    # the wrappers encode once for every chain: the bytes a batch sends do not depend on the EVM
    revm, tester = deploy_suite(connect("revm"), extras=False), deploy_suite(connect("eth-tester"), extras=False)
    bid = SettlementOrder(agent_address(1, 0), 1, BUY, 0, 5, 1, order_expiry(0))
    ask = SettlementOrder(agent_address(1, 1), 2, SELL, 0, 5, 1, order_expiry(0))
    fill = Fill(sign_order(agent_signing_key(1, 0), revm.domain, bid), sign_order(agent_signing_key(1, 1), revm.domain, ask), 5, 1)
    batch = assemble_batch(1, [fill])
    assert revm.settlement.encode_fast("settleBatch", *batch.call_args()) == tester.settlement.encode_fast(
        "settleBatch", *batch.call_args()
    )

