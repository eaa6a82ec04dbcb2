"""The ccei_chain pytest plugin, exercised the way a contract developer uses it: a test suite of
their own, with a contract of their own (``voucher/Voucher.sol``), run by pytester on eth-tester
and on anvil; per-test isolation, hypothesis isolation, assert_reverts, time travel and --gas-report."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.chain import find_anvil

pytest_plugins = ["pytester"]

VOUCHER_BUILD = Path(__file__).resolve().parent / "voucher" / "build"

DEVELOPER_TESTS = '''
import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.stateful import invariant, rule

from ledger.contracts import MINTER_ROLE, ContractReverted
from ledger.pytest_plugin import WALLET_MICRO, assert_reverts, time_travel
from ledger.stateful import ChainStateMachine

BUILD = Path(r"{build}")
VOUCHER = json.loads((BUILD / "Voucher.json").read_text())
DESK = json.loads((BUILD / "VoucherDesk.json").read_text())


def test_a_transfer(ccei_suite, ccei_accounts):
    a, b, _ = ccei_accounts.users
    ccei_suite.token.transfer(b, 5, sender=a)
    assert ccei_suite.token.balance_of(b) == WALLET_MICRO + 5


def test_the_next_test_sees_a_fresh_chain(ccei_suite, ccei_accounts):
    assert ccei_suite.token.balance_of(ccei_accounts.users[1]) == WALLET_MICRO


def test_every_account_has_its_key_the_admin_included(ccei_accounts, ccei_suite):
    from eth_account import Account

    named = [ccei_accounts.admin, *ccei_accounts.users, ccei_accounts.compute_supplier, ccei_accounts.network_supplier,
             ccei_accounts.energy_supplier, ccei_accounts.oracle, ccei_accounts.outsider]
    assert sorted(ccei_accounts.keys) == sorted(named)
    assert all(Account.from_key(ccei_accounts.key(a)).address == a for a in named)
    assert ccei_suite.admin == ccei_accounts.admin


def test_time_travel_sets_the_next_block_and_later_blocks_follow_one_second_apart(ccei_chain, ccei_suite, ccei_accounts):
    target = ccei_chain.timestamp() + 3_600
    time_travel(ccei_chain, target)
    assert ccei_chain.next_timestamp() == target
    stamps = []
    for _ in range(3):
        receipt = ccei_suite.token.transfer(ccei_accounts.users[1], 1, sender=ccei_accounts.users[0])
        stamps.append(ccei_chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
    assert stamps == [target, target + 1, target + 2]
    assert ccei_chain.next_timestamp() == target + 3


def test_assert_reverts_with_error_and_arguments(ccei_suite, ccei_accounts):
    user = ccei_accounts.users[0]
    mint = ccei_suite.token.function("mint", user, 1)
    reverted = assert_reverts(mint, "AccessControlUnauthorizedAccount", user, MINTER_ROLE, sender=user)
    assert reverted.fields["account"] == user
    assert_reverts(lambda: ccei_suite.token.mint(user, 1, sender=user), "AccessControlUnauthorizedAccount")


def test_assert_reverts_failures(ccei_suite, ccei_accounts):
    user = ccei_accounts.users[0]
    with pytest.raises(AssertionError, match="expected a revert with ZeroAddress, got reverted with AccessControlUnauthorizedAccount"):
        assert_reverts(ccei_suite.token.function("mint", user, 1), "ZeroAddress", sender=user)
    with pytest.raises(AssertionError, match=r"expected AccessControlUnauthorizedAccount\\(.*\\), got AccessControlUnauthorizedAccount"):
        assert_reverts(
            ccei_suite.token.function("mint", user, 1), "AccessControlUnauthorizedAccount", ccei_accounts.admin, MINTER_ROLE, sender=user
        )
    with pytest.raises(AssertionError, match="but the transaction succeeded"):
        assert_reverts(ccei_suite.token.function("transfer", user, 1), "ZeroAddress", sender=user)
    with pytest.raises(TypeError, match="takes a ContractFunction or a callable, not int"):
        assert_reverts(3, "ZeroAddress")


# --- assert_reverts cannot lie -------------------------------------------------------------------


def _voucher(ccei_chain, ccei_deploy, lifetime_s=100):
    deadline = ccei_chain.next_timestamp() + lifetime_s
    return ccei_deploy(VOUCHER, deadline), deadline


def test_a_failed_transaction_sent_through_plain_web3_is_that_revert(ccei_chain, ccei_deploy, ccei_accounts):
    voucher, deadline = _voucher(ccei_chain, ccei_deploy)
    user = ccei_accounts.users[0]
    w3 = ccei_chain.w3

    def claim_with_plain_web3():
        tx = {{"from": user, "to": voucher.address, "data": voucher.encode_fast("claim"), "gas": 100_000}}
        return w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(tx))

    time_travel(ccei_chain, deadline + 1)
    assert claim_with_plain_web3()["status"] == 0  # mined as failed, and nothing raised
    time_travel(ccei_chain, deadline + 10)
    assert_reverts(claim_with_plain_web3, "VoucherExpired", deadline, deadline + 10)


def test_one_second_past_the_deadline_simulation_and_transaction_agree(ccei_chain, ccei_deploy, ccei_accounts):
    voucher, deadline = _voucher(ccei_chain, ccei_deploy)
    user = ccei_accounts.users[0]
    time_travel(ccei_chain, deadline)  # the last second the claim is valid
    with pytest.raises(AssertionError, match="but the transaction succeeded"):
        assert_reverts(voucher.function("claim"), "VoucherExpired", sender=user)
    voucher.transact("claim", sender=user)
    time_travel(ccei_chain, deadline + 1)  # one second past
    assert_reverts(voucher.function("claim"), "VoucherExpired", deadline, deadline + 1, sender=user)
    with pytest.raises(ContractReverted, match=rf"VoucherExpired\\(deadline={{deadline}}, timestamp={{deadline + 1}}\\)"):
        voucher.transact("claim", sender=user)
    assert voucher.call("claims") == 1


def test_an_own_error_bubbling_through_another_contract_decodes_by_name(ccei_chain, ccei_deploy, ccei_accounts):
    voucher, deadline = _voucher(ccei_chain, ccei_deploy)
    desk = ccei_deploy(DESK)
    assert not any(item.get("name") == "VoucherExpired" for item in desk.abi)
    time_travel(ccei_chain, deadline + 5)
    reverted = assert_reverts(desk.function("claimFor", voucher.address), "VoucherExpired", deadline, deadline + 5)
    assert reverted.fields == {{"deadline": deadline, "timestamp": deadline + 5}}
    user = ccei_accounts.users[0]
    assert_reverts(lambda: desk.transact("claimFor", voucher.address, sender=user), "VoucherExpired")


def test_assert_reverts_with_auto_mining_off_leaves_pending_transactions_pending(ccei_chain, ccei_deploy, ccei_accounts):
    voucher, deadline = _voucher(ccei_chain, ccei_deploy)
    user = ccei_accounts.users[0]
    ccei_chain.set_automine(False)
    time_travel(ccei_chain, deadline + 1)
    block = ccei_chain.w3.eth.block_number
    assert_reverts(voucher.function("claim"), "VoucherExpired", deadline, deadline + 1, sender=user)
    assert ccei_chain.w3.eth.block_number == block and ccei_chain.next_timestamp() == deadline + 1


# --- property and invariant tests ----------------------------------------------------------------


@settings(max_examples=8)
@given(amount=st.integers(min_value=0, max_value=WALLET_MICRO))
def test_a_transfer_conserves_tokens_in_every_example(ccei_session, amount):
    suite, accounts = ccei_session.suite, ccei_session.accounts
    a, b, _ = accounts.users
    with ccei_session.isolated():
        assert suite.token.balance_of(b) == WALLET_MICRO  # no example sees another's transfer
        suite.token.transfer(b, amount, sender=a)
        assert suite.token.balance_of(a) + suite.token.balance_of(b) == 2 * WALLET_MICRO


class Escrow(ChainStateMachine):
    """Deposits and withdrawals: what a user holds in wallet and escrow together never changes."""

    @rule(amount=st.integers(min_value=1, max_value=10**6))
    def deposit(self, amount):
        user = self.accounts.users[0]
        self.suite.token.approve(self.suite.settlement.address, amount, sender=user)
        self.suite.settlement.deposit_for(user, amount, sender=user)

    @rule(amount=st.integers(min_value=1, max_value=10**6))
    def withdraw(self, amount):
        user = self.accounts.users[0]
        if amount > self.suite.settlement.balance_of(user):
            assert_reverts(lambda: self.suite.settlement.withdraw(amount, sender=user), "InsufficientEscrow")
        else:
            self.suite.settlement.withdraw(amount, sender=user)

    @invariant()
    def holdings_are_conserved(self):
        user = self.accounts.users[0]
        assert self.suite.token.balance_of(user) + self.suite.settlement.balance_of(user) == WALLET_MICRO


def test_escrow_invariants(ccei_session):
    Escrow.run(ccei_session, max_examples=3, stateful_step_count=4)
    assert ccei_session.suite.token.balance_of(ccei_session.accounts.users[0]) == WALLET_MICRO  # reverted


def test_deploying_a_contract_of_ones_own(ccei_deploy, ccei_accounts):
    token = ccei_deploy("SettlementToken", ccei_accounts.admin)
    assert token.call("decimals") == 6
'''

CHAINS = [
    "eth-tester",
    pytest.param("anvil", marks=pytest.mark.skipif(find_anvil() is None, reason="anvil is not installed (npm install)")),
]


@pytest.mark.parametrize("chain", CHAINS)
def test_a_developer_suite_runs_isolated_and_gets_a_gas_report(pytester: pytest.Pytester, chain: str) -> None:
    pytester.makepyfile(test_developer=DEVELOPER_TESTS.format(build=VOUCHER_BUILD))
    result = pytester.runpytest("--gas-report", "--ccei-chain", chain, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=13)
    result.stdout.re_match_lines(
        [
            r".*gas report.*",
            r"contract\s+function\s+calls\s+min\s+median\s+max",
            r"SettlementToken\s+transfer\s+\d+\s+\d+\s+\d+\s+\d+",
            r".*reverted transactions.*",
            r"Voucher\s+claim\s+\d+\s+\d+\s+\d+\s+\d+",
        ]
    )


def test_a_failed_assert_reverts_prints_a_few_lines_naming_both_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_failing="""
from ledger.pytest_plugin import assert_reverts

