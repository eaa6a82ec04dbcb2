"""The ccei_chain pytest plugin, exercised the way a contract developer uses it: a test suite of
their own run by pytester, with per-test isolation, assert_reverts and --gas-report."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

DEVELOPER_TESTS = '''
import pytest
from ledger.contracts import MINTER_ROLE
from ledger.pytest_plugin import WALLET_MICRO, assert_reverts


def test_a_transfer(ccei_suite, ccei_accounts):
    a, b, _ = ccei_accounts.users
    ccei_suite.token.transfer(b, 5, sender=a)
    assert ccei_suite.token.balance_of(b) == WALLET_MICRO + 5


def test_the_next_test_sees_a_fresh_chain(ccei_suite, ccei_accounts):
    assert ccei_suite.token.balance_of(ccei_accounts.users[1]) == WALLET_MICRO


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
    with pytest.raises(AssertionError, match="but the call succeeded"):
        assert_reverts(ccei_suite.token.function("transfer", user, 1), "ERC20InvalidReceiver", sender=user)
    with pytest.raises(TypeError, match="takes a ContractFunction or a callable, not int"):
        assert_reverts(3, "ZeroAddress")


def test_deploying_a_contract_of_ones_own(ccei_deploy, ccei_chain):
    token = ccei_deploy("SettlementToken", ccei_chain.accounts[0])
    assert token.call("decimals") == 6
'''


def test_a_developer_suite_runs_isolated_and_gets_a_gas_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_developer=DEVELOPER_TESTS)
    result = pytester.runpytest("--gas-report", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    result.stdout.re_match_lines([r".*gas report.*", r"contract\s+function\s+calls\s+min\s+median\s+max", r"SettlementToken\s+transfer\s+1\s+\d+\s+\d+\s+\d+"])


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