def test_wrong_error(ccei_suite, ccei_accounts):
    user = ccei_accounts.users[0]
    assert_reverts(lambda: ccei_suite.token.mint(user, 1, sender=user), "ZeroAddress")
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--tb=long")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    failure = out[out.index("test_wrong_error ___") : out.index("short test summary")]
    assert "expected a revert with ZeroAddress, got reverted with AccessControlUnauthorizedAccount" in failure
    assert "pytest_plugin.py" not in failure and "contracts.py" not in failure
    assert len(failure.splitlines()) <= 15


def test_an_unexpected_revert_prints_the_test_line_and_the_error_not_the_node_clients_frames(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_unguarded="""
def test_unguarded(ccei_suite, ccei_accounts):
    user = ccei_accounts.users[0]
    ccei_suite.token.mint(user, 1, sender=user)
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    failure = out[out.index("test_unguarded ___") : out.index("short test summary")]
    assert "ledger.reverts.AccessControlUnauthorizedAccount: reverted with AccessControlUnauthorizedAccount(account=0x" in failure
    assert "site-packages/web3" not in failure and "eth_tester" not in failure and "direct cause" not in failure
    assert "ledger/contracts.py" not in failure and len(failure.splitlines()) <= 15
    full = pytester.runpytest("-p", "no:cacheprovider", "--ccei-full-tracebacks").stdout.str()
    assert "site-packages/web3" in full and "direct cause" in full


def test_an_unknown_chain_is_one_usage_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(ccei_chain):\n    pass\n")
    result = pytester.runpytest("--ccei-chain", "ftp://x", "-p", "no:cacheprovider")
    assert "--ccei-chain ftp://x: expected anvil, eth-tester, revm or an http(s):// node URL" in result.stdout.str() + result.stderr.str()


def test_without_the_option_there_is_no_report_and_nothing_is_loaded(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
import sys

def test_unrelated():
    assert "web3" not in sys.modules and "ledger.chain" not in sys.modules
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "gas report" not in result.stdout.str()
    assert "--ccei-chain" in pytester.runpytest_subprocess("--help").stdout.str()
